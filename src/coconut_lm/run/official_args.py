"""Argument files of the official code (`args/*.yaml` of facebookresearch/coconut), translated.

The official files are flat (`coconut: True`, `c_thought: 1`, `batch_size_training: 32`, ...)
with four booleans where we have one `Method`, and the string "None" for "no value". This module
maps them onto our nested `RunConfig` layout and returns one note per mapping that changes a
name or a meaning, so people can bring their runs:

    >>> tree, notes = translate_official_args(yaml.safe_load(open("args/prosqa_coconut.yaml")))
    >>> tree["method"], tree["curriculum"]["c_thought"]
    ('coconut', 1)
"""

from __future__ import annotations

import os
from typing import Any

from coconut_lm.errors import ConfigError

METHOD_FLAGS = ("coconut", "cot", "no_thoughts", "no_cot", "special_token")
"""The official booleans that together choose the method."""

DIRECT = {
    "c_thought": "curriculum.c_thought",
    "max_latent_stage": "curriculum.max_latent_stage",
    "pad_latent_to_max": "curriculum.pad_latent_to_max",
    "uniform_prob": "curriculum.uniform_prob",
    "epochs_per_stage": "curriculum.epochs_per_stage",
    "batch_size_training": "training.batch_size",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "num_epochs": "training.num_epochs",
    "lr": "training.lr",
    "weight_decay": "training.weight_decay",
    "bf16": "training.bf16",
    "seed": "training.seed",
    "train_path": "data.train_path",
    "val_path": "data.val_path",
    "project": "logging.project",
    "only_eval": "evaluation.only_eval",
}
"""Official keys with a direct counterpart."""

HANDLED = (
    set(METHOD_FLAGS)
    | set(DIRECT)
    | {
        "model_id",
        "local",
        "local_path",
        "load_model_path",
        "resume",
        "reset_optimizer",
        "save_only_improve",
        "save_path",
        "name",
        "debug",
    }
)
"""Every official key this module understands; any other key is an error."""

MARKERS = {"batch_size_training", "coconut", "cot", "no_cot", "no_thoughts", "model_id"}
"""Keys that only the official format has: two of them mark a file as official."""


def is_official_args(tree: dict) -> bool:
    """Whether a parsed YAML file is in the official flat format (not our nested one)."""
    return isinstance(tree, dict) and len(MARKERS & set(tree)) >= 2


def _none(value: Any) -> Any:
    """The official code writes "None" (a string) for no value."""
    return None if value in (None, "None", "none", "") else value


def _method(tree: dict) -> str:
    flags = {k: bool(tree.get(k, False)) for k in METHOD_FLAGS}
    if flags["no_thoughts"]:
        return "coconut_no_thought"  # official: c_thought := 0, coconut := False
    if flags["cot"]:
        return "cot"
    if flags["no_cot"]:
        return "no_cot"
    if flags["special_token"]:
        return "pause_as_thought"
    if flags["coconut"]:
        return "coconut"
    raise ConfigError("official args: none of coconut/cot/no_cot/no_thoughts/special_token is true")


def _set(tree: dict, dotted: str, value: Any) -> None:
    section, key = dotted.split(".")
    tree.setdefault(section, {})[key] = value


def translate_official_args(official: dict) -> tuple[dict, list[str]]:
    """(our nested config dict, notes) for an official args dict; unknown keys raise."""
    unknown = sorted(set(official) - HANDLED)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key in an official args file (known: {', '.join(sorted(HANDLED))})")
    if official.get("grpo"):
        raise ConfigError("grpo: the official GRPO fine-tuning is not supported by coconut-lm train")
    tree: dict = {"method": _method(official)}
    notes = [f"method: {tree['method']} (from {', '.join(k for k in METHOD_FLAGS if official.get(k))})"]
    for key, dotted in DIRECT.items():
        if key in official:
            _set(tree, dotted, _none(official[key]))
            if key != dotted.split(".")[1]:
                notes.append(f"{key} -> {dotted}")
    model = official.get("local_path") if official.get("local") else official.get("model_id")
    if _none(model) is not None:
        _set(tree, "model.name_or_path", model)
        notes.append(f"{'local_path' if official.get('local') else 'model_id'} -> model.name_or_path")
    resume = int(official.get("resume", 0) or 0)
    load = _none(official.get("load_model_path"))
    if load is not None:
        _set(tree, "model.init_from", load)
        notes.append("load_model_path -> model.init_from")
    if resume:
        _set(tree, "training.start_epoch", resume)
        notes.append("resume -> training.start_epoch (a run folder with checkpoints resumes from them)")
    if "reset_optimizer" in official:
        value = "epoch" if official["reset_optimizer"] else "never"
        _set(tree, "training.reset_optimizer", value)
        notes.append(f"reset_optimizer: {official['reset_optimizer']} -> training.reset_optimizer: {value}")
    if official.get("save_only_improve"):
        _set(tree, "training.keep_last", 1)
        notes.append("save_only_improve -> training.keep_last: 1 (the best is always kept in best/)")
    save_path, name = _none(official.get("save_path")), _none(official.get("name"))
    if save_path is not None or name is not None:
        tree["run_dir"] = os.path.join(save_path or "runs", name or "run")
        notes.append(f"save_path/name -> run_dir: {tree['run_dir']}")
    if name is not None:
        _set(tree, "logging.name", name)
    if official.get("debug"):
        _set(tree, "data.max_train_examples", 5000)
        _set(tree, "data.max_val_examples", 32)
        notes.append("debug -> data.max_train_examples: 5000, data.max_val_examples: 32")
    if "val_path" in official and "gsm" in str(official["val_path"]):
        _set(tree, "evaluation.max_new_tokens", 64)
        notes.append("gsm val_path -> evaluation.max_new_tokens: 64 (as the official code)")
    elif "val_path" in official:
        _set(tree, "evaluation.max_new_tokens", 128)
    return tree, notes
