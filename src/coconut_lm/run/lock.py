"""One writer per run folder: an exclusive lock held for the whole run.

Two `coconut-lm train` into one run folder would interleave their metrics and overwrite each
other's checkpoints. The process that writes the run (rank 0) holds an `flock` on
`<run_dir>/.lock`, a file that also names its pid; a second process is refused at once with that
pid. The operating system releases the lock when its holder dies, however it dies, so a killed
run's folder is taken over by the next run without anyone deleting anything. The file is created
with `O_EXCL | O_NOFOLLOW`; a link (or anything but a plain file) at `.lock` is refused, never
followed or truncated. The file is removed on a normal exit, and a run folder that the lock
created is removed again if nothing else was written into it (a run that failed on its inputs
leaves nothing behind).
"""

from __future__ import annotations

import logging
import os
import stat
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
        except OSError as e:
            raise UserError(f"run_dir: {self.run_dir}: cannot write there ({e.strerror})") from None
        for _ in range(10):  # another run may remove the file between our open and our flock
            self.fd = self._open()
            if self._lock_taken() and self._still_at_path():
                break
            os.close(self.fd)
            self.fd = None
        else:
            raise RunFolderBusy(f"run_dir: {self.run_dir}: its lock file keeps changing; try again")
        previous = self._recorded_pid()
        if previous and previous != os.getpid():
            log.info("run_dir %s: taking over from process %s, which has ended", self.run_dir, previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def _open(self) -> int:
        """A new `.lock` (`O_EXCL`), or the regular file a run that died left; never a link."""
        flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                return os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                # O_NOFOLLOW: a link here fails (ELOOP); O_NONBLOCK: a fifo does not hang us
                fd = os.open(self.path, flags | getattr(os, "O_NONBLOCK", 0))
        except OSError as e:
            if os.path.islink(self.path):
                raise UserError(f"{self.path}: is a symbolic link, not a lock file of coconut-lm (refused)") from None
            raise UserError(f"run_dir: {self.run_dir}: cannot write there ({e.strerror})") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise UserError(f"{self.path}: is not a lock file of coconut-lm (not a plain file); remove it")
        return fd

    def _lock_taken(self) -> bool:
        """flock the open file; `RunFolderBusy` when a live process holds it."""
        if fcntl is None:
            return True
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
        return True

    def _still_at_path(self) -> bool:
        """Whether the locked file is still the one named `.lock` (its holder may have removed it)."""
        try:
            here = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

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
