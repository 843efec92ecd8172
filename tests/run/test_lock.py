"""`RunLock`: created with O_EXCL | O_NOFOLLOW; a link or a non-plain file at `.lock` is refused."""

from __future__ import annotations

import os

import pytest

from coconut_lm.errors import UserError
from coconut_lm.run.lock import LOCK_FILE, RunLock


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("keep me")
    return path


def test_a_symlinked_lock_is_refused_never_followed(tmp_path, victim):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(os.path.relpath(victim, run))
    with pytest.raises(UserError, match=f"{LOCK_FILE}: is a symbolic link"):
        RunLock(run).__enter__()
    assert victim.read_text() == "keep me" and (run / LOCK_FILE).is_symlink()


def test_a_dangling_symlink_is_not_created_through(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(tmp_path / "created-by-the-lock")
    with pytest.raises(UserError, match="symbolic link"):
        RunLock(run).__enter__()
    assert not (tmp_path / "created-by-the-lock").exists()


def test_a_hard_link_to_another_file_is_refused(tmp_path, victim):
    run = tmp_path / "run"
    run.mkdir()
    os.link(victim, run / LOCK_FILE)
    with pytest.raises(UserError, match="not a lock file of coconut-lm"):
        RunLock(run).__enter__()
    assert victim.read_text() == "keep me"


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text("999999999\n")  # what a killed run leaves: no one holds its flock
    with RunLock(run) as lock:
        assert (run / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert lock.fd is not None
    assert not (run / LOCK_FILE).exists()


def test_a_new_lock_is_created_and_removed(tmp_path):
    with RunLock(tmp_path / "new"):
        assert (tmp_path / "new" / LOCK_FILE).is_file()
    assert not (tmp_path / "new").exists()  # the lock made the folder, nothing else was written
