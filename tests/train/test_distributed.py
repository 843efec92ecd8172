"""2 processes (torchrun, gloo on CPU) train like 1 process with the same global batch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from coconut_lm.cli import main
from coconut_lm.run.checkpoint import step_name
from tests.helpers import cli_env, signal_when
from tests.train.helpers import NO_DROPOUT
from tests.train.toy import write_config

pytestmark = pytest.mark.slow  # torchrun processes


def _torchrun_command(*args: object) -> list[str]:
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    command = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "coconut_lm", "train", "--device", "cpu"]
    return [*command, *map(str, args)]


def _torchrun(*args: object) -> None:
    proc = subprocess.run(_torchrun_command(*args), env=cli_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _losses(run) -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r.get("train/loss", r.get("eval/loss")) for r in rows]


def _accuracies(run) -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["eval/accuracy"] for r in rows if "eval/accuracy" in r]


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="no torchrun")
@pytest.mark.parametrize("fsdp", [False, True], ids=["ddp", "fsdp"])
def test_two_processes_equal_one(make_config, tmp_path, fsdp):
    def config(name: str, batch_size: int) -> dict:
        cfg = make_config(
            run_dir=str(tmp_path / name),
            training={"batch_size": batch_size, "fsdp": fsdp},
            evaluation={"max_new_tokens": 4},
        )
        cfg["model"]["from_config"].update(NO_DROPOUT)  # dropout masks would differ per process
        return cfg

    one = write_config(tmp_path / "one.yaml", config("one", batch_size=4))
    two = write_config(tmp_path / "two.yaml", config("two", batch_size=2))
    _torchrun(two)
    assert main(["train", str(one), "--device", "cpu"]) == 0

    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(a) == len(b) == 10  # 8 training steps, 2 validations
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-5
    assert _accuracies(tmp_path / "one") == _accuracies(tmp_path / "two")  # sharded eval, gathered
    final = "checkpoints/step-00000008/model.safetensors"
    wa, wb = load_file(tmp_path / "one" / final), load_file(tmp_path / "two" / final)
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], atol=1e-4, rtol=0, msg=name)


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="no torchrun")
def test_fsdp_killed_and_resumed_equals_uninterrupted(make_config, tmp_path):
    def config(name: str) -> Path:
        cfg = make_config(
            run_dir=str(tmp_path / name),
            data={"val_path": None},
            training={"batch_size": 2, "fsdp": True, "save_every_steps": 2},
        )
        return write_config(tmp_path / f"{name}.yaml", cfg)  # dropout on: per-rank RNG restored

    whole, killed = config("whole"), config("killed")
    first = tmp_path / "killed" / "checkpoints" / step_name(2)
    proc = signal_when(_torchrun_command(killed), first, signal.SIGKILL, timeout=180)  # torchrun and its workers
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not (tmp_path / "killed" / "checkpoints" / step_name(8)).exists()  # killed mid-run
    _torchrun(tmp_path / "killed")
    _torchrun(whole)
    final = "checkpoints/step-00000008/model.safetensors"
    a, b = load_file(tmp_path / "whole" / final), load_file(tmp_path / "killed" / final)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
