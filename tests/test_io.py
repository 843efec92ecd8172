"""The safe writes: only regular files or missing paths are replaced, links are never followed."""

from __future__ import annotations

import json
import os
import re

import pytest

from coconut_lm import io
from coconut_lm.errors import InputError


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("keep me")
    return path


def test_writes_atomically_with_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = io.write_json(tmp_path / "sub" / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert json.loads(path.read_text()) == {"x": 1}
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]  # no temporary file left
    io.write_json(path, {"x": 2})  # a regular file is replaced
    assert json.loads(path.read_text()) == {"x": 2}


def test_a_symlink_is_refused_and_its_target_kept(tmp_path, victim):
    link = tmp_path / "preds.jsonl"
    link.symlink_to(victim)
    with pytest.raises(InputError, match=f"^{re.escape(str(link))}: is a symbolic link"):
        io.write_jsonl(link, [{"a": 1}])
    assert link.is_symlink() and victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl", "victim.txt"]


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_anything_but_a_regular_file_is_refused(tmp_path, kind):
    if kind == "device":
        path = "/dev/null"
    else:
        path = tmp_path / "out"
        path.mkdir() if kind == "folder" else os.mkfifo(path)
    with pytest.raises(InputError, match={"folder": "a folder", "fifo": "a fifo", "device": "a device"}[kind]):
        io.atomic_write_text(path, "x")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_an_existing_file_needs_overwrite(victim):
    with pytest.raises(InputError, match=r"already exists \(give --overwrite to replace it\)"):
        io.check_target(victim, overwrite=False)
    assert io.check_target(victim, overwrite=True) == victim


def test_an_unwritable_folder_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)  # as a read-only folder answers
    with pytest.raises(InputError, match=r"permission denied \(.* is not writable\)"):
        io.check_target(tmp_path / "new" / "out.json")
    assert not (tmp_path / "new").exists()


def test_the_temporary_file_never_follows_a_planted_link(tmp_path, victim, monkeypatch):
    names = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(io.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".out.json.aaaa.tmp").symlink_to(victim)  # the first temporary name, taken
    io.write_json(tmp_path / "out.json", [1])
    assert victim.read_text() == "keep me"
    assert json.loads((tmp_path / "out.json").read_text()) == [1]


def test_open_append_refuses_a_link(tmp_path, victim):
    link = tmp_path / "metrics.jsonl"
    link.symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        io.open_append(link)
    with io.open_append(tmp_path / "log.jsonl") as f:
        f.write("a\n")
    with io.open_append(tmp_path / "log.jsonl") as f:
        f.write("b\n")
    assert (tmp_path / "log.jsonl").read_text() == "a\nb\n"


def test_save_into_checks_each_file(tmp_path, victim):
    out = tmp_path / "tok"
    out.mkdir()
    (out / "b.json").symlink_to(victim)

    def save(folder):
        (folder / "a.json").write_text("{}")
        (folder / "b.json").write_text("{}")

    with pytest.raises(InputError, match="b.json: is a symbolic link"):
        io.save_into(out, save)
    assert victim.read_text() == "keep me"
    assert not list(tmp_path.glob(".tmp-*"))  # the temporary folder is gone
    (out / "b.json").unlink()
    io.save_into(out, save)
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json"]


def test_output_folder_must_be_empty_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    io.check_output_folder(tmp_path / "out")  # empty: fine
    (tmp_path / "out" / "paths.json").write_text("{}")
    with pytest.raises(InputError, match="already holds files"):
        io.check_output_folder(tmp_path / "out")
    io.check_output_folder(tmp_path / "out", overwrite=True)
    with pytest.raises(InputError, match="not a folder"):
        io.check_output_folder(tmp_path / "out" / "paths.json")
