"""`scripts/check_gpu.sh` on a machine without a GPU: one clear line, a summary, exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.paths import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the script runs the whole check (minutes)")
def test_no_gpu_summary(tmp_path):
    env = {**os.environ, "PY": sys.executable}
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "check_gpu.sh"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no GPU: torch sees no CUDA device on this machine")
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"gpu": False}
