"""`coconut-lm data stats`: a malformed or non-ProsQA file is one line naming the file and the
record, never a traceback."""

from __future__ import annotations

import json

import pytest

from coconut_lm.cli import main
from tests.helpers import GRAPH, fails


@pytest.mark.parametrize(
    "content, message",
    [
        ({"records": [GRAPH]}, "expected a list of ProsQA-format records, got dict"),
        ([], "holds no records"),
        ([GRAPH, 3], "record 1: expected an object with ['idx_to_symbol', 'edges', 'root', 'target'], got int"),
        ([{"question": "q", "steps": [], "answer": "a"}], "record 0: missing field 'idx_to_symbol'"),  # GSM8k-like
        ([GRAPH, {k: v for k, v in GRAPH.items() if k != "steps"}], "record 1: missing field 'steps'"),
        ([dict(GRAPH, idx_to_symbol=[])], "record 0: field 'idx_to_symbol': expected a non-empty list"),
        ([dict(GRAPH, edges=[[0, 5]])], "record 0: field 'edges': [0] is [0, 5], not a [parent, child] pair"),
        ([dict(GRAPH, edges={"0": 2})], "record 0: field 'edges': expected a list of [parent, child] pairs"),
        ([GRAPH, dict(GRAPH, root="0")], "record 1: field 'root': expected a node index 0..2, got '0'"),
        ([dict(GRAPH, target=True)], "record 0: field 'target': expected a node index 0..2, got True"),
        ([dict(GRAPH, edges=[[0, 1]])], "record 0: field 'target': node 2 is not reachable from the root 0"),
        ("[1, 2", "line 1: invalid JSON"),
    ],
)
def test_stats_of_malformed_files(tmp_path, capsys, content, message):
    path = tmp_path / "d.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert fails(["data", "stats", str(path)], capsys).startswith(f"coconut-lm data stats: {path}: {message}")


def test_stats_of_a_missing_file_and_of_json_lines(tmp_path, capsys):
    line = fails(["data", "stats", str(tmp_path / "none.json")], capsys)
    assert line == f"coconut-lm data stats: {tmp_path / 'none.json'}: no such data file"
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(GRAPH) + "\n" + json.dumps(dict(GRAPH, root=7)) + "\n")
    line = fails(["data", "stats", str(path)], capsys)
    assert line.startswith(f"coconut-lm data stats: {path}: record 1 (line 2): field 'root'")
    path.write_text(json.dumps(GRAPH) + "\n")
    assert main(["data", "stats", str(path), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["num_examples"], stats["nodes"], stats["shortest_path"]) == (1, 3.0, 1.0)
