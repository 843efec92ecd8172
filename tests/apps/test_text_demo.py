"""The demo end to end at toy size: data, tokenizer, curriculum training, table, plot."""

from __future__ import annotations

import json

import pytest
import torch

from coconut_lm.cli import main


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    args = ["demo-text", "--out", str(out), "--num-train", "48", "--num-valid", "8", "--num-test", "8"]
    args += ["--n-layer", "1", "--n-embd", "32", "--n-head", "2", "--vocab-size", "300"]
    args += ["--max-latent-stage", "1", "--epochs-per-stage", "1", "--batch-size", "16", "--max-nodes", "7"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| CoT (end of stage 0) |" in printed and "| Coconut (stage 1) |" in printed
    assert "Correct Path" in printed  # the path categories over the whole test split
    summary = json.loads((out / "demo_summary.json").read_text())
    assert sum(summary["paths"]["counts"]["0"].values()) == 8
    assert [row["stage"] for row in summary["validation"]] == [0, 1]
    for name in ("metrics.jsonl", "config.yaml", "demo.yaml", "val_accuracy.png", "data/test.json"):
        assert (out / name).is_file(), name
    # Running it again reuses the data and the finished run.
    assert main(args) == 0
