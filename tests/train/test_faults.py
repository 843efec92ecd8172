"""Faults and bad input: each ends in one clear line (exit 2) or a safe recovery, and nothing
earlier is lost. One test per case of the table in docs/faults.md ("Faults and recovery")."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coconut_lm.cli import main
from coconut_lm.run import checkpoint as ckpt
from tests.helpers import fails
from tests.paths import REPO
from tests.train.toy import write_config

SMALL = {"data": {"val_path": None}, "training": {"num_epochs": 1}}


def trained_run(make_config, tmp_path, epochs: int = 2, data: dict | None = None, **sections) -> Path:
    """A finished run of `epochs` epochs (4 steps each, a checkpoint after each)."""
    data = {"val_path": None, **(data or {})}
    cfg = make_config(data=data, training={"num_epochs": epochs, "keep_last": 5}, **sections)
    path = write_config(tmp_path / "run.yaml", cfg)
    assert main(["train", str(path)]) == 0
    return Path(cfg["run_dir"])


def test_second_train_into_a_busy_run_folder_refuses(make_config, tmp_path, capsys):
    cfg = make_config(**SMALL)
    path = write_config(tmp_path / "c.yaml", cfg)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from coconut_lm.run.lock import RunLock; "
            f"RunLock({cfg['run_dir']!r}).__enter__(); print('held', flush=True); time.sleep(60)",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        line = fails(["train", str(path)], capsys)
        assert f"is in use by process {holder.pid}" in line
        assert not (Path(cfg["run_dir"]) / "metrics.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", str(path)]) == 0  # the dead holder's lock is taken over
    assert not (Path(cfg["run_dir"]) / ".lock").exists()  # released on exit


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("truncate:model.safetensors", "model.safetensors: .* bytes, the manifest says"),
        ("delete:optimizer.pt", "optimizer.pt: missing"),
        ("delete:trainer_state.json", "trainer_state.json: missing"),
    ],
)
def test_resume_skips_a_damaged_checkpoint(make_config, tmp_path, caplog, capsys, damage, reason):
    run = trained_run(make_config, tmp_path)
    latest = run / "checkpoints" / "step-00000008"
    action, name = damage.split(":")
    if action == "truncate":
        data = (latest / name).read_bytes()
        (latest / name).write_bytes(data[: len(data) // 2])
    else:
        (latest / name).unlink()
    with caplog.at_level(logging.WARNING):
        assert main(["train", str(run), "training.num_epochs=3"]) == 0
    assert any(f"skipping checkpoint {latest}" in r.message for r in caplog.records)
    assert any(re.search(reason, r.message) for r in caplog.records)
    state = json.loads((run / "checkpoints" / "step-00000008" / ckpt.STATE_FILE).read_text())
    assert state["epoch"] == 2  # resumed from step 4 (epoch 1): step 8 redone, then epoch 3
    assert (run / "checkpoints" / "step-00000012").is_dir()


def test_eval_of_a_damaged_checkpoint_names_the_file(make_config, tmp_path, capsys, toy_assets):
    run = trained_run(make_config, tmp_path, epochs=1)
    weights = run / "checkpoints" / "step-00000004" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    line = fails(["eval", str(weights.parent), "--data", str(toy_assets["val"])], capsys)
    assert line.startswith(f"coconut-lm eval: {weights}: 100 bytes")


def test_eval_predictions_are_replaced_only_with_overwrite(make_config, tmp_path, capsys, toy_assets):
    run = trained_run(make_config, tmp_path, epochs=1)
    preds = tmp_path / "preds.jsonl"
    preds.write_text("earlier\n")
    argv = ["eval", str(run), "--data", str(toy_assets["val"]), "--max-new-tokens", "2", "--predictions", str(preds)]
    assert "already exists (give --overwrite to replace it)" in fails(argv, capsys)
    assert preds.read_text() == "earlier\n"
    assert main([*argv, "--overwrite"]) == 0
    assert [json.loads(line)["idx"] for line in preds.read_text().splitlines()] == list(range(6))


def test_max_new_tokens_zero_means_zero(make_config, tmp_path, capsys, toy_assets):
    run = trained_run(make_config, tmp_path, epochs=2)
    folder = str(run / "checkpoints" / "step-00000008")  # stage 1: one continuous thought
    capsys.readouterr()
    assert main(["eval", folder, "--data", str(toy_assets["val"]), "--max-new-tokens", "0"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == 0.0 and metrics["num_questions"] == 6
    assert metrics["mean_new_tokens"] == 1.0  # the one continuous thought of stage 1, no new token
    assert main(["generate", folder, "Is Tom a wumpus or a yumpus?", "--max-new-tokens", "0"]) == 0
    assert "continuous thoughts: 1" in capsys.readouterr().out
    assert "must be >= 0" in fails(["eval", folder, "--data", str(toy_assets["val"]), "--max-new-tokens", "-1"], capsys)


def test_prompt_longer_than_the_context(make_config, tmp_path, capsys, toy_assets):
    run = trained_run(make_config, tmp_path, epochs=1)  # n_positions 96
    folder = str(run / "checkpoints" / "step-00000004")
    capsys.readouterr()
    records = json.loads(Path(toy_assets["val"]).read_text())
    records[2]["question"] = "Is Tom a " + "wumpus or a " * 40 + "yumpus?"
    data = tmp_path / "long.json"
    data.write_text(json.dumps(records))
    line = fails(["eval", folder, "--data", str(data), "--max-new-tokens", "8"], capsys)
    assert f"example 2 of {data}" in line and "exceeds the model's context of 96" in line
    for policy, questions in (("skip", 5), ("truncate", 6)):
        assert main(["eval", folder, "--data", str(data), "--max-new-tokens", "8", "--too-long", policy]) == 0
        assert json.loads(capsys.readouterr().out)["num_questions"] == questions
    line = fails(["generate", folder, records[2]["question"], "--max-new-tokens", "8"], capsys)
    assert "exceeds the model's context of 96" in line


@pytest.mark.parametrize("source", ["model", "tokenizer"])
def test_an_unknown_hub_id_offline_is_one_line_at_once(make_config, tmp_path, capsys, monkeypatch, source):
    import socket

    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("touched the network"))
    unknown = "coconut-lm-tests/no-such-model"
    model = {"from_config": None, "name_or_path": unknown} if source == "model" else {"tokenizer": unknown}
    line = fails(["train", str(write_config(tmp_path / "c.yaml", make_config(model=model)))], capsys)
    key = "model.name_or_path" if source == "model" else "model.tokenizer"
    assert line.startswith(f"coconut-lm train: {key}: {unknown!r}: no such local folder, and not in the Hugging Face")
    assert line.endswith("downloads are off (HF_HUB_OFFLINE is set): give a folder, or unset it")


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_tokenizer_path_missing_or_empty(make_config, tmp_path, capsys, where):
    folder = tmp_path / "tok"
    if where == "empty":
        folder.mkdir()
    path = write_config(tmp_path / "c.yaml", make_config(model={"tokenizer": str(folder)}))
    line = fails(["train", str(path)], capsys)
    expected = "no tokenizer files in this folder" if where == "empty" else "no such tokenizer folder"
    assert line == f"coconut-lm train: model.tokenizer: {folder}: " + expected + (
        " (expected tokenizer.json)" if where == "empty" else ""
    )


def test_yaml_that_does_not_parse(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("method: coconut\ntraining:\n  lr: [1, 2\n  batch_size: 4\n")
    line = fails(["train", str(path)], capsys)
    assert line.startswith(f"coconut-lm train: {path}: line 4, column ") and "not valid YAML" in line


def test_run_folder_not_writable_is_refused_before_loading(make_config, tmp_path, monkeypatch, capsys):
    import coconut_lm.train.trainer as training

    monkeypatch.setattr(training.os, "access", lambda path, mode: False)  # as a read-only folder answers
    monkeypatch.setattr(training, "build_model", lambda *a, **k: pytest.fail("loaded a model first"), raising=False)
    path = write_config(tmp_path / "c.yaml", make_config(run_dir=str(tmp_path / "run")))
    line = fails(["train", str(path)], capsys)
    assert line == f"coconut-lm train: run_dir: {tmp_path / 'run'}: permission denied ({tmp_path} is not writable)"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere: no mode bites")
def test_run_folder_not_writable(make_config, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        path = write_config(tmp_path / "c.yaml", make_config(run_dir=str(locked / "run")))
        assert "permission denied" in fails(["train", str(path)], capsys)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("writer", ["torch", "safetensors"])
def test_disk_full_while_checkpointing(make_config, tmp_path, monkeypatch, capsys, writer):
    from safetensors import SafetensorError

    run = trained_run(make_config, tmp_path, epochs=1)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    write = ckpt.write_checkpoint_files

    def full_disk(folder, *args, **kwargs):
        write(folder, *args, **kwargs)
        if writer == "safetensors":  # how safetensors reports it: its own exception type
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / ckpt.OPTIMIZER_FILE))

    monkeypatch.setattr(ckpt, "write_checkpoint_files", full_disk)
    line = fails(["train", str(run), "training.num_epochs=2"], capsys)
    assert "no space left on device while writing" in line and "step-00000008 not saved" in line
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before  # no .tmp-* left
    ckpt.verify_checkpoint(run / "checkpoints" / "step-00000004")  # the earlier one is intact


def test_vocab_size_smaller_than_the_tokenizer_is_noticed(make_config, tmp_path, caplog):
    model = make_config()["model"]
    model["from_config"]["vocab_size"] = 50
    with caplog.at_level(logging.WARNING):
        trained_run(make_config, tmp_path, epochs=1, model=model)
    assert any("vocab_size 50 is smaller than the tokenizer's" in r.message for r in caplog.records)


def test_too_long_skip_reports_what_it_skipped(make_config, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        trained_run(make_config, tmp_path, epochs=1, model={"max_length": 30}, data={"too_long": "skip"})
    skipped = [r.message for r in caplog.records if "data.too_long=skip: skipped" in r.message]
    assert skipped and "examples of" in skipped[0]


def test_duplicate_records(make_config, tmp_path, caplog, capsys, toy_assets):
    records = json.loads(Path(toy_assets["train"]).read_text())
    data = tmp_path / "dup.json"
    data.write_text(json.dumps(records + records[:3]))
    cfg = make_config(data={"train_path": str(data), "val_path": None}, training={"num_epochs": 1})
    with caplog.at_level(logging.WARNING):
        assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 0
    assert any("3 records repeat an earlier record (records 16, 17, 18)" in r.message for r in caplog.records)
    cfg["run_dir"] = str(tmp_path / "strict")
    cfg["data"]["duplicates"] = "error"
    assert "3 records repeat" in fails(["train", str(write_config(tmp_path / "s.yaml", cfg))], capsys)


def test_failed_inputs_leave_no_run_folder(make_config, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "q", "steps": [], "answer": 3}]))
    cfg = make_config(data={"train_path": str(bad), "val_path": None})
    assert "answer" in fails(["train", str(write_config(tmp_path / "c.yaml", cfg))], capsys)
    assert not Path(cfg["run_dir"]).exists()


def test_checkpoint_files_take_the_umask_mode(make_config, tmp_path):
    old = os.umask(0o022)
    try:
        run = trained_run(make_config, tmp_path, epochs=1)
    finally:
        os.umask(old)
    folder = run / "checkpoints" / "step-00000004"
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert (run / "config.yaml").stat().st_mode & 0o777 == 0o644


def test_unknown_method_lists_the_valid_names(make_config, tmp_path, capsys):
    path = write_config(tmp_path / "c.yaml", make_config(method="bogus"))
    line = fails(["train", str(path)], capsys)
    assert line == (
        "coconut-lm train: method: unknown method 'bogus'; expected one of: cot, no_cot, coconut, "
        "coconut_no_curriculum, coconut_no_thought, pause, pause_as_thought, icot"
    )


def test_debug_shows_the_traceback(tmp_path):
    from coconut_lm.run.config import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text("training: [\n")
    with pytest.raises(ConfigError):
        main(["train", str(path), "--debug"])
