"""Progress within an epoch where stderr is not a terminal: a log line now and then."""

from __future__ import annotations

import logging

from coconut_lm.train import tracking
from coconut_lm.train.tracking import EpochProgress


def test_a_log_file_gets_progress_lines(monkeypatch, caplog):
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr(tracking.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(tracking.sys.stderr, "isatty", lambda: False, raising=False)
    with caplog.at_level(logging.INFO, logger=tracking.__name__):
        progress = EpochProgress(10, 2, "epoch 1/3 stage 0", every_s=3)
        for _ in range(8):
            progress.update(0.5, 1000.0)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    # a clock that ticks once per call: the first line 3 ticks after the start, one at the end
    assert lines[0].startswith("epoch 1/3 stage 0: step 5/10 (50%), loss 0.5000, 1000 tok/s")
    assert lines[-1].startswith("epoch 1/3 stage 0: step 10/10 (100%)")
    assert lines[-1].endswith("0.0 min left in the epoch")
    assert len(lines) == 3


def test_no_lines_when_progress_is_off(monkeypatch, caplog):
    monkeypatch.setattr(tracking.sys.stderr, "isatty", lambda: False, raising=False)
    with caplog.at_level(logging.INFO, logger=tracking.__name__):
        progress = EpochProgress(3, 0, "epoch 1/1 stage 0", every_s=0.0001, enabled=False)
        for _ in range(3):
            progress.update(0.5, 1000.0)
        progress.close()
    assert caplog.records == []
