"""SIGINT (Ctrl-C) and SIGTERM during training: stop at the next step boundary, with a resume point.

`StopSignals`, a context manager around a run, turns the first SIGINT or SIGTERM into a request
that the trainer reads at each step boundary (all processes agree on it under torchrun). There it
saves a normal rolling checkpoint, unless one of that step exists, and raises `TrainingStopped`:
a `KeyboardInterrupt` whose one-line message names the checkpoint. On the way out the run lock is
released. Resuming from that checkpoint ends with the weights of an uninterrupted run, as after
any checkpoint. The command line prints the line and exits with 128 + the signal's number, as a
shell reports a process ended by a signal: 130 for SIGINT, 143 for SIGTERM.

A second SIGINT stops at once (`StoppedAtOnce`, no checkpoint; a save it cut short is removed
at the next start). The same signal again within `REPEAT_WINDOW_S` counts as the first: torchrun
forwards the terminal's Ctrl-C to its workers, which also get it from the terminal. A signal that
was ignored when the run started (`nohup`, a background job of a script) stays ignored. Signals
are handled in the main thread only; elsewhere (a run started from another thread) they keep
their usual meaning.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)
REPEAT_WINDOW_S = 1.0
"""A repeat of the first signal within this many seconds is the same request (torchrun's copy)."""


class TrainingStopped(KeyboardInterrupt):
    """Training stopped on a signal at a step boundary; `checkpoint` is where it resumes."""

    def __init__(self, message: str, signum: int, checkpoint: Path | None):
        super().__init__(message)
        self.signum, self.checkpoint = signum, checkpoint


class StoppedAtOnce(KeyboardInterrupt):
    """A second SIGINT: training stopped at once, without saving."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopSignals:
    """`with StopSignals(run_dir) as stop:` ... `stop.requested` is the signal received, or None."""

    def __init__(self, run_dir: str | Path, announce: bool = True):
        self.run_dir, self.announce = Path(run_dir), announce
        self.requested: int | None = None
        self._first_at = 0.0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self.requested is None:
            self.requested, self._first_at = signum, time.monotonic()
            if self.announce:
                log.warning(
                    "%s: stopping at the next step boundary to save a resume point (Ctrl-C again: stop at once)",
                    signal_name(signum),
                )
            return
        repeat = signum == self.requested and time.monotonic() - self._first_at < REPEAT_WINDOW_S
        if signum != signal.SIGINT or repeat:
            return  # already stopping
        raise StoppedAtOnce(
            f"stopped at once by a second Ctrl-C, without saving; `coconut-lm train {self.run_dir}` resumes "
            "from its last checkpoint",
            signum,
        )
