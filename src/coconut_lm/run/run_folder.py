"""A run folder as a whole: what counts as one, where a run resumes, and never a silent restart.

A run folder holds `config.yaml`, `metrics.jsonl`, `checkpoints/step-*/` and `best/`. It is
identified by where it is (the `run_dir` stored in its `config.yaml` is not trusted). Rules:

- a folder that holds files but is not a run folder is never written into (`check_run_dir`);
- a run folder whose checkpoints (or `best/`) exist but none is usable is never restarted from
  scratch without a word: `resume_point` refuses, naming `best/` when it is intact, and offers
  `--restart` (the old history is moved into `previous-N/`, nothing deleted) or `--resume-best`;
- what a killed save left is put back (`.old-best`, `recover_best`) or removed (`.tmp-*`,
  `clean_leftovers`) at the next start;
- `config.yaml` is never overwritten silently: a run whose resolved config differs keeps the
  earlier one as `config.previous-N.yaml` (`write_run_config`).

    >>> resume = resume_point("runs/prosqa", "auto")   # ResumePoint(checkpoint=..., set_aside=())
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coconut_lm.errors import ConfigError
from coconut_lm.io import atomic_write_bytes, atomic_write_text
from coconut_lm.run import checkpoint as ckpt

log = logging.getLogger(__name__)

RUN_CONFIG_FILE = "config.yaml"
"""The resolved configuration of a run, at the top of its folder."""
HISTORY = (ckpt.CHECKPOINTS, ckpt.BEST, RUN_CONFIG_FILE, "metrics.jsonl", "tensorboard")
"""What `--restart` moves into `previous-N/`: everything a run wrote."""
PREVIOUS_CONFIGS = "config.previous-*.yaml"
"""Earlier resolved configs of a run whose settings changed (`write_run_config`)."""
IGNORED = (".lock",)
"""Entries that do not make a folder non-empty (a lock left by a run killed while starting)."""

Resume = Literal["auto", "restart", "best"]
"""auto: the newest usable checkpoint (refused when there are checkpoints but none is usable);
restart: begin again, earlier history set aside; best: resume from `best/`."""


def is_run_folder(folder: str | Path) -> bool:
    """Whether `folder` is a run folder of coconut-lm: it has `checkpoints/`, or a `config.yaml`
    of ours (a mapping with `method`, `run_dir` and `training`)."""
    import yaml

    folder = Path(folder)
    if (folder / ckpt.CHECKPOINTS).is_dir():
        return True
    path = folder / RUN_CONFIG_FILE
    if path.is_symlink() or not path.is_file():
        return False
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return False
    return isinstance(tree, dict) and {"method", "run_dir", "training"} <= tree.keys()


def check_run_dir(run_dir: str | Path, own: tuple[str, ...] = ()) -> None:
    """Refuse a `run_dir` that holds files but is not a run folder (it is never written into);
    `own`: entries the caller itself put there (the demo's data), which do not count."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or is_run_folder(run_dir):
        return
    if any(p.name not in IGNORED + own for p in run_dir.iterdir()):
        raise ConfigError(
            f"run_dir: {run_dir} holds files but is not a run folder (no {RUN_CONFIG_FILE} of coconut-lm, "
            f"no {ckpt.CHECKPOINTS}/); choose a new or empty folder"
        )


@dataclass(frozen=True)
class ResumePoint:
    checkpoint: Path | None
    """The checkpoint to resume from; None: from the start."""
    set_aside: tuple[str, ...] = ()
    """Entries of the run folder to move into `previous-N/` before the run writes anything."""


def resume_point(run_dir: str | Path, resume: Resume = "auto") -> ResumePoint:
    """Where a run in `run_dir` starts; reads only. `CheckpointError` when there is history but
    nothing usable to resume from (`auto`), or `best/` is not usable (`best`)."""
    run_dir = Path(run_dir)
    if resume == "restart":
        return ResumePoint(None, HISTORY + tuple(p.name for p in sorted(run_dir.glob(PREVIOUS_CONFIGS))))
    best = run_dir / ckpt.BEST
    if resume == "best":
        ckpt.verify_checkpoint(best, resume=True)  # names what is wrong with it
        return ResumePoint(best, (ckpt.CHECKPOINTS,))  # its history continues; the newer steps go aside
    reasons: list[str] = []
    latest = ckpt.latest_checkpoint(run_dir, reasons)
    has_best = os.path.lexists(best)
    if latest is not None or not (reasons or has_best):
        return ResumePoint(latest)
    best_usable = has_best and _usable(best)
    if not reasons and best_usable:  # killed between saving best/ and the rolling checkpoint
        log.info("%s: no rolling checkpoint, resuming from %s", run_dir, best)
        return ResumePoint(best)
    why = f"none of its {len(reasons)} checkpoints is usable (newest: {reasons[0]})" if reasons else "no checkpoints"
    offer = "give --restart to begin again (its checkpoints and best/ are moved into previous-N/, nothing is deleted)"
    if best_usable:
        offer = f"{best} is intact: give --resume-best to resume from it, or " + offer.removeprefix("give ")
    raise ckpt.CheckpointError(
        f"{run_dir}: {why}; it was not restarted from scratch (that would replace best/ and its history): {offer}"
    )


def _usable(folder: Path) -> bool:
    try:
        ckpt.verify_checkpoint(folder, resume=True)
    except ckpt.CheckpointError:
        return False
    return True


def set_aside(run_dir: str | Path, names: tuple[str, ...]) -> Path | None:
    """Move the entries `names` of a run folder into a new `previous-N/` inside it (nothing is
    deleted); returns that folder, or None when none of them exists."""
    run_dir = Path(run_dir)
    present = [name for name in names if os.path.lexists(run_dir / name)]
    if not present:
        return None
    n = 1
    while os.path.lexists(run_dir / f"previous-{n}"):
        n += 1
    aside = run_dir / f"previous-{n}"
    aside.mkdir()
    for name in present:
        (run_dir / name).rename(aside / name)
    log.info("moved %s of %s into %s", ", ".join(present), run_dir, aside)
    return aside


def recover_best(run_dir: str | Path) -> None:
    """Put back the `best/` that a save killed in the middle of its swap left as `.old-best`."""
    run_dir = Path(run_dir)
    best, old = run_dir / ckpt.BEST, run_dir / f".old-{ckpt.BEST}"
    if not os.path.lexists(best) and old.is_dir() and not old.is_symlink() and _usable(old):
        old.rename(best)
        log.info("%s: put back from %s, left by an interrupted save", best, old)


def clean_leftovers(run_dir: str | Path) -> None:
    """Remove what a killed save left: `.tmp-*` folders of unfinished checkpoints, `.*.tmp` files
    of unfinished writes, `.old-*` folders of interrupted swaps."""
    run_dir = Path(run_dir)
    for folder in (run_dir, run_dir / ckpt.CHECKPOINTS):
        patterns = (".tmp-*", ".old-*", ".*.tmp") if folder.is_dir() else ()
        for stale in [p for pattern in patterns for p in folder.glob(pattern)]:
            if stale.is_symlink() or not stale.is_dir():
                stale.unlink()
            else:
                shutil.rmtree(stale, ignore_errors=True)


def write_run_config(run_dir: str | Path, text: str) -> Path | None:
    """Write a run's resolved config to `config.yaml`. An existing one that says something else is
    kept as `config.previous-N.yaml` (returned), never overwritten."""
    path = Path(run_dir) / RUN_CONFIG_FILE
    kept = None
    earlier = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    if earlier is not None and earlier != text.encode("utf-8"):
        n = 1
        while os.path.lexists(path.with_name(f"config.previous-{n}.yaml")):
            n += 1
        # a copy, then the new one over it: the folder always has a config.yaml
        kept = atomic_write_bytes(path.with_name(f"config.previous-{n}.yaml"), earlier)
        log.info("%s: the settings changed; the earlier config is kept as %s", path, kept.name)
    atomic_write_text(path, text)
    return kept
