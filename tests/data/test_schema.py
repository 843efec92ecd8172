"""The example schema: every malformed file fails as a whole, naming file, record and field."""

from __future__ import annotations

import json

import pytest

from coconut_lm.data.schema import DataError, load_examples, load_graph_records, validate_examples
from tests.paths import DATA, require

GOOD = {"question": "Is Tom a wumpus?", "steps": ["Tom is a wumpus."], "answer": "Tom is a wumpus."}


def write(tmp_path, name, obj) -> str:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return str(path)


def test_loads_prosqa_keeping_graph_fields():
    records = load_examples(require(DATA / "prosqa" / "valid.json"))
    assert len(records) == 300
    assert {"idx_to_symbol", "edges", "root", "target", "neg_target"} <= set(records[0])
    assert records[0]["answer"] == "Tom is a lempus."


def test_jsonl_with_extra_keys_and_blank_lines(tmp_path):
    rows = [dict(GOOD, extra=[1, 2]), dict(GOOD, steps=[])]
    path = write(tmp_path, "d.jsonl", json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    assert load_examples(path) == rows


def test_json_and_jsonl_agree(tmp_path):
    rows = [GOOD, dict(GOOD, question="Q2")]
    as_json = load_examples(write(tmp_path, "d.json", rows))
    as_jsonl = load_examples(write(tmp_path, "d.jsonl", "".join(json.dumps(r) + "\n" for r in rows)))
    assert as_json == as_jsonl == rows


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"steps": [], "answer": "a"}, r"record 1: missing field 'question'"),
        ({"question": 3, "steps": [], "answer": "a"}, r"record 1: field 'question': expected a string, got int"),
        ({"question": "q", "steps": [], "answer": "  "}, r"record 1: field 'answer': is empty"),
        ({"question": "", "steps": [], "answer": "a"}, r"record 1: field 'question': is empty"),
        ({"question": "q", "steps": "a step", "answer": "a"}, r"field 'steps': expected a list of strings, got str"),
        ({"question": "q", "steps": ["s", 4], "answer": "a"}, r"field 'steps': .*\[1\] is int"),
        (["q", [], "a"], r"record 1: expected an object"),
    ],
)
def test_bad_record_names_file_record_and_field(tmp_path, record, expected):
    path = write(tmp_path, "bad.json", [GOOD, record])
    with pytest.raises(DataError, match=expected) as exc:
        load_examples(path)
    assert path in str(exc.value)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "bad.json", [{"question": "q"}, GOOD, {"question": "q", "steps": [], "answer": 1}])
    with pytest.raises(DataError) as exc:
        load_examples(path)
    message = str(exc.value)
    assert "3 problem(s)" in message
    assert "record 0: missing field 'steps'" in message and "record 0: missing field 'answer'" in message
    assert "record 2: field 'answer'" in message and "record 1" not in message


def test_jsonl_problems_name_the_line(tmp_path):
    path = write(tmp_path, "bad.jsonl", json.dumps(GOOD) + "\n\n" + json.dumps({"question": "q"}) + "\n")
    with pytest.raises(DataError, match=r"record 1 \(line 3\): missing field 'steps'"):
        load_examples(path)


def test_not_a_list(tmp_path):
    with pytest.raises(DataError, match=r"bad.json: expected a list of examples, got dict"):
        load_examples(write(tmp_path, "bad.json", GOOD))


def test_empty_list(tmp_path):
    with pytest.raises(DataError, match="holds no examples"):
        load_examples(write(tmp_path, "empty.json", []))


def test_invalid_json_names_file_and_line(tmp_path):
    path = write(tmp_path, "broken.json", '[\n {"question": "q",\n  "steps": [],,\n}]')
    with pytest.raises(DataError, match=r"broken.json: line 3: invalid JSON"):
        load_examples(path)


def test_invalid_jsonl_names_file_and_line(tmp_path):
    path = write(tmp_path, "broken.jsonl", json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(DataError, match=r"broken.jsonl: line 2: invalid JSON"):
        load_examples(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope.json: no such data file"):
        load_examples(tmp_path / "nope.json")


def test_validate_examples_is_a_value_error_naming_the_source():
    with pytest.raises(ValueError, match=r"^my-source: record 0: field .answer.: is empty$"):  # one problem: one line
        validate_examples([{"question": "q", "steps": [], "answer": ""}], "my-source")
    assert validate_examples([GOOD], "src") == [GOOD]


def test_graph_records_of_prosqa_and_of_a_file_without_graphs(tmp_path):
    assert len(load_graph_records(require(DATA / "prosqa" / "valid.json"))) == 300
    path = write(tmp_path, "d.json", [GOOD])
    with pytest.raises(DataError, match=r"d.json: record 0: missing field 'idx_to_symbol' \(a ProsQA-format record"):
        load_graph_records(path)
