"""Helpers shared by the test modules (import them from here, never from another test module)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from coconut_lm.cli import main
from coconut_lm.errors import USER_ERROR_STATUS
from tests.paths import REPO

GRAPH = {  # a ProsQA-style record with its graph: the smallest a graph command reads
    "question": "Is Tom a B or C?",
    "steps": ["Tom is an A.", "Every A is a C."],
    "answer": "Tom is a C.",
    "idx_to_symbol": ["A", "B", "C"],
    "edges": [[0, 2]],
    "root": 0,
    "target": 2,
    "neg_target": 1,
}


def fails(argv: list[str], capsys) -> str:
    """Run the CLI, expect a user error: exit status 2 and exactly one line on stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == USER_ERROR_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (relative path -> content hash, link target or "folder"), to
    check that a command changed nothing on disk."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link -> " + os.readlink(path)
        elif path.is_dir():
            out[key] = "folder"
        else:
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def metric_rows(run_dir: Path) -> list[dict]:
    """The rows of a run's `metrics.jsonl`."""
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def cli_env() -> dict[str, str]:
    """The environment of a `python -m coconut_lm` child: this checkout, one thread."""
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}


def signal_when(command: list[str], path: Path, signum: int, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `command`; once `path` exists, send it `signum` (to its whole process group: torchrun's
    workers too); wait for the end. The returned process has `returncode`, `stdout`, `stderr`."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:  # a pipe could fill up
        proc = subprocess.Popen(command, env=cli_env(), stdout=out, stderr=err, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is None:
                os.killpg(proc.pid, signum)
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())


def coconut_lm(*args: object) -> list[str]:
    """The command line of `coconut-lm ARGS` in a child process."""
    return [sys.executable, "-m", "coconut_lm", *map(str, args)]


def fuzz_settings(**overrides):
    """Hypothesis settings of the property tests: seeded (the same examples every run), fast,
    and no example database written into the checkout."""
    from hypothesis import HealthCheck, settings

    options = {
        "max_examples": 40,
        "derandomize": True,
        "deadline": None,
        "database": None,
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    }
    return settings(**{**options, **overrides})


def run_cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    """Run the CLI in this process: (exit status, stderr lines). Anything but an exit (a
    traceback) propagates and fails the test."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err.strip().splitlines()


def ends_cleanly(argv: list[str], capsys, folder: Path, ok: tuple[int, ...] = (0,)) -> int:
    """Run the CLI and check the error policy: a status in `ok`, or a user error (exit 2, one
    line on stderr naming the command) that left everything under `folder` as it was."""
    before = snapshot(folder)
    code, err = run_cli(argv, capsys)
    if code == USER_ERROR_STATUS:
        assert len(err) == 1 and err[0].startswith("coconut-lm"), (argv, err)
        assert snapshot(folder) == before, argv
    else:
        assert code in ok, (argv, code, err)
    return code
