"""Gradient accumulation is exact: batch 8 == batch 4 x 2 accumulation steps."""

from __future__ import annotations

import torch

from coconut_lm.data.batching import plan_epoch
from tests.train.helpers import NO_DROPOUT, make_trainer


def _grads(trainer, epoch: int):
    plan = plan_epoch(trainer.train, epoch, trainer.cfg, trainer.bundle.ids, trainer.max_length, 1)
    chunk = plan.batches[0]
    loss_sum, n_targets, _ = trainer.accumulate_gradients(plan.sequences, chunk)
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
    return float(loss_sum) / n_targets, grads, plan, chunk


def test_batch_8_equals_4_times_2(make_config):
    model = make_config()["model"]
    model["from_config"].update(NO_DROPOUT)
    # Epoch 1 = stage 1: sequences with a continuous thought and of different lengths.
    full = make_trainer(make_config(model=model, training={"batch_size": 8, "gradient_accumulation_steps": 1}))
    accum = make_trainer(make_config(model=model, training={"batch_size": 4, "gradient_accumulation_steps": 2}))
    loss_full, grads_full, plan, chunk = _grads(full, epoch=1)
    loss_accum, grads_accum, _, _ = _grads(accum, epoch=1)
    assert abs(loss_full - loss_accum) < 1e-6
    for name, g in grads_full.items():
        torch.testing.assert_close(grads_accum[name], g, atol=1e-6, rtol=0, msg=name)

    # The naive alternative (mean of per-micro-batch means) differs: the test can fail.
    from coconut_lm.data.collate import collate

    ids = full.bundle.ids
    with torch.no_grad():
        means = [
            float(full.model(**collate([plan.sequences[i] for i in part], ids.pad, ids.latent)).loss)
            for part in (chunk[:4], chunk[4:])
        ]
    assert abs(sum(means) / 2 - loss_full) > 1e-4
