"""SIGINT / SIGTERM during training: a checkpoint at the next step, one line, exit 130 / 143; a
second Ctrl-C stops at once. (Resuming from such a checkpoint is exact: tests/train/test_resume.py.)"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from coconut_lm.cli import main
from coconut_lm.run.checkpoint import step_name
from coconut_lm.train import interrupts, trainer
from coconut_lm.train.interrupts import StoppedAtOnce, StopSignals, TrainingStopped
from tests.train.toy import write_config

SMALL = {"data": {"val_path": None}, "training": {"save_every_steps": 2, "keep_last": 10}}


def test_the_first_signal_asks_a_second_ctrl_c_stops_at_once(monkeypatch, tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopSignals(tmp_path) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)  # already stopping
        monkeypatch.setattr(interrupts, "REPEAT_WINDOW_S", 0.0)
        with pytest.raises(StoppedAtOnce, match="stopped at once by a second Ctrl-C"):
            os.kill(os.getpid(), signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_torchruns_copy_of_the_first_ctrl_c_is_not_a_second_one(tmp_path):
    with StopSignals(tmp_path) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # within REPEAT_WINDOW_S: the same Ctrl-C
        assert stop.requested == signal.SIGINT


def test_an_ignored_signal_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with StopSignals(tmp_path) as stop:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.requested is None
    finally:
        signal.signal(signal.SIGTERM, previous)


def signal_during_step(monkeypatch, step: int, *signums: int) -> None:
    """Send `signums` to this process during optimizer step `step` (1-based)."""
    train_step = trainer.Trainer.train_step

    def step_and_signal(self, sequences, chunk):
        if self.state.global_step + 1 == step:
            for signum in signums:
                os.kill(os.getpid(), signum)
        return train_step(self, sequences, chunk)

    monkeypatch.setattr(trainer.Trainer, "train_step", step_and_signal)


def test_ctrl_c_saves_at_the_next_step_and_exits_130(make_config, tmp_path, monkeypatch, capsys):
    cfg = make_config(**SMALL)
    run = Path(cfg["run_dir"])
    signal_during_step(monkeypatch, 3, signal.SIGINT)
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 130
    err = capsys.readouterr().err
    checkpoint = run / "checkpoints" / step_name(3)  # not a multiple of save_every_steps
    assert err.strip().splitlines()[-1] == (
        f"coconut-lm train: stopped by SIGINT at global step 3 (epoch 1, step 3); resume point: {checkpoint} "
        f"(`coconut-lm train {run}` continues the run)"
    )
    assert "Traceback" not in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [step_name(2), step_name(3)]
    assert not (run / ".lock").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_second_ctrl_c_stops_at_once_without_saving(make_config, tmp_path, monkeypatch, capsys):
    cfg = make_config(**SMALL)
    run = Path(cfg["run_dir"])
    monkeypatch.setattr(interrupts, "REPEAT_WINDOW_S", 0.0)
    signal_during_step(monkeypatch, 3, signal.SIGINT, signal.SIGINT)
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (
        f"coconut-lm train: stopped at once by a second Ctrl-C, without saving; `coconut-lm train {run}` "
        "resumes from its last checkpoint"
    )
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [step_name(2)]
    assert not (run / ".lock").exists()


@pytest.mark.parametrize(
    "error, status",
    [
        (TrainingStopped("stopped by SIGTERM at global step 3", signal.SIGTERM, None), 143),
        (KeyboardInterrupt(), 130),
    ],
)
def test_an_interrupt_is_one_line_and_128_plus_the_signal(make_config, tmp_path, monkeypatch, capsys, error, status):
    def interrupted(*args, **kwargs):
        raise error

    monkeypatch.setattr(trainer, "train", interrupted)
    assert main(["train", str(write_config(tmp_path / "c.yaml", make_config(**SMALL)))]) == status
    assert capsys.readouterr().err.strip() == f"coconut-lm train: {str(error) or 'interrupted (Ctrl-C)'}"
