"""A run killed with SIGKILL mid-epoch and resumed ends with the same weights, bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import torch
from safetensors.torch import load_file

from coconut_lm.cli import main
from coconut_lm.train.trainer import KILL_AFTER_STEP_ENV
from tests.paths import REPO
from tests.train.toy import write_config


def test_killed_and_resumed_equals_uninterrupted(make_config, tmp_path):
    # Dropout stays on (GPT-2's 0.1), so the torch RNG state must be restored too.
    settings = {"data": {"val_path": None}, "training": {"save_every_steps": 2, "keep_last": 10}}
    whole = write_config(tmp_path / "whole.yaml", make_config(run_dir=str(tmp_path / "whole"), **settings))
    killed = write_config(tmp_path / "killed.yaml", make_config(run_dir=str(tmp_path / "killed"), **settings))

    env = {**os.environ, "PYTHONPATH": os.path.join(REPO, "src"), "OMP_NUM_THREADS": "1", KILL_AFTER_STEP_ENV: "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "coconut_lm", "train", str(killed)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    ckpts = sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir())
    assert ckpts == ["step-00000002"]  # mid-epoch 0 (4 steps per epoch); nothing half-written

    assert main(["train", str(tmp_path / "killed")]) == 0  # a run folder: resumes from step 2
    assert main(["train", str(whole)]) == 0

    final = "checkpoints/step-00000008/model.safetensors"
    a, b = load_file(tmp_path / "whole" / final), load_file(tmp_path / "killed" / final)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    opt_a = torch.load(tmp_path / "whole" / "checkpoints/step-00000008/optimizer.pt", weights_only=True)
    opt_b = torch.load(tmp_path / "killed" / "checkpoints/step-00000008/optimizer.pt", weights_only=True)
    for key, state in opt_a["state"].items():
        assert torch.equal(state["exp_avg"], opt_b["state"][key]["exp_avg"]), key
