"""Which settings a resumed run may change: refused with the keys named, or free."""

from __future__ import annotations

import dataclasses

import pytest

from coconut_lm.errors import ConfigError
from coconut_lm.run.changes import FREE, check_resume, flat_settings
from coconut_lm.run.config import SECTIONS, RunConfig, config_from_dict


def resume(saved: dict, overrides: list[str], global_batch: int = 0, world: int = 1, allow: bool = False):
    cfg = config_from_dict(saved, overrides)
    return check_resume("ck", saved, cfg, global_batch, world, allow)


BASE = RunConfig().to_dict()


@pytest.mark.parametrize(
    "override, shown",
    [
        ("training.batch_size=8", "training.batch_size 32 -> 8"),
        ("training.gradient_accumulation_steps=2", "training.gradient_accumulation_steps 1 -> 2"),
        ("training.seed=1", "training.seed 0 -> 1"),
        ("training.lr=3e-4", "training.lr 0.0001 -> 0.0003"),
        ("data.train_path=other.json", "data.train_path None -> 'other.json'"),
        ("data.max_train_examples=10", "data.max_train_examples None -> 10"),
        ("curriculum.c_thought=2", "curriculum.c_thought 1 -> 2"),
        ("thoughts.rescale=true", "thoughts.rescale False -> True"),
        ("model.max_length=64", "model.max_length None -> 64"),
    ],
)
def test_a_change_that_breaks_exactness_is_refused_naming_it(override, shown):
    with pytest.raises(ConfigError) as e:
        resume(BASE, [override])
    message = str(e.value)
    assert shown in message and "--allow-changes" in message
    assert "\n" not in message


def test_allow_changes_returns_them():
    changes = resume(BASE, ["training.batch_size=8", "training.seed=2", "logging.progress_bar=false"], allow=True)
    assert [c.key for c in changes] == ["training.batch_size", "training.seed"]  # the free one is not


def test_settings_that_change_neither_weights_nor_validation_set_are_free():
    overrides = [
        "logging.log_every_steps=5",
        "evaluation.batch_size=2",
        "evaluation.max_new_tokens=16",
        "training.keep_last=9",
        "training.save_every_steps=100",
        "training.num_epochs=80",  # train longer at a constant learning rate
        "run_dir=elsewhere",  # a moved run folder
    ]
    assert resume(BASE, overrides) == []
    assert all(key.split(".")[0] in (*SECTIONS, "run_dir") for key in FREE)


def test_the_length_of_a_run_with_a_decaying_learning_rate_is_not_free():
    saved = config_from_dict(BASE, ["training.lr_schedule=linear"]).to_dict()
    with pytest.raises(ConfigError, match="training.num_epochs 50 -> 80"):
        resume(saved, ["training.num_epochs=80"])


def test_settings_the_method_ignores_are_free():
    cot = config_from_dict(BASE, ["method=cot"]).to_dict()
    assert resume(cot, ["curriculum.c_thought=3", "curriculum.uniform_prob=0.5", "thoughts.rescale=true"]) == []
    no_cot = config_from_dict(BASE, ["method=no_cot"]).to_dict()
    assert resume(no_cot, ["curriculum.uniform_prob=0.5"]) == []
    with pytest.raises(ConfigError, match="curriculum.uniform_prob"):
        resume(BASE, ["curriculum.uniform_prob=0.5"])  # coconut mixes stages with it


def test_another_number_of_processes_is_a_change():
    with pytest.raises(ConfigError, match="processes 2 -> 1"):
        resume(BASE, [], global_batch=64)  # 2 processes x batch 32
    assert resume(BASE, [], global_batch=32) == []
    assert resume(BASE, [], global_batch=0) == []  # not recorded (an older checkpoint)


def test_the_same_file_under_another_name_is_no_change(tmp_path, monkeypatch):
    (tmp_path / "train.json").write_text("[]")
    monkeypatch.chdir(tmp_path)
    saved = config_from_dict(BASE, [f"data.train_path={tmp_path / 'train.json'}"]).to_dict()
    assert resume(saved, ["data.train_path=./train.json"]) == []


def test_a_saved_config_this_version_cannot_read_is_compared_key_by_key():
    saved = {**BASE, "training": {**BASE["training"], "retired_key": 1}}
    assert check_resume("ck", saved, RunConfig(), 0, 1, False) == []
    with pytest.raises(ConfigError, match="training.batch_size 32 -> 8"):
        check_resume("ck", saved, config_from_dict(BASE, ["training.batch_size=8"]), 0, 1, False)


def test_flat_settings_keeps_values_whole():
    flat = flat_settings(config_from_dict(BASE, ["model.name_or_path=null", "model.from_config={model_type: gpt2}",
                                                 "model.tokenizer=t"]).to_dict())  # fmt: skip
    assert flat["model.from_config"] == {"model_type": "gpt2"}
    assert flat["training.betas"] == [0.9, 0.999]


def test_run_config_names_the_settings_its_method_ignores():
    cfg = config_from_dict(BASE, ["method=cot", "curriculum.c_thought=3", "curriculum.max_latent_stage=6"])
    assert cfg.ignored_settings() == {"curriculum.c_thought": 3}  # max_latent_stage 6 is the default
    assert config_from_dict(BASE, ["curriculum.c_thought=3"]).ignored_settings() == {}
    thoughts = {f"thoughts.{f.name}" for f in dataclasses.fields(SECTIONS["thoughts"])}
    assert thoughts <= config_from_dict(BASE, ["method=cot"]).method.ignored_settings()
