"""One writer per run folder: an exclusive lock held for the whole run.

Two `coconut-lm train` into one run folder would interleave their metrics and overwrite each
other's checkpoints. The process that writes the run (rank 0) holds an `flock` on
`<run_dir>/.lock`, a file that also names its pid; a second process is refused at once with that
pid. The operating system releases the lock when its holder dies, however it dies, so a killed
run's folder is taken over by the next run without anyone deleting anything. The file is removed
on a normal exit, and a run folder that the lock created is removed again if nothing else was
written into it (a run that failed on its inputs leaves nothing behind).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from coconut_lm.errors import UserError

try:
    import fcntl
except ImportError:  # not POSIX: no lock
    fcntl = None

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class RunFolderBusy(UserError):
    """Another live process holds the run folder."""


class RunLock:
    """`with RunLock(run_dir):` holds the run folder for this process."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.fd: int | None = None
        self.created_dir = False

    def __enter__(self) -> RunLock:
        self.created_dir = not self.run_dir.exists()
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise UserError(f"run_dir: {self.run_dir}: cannot write there ({e.strerror})") from None
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._recorded_pid()
                os.close(self.fd)
                self.fd = None
                raise RunFolderBusy(
                    f"run_dir: {self.run_dir} is in use by process {holder or '(unknown pid)'} (another "
                    "coconut-lm train); wait for it to end or choose another run_dir"
                ) from None
        previous = self._recorded_pid()
        if previous and previous != os.getpid():
            log.info("run_dir %s: taking over from process %s, which has ended", self.run_dir, previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def _recorded_pid(self) -> int | None:
        try:
            text = os.pread(self.fd, 32, 0).decode().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # before unlocking: no one can lock the file we remove
        os.close(self.fd)
        self.fd = None
        if self.created_dir:
            try:
                self.run_dir.rmdir()  # only if the run wrote nothing else
            except OSError:
                pass
