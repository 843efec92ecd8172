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


@pytest.mark.parametrize(("start_epoch", "decay_epochs"), [(0, 0), (1, 0), (1, 2)])
def test_lr_decays_over_the_epochs_this_run_trains(make_config, start_epoch, decay_epochs):
    """The decay spans the epochs from `start_epoch` on (or only the last `decay_epochs`) and ends at 0."""
    training = {"num_epochs": 4, "start_epoch": start_epoch, "lr_schedule": "linear", "decay_epochs": decay_epochs}
    trainer = make_trainer(make_config(training=training, data={"val_path": None}))
    per_epoch = trainer.total_steps // (4 - start_epoch)
    trainer.state.steps_since_reset = 10**6  # past any warm-up
    lrs = []
    for step in range(trainer.total_steps + 1):
        trainer.state.global_step = step
        lrs.append(trainer.lr_multiplier())
    flat = trainer.total_steps - (decay_epochs * per_epoch if decay_epochs else trainer.total_steps)
    assert lrs[: flat + 1] == [1.0] * (flat + 1)
    assert lrs[-1] == 0.0 and all(a > b for a, b in zip(lrs[flat:], lrs[flat + 1 :], strict=False))


def test_decay_epochs_needs_a_decay(make_config):
    from coconut_lm.errors import ConfigError
    from coconut_lm.run.config import config_from_dict

    with pytest.raises(ConfigError, match="training.decay_epochs"):
        config_from_dict(make_config(training={"decay_epochs": 1}))
    with pytest.raises(ConfigError, match="training.decay_epochs"):
        config_from_dict(make_config(training={"num_epochs": 2, "decay_epochs": 3, "lr_schedule": "linear"}))
