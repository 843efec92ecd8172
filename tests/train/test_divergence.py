"""The divergence guard: a non-finite loss or gradient norm stops training (one line naming the
step) or skips the step (`training.on_nonfinite: skip_step`); nothing non-finite is ever saved."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from coconut_lm.cli import main
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.train.trainer import Trainer, TrainingDiverged
from tests.helpers import fails
from tests.train.helpers import make_trainer
from tests.train.toy import write_config

NO_VAL = {"val_path": None}


def one_epoch(**training) -> dict:
    return {"num_epochs": 1, "keep_last": 2, **training}


def finite_weights(folder: Path) -> bool:
    return all(torch.isfinite(t).all() for t in load_file(folder / "model.safetensors").values())


@pytest.fixture
def poison_step(monkeypatch):
    """`poison_step(step, what)`: the loss ("loss") or a gradient ("grad") of that global step is inf."""

    def poison(step: int, what: str) -> None:
        accumulate = Trainer.accumulate_gradients

        def poisoned(self, sequences, chunk):
            loss_sum, n_targets, tokens = accumulate(self, sequences, chunk)
            if self.state.global_step + 1 == step:
                if what == "loss":
                    loss_sum = loss_sum + math.inf
                else:
                    next(p for p in self.wrapped.parameters() if p.grad is not None).grad[0] = math.inf
            return loss_sum, n_targets, tokens

        monkeypatch.setattr(Trainer, "accumulate_gradients", poisoned)

    return poison


def test_a_huge_learning_rate_stops_at_the_step_it_diverges(make_config, tmp_path, capsys):
    cfg = make_config(data=NO_VAL, training=one_epoch(lr=1e6))
    line = fails(["train", str(write_config(tmp_path / "c.yaml", cfg))], capsys)
    assert line.startswith("coconut-lm train: training diverged at global step 2 (loss nan)")
    assert "no checkpoint was saved" in line
    assert ckpt.list_checkpoints(cfg["run_dir"]) == [] and not (Path(cfg["run_dir"]) / "best").exists()


def test_a_diverging_resume_keeps_the_good_checkpoints(make_config, tmp_path, capsys):
    cfg = make_config(data=NO_VAL, training=one_epoch())
    run = Path(cfg["run_dir"])
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 0
    good = run / "checkpoints" / "step-00000004"
    before = (good / "model.safetensors").read_bytes()
    line = fails(["train", str(run), "training.num_epochs=3", "training.lr=1e6", "--allow-changes"], capsys)
    assert "training diverged at global step 6" in line and f"the last checkpoint, {good}, is intact" in line
    assert ckpt.list_checkpoints(run) == [good]  # no non-finite resume point replaced it
    assert (good / "model.safetensors").read_bytes() == before
    ckpt.verify_checkpoint(good, resume=True)


@pytest.mark.parametrize("what", ["loss", "grad"])
def test_stop_names_the_step_of_a_non_finite_loss_or_gradient(make_config, tmp_path, capsys, poison_step, what):
    poison_step(3, what)
    cfg = make_config(data=NO_VAL, training=one_epoch(save_every_steps=2))
    line = fails(["train", str(write_config(tmp_path / "c.yaml", cfg))], capsys)
    expected = "loss inf" if what == "loss" else "gradient norm inf"
    assert line.startswith(f"coconut-lm train: training diverged at global step 3 ({expected})")
    assert [p.name for p in ckpt.list_checkpoints(cfg["run_dir"])] == ["step-00000002"]


def test_skip_step_skips_and_counts(make_config, tmp_path, poison_step):
    poison_step(2, "loss")
    cfg = make_config(data=NO_VAL, training=one_epoch(on_nonfinite="skip_step"))
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 0
    run = Path(cfg["run_dir"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("train/skipped_steps", 0) for r in rows if "train/loss" in r] == [0, 1, 1, 1]
    folder = run / "checkpoints" / "step-00000004"
    assert ckpt.read_trainer_state(folder).skipped_steps == 1
    assert finite_weights(folder)


def test_non_finite_weights_are_never_saved(make_config, tmp_path):
    trainer = make_trainer(make_config(data=NO_VAL, training=one_epoch()))
    with torch.no_grad():
        next(trainer.model.parameters())[0] = math.nan
    with pytest.raises(TrainingDiverged, match="the weights are not finite; checkpoint best not saved"):
        trainer.save(trainer.run_dir / ckpt.BEST)
    assert not trainer.run_dir.exists()
