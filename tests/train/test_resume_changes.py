"""Resuming with changed settings: refused with one line and nothing changed, or (with
--allow-changes) logged, with the epoch continued and the earlier config kept."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import yaml

from coconut_lm.cli import main
from coconut_lm.run.checkpoint import step_name
from coconut_lm.run.run_folder import resume_point
from tests.helpers import fails, metric_rows, snapshot
from tests.train.toy import write_config

SETTINGS = {"data": {"val_path": None}, "training": {"save_every_steps": 2, "keep_last": 10}}


def stopped_at_step_2(make_config, tmp_path, **sections) -> Path:
    """A run folder as a run stopped after step 2 of 8 leaves it (mid-epoch 1 of 2)."""
    cfg = make_config(**{**SETTINGS, **sections})
    assert main(["train", str(write_config(tmp_path / "c.yaml", cfg))]) == 0
    run = Path(cfg["run_dir"])
    for step in (4, 6, 8):
        shutil.rmtree(run / "checkpoints" / step_name(step))
    (run / "metrics.jsonl").write_text(
        "".join(line + "\n" for line in (run / "metrics.jsonl").read_text().split("\n")[:2])
    )
    return run


def test_a_changed_batch_size_is_refused_and_nothing_changes(make_config, tmp_path, capsys):
    run = stopped_at_step_2(make_config, tmp_path)
    before = snapshot(run)
    line = fails(["train", str(run), "training.batch_size=8", "training.seed=1", "logging.log_every_steps=2"], capsys)
    assert line == (
        f"coconut-lm train: resuming {run} from {run / 'checkpoints' / step_name(2)} with changed settings, so it "
        "would not continue the run it resumes: training.batch_size 4 -> 8; training.seed 0 -> 1; give "
        "--allow-changes to continue with them anyway (the changes are logged), set them back, or give --restart "
        "to begin again"
    )
    assert snapshot(run) == before


def test_allow_changes_continues_the_epoch_and_keeps_the_earlier_config(make_config, tmp_path, caplog):
    run = stopped_at_step_2(make_config, tmp_path)
    earlier = (run / "config.yaml").read_text()
    with caplog.at_level(logging.INFO):
        assert main(["train", str(run), "training.batch_size=8", "--allow-changes"]) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert "resuming with changed settings (--allow-changes): training.batch_size 4 -> 8" in messages
    # 8 of the epoch's 16 examples were trained: it continues with its second batch of 8 (not
    # skipped, as it was when the step counter was kept)
    assert (
        "epoch 1 was at step 2 with 4 examples per step: it continues at step 1 of 2 with 8 (8 of its "
        "examples trained; 0 of them are trained again)" in messages
    )
    assert [r["step"] for r in metric_rows(run)] == [1, 2, 3, 4, 5]  # 1 + 2 steps of 8
    assert (run / "config.previous-1.yaml").read_text() == earlier
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["batch_size"] == 8


def test_settings_that_keep_the_run_exact_pass(make_config, tmp_path):
    run = stopped_at_step_2(make_config, tmp_path)
    overrides = [
        "logging.log_every_steps=2",
        "evaluation.batch_size=2",
        "training.keep_last=3",
        "training.num_epochs=3",
    ]
    assert main(["train", str(run), *overrides]) == 0
    assert [r["step"] for r in metric_rows(run)] == [1, 2, 4, 6, 8, 10, 12]  # every 2nd step logged from step 3
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [step_name(s) for s in (8, 10, 12)]
    assert yaml.safe_load((run / "config.previous-1.yaml").read_text())["training"]["num_epochs"] == 2


def test_a_setting_the_method_ignores_is_warned_about_and_free_on_resume(make_config, tmp_path, caplog):
    run = stopped_at_step_2(make_config, tmp_path, method="cot", curriculum={"c_thought": 3})
    assert "curriculum.c_thought: 3 is ignored by method cot (it changes nothing)" in caplog.messages
    assert main(["train", str(run), "curriculum.c_thought=1"]) == 0  # no change for cot


def test_evaluating_a_run_takes_any_setting_and_leaves_its_config(make_config, tmp_path, toy_assets):
    run = stopped_at_step_2(make_config, tmp_path)
    before = (run / "config.yaml").read_text()
    overrides = ["evaluation.only_eval=true", f"data.val_path={toy_assets['val']}", "training.batch_size=8"]
    assert main(["train", str(run), *overrides]) == 0  # trains nothing: no resume check
    assert (run / "config.yaml").read_text() == before  # `train RUN` still resumes the training
    assert not list(run.glob("config.previous-*"))


def test_restart_sets_the_earlier_configs_aside_too(tmp_path):
    (tmp_path / "config.yaml").write_text("a")
    (tmp_path / "config.previous-1.yaml").write_text("b")
    assert set(resume_point(tmp_path, "restart").set_aside) >= {"config.yaml", "config.previous-1.yaml"}
