"""A run's `metrics.jsonl`, read and drawn: training loss, learning rate, validation accuracy.

The trainer appends one JSON object per log (`train/loss`, `train/lr`, `train/stage` every
`logging.log_every_steps` steps; `eval/accuracy`, `eval/loss`, `eval/stage` after each
validation, with `train/epoch` the epochs done). A step's last row is the one kept (runs resumed
before the trainer dropped the rows it replays logged them twice). A last line that does not end
in a newline is a row still being written (a run in progress); it is left out, and so, with a
warning, is any line that is not a row (a killed writer's half line). A file with no row at all is
an `InputError` naming the file and its first bad line.

    >>> plot_run("runs/prosqa")       # runs/prosqa/plots/training.png and validation.png
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from coconut_lm.analysis.plots import plot_training_curves, plot_validation_curve, require_matplotlib
from coconut_lm.errors import InputError
from coconut_lm.io import check_folder_writable
from coconut_lm.train.tracking import METRICS_FILE

log = logging.getLogger(__name__)

PLOTS_FOLDER = "plots"
"""Where `plot_run` writes inside the run folder unless told otherwise."""


@dataclass
class RunMetrics:
    """What a run logged, one row per step, by step."""

    train: list[dict]
    """Rows of step, loss, lr, stage (the logs that hold `train/loss`)."""
    validation: list[dict]
    """Rows of step, epoch (epochs done), stage, accuracy, loss (the validations after an epoch)."""


def metrics_file(run: str | os.PathLike) -> Path:
    """`run/metrics.jsonl` for a run folder, or `run` itself when it is a file."""
    path = Path(run)
    if path.is_dir():
        path = path / METRICS_FILE
        if not path.is_file():
            raise InputError(f"{run}: no {METRICS_FILE} in this folder (not a run folder, or nothing logged yet)")
    elif not path.is_file():
        raise InputError(f"{run}: no such run folder or metrics file")
    return path


def _lines(path: Path) -> tuple[list[tuple[int, str]], int]:
    """(line number, text) of the non-blank lines of `path`, and the number of its last line when
    that has no newline yet (a row perhaps still being written; 0 when there is none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    lines = text.split("\n")  # the last item follows the final newline ("" when there is one)
    unfinished = len(lines) if lines[-1].strip() else 0
    return [(number, line) for number, line in enumerate(lines, 1) if line.strip()], unfinished


def _numbers(row: dict, keys: tuple[str, ...], names: tuple[str, ...]) -> dict:
    """`row`'s values at `keys` under `names`; `ValueError` naming the first that is not a number."""
    out = {"step": row["step"]}
    for key, name in zip(keys, names):
        value = row.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{key} is {value!r}, expected a number")
        out[name] = value
    return out


def read_metrics(run: str | os.PathLike) -> RunMetrics:
    """The training and validation rows of a run folder's (or a file's) metrics. Lines that are
    not rows of ours (a run killed mid-line, then resumed) are left out with a warning; `InputError`
    when no row is left."""
    path = metrics_file(run)
    train, validation, skipped = {}, {}, []
    lines, unfinished = _lines(path)
    for number, line in lines:
        try:
            row = json.loads(line)
            if not (isinstance(row, dict) and isinstance(row.get("step"), int)):
                raise ValueError("expected a JSON object with an integer 'step'")
            if "train/loss" in row:
                train[row["step"]] = _numbers(row, ("train/loss", "train/lr", "train/stage"), ("loss", "lr", "stage"))
            if "eval/accuracy" in row and "train/epoch" in row:  # an evaluation-only run has no epoch
                keys = ("train/epoch", "eval/stage", "eval/accuracy")
                values = _numbers(row, keys, ("epoch", "stage", "accuracy"))
                validation[row["step"]] = {**values, "loss": row.get("eval/loss")}
        except ValueError as e:  # json.JSONDecodeError too
            if number == unfinished:
                continue  # still being written
            skipped.append(f"line {number}: {e.msg if isinstance(e, json.JSONDecodeError) else e}")
    if not train and not validation:
        cause = f" ({skipped[0]})" if skipped else ""
        raise InputError(
            f"{path}: no training or validation metrics in it{cause}; is it a metrics.jsonl of coconut-lm?"
        )
    if skipped:
        lines_out = f"{len(skipped)} line{'s' if len(skipped) > 1 else ''}"
        log.warning("%s: %s left out, not metrics rows (%s)", path, lines_out, skipped[0])
    return RunMetrics([train[s] for s in sorted(train)], [validation[s] for s in sorted(validation)])


def validation_curve(run: str | os.PathLike, shift: int = 0) -> list[dict]:
    """The validation rows of a run (`read_metrics`), their epochs moved by `shift` (a run that
    started at a later epoch, drawn beside one that did not)."""
    return [{**row, "epoch": row["epoch"] + shift} for row in read_metrics(run).validation]


def plot_run(run: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Draw a run's metrics into `out` (default: `RUN/plots/`): `training.png` (loss and learning
    rate by step, stages shaded) and `validation.png` (accuracy by epoch, stage changes marked),
    each when the run logged its rows. Files of those names are replaced; returns their paths."""
    metrics = read_metrics(run)
    require_matplotlib()
    path = metrics_file(run)
    out = Path(out) if out is not None else path.parent / PLOTS_FOLDER
    check_folder_writable(out)
    title = path.parent.name if path.name == METRICS_FILE else path.stem
    written = []
    if metrics.train:
        points = [(r["step"], r["loss"]) for r in metrics.validation if isinstance(r["loss"], (int, float))]
        written.append(plot_training_curves(metrics.train, points, out / "training.png", title))
    if metrics.validation:
        written.append(plot_validation_curve(metrics.validation, out / "validation.png", title))
    return written
