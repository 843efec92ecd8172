"""What a resumed run may change: its settings against those its checkpoint was trained with.

A resumed run ends with the weights of an uninterrupted one only if every setting that shapes
them is the one its checkpoint was trained with. On resume, the new resolved config is compared
with the checkpoint's own (`coconut_config.yaml`, and the global batch in its trainer state):

- a changed setting that shapes the trained weights (the data and how many examples, the
  sequences built from them, the model, the optimisation, the seed, the examples per optimizer
  step, the number of processes) or the validation set `best/` is chosen on is refused with one
  line naming the keys, unless `allow_changes` (`coconut-lm train --allow-changes`): then each
  change is logged, and the trainer says where the epoch continues;
- the rest passes: `FREE` (logging, checkpoints kept, how evaluation runs, ...), every setting
  the method ignores (`Method.ignored_settings`), and the length of the run (`num_epochs`,
  `start_epoch`) under a constant learning rate (a decaying one would decay differently).

    >>> check_resume(folder, read_checkpoint_config(folder), cfg, 8, world_size=1, allow_changes=False)
    ConfigError: resuming runs/r from runs/r/checkpoints/step-00000002 with changed settings, so it
    would not continue the run it resumes: training.batch_size 4 -> 8; give --allow-changes ...
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any

from coconut_lm.errors import ConfigError
from coconut_lm.run.config import SECTIONS, RunConfig, config_from_dict

log = logging.getLogger(__name__)

FREE = frozenset(
    {
        "run_dir",  # a run folder is where it is (a moved folder resumes itself)
        "model.trust_remote_code",
        "data.duplicates",
        "training.save_every_steps",
        "training.keep_last",
        "training.save_best",
        "training.on_nonfinite",
        "training.find_unused_parameters",
        *(f"evaluation.{name}" for name in ("max_new_tokens", "batch_size", "every_epochs", "only_eval")),
        *(f"logging.{f.name}" for f in dataclasses.fields(SECTIONS["logging"])),
    }
)
"""Settings that change neither the trained weights nor the validation set: always free."""
RUN_LENGTH = frozenset({"training.num_epochs", "training.start_epoch"})
"""Free under a constant learning rate; with a decaying one they move the decay."""
PATHS = frozenset({"data.train_path", "data.val_path", "model.tokenizer", "model.name_or_path", "model.init_from"})
"""Compared as files: the same file under another name is no change."""
WORLD = "processes"
"""The pseudo-key of a changed number of processes (the global batch changes with it)."""


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.key} {self.old!r} -> {self.new!r}"


def flat_settings(tree: dict) -> dict[str, Any]:
    """`{"training.batch_size": 4, ...}`: each section's keys dotted (values such as
    `model.from_config` stay whole)."""
    out = {}
    for key, value in tree.items():
        if key in SECTIONS and isinstance(value, dict):
            out.update({f"{key}.{name}": v for name, v in value.items()})
        else:
            out[key] = value
    return out


def _resolved(saved: dict) -> dict:
    """A saved config with every default filled in (as this version reads it); as written when
    it no longer validates."""
    try:
        return config_from_dict(saved).to_dict()
    except ConfigError:
        return saved


def _same(key: str, old: Any, new: Any) -> bool:
    if old == new:
        return True
    if key in PATHS and isinstance(old, str) and isinstance(new, str):
        try:
            return os.path.samefile(old, new)
        except OSError:
            return False
    return False


def changed_settings(saved: dict, cfg: RunConfig) -> list[Change]:
    """Every setting whose value differs between a checkpoint's saved config and `cfg`
    (keys only one of them has are not compared)."""
    old, new = flat_settings(_resolved(saved)), flat_settings(cfg.to_dict())
    return [Change(k, old[k], new[k]) for k in new if k in old and not _same(k, old[k], new[k])]


def is_free(change: Change, cfg: RunConfig) -> bool:
    """Whether a change keeps the resumed run exact (see the module docstring)."""
    if change.key in FREE or change.key in cfg.method.ignored_settings():
        return True
    return change.key in RUN_LENGTH and cfg.training.lr_schedule == "constant"


def world_change(saved: dict, cfg: RunConfig, saved_global_batch: int, world_size: int) -> Change | None:
    """A changed number of processes, read from the checkpoint's global batch (0: not recorded)."""
    t = _resolved(saved).get("training", {})
    per_process = t.get("batch_size", 0) * t.get("gradient_accumulation_steps", 0)
    if not saved_global_batch or not per_process or saved_global_batch % per_process:
        return None
    old_world = saved_global_batch // per_process
    return Change(WORLD, old_world, world_size) if old_world != world_size else None


def check_resume(
    checkpoint: os.PathLike | str,
    saved: dict | None,
    cfg: RunConfig,
    saved_global_batch: int,
    world_size: int,
    allow_changes: bool,
) -> list[Change]:
    """Refuse (`ConfigError`, one line naming the keys) a resume whose changed settings break
    exactness, unless `allow_changes`; returns those changes (logged) when allowed."""
    if saved is None:  # a checkpoint without its config (written by hand): nothing to compare
        return []
    changes = changed_settings(saved, cfg)
    world = world_change(saved, cfg, saved_global_batch, world_size)
    breaking = [c for c in changes if not is_free(c, cfg)] + ([world] if world else [])
    if breaking and not allow_changes:
        raise ConfigError(
            f"resuming {cfg.run_dir} from {checkpoint} with changed settings, so it would not continue the "
            f"run it resumes: {'; '.join(map(str, breaking))}; give --allow-changes to continue with them "
            "anyway (the changes are logged), set them back, or give --restart to begin again"
        )
    free = [c for c in changes if is_free(c, cfg) and c.key != "run_dir"]
    if free:
        log.info("resuming with changed settings that keep it exact: %s", "; ".join(map(str, free)))
    if breaking:
        log.warning("resuming with changed settings (--allow-changes): %s", "; ".join(map(str, breaking)))
    return breaking
