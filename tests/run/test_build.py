"""Models and tokenizers from a folder or a hub id: a source that cannot be loaded is one
`ConfigError` naming it and the cause, quickly, and these tests never touch the network."""

from __future__ import annotations

import socket
import time

import huggingface_hub
import pytest

from coconut_lm.errors import ConfigError
from coconut_lm.run.build import hub_offline, load_pretrained, load_tokenizer

UNKNOWN = "coconut-lm-tests/no-such-model"


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Every connection attempt fails at once and is recorded (none is made)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:1])
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (no network in tests)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture
def offline(monkeypatch, no_network):
    """HF_HUB_OFFLINE=1, as when it is set before the process starts (huggingface_hub reads it then)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return no_network


@pytest.fixture
def online(monkeypatch, no_network):
    """Downloads allowed (as by default), with no network underneath."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return no_network


@pytest.mark.parametrize("load, key", [(load_tokenizer, "model.tokenizer"), (load_pretrained, "model.name_or_path")])
def test_an_unknown_hub_id_offline_fails_at_once_without_the_network(offline, load, key):
    start = time.monotonic()
    with pytest.raises(ConfigError) as error:
        load(UNKNOWN)
    assert str(error.value) == (
        f"{key}: {UNKNOWN!r}: no such local folder, and not in the Hugging Face cache; "
        "downloads are off (HF_HUB_OFFLINE is set): give a folder, or unset it"
    )
    assert offline == [] and time.monotonic() - start < 20


@pytest.mark.parametrize("load", [load_tokenizer, load_pretrained])
def test_an_unreachable_hub_is_one_attempt_not_50_seconds_of_retries(online, load):
    start = time.monotonic()
    with pytest.raises(ConfigError, match="the Hugging Face Hub cannot be reached"):
        load(UNKNOWN)
    # one attempt (and, once per process, huggingface_hub's own user-agent lookup); retries would
    # make six, 23 s of back-off apart
    assert 1 <= len(online) <= 2 and time.monotonic() - start < 20


def test_the_cause_is_named(online):
    with pytest.raises(ConfigError) as error:
        load_pretrained(UNKNOWN, key="model.init_from")
    message = str(error.value)
    assert (
        message.startswith(f"model.init_from: {UNKNOWN!r}: ") and "the Hugging Face Hub cannot be reached (" in message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    "source, message",
    [
        ("./no/such/folder", "no such model folder"),
        ("a/b/c", "no such model folder"),
        ("not a valid id!", "neither a folder nor a Hugging Face Hub id"),
    ],
)
def test_paths_and_bad_ids_are_refused_before_any_lookup(no_network, source, message):
    with pytest.raises(ConfigError, match=message):
        load_pretrained(source)
    assert no_network == []


def test_a_file_is_not_a_model_folder(tmp_path, no_network):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="not a folder"):
        load_pretrained(path)
    with pytest.raises(ConfigError, match="cannot load a model from"):  # a folder without a model
        load_pretrained(tmp_path)
    assert no_network == []


def test_offline_read_when_asked_not_only_at_import(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    assert not hub_offline()
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert hub_offline()
