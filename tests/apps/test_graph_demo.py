"""The graph demo end to end at toy size: data, CoT, Coconut and the CoT baseline side by side,
the table over the test split and the frontier analysis."""

from __future__ import annotations

import json

import torch

from coconut_lm.cli import main


def test_graph_demo_runs_end_to_end(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--num-train", "64", "--num-valid", "8", "--num-test", "8"]
    args += ["--min-nodes", "5", "--max-nodes", "7", "--depth", "2", "--n-embd", "16", "--n-head", "2"]
    args += ["--cot-epochs", "1", "--final-epochs", "1", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| CoT |" in printed and "| Coconut |" in printed and "frontier mass" in printed
    summary = json.loads((out / "demo_summary.json").read_text())
    assert [row["stage"] for row in summary["validation"]["Coconut"]] == [1, 2, 3]
    # 1 epoch of stage 0, then as many as Coconut's; epochs counted from the start of stage 0
    assert [row["epoch"] for row in summary["validation"]["CoT"]] == [1, 2, 3, 4]
    assert [row["epoch"] for row in summary["validation"]["Coconut"]] == [2, 3, 4]
    assert len(summary["frontier"]) == 2 and summary["frontier"][0]["questions"] == 8
    for name in ("cot.yaml", "coconut.yaml", "frontier/frontier.json", "val_accuracy.png", "data/test.json"):
        assert (out / name).is_file(), name
    assert main(args) == 0  # again: everything reused
