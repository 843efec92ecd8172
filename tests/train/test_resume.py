"""A run stopped mid-epoch (SIGKILL, SIGTERM) and resumed ends with the same weights, bit for bit,
and its `metrics.jsonl` holds each step once."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from coconut_lm.cli import main
from coconut_lm.run.checkpoint import step_name
from tests.helpers import coconut_lm, metric_rows, signal_when
from tests.train.toy import tiny_config, write_config, write_data, write_tokenizer

# Dropout stays on (GPT-2's 0.1), so the torch RNG state must be restored too.
SETTINGS = {"data": {"val_path": None}, "training": {"save_every_steps": 2, "keep_last": 10}}
FINAL = step_name(8)  # 2 epochs of 4 steps


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """One uninterrupted run, shared by the tests of this module, and what made it."""
    root = tmp_path_factory.mktemp("resume")
    train, val = write_data(root / "data")
    tokenizer = write_tokenizer(root / "tok")

    def config(name: str) -> Path:
        cfg = tiny_config(root, tokenizer, train, val, run_dir=str(root / name), **SETTINGS)
        return write_config(root / f"{name}.yaml", cfg)

    assert main(["train", str(config("whole"))]) == 0
    return {"config": config, "root": root}


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    opt_a = torch.load(a / "optimizer.pt", weights_only=True)
    opt_b = torch.load(b / "optimizer.pt", weights_only=True)
    for key, state in opt_a["state"].items():
        assert torch.equal(state["exp_avg"], opt_b["state"][key]["exp_avg"]), key


def test_killed_and_resumed_equals_uninterrupted(uninterrupted):
    run = uninterrupted["root"] / "killed"
    first = run / "checkpoints" / step_name(2)
    proc = signal_when(coconut_lm("train", uninterrupted["config"]("killed")), first, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (run / "checkpoints" / FINAL).exists()  # killed mid-run, wherever it was

    assert main(["train", str(run)]) == 0  # a run folder: resumes from its latest checkpoint
    assert_same_weights(uninterrupted["root"] / "whole/checkpoints" / FINAL, run / "checkpoints" / FINAL)
    assert [r["step"] for r in metric_rows(run)] == list(range(1, 9))  # each step once


def test_sigterm_stops_at_a_step_with_a_checkpoint_and_resumes_exactly(uninterrupted):
    run = uninterrupted["root"] / "stopped"
    first = run / "checkpoints" / step_name(2)
    proc = signal_when(coconut_lm("train", uninterrupted["config"]("stopped")), first, signal.SIGTERM)

    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("coconut-lm train: stopped by SIGTERM at global step ")
    step = int(line.split("global step ")[1].split()[0])
    assert 2 <= step < 8
    assert line.split("resume point: ")[1].split()[0] == str(run / "checkpoints" / step_name(step))
    assert not (run / ".lock").exists()  # released
    assert not list((run / "checkpoints").glob(".tmp-*"))

    assert main(["train", str(run)]) == 0
    assert_same_weights(uninterrupted["root"] / "whole/checkpoints" / FINAL, run / "checkpoints" / FINAL)
    assert [r["step"] for r in metric_rows(run)] == list(range(1, 9))


def test_resume_drops_the_metrics_rows_of_the_steps_trained_again(uninterrupted, tmp_path, caplog):
    # As a run killed after step 6 leaves it: checkpoints up to step 4, rows up to step 6, and
    # half a row of step 7.
    run = tmp_path / "run"
    cfg = tiny_config(
        uninterrupted["root"],
        uninterrupted["root"] / "tok",
        uninterrupted["root"] / "data/train.json",
        None,
        run_dir=str(run),
        **SETTINGS,
    )
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 0
    for step in (6, 8):
        for path in sorted((run / "checkpoints" / step_name(step)).iterdir()):
            path.unlink()
        (run / "checkpoints" / step_name(step)).rmdir()
    rows = metric_rows(run)[:6]
    foreign = json.dumps({"note": "a line of the user's"})
    text = "".join(json.dumps(r) + "\n" for r in rows) + foreign + "\n" + '{"step": 7, "train/lo'
    (run / "metrics.jsonl").write_text(text)

    assert main(["train", str(run)]) == 0  # resumes from step 4
    after = (run / "metrics.jsonl").read_text().splitlines()
    assert after[4] == foreign  # kept
    steps = [json.loads(line).get("step") for line in after]
    assert steps == [1, 2, 3, 4, None, 5, 6, 7, 8]
    assert [json.loads(line) for line in after[:4]] == rows[:4]  # untouched
    assert json.loads(after[5])["time"] > rows[4]["time"]  # step 5 is the new row
