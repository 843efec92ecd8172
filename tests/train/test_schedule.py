"""The stage schedule, the data order, the micro-batch split, optimizer resets and the LR factor."""

from __future__ import annotations

import pytest

from coconut_lm.data.batching import epoch_order, micro_batch
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.train.trainer import lr_factor
from tests.train.helpers import make_trainer


def test_stage_for_epoch():
    cur = CurriculumConfig(c_thought=1, max_latent_stage=6, epochs_per_stage=5)  # ProsQA (docs/method.md §3)
    coconut = [Method.COCONUT.stage_for_epoch(e, cur) for e in range(50)]
    assert coconut[:5] == [0] * 5 and coconut[5] == 1 and coconut[34] == 6
    assert coconut[35:] == [7] * 15  # past max_latent_stage: the stage that drops every step, capped
    assert {Method.COCONUT_NO_CURRICULUM.stage_for_epoch(e, cur) for e in range(50)} == {7}
    assert {m.stage_for_epoch(e, cur) for e in range(50) for m in (Method.COT, Method.NO_COT)} == {0}
    assert [Method.ICOT.stage_for_epoch(e, cur) for e in range(3)] == [0, 1, 2]  # iCoT: the epoch


def test_global_order_does_not_depend_on_world_size():
    order = epoch_order(24, seed=0, epoch=3)
    assert sorted(order) == list(range(24)) and order != epoch_order(24, seed=0, epoch=4)
    chunk = order[:8]
    one = [i for a in range(2) for i in micro_batch(chunk, 4, a, 1, 0)]
    two = [i for a in range(2) for r in range(2) for i in micro_batch(chunk, 2, a, 2, r)]
    assert one == two == chunk  # every example of the global batch exactly once


@pytest.mark.parametrize(
    ("reset", "resets"),
    [("stage", [True, False, True]), ("epoch", [True, True, True]), ("never", [True, False, False])],
)
def test_optimizer_reset(make_config, reset, resets):
    trainer = make_trainer(make_config(training={"reset_optimizer": reset}, data={"val_path": None}))
    seen = []
    for stage in (0, 0, 1):  # three epochs: stage 0, 0, then 1
        before = trainer.optimizer
        trainer._start_epoch(stage)
        trainer.state.stage = stage
        seen.append(trainer.optimizer is not before)
    assert seen == resets


def test_lr_factor():
    assert lr_factor("constant", 0, 0, 0.7) == 1.0
    assert lr_factor("linear", 0, 0, 0.25) == 0.75
    assert lr_factor("cosine", 0, 0, 1.0) == pytest.approx(0.0)
    assert lr_factor("constant", 4, 0, 0.0) == 0.25 and lr_factor("constant", 4, 3, 0.0) == 1.0
