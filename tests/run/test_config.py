"""The run configuration: YAML into typed dataclasses, overrides, errors, official args files."""

from __future__ import annotations

import logging

import pytest
import yaml

from coconut_lm.data.methods import Method
from coconut_lm.run.config import ConfigError, RunConfig, config_from_dict, defaults_yaml, load_config
from tests.paths import REPO

OURS = """
method: coconut
run_dir: runs/x
model: {name_or_path: some/folder}
curriculum: {c_thought: 2, max_latent_stage: 3, epochs_per_stage: 3, pad_latent_to_max: true}
training: {lr: 1e-4, batch_size: 8}
"""

# The official prosqa_coconut.yaml (facebookresearch/coconut args/), as people have it.
OFFICIAL = """
project: coconut
save_path: /ckpts
name: prosqa-coconut
only_eval: False
coconut: True
cot: False
no_thoughts: False
no_cot: False
c_thought: 1
epochs_per_stage: 5
max_latent_stage: 6
pad_latent_to_max: True
save_only_improve: False
uniform_prob: 0.0
model_id: openai-community/gpt2
load_model_path: None
seed: 0
resume: 0
bf16: False
train_path: data/prosqa_train.json
val_path: data/prosqa_valid.json
reset_optimizer: True
batch_size_training: 32
debug: False
gradient_accumulation_steps: 1
num_epochs: 50
lr: !!float "1e-4"
weight_decay: 0.01
"""


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(OURS)
    cfg = load_config(path, ["training.lr=3e-4", "curriculum.uniform_prob=0.3", "method=cot"])
    assert cfg.method is Method.COT
    assert cfg.training.lr == 3e-4 and cfg.training.batch_size == 8
    assert cfg.curriculum.c_thought == 2 and cfg.curriculum.uniform_prob == 0.3
    assert cfg.training.reset_optimizer == "stage"  # a default
    again = config_from_dict(yaml.safe_load(cfg.to_yaml()))
    assert again == cfg  # the saved resolved config reads back to the same config


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"training": {"learning_rate": 1e-4}}, "training.learning_rate: unknown key"),
        ({"trainig": {}}, "trainig: unknown key"),
        ({"training": {"batch_size": "big"}}, "training.batch_size: expected int"),
        ({"training": {"batch_size": 0}}, "training.batch_size: must be >= 1"),
        ({"curriculum": {"pad_latent_to_max": "yes"}}, "curriculum.pad_latent_to_max: expected bool"),
        ({"training": {"reset_optimizer": "always"}}, "training.reset_optimizer: expected one of"),
        ({"method": "coconut", "curriculum": {"c_thought": 0}}, "curriculum.c_thought: must be >= 1 with coconut"),
        ({"method": "latent"}, "method: unknown method 'latent'; expected one of: cot, no_cot, coconut"),
        ({"model": {"from_config": {"n_layer": 2}, "tokenizer": "t"}}, "model.from_config: needs a `model_type`"),
        ({"model": {"from_config": {"model_type": "gpt2"}}}, "model.tokenizer: is required"),
    ],
)
def test_errors_name_the_key(tree, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config_from_dict(tree)


@pytest.mark.parametrize(
    "override, key",
    [
        ("training.lr=.inf", "training.lr"),
        ("training.lr=.nan", "training.lr"),
        ("training.weight_decay=-.inf", "training.weight_decay"),
        ("training.max_grad_norm=.inf", "training.max_grad_norm"),
        ("curriculum.uniform_prob=.nan", "curriculum.uniform_prob"),
    ],
)
def test_non_finite_numbers_are_refused(override, key):
    with pytest.raises(ConfigError, match=f"^{key}: expected a finite number, got"):
        config_from_dict({}, [override])


@pytest.mark.parametrize("betas", ["[.nan, 0.999]", "[0.9, .inf]", "[0.9, 1.5]", "[0.9]", "[a, b]"])
def test_betas_are_two_numbers_in_0_1(betas):
    with pytest.raises(ConfigError, match=r"^training.betas: must be two numbers in \[0, 1\)"):
        config_from_dict({}, [f"training.betas={betas}"])


def test_on_nonfinite_choices():
    assert config_from_dict({}).training.on_nonfinite == "stop"
    assert config_from_dict({}, ["training.on_nonfinite=skip_step"]).training.on_nonfinite == "skip_step"
    with pytest.raises(ConfigError, match="training.on_nonfinite: expected one of: stop, skip_step"):
        config_from_dict({}, ["training.on_nonfinite=ignore"])


def test_bad_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(None, ["training.lr"])
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_official_args_file(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="coconut_lm")
    path = tmp_path / "prosqa_coconut.yaml"
    path.write_text(OFFICIAL)
    cfg = load_config(path)
    assert cfg.method is Method.COCONUT
    assert (cfg.curriculum.c_thought, cfg.curriculum.max_latent_stage, cfg.curriculum.epochs_per_stage) == (1, 6, 5)
    assert cfg.curriculum.pad_latent_to_max is True
    assert cfg.training.batch_size == 32 and cfg.training.num_epochs == 50 and cfg.training.lr == 1e-4
    assert cfg.training.reset_optimizer == "epoch"  # official: AdamW rebuilt every epoch
    assert cfg.model.name_or_path == "openai-community/gpt2" and cfg.model.init_from is None
    assert cfg.run_dir == "/ckpts/prosqa-coconut" and cfg.evaluation.max_new_tokens == 128
    assert "batch_size_training -> training.batch_size" in caplog.text


@pytest.mark.parametrize(
    ("flags", "method"),
    [
        ({"coconut": False, "cot": True}, Method.COT),
        ({"coconut": False, "no_cot": True}, Method.NO_COT),
        ({"coconut": True, "no_thoughts": True}, Method.COCONUT_NO_THOUGHT),
        ({"coconut": False, "special_token": True}, Method.PAUSE_AS_THOUGHT),
    ],
)
def test_official_method_flags(flags, method):
    tree = {**yaml.safe_load(OFFICIAL), **flags}
    assert config_from_dict(tree).method is method


def test_official_gsm_recipe_and_unknown_key():
    tree = {
        **yaml.safe_load(OFFICIAL),
        "resume": 3,
        "load_model_path": "/ckpts/gsm-cot/checkpoint_22",
        "val_path": "data/gsm_valid.json",
        "c_thought": 2,
        "max_latent_stage": 3,
    }
    cfg = config_from_dict(tree, ["training.batch_size=4"])  # overrides apply after the translation
    assert cfg.model.init_from == "/ckpts/gsm-cot/checkpoint_22" and cfg.training.start_epoch == 3
    assert cfg.evaluation.max_new_tokens == 64 and cfg.training.batch_size == 4
    with pytest.raises(ConfigError, match="warmup: unknown key in an official args file"):
        config_from_dict({**tree, "warmup": 10})


def test_defaults_document_every_field():
    text = defaults_yaml()
    parsed = yaml.safe_load(text)
    assert parsed["training"]["lr"] == 1e-4 and parsed["curriculum"]["c_thought"] == 1
    assert text.count("#") >= 40  # one doc comment per field
    assert RunConfig().model.name_or_path == "openai-community/gpt2"


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=str)
def test_recipes_load(path):
    text = path.read_text()
    assert "coconut-lm" in text.split("\nmethod:")[0]  # the header says how to launch it
    cfg = load_config(path)
    assert cfg.method.value in path.stem or path.stem == "tiny_cpu"
