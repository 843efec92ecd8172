"""Training with Jacobi thought updates (`thoughts.update: jacobi`)."""

from __future__ import annotations

import json

import pytest

from coconut_lm.run.config import config_from_dict
from coconut_lm.train.trainer import train

DROPOUT_OFF = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}


def losses(run_dir) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["train/loss"] for r in rows if "train/loss" in r]


def run(make_config, tmp_path, name: str, thoughts: dict) -> list[float]:
    cfg = make_config(run_dir=str(tmp_path / name), thoughts=thoughts, data={"val_path": None})
    cfg["model"]["from_config"].update(DROPOUT_OFF)
    cfg["curriculum"].update(max_latent_stage=2, c_thought=2)
    cfg["training"].update(num_epochs=3)
    train(config_from_dict(cfg), device="cpu")
    return losses(tmp_path / name)


def test_enough_iterations_train_like_sequential(make_config, tmp_path):
    sequential = run(make_config, tmp_path, "sequential", {"update": "sequential"})
    parallel = run(make_config, tmp_path, "jacobi", {"update": "jacobi", "iterations": 4})  # 4 = the most thoughts
    assert parallel == pytest.approx(sequential, abs=1e-4)


def test_one_iteration_trains(make_config, tmp_path):
    losses_t1 = run(make_config, tmp_path, "jacobi1", {"update": "jacobi", "iterations": 1})
    assert all(loss == loss for loss in losses_t1) and losses_t1[-1] < losses_t1[0]


def test_iterations_must_be_positive():
    with pytest.raises(ValueError, match="thoughts.iterations: must be >= 1"):
        config_from_dict({"thoughts": {"update": "jacobi", "iterations": 0}})


def test_eval_can_switch_to_jacobi(make_config, tmp_path, toy_assets, capsys):
    from coconut_lm.cli import main

    run(make_config, tmp_path, "seq", {"update": "sequential"})
    data = str(toy_assets["val"])
    outputs = {}
    for extra in ([], ["--jacobi-iterations", "8"], ["--jacobi-iterations", "1"]):
        assert main(["eval", str(tmp_path / "seq"), "--data", data, "--max-new-tokens", "4", *extra]) == 0
        outputs[len(extra) and extra[-1]] = json.loads(capsys.readouterr().out)
    assert outputs["8"]["accuracy"] == outputs[0]["accuracy"]  # enough iterations: the sequential answers
    assert outputs["1"]["forward_passes_per_question"] < outputs[0]["forward_passes_per_question"]
