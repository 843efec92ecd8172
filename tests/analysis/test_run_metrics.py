"""`coconut-lm plot RUN`: a run's metrics.jsonl read (replayed steps once, a row in progress left
out) and drawn; a missing or malformed file, or no matplotlib, is one line and exit status 2."""

from __future__ import annotations

import json
import sys

import pytest

from coconut_lm.analysis.run_metrics import read_metrics
from coconut_lm.cli import main
from tests.helpers import fails

PNG = b"\x89PNG\r\n\x1a\n"


def train_row(step: int, loss: float, stage: int, epoch: int) -> dict:
    return {"step": step, "time": 0.0, "train/loss": loss, "train/lr": 1e-3 * step, "train/stage": stage,
            "train/epoch": epoch, "train/tokens_per_s": 100.0}  # fmt: skip


def eval_row(step: int, accuracy: float, stage: int, epoch: int) -> dict:
    return {"step": step, "time": 0.0, "eval/loss": 1.0 - accuracy, "eval/stage": stage, "eval/accuracy": accuracy,
            "train/epoch": epoch}  # fmt: skip


@pytest.fixture
def run(tmp_path):
    """A two-epoch run (stage 0, then stage 1) resumed at step 3: steps 3 and 4 were logged twice."""
    rows = [train_row(s, 2.0 / s, 0, 0) for s in (1, 2, 3, 4)] + [eval_row(4, 0.25, 0, 1)]
    rows += [train_row(3, 0.9, 0, 0), train_row(4, 0.8, 0, 0)]  # replayed after the resume
    rows += [train_row(s, 1.0 / s, 1, 1) for s in (5, 6, 7, 8)] + [eval_row(8, 0.75, 1, 2)]
    folder = tmp_path / "run"
    folder.mkdir()
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 9, "train/lo'  # a row being written
    (folder / "metrics.jsonl").write_text(text)
    return folder


def test_metrics_are_read_one_row_per_step(run):
    metrics = read_metrics(run)
    assert [r["step"] for r in metrics.train] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r["loss"] for r in metrics.train][2:4] == [0.9, 0.8]  # the resumed run's rows
    assert [r["stage"] for r in metrics.train] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [(r["epoch"], r["stage"], r["accuracy"]) for r in metrics.validation] == [(1, 0, 0.25), (2, 1, 0.75)]
    assert read_metrics(run / "metrics.jsonl") == metrics  # the file itself


def test_plot_writes_the_figures_into_the_run_folder(run, capsys):
    assert main(["plot", str(run)]) == 0
    written = [run / "plots" / "training.png", run / "plots" / "validation.png"]
    assert capsys.readouterr().out.splitlines() == [f"wrote {p}" for p in written]
    assert all(p.read_bytes().startswith(PNG) for p in written)
    out = run.parent / "figures"
    assert main(["plot", str(run / "metrics.jsonl"), "--out", str(out)]) == 0  # elsewhere, from the file
    assert sorted(p.name for p in out.iterdir()) == ["training.png", "validation.png"]


def test_a_run_without_validation_gets_the_training_figure(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(train_row(s, 1.0, 0, 0)) + "\n" for s in (1, 2)))
    assert main(["plot", str(tmp_path), "--out", str(tmp_path / "p")]) == 0
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["training.png"]


def test_missing_metrics_are_one_line(tmp_path, capsys):
    line = fails(["plot", str(tmp_path)], capsys)
    assert (
        line
        == f"coconut-lm plot: {tmp_path}: no metrics.jsonl in this folder (not a run folder, or nothing logged yet)"
    )
    line = fails(["plot", str(tmp_path / "nothing")], capsys)
    assert line == f"coconut-lm plot: {tmp_path / 'nothing'}: no such run folder or metrics file"


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json\n", "no training or validation metrics in it (line 1: Expecting value)"),
        ('[1, 2]\n{"step": 2}\n', "(line 1: expected a JSON object with an integer 'step')"),
        ('{"step": 1, "train/loss": "high", "train/lr": 0.1, "train/stage": 0}\n', "(line 1: train/loss is 'high'"),
        ('{"step": 1, "accuracy": 0.5}\n', "no training or validation metrics in it; is it a metrics.jsonl"),
        ("", "no training or validation metrics in it"),
    ],
)
def test_a_file_without_metrics_is_one_line_naming_the_first_bad_line(tmp_path, capsys, text, message):
    (tmp_path / "metrics.jsonl").write_text(text)
    line = fails(["plot", str(tmp_path)], capsys)
    assert line.startswith(f"coconut-lm plot: {tmp_path / 'metrics.jsonl'}: ") and message in line
    assert not (tmp_path / "plots").exists()


def test_a_line_that_is_not_a_row_is_left_out_with_a_warning(run, caplog):
    path = run / "metrics.jsonl"
    rows = path.read_text().split("\n")
    path.write_text("\n".join([*rows[:3], '{"step": 4, "train/lo{"step": 9}', *rows[3:]]))  # a killed writer's
    with caplog.at_level("WARNING"):
        assert len(read_metrics(run).train) == 8
    assert "1 line left out, not metrics rows (line 4: " in caplog.text


def test_without_matplotlib_one_line_says_what_to_install(run, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    line = fails(["plot", str(run)], capsys)
    assert line == "coconut-lm plot: matplotlib is not installed: pip install 'coconut-lm[plot]'"


def test_an_out_that_is_a_file_is_refused(run, capsys):
    (run / "taken").write_text("")
    assert fails(["plot", str(run), "--out", str(run / "taken")], capsys).endswith("is not a folder")
