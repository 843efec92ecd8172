"""Never a silent restart: a run folder whose checkpoints are all unusable is refused (best/
named when intact, `--restart` and `--resume-best` offered); a run folder is where it is; a
folder that is not a run folder is never written into; a killed save's leftovers are handled."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from coconut_lm.cli import main
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.train.trainer import Trainer
from tests.helpers import fails
from tests.train.toy import write_config


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def run_with_best(make_config, tmp_path) -> Path:
    """A finished 2-epoch run with validation: checkpoints step 4 and 8, and best/."""
    cfg = make_config(training={"num_epochs": 2, "keep_last": 2})
    assert main(["train", str(write_config(tmp_path / "run.yaml", cfg))]) == 0
    run = Path(cfg["run_dir"])
    assert (run / ckpt.BEST).is_dir() and len(ckpt.list_checkpoints(run)) == 2
    return run


def damage_every_checkpoint(run: Path) -> None:
    for folder in ckpt.list_checkpoints(run):
        (folder / ckpt.OPTIMIZER_FILE).unlink()


def test_unusable_checkpoints_stop_and_name_best(run_with_best, capsys):
    run = run_with_best
    damage_every_checkpoint(run)
    before = snapshot(run)
    line = fails(["train", str(run), "training.num_epochs=3"], capsys)
    assert line.startswith(f"coconut-lm train: {run}: none of its 2 checkpoints is usable (newest: ")
    assert f"{run / 'best'} is intact: give --resume-best" in line and "--restart" in line
    assert snapshot(run) == before  # nothing written, best/ untouched


def test_resume_best_continues_its_history(run_with_best, caplog):
    run = run_with_best
    damage_every_checkpoint(run)
    with caplog.at_level(logging.INFO):
        assert main(["train", str(run), "training.num_epochs=3", "--resume-best"]) == 0
    assert any(f"resuming from {run / 'best'}" in r.message for r in caplog.records)
    assert (run / "previous-1" / "checkpoints").is_dir()  # the unusable ones, kept aside
    assert ckpt.read_trainer_state(ckpt.latest_checkpoint(run)).global_step == 12


def test_restart_sets_the_history_aside(run_with_best):
    run = run_with_best
    damage_every_checkpoint(run)
    old_best = snapshot(run / ckpt.BEST)
    assert main(["train", str(run), "--restart"]) == 0
    assert snapshot(run / "previous-1" / ckpt.BEST) == old_best
    aside = sorted(p.name for p in (run / "previous-1").iterdir())
    assert aside == ["best", "checkpoints", "config.yaml", "metrics.jsonl"]
    assert [p.name for p in ckpt.list_checkpoints(run)] == ["step-00000004", "step-00000008"]


def test_best_without_checkpoints_is_not_replaced_from_scratch(run_with_best, capsys):
    run = run_with_best
    shutil.rmtree(run / ckpt.CHECKPOINTS)
    (run / ckpt.BEST / ckpt.OPTIMIZER_FILE).write_bytes(b"damaged")
    before = snapshot(run)
    line = fails(["train", str(run)], capsys)
    assert "no checkpoints; it was not restarted from scratch" in line and "--resume-best" not in line
    assert snapshot(run) == before


def test_a_copied_run_folder_resumes_itself(run_with_best, tmp_path):
    original = run_with_best
    before = snapshot(original)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    assert main(["train", str(copy), "training.num_epochs=3"]) == 0
    assert (copy / "checkpoints" / "step-00000012").is_dir()
    assert snapshot(original) == before
    again = tmp_path / "again"
    shutil.copytree(original, again)
    assert main(["train", str(again / "config.yaml"), "training.num_epochs=3"]) == 0  # its config.yaml
    assert (again / "checkpoints" / "step-00000012").is_dir()
    assert snapshot(original) == before
    moved = tmp_path / "moved"
    original.rename(moved)
    assert main(["train", str(moved), "training.num_epochs=3"]) == 0
    assert (moved / "checkpoints" / "step-00000012").is_dir() and not original.exists()
    assert f"run_dir: {moved}" in (moved / "config.yaml").read_text()


def test_a_folder_that_is_not_a_run_is_never_written_into(make_config, tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.yaml").write_text("mine: true\n")
    (folder / "notes.txt").write_text("notes")
    before = snapshot(folder)
    cfg = make_config(run_dir=str(folder))
    line = fails(["train", str(write_config(tmp_path / "c.yaml", cfg))], capsys)
    assert line.startswith(f"coconut-lm train: run_dir: {folder} holds files but is not a run folder")
    assert snapshot(folder) == before


def test_leftovers_of_a_killed_save_are_cleaned_or_put_back(run_with_best):
    run = run_with_best
    (run / ".tmp-best").mkdir()
    (run / ".tmp-best" / "model.safetensors").write_bytes(b"half")
    (run / "checkpoints" / ".tmp-step-00000012").mkdir()
    (run / ".config.yaml.1234abcd.tmp").write_text("half")
    (run / ckpt.BEST).rename(run / ".old-best")  # killed in the middle of best/'s swap
    assert main(["train", str(run), "training.num_epochs=3"]) == 0
    assert (run / ckpt.BEST).is_dir()
    assert not [p.name for p in [*run.glob(".*"), *(run / "checkpoints").glob(".*")]]


def test_a_kill_between_best_and_the_rolling_save_keeps_best(make_config, tmp_path, monkeypatch, caplog):
    cfg = make_config(training={"num_epochs": 1})
    path = write_config(tmp_path / "c.yaml", cfg)

    def killed(self):
        raise KeyboardInterrupt  # as if killed right after best/ was saved

    monkeypatch.setattr(Trainer, "save_rolling", killed)
    assert main(["train", str(path)]) == 130  # one line, as for Ctrl-C
    run = Path(cfg["run_dir"])
    assert (run / ckpt.BEST).is_dir() and not ckpt.list_checkpoints(run)
    monkeypatch.undo()
    with caplog.at_level(logging.INFO):
        assert main(["train", str(run), "training.num_epochs=2"]) == 0
    assert any(f"resuming from {run / 'best'}" in r.message for r in caplog.records)
