"""Metrics: always `metrics.jsonl` in the run folder; TensorBoard and W&B only when asked for.

Every tracker has `log(metrics, step)` and `close()`. Processes other than rank 0 get a
`NullTracker`, so the loop logs unconditionally. TensorBoard and W&B are optional extras,
imported only when enabled; if one is enabled but not installed, `build_tracker` raises a
`TrackerUnavailable` that says what to install (before any training time is spent).

A resumed run trains again the steps after its checkpoint: `drop_metrics_after` first removes
their rows from `metrics.jsonl`, so that each step appears once.

`EpochProgress` shows progress within an epoch: a tqdm bar on a terminal, and where stderr is a
file (a cluster job's log) a line every `logging.progress_every_s` seconds.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from coconut_lm.errors import UserError
from coconut_lm.io import atomic_write_bytes, open_append

METRICS_FILE = "metrics.jsonl"

log = logging.getLogger(__name__)


class TrackerUnavailable(UserError, RuntimeError):
    """An optional logging backend was asked for but is not installed."""


class Tracker(Protocol):
    def log(self, metrics: dict, step: int) -> None: ...

    def close(self) -> None: ...


class NullTracker:
    """Logs nothing (processes other than rank 0, and disabled backends)."""

    def log(self, metrics: dict, step: int) -> None:
        pass

    def close(self) -> None:
        pass


class JsonlTracker:
    """Appends one JSON object per `log` call to `<run>/metrics.jsonl` (flushed each time)."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / METRICS_FILE
        self._file = open_append(self.path)  # a link or non-file there is refused

    def log(self, metrics: dict, step: int) -> None:
        row = {"step": step, "time": round(time.time(), 3), **metrics}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def drop_metrics_after(run_dir: str | Path, step: int) -> int:
    """Remove the rows of `<run>/metrics.jsonl` logged after global step `step`, and a last line
    that a killed writer left unfinished; the file is rewritten atomically (only when a row goes).
    Lines that are not rows of ours are kept. Returns how many lines went."""
    path = Path(run_dir) / METRICS_FILE
    if path.is_symlink() or not path.is_file():
        return 0  # nothing of ours (a link is refused when the tracker opens it)
    lines = path.read_bytes().split(b"\n")
    complete, unfinished = lines[:-1], lines[-1]  # "" when the file ends with a newline
    kept = [line for line in complete if not _logged_after(line, step)]
    dropped = len(complete) - len(kept) + bool(unfinished)
    if dropped:
        atomic_write_bytes(path, b"".join(line + b"\n" for line in kept))
    return dropped


def _logged_after(line: bytes, step: int) -> bool:
    try:
        row = json.loads(line)
    except ValueError:
        return False
    logged = row.get("step") if isinstance(row, dict) else None
    return isinstance(logged, int) and not isinstance(logged, bool) and logged > step


class TensorBoardTracker:
    """Scalars to `<run>/tensorboard` (needs the `tensorboard` package)."""

    def __init__(self, run_dir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise TrackerUnavailable(
                "logging.tensorboard is on but TensorBoard is not installed: "
                "pip install 'coconut-lm[tensorboard]' (or set logging.tensorboard=false)"
            ) from e
        self._writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def log(self, metrics: dict, step: int) -> None:
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        self._writer.close()


class WandbTracker:
    """Metrics to Weights & Biases (needs the `wandb` package and a login)."""

    def __init__(self, project: str, name: str, config: dict):
        try:
            import wandb
        except ImportError as e:
            raise TrackerUnavailable(
                "logging.wandb is on but Weights & Biases is not installed: "
                "pip install 'coconut-lm[wandb]' (or set logging.wandb=false)"
            ) from e
        self._run = wandb.init(project=project, name=name, config=config)

    def log(self, metrics: dict, step: int) -> None:
        self._run.log(metrics, step=step)

    def close(self) -> None:
        self._run.finish()


class MultiTracker:
    """Fans each call out to several trackers."""

    def __init__(self, trackers: list):
        self.trackers = trackers

    def log(self, metrics: dict, step: int) -> None:
        for tracker in self.trackers:
            tracker.log(metrics, step)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.close()


def build_tracker(logging_config, run_dir: str | Path, is_main: bool, config: dict | None = None) -> Tracker:
    """The trackers `logging_config` asks for (rank 0), or a `NullTracker` (other ranks)."""
    if not is_main:
        return NullTracker()
    trackers: list = []
    if logging_config.tensorboard:
        trackers.append(TensorBoardTracker(run_dir))
    if logging_config.wandb:
        name = logging_config.name or Path(run_dir).name
        trackers.append(WandbTracker(logging_config.project, name, config or {}))
    return MultiTracker([JsonlTracker(run_dir), *trackers])


class EpochProgress:
    """Progress through one epoch's optimizer steps; `update` after each, `close` at the end.

    On a terminal, a tqdm bar. Else (`stderr` a file or a pipe), a log line every `every_s` seconds:
    `epoch 2/9 stage 1: step 500/2000 (25%), loss 0.4102, 1234 tok/s, 6.1 min left in the epoch`.
    """

    def __init__(self, total: int, done: int, desc: str, every_s: float, enabled: bool = True):
        self.total, self.done, self.desc, self.every_s = total, done, desc, every_s
        terminal = sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=done, dynamic_ncols=True, desc=desc, disable=not (enabled and terminal))
        self.lines = enabled and not terminal
        self.started, self.started_at, self.last_line = done, time.monotonic(), time.monotonic()

    def update(self, loss: float, tokens_per_s: float) -> None:
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tokens_per_s:.0f}")
        now = time.monotonic()
        if self.lines and (now - self.last_line >= self.every_s or self.done == self.total):
            self.last_line = now
            per_step = (now - self.started_at) / (self.done - self.started)
            left = (self.total - self.done) * per_step / 60
            log.info(
                "%s: step %d/%d (%.0f%%), loss %.4f, %.0f tok/s, %.1f min left in the epoch",
                self.desc,
                self.done,
                self.total,
                100 * self.done / max(self.total, 1),
                loss,
                tokens_per_s,
                left,
            )

    def close(self) -> None:
        self.bar.close()
