"""`coconut-lm eval --predictions`: the output is checked before any model is loaded."""

from __future__ import annotations

import os

import pytest

from coconut_lm.cli import main
from tests.helpers import fails


@pytest.fixture
def eval_args(tmp_path, monkeypatch):
    """`eval` of a checkpoint that must never be loaded: the output check comes first."""
    import coconut_lm.eval.evaluate as evaluate

    monkeypatch.setattr(evaluate, "evaluate_checkpoint", lambda *a, **k: pytest.fail("evaluated first"))
    return ["eval", str(tmp_path / "ck"), "--data", str(tmp_path / "d.json"), "--predictions"]


def test_existing_predictions_need_overwrite(eval_args, tmp_path, capsys):
    preds = tmp_path / "preds.jsonl"
    preds.write_text("earlier\n")
    line = fails([*eval_args, str(preds)], capsys)
    assert line == f"coconut-lm eval: {preds}: already exists (give --overwrite to replace it)"
    assert preds.read_text() == "earlier\n"


@pytest.mark.parametrize("kind", ["symlink", "device", "folder"])
def test_predictions_never_replace_a_link_a_device_or_a_folder(eval_args, tmp_path, capsys, kind):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = {"symlink": tmp_path / "link.jsonl", "device": "/dev/null", "folder": tmp_path}[kind]
    if kind == "symlink":
        target.symlink_to(victim)
    line = fails([*eval_args, str(target), "--overwrite"], capsys)
    assert line.startswith(f"coconut-lm eval: {target}: is a ")
    assert victim.read_text() == "keep me" and os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_unwritable_predictions_folder_is_refused_first(eval_args, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    line = fails([*eval_args, str(tmp_path / "out" / "preds.jsonl")], capsys)
    assert line.endswith(f"permission denied ({tmp_path} is not writable)")


# -- user text with special tokens, and --stage past the method's last, on a tiny trained run --------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict:
    """A 2-epoch toy Coconut run (its last checkpoint at stage 1: one thought; stages 0 to 2), and
    a writer of data files: `data(name, record=i, field=value)` is the toy data, one field changed."""
    import json

    import torch

    from coconut_lm.run.config import config_from_dict
    from coconut_lm.train.trainer import train
    from tests.train.toy import tiny_config, write_data, write_tokenizer

    root = tmp_path_factory.mktemp("tiny_run")
    train_path, val = write_data(root / "data")
    cfg = tiny_config(root, write_tokenizer(root / "tok"), train_path, val, data={"val_path": None})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the model is tiny
    try:
        train(config_from_dict(cfg))
    finally:
        torch.set_num_threads(threads)

    def data(name: str, record: int = 0, **fields) -> str:
        records = json.loads(val.read_text())
        records[record].update(fields)
        path = root / f"{name}.json"
        path.write_text(json.dumps(records))
        return str(path)

    return {"run": str(root / "run"), "data": data}


@pytest.mark.parametrize(
    "record, field, text, token",
    [
        (2, "question", "Is Tom <|latent|> a wumpus <|latent|> or a yumpus?", "<|latent|>"),
        (0, "question", "<|latent|>Is Tom a wumpus or a yumpus?", "<|latent|>"),  # once a traceback in train
        (3, "answer", "Tom is a <|endoftext|> wumpus.", "<|endoftext|>"),  # the EOS text
        (1, "steps", ["Tom is a <|start-latent|>."], "<|start-latent|>"),
    ],
)
def test_eval_refuses_special_tokens_in_records(tiny_run, capsys, record, field, text, token):
    data = tiny_run["data"](f"bad-{field}-{record}", record, **{field: text})
    name = "steps[0]" if field == "steps" else field
    line = fails(["eval", tiny_run["run"], "--data", data, "--num-thoughts", "2", "--max-new-tokens", "2"], capsys)
    assert line.startswith(f"coconut-lm eval: {data}: record {record}: field '{name}' holds '{token}', a special token")


def test_generate_refuses_special_tokens_in_the_question(tiny_run, capsys):
    argv = ["generate", tiny_run["run"], "Is Tom <|latent|> a wumpus?", "--max-new-tokens", "2"]
    assert fails(argv, capsys).startswith("coconut-lm generate: question: holds '<|latent|>', a special token")
    argv = ["generate", tiny_run["run"], "Is Tom a wumpus?<|endoftext|>", "--max-new-tokens", "2"]
    assert "holds '<|endoftext|>'" in fails(argv, capsys)


def test_num_thoughts_sets_the_thoughts_of_eval_and_generate(tiny_run, capsys):
    import json

    data = tiny_run["data"]("clean")
    for k in (0, 3):
        assert main(["eval", tiny_run["run"], "--data", data, "--num-thoughts", str(k), "--max-new-tokens", "0"]) == 0
        assert json.loads(capsys.readouterr().out)["mean_thoughts"] == k
        argv = ["generate", tiny_run["run"], "Is Tom a wumpus?", "--num-thoughts", str(k), "--max-new-tokens", "1"]
        assert main(argv) == 0
        assert f"continuous thoughts: {k}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["eval", "generate"])
def test_stage_past_the_methods_last_is_refused(tiny_run, capsys, command):
    target = ["--data", tiny_run["data"]("clean")] if command == "eval" else ["Is Tom a wumpus?"]
    line = fails([command, tiny_run["run"], *target, "--stage", "3", "--max-new-tokens", "1"], capsys)
    assert line == f"coconut-lm {command}: --stage: method coconut has stages 0 to 2 in this run, got 3"
    assert main([command, tiny_run["run"], *target, "--stage", "2", "--max-new-tokens", "1"]) == 0


def test_generate_draws_samples_that_repeat_with_a_seed(tiny_run, capsys):
    argv = ["generate", tiny_run["run"], "Is Tom a wumpus?", "--max-new-tokens", "4"]
    sampling = ["--temperature", "1.0", "--top-p", "0.9", "--num-samples", "3", "--seed", "0"]
    assert main([*argv, *sampling]) == 0
    first = capsys.readouterr().out
    assert main([*argv, *sampling]) == 0
    assert capsys.readouterr().out == first
    lines = first.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("sample ")] == ["sample 1", "sample 2", "sample 3"]
    assert lines[-2].startswith("answers: ") and lines[-1] == "continuous thoughts: 1"
