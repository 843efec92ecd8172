"""The demo end to end at toy size: symbolic data, warm-up, both runs, the table, the frontier."""

from __future__ import annotations

import json

import torch

from coconut_lm.cli import main

TOY = ["--num-train", "64", "--num-valid", "8", "--num-test", "8", "--min-nodes", "5", "--max-nodes", "6"]
TOY += ["--min-path", "2", "--max-path", "2", "--n-embd", "16", "--n-head", "2", "--cot-epochs", "1"]
TOY += ["--epochs-per-stage", "1", "--final-epochs", "1", "--batch-size", "16"]


def test_demo_runs_end_to_end(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *TOY]) == 0
    printed = capsys.readouterr().out
    assert "| CoT |" in printed and "| Coconut |" in printed and "frontier mass" in printed
    summary = json.loads((out / "demo_summary.json").read_text())
    assert set(summary["results"]) == {"CoT", "Coconut"}
    assert summary["results"]["Coconut"]["num_questions"] == 8
    assert [row["thought"] for row in summary["frontier"]["per_thought"]] == [1, 2]
    states = {
        name: json.loads((out / name / "checkpoints").glob("*").__next__().joinpath("trainer_state.json").read_text())
        for name in ("cot", "coconut")
    }
    assert states["cot"]["epoch"] == states["coconut"]["epoch"] == 4  # 1 warm-up + 2 stages + 1 final
    for name in ("frontier/frontier.json", "frontier/frontier_mass.png", "data/test.json", "data/tokenizer"):
        assert (out / name).exists(), name
    assert main(["demo", "--out", str(out), *TOY]) == 0  # again: everything is reused
