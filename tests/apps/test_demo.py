"""The graph demo end to end at toy size: data, Coconut and the CoT baseline side by side from a
stage-0 checkpoint (trained here, or the committed one), the table over the test split and the
frontier analysis."""

from __future__ import annotations

import json

import pytest
import torch

from coconut_lm.apps.demo import DemoConfig, stage0_checkpoint
from coconut_lm.cli import main
from tests.paths import REPO

STAGE0 = REPO / "experiments" / "symbolic" / "checkpoints" / "cot_stage0_demo_s0"
TOY = ["--num-generated", "64", "--num-train", "32", "--num-valid", "8", "--num-test", "8", "--threads", "1"]


@pytest.mark.slow
def test_demo_from_scratch(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--stage0", "", *TOY]
    args += ["--min-nodes", "5", "--max-nodes", "7", "--depth", "2", "--n-embd", "16", "--n-head", "2"]
    args += ["--cot-epochs", "1", "--final-epochs", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| CoT |" in printed and "| Coconut |" in printed and "frontier mass" in printed
    summary = json.loads((out / "demo_summary.json").read_text())
    assert [row["stage"] for row in summary["validation"]["Coconut"]] == [1, 2, 3]
    # epochs after stage 0, the same count for both runs
    assert [row["epoch"] for row in summary["validation"]["CoT"]] == [1, 2, 3]
    assert [row["epoch"] for row in summary["validation"]["Coconut"]] == [1, 2, 3]
    assert len(summary["frontier"]) == 2 and summary["frontier"][0]["questions"] == 8
    assert len(json.loads((out / "data" / "stage0.json").read_text())) == 64
    assert len(json.loads((out / "data" / "train.json").read_text())) == 32
    for name in ("cot.yaml", "coconut.yaml", "cot.log", "frontier/frontier.json", "val_accuracy.png"):
        assert (out / name).is_file(), name
    for name in ("cot.yaml", "coconut.yaml"):  # the last epoch of both runs decays the learning rate to 0
        text = (out / name).read_text()
        assert "decay_epochs: 1" in text and "lr_schedule: linear" in text, name
    assert main(args) == 0  # again: everything reused


@pytest.mark.slow
@pytest.mark.skipif(not STAGE0.is_dir(), reason=f"no committed stage-0 checkpoint at {STAGE0}")
def test_demo_from_the_committed_stage0(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--stage0", str(STAGE0), "--final-epochs", "0", *TOY]) == 0
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["start"] == str(STAGE0)
    assert len(summary["frontier"]) == 3 and summary["frontier"][0]["questions"] == 8


def test_the_committed_stage0_needs_its_graphs_and_model(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--out", str(tmp_path / "demo"), "--depth", "2", *TOY])
    assert exc.value.code == 2


@pytest.mark.skipif(not STAGE0.is_dir(), reason=f"no committed stage-0 checkpoint at {STAGE0}")
def test_the_committed_stage0_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert stage0_checkpoint(DemoConfig(), {}).resolve() == STAGE0.resolve()
