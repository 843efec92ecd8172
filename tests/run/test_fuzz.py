"""Property tests: random manifests and config values end in a valid result or one user error,
never another exception; nothing is read outside a checkpoint folder, nothing is written."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from coconut_lm.errors import ConfigError
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.changes import flat_settings
from coconut_lm.run.config import RunConfig, config_from_dict, load_config
from tests.helpers import fuzz_settings, snapshot

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given = hypothesis.given

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)

# -- manifests ------------------------------------------------------------------------------------

FILES = {"config.json": b"{}", ckpt.CONFIG_FILE: b"method: cot\n", "model.safetensors": b"\x00" * 64}


def true_meta(content: bytes) -> dict:
    return {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


names = st.one_of(
    st.sampled_from(sorted(FILES)),
    st.sampled_from(["../outside.bin", "/etc/hostname", "", ".", "..", "sub/x", "a\\b", "missing.bin", "link"]),
    st.text(max_size=8),
)
metas = st.one_of(
    st.sampled_from([true_meta(c) for c in FILES.values()]),
    st.fixed_dictionaries(
        {"bytes": st.one_of(st.integers(-1, 100), st.booleans(), json_values), "sha256": json_values}
    ),
    json_values,
)


@st.composite
def manifests(draw) -> bytes:
    """A manifest.json: true, with entries changed or added, any JSON, or not JSON at all."""
    kind = draw(st.sampled_from(["entries"] * 4 + ["json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=30))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    files = {name: true_meta(content) for name, content in FILES.items()}
    files.update(draw(st.dictionaries(names, metas, max_size=2)))
    return json.dumps({"files": files}).encode()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("manifests")


@fuzz_settings()
@given(manifest=manifests(), damage=st.sampled_from(["none"] * 3 + ["truncate", "delete", "link_out"]))
def test_a_manifest_is_verified_or_refused_and_nothing_outside_is_read(root, monkeypatch, manifest, damage):
    parent = Path(tempfile.mkdtemp(dir=root))
    (parent / "outside.bin").write_bytes(b"outside")
    folder = parent / "ck"
    folder.mkdir()
    for name, content in FILES.items():
        (folder / name).write_bytes(content)
    (folder / ckpt.MANIFEST_FILE).write_bytes(manifest)
    if damage == "truncate":
        (folder / "model.safetensors").write_bytes(b"\x00" * 10)
    elif damage == "delete":
        (folder / "config.json").unlink()
    elif damage == "link_out":
        (folder / "link").symlink_to(parent / "outside.bin")
    hashed: list[Path] = []
    sha256 = ckpt._sha256
    monkeypatch.setattr(ckpt, "_sha256", lambda path: hashed.append(path) or sha256(path))
    before = snapshot(parent)

    try:
        ckpt.verify_checkpoint(folder, resume=False)
    except ckpt.CheckpointError as e:
        hypothesis.event("refused")
        assert str(folder) in str(e) and "\n" not in str(e)
    else:
        hypothesis.event("verified")
        for name, meta in ckpt.read_manifest(folder).items():
            assert (folder / name).stat().st_size == meta["bytes"]
    assert all(p.resolve().is_relative_to(folder.resolve()) for p in hashed), hashed
    assert snapshot(parent) == before
    shutil.rmtree(parent)


# -- config values --------------------------------------------------------------------------------

BASE = RunConfig().to_dict()
KEYS = sorted(flat_settings(BASE))
values = st.one_of(
    st.integers(-3, 70),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.sampled_from(["", "cot", "coconut", "linear", "stop", "skip", "true", "1e-4", ".inf"]),
    json_values,
)
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(KEYS).map(lambda k: k + ".x"), st.text(max_size=10))


def check_config(load) -> None:
    """`load()` gives a config or one-line `ConfigError`; a config holds finite numbers and reads
    back as itself."""
    try:
        cfg = load()
    except ConfigError as e:
        hypothesis.event("refused")
        assert "\n" not in str(e)
        return
    hypothesis.event("valid")
    for key, value in flat_settings(cfg.to_dict()).items():
        assert not (isinstance(value, float) and not math.isfinite(value)), key
    assert config_from_dict(cfg.to_dict()) == cfg


@fuzz_settings(max_examples=50)
@given(changes=st.lists(st.tuples(keys, values), min_size=1, max_size=3))
def test_config_values_give_a_config_or_a_config_error(changes):
    tree = json.loads(json.dumps(BASE))
    for key, value in changes:
        node = tree
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node[last] = value
    check_config(lambda: config_from_dict(tree))


FLAT = flat_settings(BASE)
overrides = st.one_of(
    st.sampled_from(KEYS).map(lambda k: f"{k}={json.dumps(FLAT[k])}"),  # the default: valid
    st.builds(lambda k, n: f"{k}={n}", st.sampled_from(KEYS), st.integers(-2, 60)),
    st.builds(lambda k, v: f"{k}={v}", keys, st.one_of(st.text(max_size=8), values.map(yaml.safe_dump))),
    st.text(max_size=12),
)


@fuzz_settings()
@given(
    text=st.one_of(st.just(yaml.safe_dump(BASE)), st.just("{}"), st.text(max_size=30)),
    given_overrides=st.lists(overrides, max_size=2),
)
def test_load_config_with_overrides_gives_a_config_or_a_config_error(root, text, given_overrides):
    path = Path(tempfile.mkdtemp(dir=root)) / "c.yaml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(path.parent)
    check_config(lambda: load_config(path, given_overrides))
    assert snapshot(path.parent) == before
