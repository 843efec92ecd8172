"""`coconut-lm analyze ...` end to end on a tiny checkpoint made in the test session."""

from __future__ import annotations

import json

import pytest

from coconut_lm.analysis.categories import Category
from coconut_lm.cli import main
from tests.analysis.conftest import NUM_TEST


def _args(tiny_checkpoint, out) -> list[str]:
    return [str(tiny_checkpoint["checkpoint"]), "--data", str(tiny_checkpoint["data"]), "--out", str(out)]


def test_analyze_paths(tiny_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "paths"
    code = main(["analyze", "paths", *_args(tiny_checkpoint, out), "--max-thoughts", "2", "--max-new-tokens", "24"])
    assert code == 0
    assert (out / "path_categories.png").stat().st_size > 0
    report = json.loads((out / "paths.json").read_text(encoding="utf-8"))
    assert report["ks"] == [0, 1, 2] and report["num_questions"] == NUM_TEST
    for k in ("0", "1", "2"):
        assert set(report["counts"][k]) == {c.value for c in Category}
        assert sum(report["counts"][k].values()) == NUM_TEST
    assert len(report["outputs"]) == 3 * NUM_TEST
    table = capsys.readouterr().out
    assert "Correct Path" in table and "Hallucination" in table


def test_analyze_paths_without_markers(tiny_checkpoint, tmp_path) -> None:
    out = tmp_path / "cot"
    args = [*_args(tiny_checkpoint, out), "--no-thought-markers", "--num", "3", "--max-new-tokens", "16"]
    assert main(["analyze", "paths", *args]) == 0
    report = json.loads((out / "paths.json").read_text(encoding="utf-8"))
    assert report["ks"] == [0] and sum(report["counts"]["0"].values()) == 3


def test_analyze_values(tiny_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "values"
    assert main(["analyze", "values", *_args(tiny_checkpoint, out), "--height", "longest", "--tree-question", "1"]) == 0
    for name in ("values.json", "search_tree.png", "parallelism.png", "value_vs_height.png"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "values.json").read_text(encoding="utf-8"))
    assert len(report["questions"]) == NUM_TEST and report["height_mode"] == "longest"
    assert len(report["parallelism"]["1"]) == NUM_TEST
    assert "thought 2" in capsys.readouterr().out


def test_analyze_thoughts(tiny_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "thoughts"
    assert main(["analyze", "thoughts", *_args(tiny_checkpoint, out), "--num", "2", "--num-thoughts", "3"]) == 0
    report = json.loads((out / "thoughts.json").read_text(encoding="utf-8"))
    assert len(report["questions"]) == 2 and len(report["questions"][0]["thoughts"]) == 3
    assert (out / "thought_norms.png").stat().st_size > 0
    assert "thought 3" in capsys.readouterr().out


def test_graph_fields_needed_for_paths_only(tiny_checkpoint, tmp_path) -> None:
    data = tmp_path / "plain.json"
    data.write_text(json.dumps([{"question": "q?", "steps": [], "answer": "a"}]), encoding="utf-8")
    args = [str(tiny_checkpoint["checkpoint"]), "--data", str(data), "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit, match="graph fields"):
        main(["analyze", "paths", *args])
    assert main(["analyze", "thoughts", *args, "--num-thoughts", "1"]) == 0  # any data set will do


def test_no_markers_refuse_thoughts(tiny_checkpoint, tmp_path) -> None:
    args = [*_args(tiny_checkpoint, tmp_path / "x"), "--no-thought-markers", "--max-thoughts", "2"]
    with pytest.raises(SystemExit, match="k must be 0"):
        main(["analyze", "paths", *args])


def test_out_folder_with_files_needs_overwrite(tiny_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "thoughts"
    out.mkdir()
    (out / "thoughts.json").write_text("earlier", encoding="utf-8")
    args = [*_args(tiny_checkpoint, out), "--num", "1", "--num-thoughts", "1"]
    with pytest.raises(SystemExit, match="already holds files"):
        main(["analyze", "thoughts", *args])
    assert (out / "thoughts.json").read_text(encoding="utf-8") == "earlier"
    assert main(["analyze", "thoughts", *args, "--overwrite"]) == 0
    assert json.loads((out / "thoughts.json").read_text(encoding="utf-8"))["questions"]
