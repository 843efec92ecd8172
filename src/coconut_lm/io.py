"""Every file coconut-lm writes goes through here: atomic, and never through a link.

- `atomic_write` (and `atomic_write_text`, `write_json`, `write_jsonl`) writes a temporary file
  in the target's folder, created with `O_CREAT | O_EXCL | O_NOFOLLOW` (a name that someone else
  made, a link included, is never opened), then renames it over the target: a reader never sees a
  half-written file, and a killed writer leaves at most a `.NAME.*.tmp` file.
- `check_target` refuses to replace anything but a regular file or a missing path: a symbolic
  link, a folder, a device node, a fifo or a socket is an `InputError` naming the path (so `eval
  --predictions /dev/null` cannot turn the null device into a file). Without `overwrite` it
  refuses an existing file too, and it checks that the folder can be written, so that commands
  call it before their long work, not after.
- `open_append` (metrics logs) and `open_new` (a child process's log) open files the same safe way.
- `save_into` gives a library's folder writer (`save_pretrained`) the same guarantees per file;
  `make_fresh_folder` gives an empty folder of ours (a leftover of a killed writer is removed).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from coconut_lm.errors import InputError

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def default_file_mode() -> int:
    """The mode a plain `open(..., "w")` gives a new file under this process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _kind(mode: int) -> str | None:
    """What a path that is not a regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link (coconut-lm does not write through links)"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device (coconut-lm replaces only regular files)"
    if stat.S_ISFIFO(mode):
        return "a fifo (coconut-lm replaces only regular files)"
    return "not a regular file (coconut-lm replaces only regular files)"


def check_folder_writable(folder: str | os.PathLike) -> None:
    """Raise `InputError` unless `folder` is, or can be made as, a folder this process can write."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.absolute().parents) if os.path.lexists(p))
    if not existing.is_dir():
        raise InputError(f"{folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{folder}: permission denied ({existing} is not writable)")


def check_target(path: str | os.PathLike, overwrite: bool = True) -> Path:
    """`path` if coconut-lm may write it: missing, or a regular file (and then only with `overwrite`),
    in a folder it can write; else `InputError` naming the path.

        >>> check_target("/dev/null")
        InputError: /dev/null: is a device (coconut-lm replaces only regular files)
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise InputError(f"{path}: cannot write there ({e.strerror})") from None
    if mode is not None:
        kind = _kind(mode)
        if kind is not None:
            raise InputError(f"{path}: is {kind}")
        if not overwrite:
            raise InputError(f"{path}: already exists (give --overwrite to replace it)")
    check_folder_writable(path.parent)
    return path


def check_output_folder(folder: str | os.PathLike, overwrite: bool = False) -> Path:
    """An output folder given by the user: a folder or a missing path, writable; without
    `overwrite`, empty (its files would be replaced)."""
    folder = Path(folder)
    if os.path.lexists(folder):
        kind = _kind(os.lstat(folder).st_mode)
        if kind != "a folder, not a file":
            raise InputError(f"{folder}: is {kind or 'a file'}, not a folder")
        if not overwrite and any(folder.iterdir()):
            raise InputError(f"{folder}: already holds files (give --overwrite to replace them)")
    check_folder_writable(folder)
    return folder


def _open_temp(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, created exclusively and without following links."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
    while True:
        tmp = path.parent / f".{path.name[:200]}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp  # the umask applies, as for open(..., "w")
        except FileExistsError:
            continue


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call `write(f)` on a temporary binary file beside `path`, then rename it to `path`.

    >>> atomic_write("out/weights.pt", lambda f: torch.save(state, f))
    """
    path = Path(path)
    if not os.path.lexists(path.parent):
        check_folder_writable(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
    check_target(path)
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        check_target(path)  # again: something may have been put there meanwhile
        os.replace(tmp, path)  # replaces the name, never follows it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Atomically write `obj` as JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def write_jsonl(path: str | os.PathLike, rows) -> Path:
    """Atomically write an iterable of JSON-serialisable rows, one per line."""
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _open_regular(path: Path, flags: int, mode: str) -> IO:
    if not os.path.lexists(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    check_target(path)
    try:
        fd = os.open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0o666)
    except OSError as e:
        raise InputError(f"{path}: cannot write there ({e.strerror})") from None
    kind = _kind(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise InputError(f"{path}: is {kind}")
    return os.fdopen(fd, mode, encoding="utf-8")


def open_append(path: str | os.PathLike) -> IO[str]:
    """A text file opened for appending (created if missing); a link or non-file is refused."""
    return _open_regular(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, "a")


def open_new(path: str | os.PathLike) -> IO[str]:
    """A text file opened for writing from scratch; a link or non-file is refused."""
    return _open_regular(Path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "w")


def save_into(folder: str | os.PathLike, save: Callable[[Path], Any]) -> Path:
    """Run `save(temp)`, a writer that makes files in a folder of its own (`save_pretrained`), in
    a fresh temporary folder beside `folder`; then move each file into `folder` the safe way.

        >>> save_into("out/tokenizer", lambda d: fast_tokenizer.save_pretrained(d))
    """
    folder = Path(folder)
    if os.path.lexists(folder) and (folder.is_symlink() or not folder.is_dir()):
        raise InputError(f"{folder}: is {_kind(os.lstat(folder).st_mode) or 'a file'}, not a folder")
    check_folder_writable(folder)
    temp = make_fresh_folder(folder.parent / f".tmp-{folder.name}")
    try:
        save(temp)
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(temp.iterdir()):
            check_target(folder / path.name)
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return folder


def make_fresh_folder(folder: str | os.PathLike) -> Path:
    """An empty new folder at `folder`, removing what a killed writer left there (a link is
    removed, never followed)."""
    folder = Path(folder)
    if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder
