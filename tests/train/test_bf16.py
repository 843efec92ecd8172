"""bf16 autocast trains like fp32, on every device this machine has (CPU autocast included)."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.data.batching import plan_epoch
from coconut_lm.run.distributed import DistEnv
from tests.train.helpers import NO_DROPOUT, make_trainer

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _losses(make_config, bf16: bool, device: str, steps: int = 6) -> list[float]:
    model = make_config()["model"]
    model["from_config"].update(NO_DROPOUT)
    trainer = make_trainer(make_config(model=model, training={"batch_size": 4, "bf16": bf16}))
    if device != "cpu":
        trainer.env = DistEnv(device=torch.device(device))
        trainer.wrapped = trainer.model.to(device)
    plan = plan_epoch(trainer.train, 1, trainer.cfg, trainer.bundle.ids, trainer.max_length, 1)  # stage 1: thoughts
    trainer._new_optimizer()
    return [trainer.train_step(plan.sequences, plan.batches[i % len(plan.batches)])[0] for i in range(steps)]


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_autocast_trains_like_fp32(make_config, device):
    fp32 = _losses(make_config, bf16=False, device=device)
    bf16 = _losses(make_config, bf16=True, device=device)
    assert all(torch.isfinite(torch.tensor(bf16)))
    assert bf16[-1] < bf16[0]  # it learns
    for a, b in zip(fp32, bf16):
        assert abs(a - b) <= 0.03 * a, (fp32, bf16)
    assert fp32 != bf16  # autocast did run: bf16 rounds differently
