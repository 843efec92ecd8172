"""Clear errors: missing data, too-long sequences, foreign checkpoints, missing extras; and the
model sources (from_config, init_from a CoT checkpoint folder or an official state-dict file)."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.data.batching import SequenceTooLongError
from coconut_lm.data.schema import DataError
from coconut_lm.run.build import build_model
from coconut_lm.run.checkpoint import CheckpointError
from coconut_lm.run.config import config_from_dict
from coconut_lm.train.tracking import TrackerUnavailable, build_tracker
from coconut_lm.train.trainer import train
from tests.train.helpers import make_trainer


def test_missing_data_file(make_config, tmp_path):
    cfg = config_from_dict(make_config(data={"train_path": str(tmp_path / "nope.json")}))
    with pytest.raises(DataError, match="data.train_path: .*nope.json: no such data file"):
        train(cfg)


def test_sequence_longer_than_context(make_config):
    cfg = make_config(model={"max_length": 20}, data={"val_path": None}, training={"num_epochs": 1})
    with pytest.raises(
        SequenceTooLongError,
        match=r"example \d+ of .*train.json \('Is .*tokens at stage 0, more than "
        r"the model's context of 20; set data.too_long=skip",
    ):
        make_trainer(cfg).fit()


@pytest.mark.parametrize("policy", ["skip", "truncate"])
def test_too_long_policies(make_config, policy):
    from coconut_lm.data.batching import plan_epoch

    trainer = make_trainer(make_config(model={"max_length": 40}, data={"too_long": policy}, training={"batch_size": 1}))
    plan = plan_epoch(trainer.train, 0, trainer.cfg, trainer.bundle.ids, trainer.max_length, 1)
    kept = [s for s in plan.sequences if s is not None]
    assert all(len(s.input_ids) <= 40 for s in kept)
    assert (len(kept) < len(plan.sequences)) == (policy == "skip")


def test_checkpoint_of_another_method(make_config):
    small = {"data": {"val_path": None}, "training": {"num_epochs": 1}}
    train(config_from_dict(make_config(**small)))
    with pytest.raises(CheckpointError, match="checkpoint of method 'coconut', but this run is 'cot'"):
        train(config_from_dict(make_config(method="cot", **small)))
    other = make_config(**small)
    other["model"]["from_config"]["model_type"] = "gpt_neox"
    with pytest.raises(CheckpointError, match="checkpoint of a 'gpt2' model, but this run builds 'gpt_neox'"):
        train(config_from_dict(other))


def test_cli_prints_clear_errors(make_config, tmp_path):
    from coconut_lm.cli import main
    from tests.train.toy import write_config

    bad = write_config(tmp_path / "bad.yaml", make_config(curriculum={"c_thought": 0}))
    with pytest.raises(SystemExit, match="coconut-lm train: curriculum.c_thought: must be >= 1 with coconut"):
        main(["train", str(bad)])
    with pytest.raises(SystemExit, match="coconut-lm train: training.batch_size: expected int, got 'x'"):
        main(["train", str(bad), "--device", "cpu", "curriculum.c_thought=1", "training.batch_size=x"])


@pytest.mark.parametrize("extra", ["tensorboard", "wandb"])
def test_optional_tracker_not_installed(make_config, tmp_path, extra):
    import importlib.util

    if importlib.util.find_spec(extra) is not None:
        pytest.skip(f"{extra} is installed here; this checks the message when it is not")
    cfg = config_from_dict(make_config(logging={extra: True}))
    with pytest.raises(
        TrackerUnavailable, match=rf"pip install 'coconut-lm\[{extra}\]' \(or set logging.{extra}=false\)"
    ):
        build_tracker(cfg.logging, tmp_path, is_main=True)
    # Not asked for: metrics.jsonl only, nothing imported.
    tracker = build_tracker(config_from_dict(make_config()).logging, tmp_path, is_main=True)
    tracker.log({"train/loss": 1.0}, step=1)
    tracker.close()
    assert (tmp_path / "metrics.jsonl").read_text().count("train/loss") == 1


def test_init_coconut_from_cot_checkpoint(make_config, tmp_path):
    small = {"data": {"val_path": None}, "training": {"num_epochs": 1}}
    train(config_from_dict(make_config(method="cot", run_dir=str(tmp_path / "cot"), **small)))
    cot_ckpt = tmp_path / "cot" / "checkpoints" / "step-00000004"
    cot = build_model(config_from_dict(make_config(method="cot")), cot_ckpt).model.base_model
    n_vocab = cot.get_input_embeddings().weight.shape[0]
    coconut_cfg = config_from_dict(make_config(model={"init_from": str(cot_ckpt)}))
    coconut = build_model(coconut_cfg).model.base_model
    emb = coconut.get_input_embeddings().weight
    assert emb.shape[0] == n_vocab + 3  # CoT has no rows for <bot>, <eot>, <latent>; grown here
    assert torch.equal(emb[:n_vocab], cot.get_input_embeddings().weight)
    assert torch.equal(coconut.transformer.h[0].mlp.c_fc.weight, cot.transformer.h[0].mlp.c_fc.weight)

    # An official state-dict file: plain keys (its CoT checkpoint) or `base_causallm.*` (its Coconut).
    plain = tmp_path / "checkpoint_22"
    torch.save({k: v for k, v in cot.state_dict().items() if "lm_head" not in k}, plain)
    from_file = build_model(config_from_dict(make_config(model={"init_from": str(plain)}))).model.base_model
    assert torch.equal(from_file.transformer.h[1].attn.c_attn.weight, cot.transformer.h[1].attn.c_attn.weight)
    official = tmp_path / "checkpoint_40"
    torch.save({"base_causallm." + k: v for k, v in coconut.state_dict().items()}, official)
    again = build_model(config_from_dict(make_config(model={"init_from": str(official)}))).model.base_model
    assert torch.equal(again.get_input_embeddings().weight, emb)


def test_special_token_text_in_the_training_data_is_refused_before_any_write(make_config, tmp_path, capsys):
    import json

    from coconut_lm.cli import main
    from coconut_lm.errors import USER_ERROR_STATUS
    from tests.train.toy import toy_examples, write_config

    records = toy_examples(8)
    records[0]["question"] = "<|latent|>" + records[0]["question"]  # at the start: once a traceback
    data = tmp_path / "bad.json"
    data.write_text(json.dumps(records))
    cfg = make_config(data={"train_path": str(data), "val_path": None}, training={"num_epochs": 1})
    with pytest.raises(SystemExit) as exc:
        main(["train", str(write_config(tmp_path / "c.yaml", cfg))])
    assert exc.value.code == USER_ERROR_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"coconut-lm train: {data}: record 0: field 'question' holds '<|latent|>', a special token of the tokenizer"
    )
    assert not (tmp_path / "run" / "config.yaml").exists()
