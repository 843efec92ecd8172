"""ProntoQA converter: the real generator file, the official pairing and split, the CLI."""

from __future__ import annotations

import json

import pytest

from coconut_lm.cli import main
from coconut_lm.data.datasets.prontoqa import convert_prontoqa, pair_sentences, split_records
from tests.paths import DATA, require

RAW = DATA / "prontoqa" / "5hop_0shot_random.json"


def _fake(tmp_path, n=5):
    raw = {
        f"example{i}": {
            "test_example": {
                "question": f"Q{i}.",
                "query": "True or false: X.",
                "chain_of_thought": ["a.", "b.", "c."],
                "answer": "True" if i % 2 else "False",
            }
        }
        for i in range(1, n + 1)
    }
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(raw))
    return path


def test_pair_sentences():
    assert pair_sentences(["a.", "b.", "c.", "d.", "e."]) == ["a. b.", "c. d.", "e."]
    assert pair_sentences([]) == []


def test_real_file_counts_and_first_record():
    records = convert_prontoqa(require(RAW))
    assert len(records) == 10_000
    splits = split_records(records)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [9000, 200, 800]
    first = records[0]
    assert first["question"].endswith("Max is a lorpus. True or false: Max is not wooden.")
    assert first["steps"][0] == "Max is a vumpus. Each vumpus is a brimpus."
    assert first["steps"][-1] == "Max is not wooden."
    assert len(first["steps"]) == 6 and first["answer"] == "True"
    assert {r["answer"] for r in records} == {"True", "False"}


def test_split_is_file_order_unless_seeded(tmp_path):
    records = convert_prontoqa(_fake(tmp_path, 10))
    plain = split_records(records, (6, 2))
    assert [r["question"][:3] for r in plain["test"]] == ["Q9.", "Q10"]
    seeded = split_records(records, (6, 2), seed=1)
    assert seeded == split_records(records, (6, 2), seed=1)
    assert seeded != plain
    assert sorted(r["question"] for v in seeded.values() for r in v) == sorted(r["question"] for r in records)


def test_malformed_example(tmp_path):
    path = tmp_path / "raw.json"
    path.write_text(json.dumps({"example1": {"test_example": {"question": "q"}}}))
    with pytest.raises(ValueError, match="example1"):
        convert_prontoqa(path)


def test_cli(tmp_path):
    out = tmp_path / "out"
    args = ["data", "prontoqa", "--input", str(_fake(tmp_path)), "--out-dir", str(out), "--splits", "3,1"]
    assert main(args) == 0
    sizes = {name: len(json.loads((out / f"{name}.json").read_text())) for name in ("train", "valid", "test")}
    assert sizes == {"train": 3, "valid": 1, "test": 1}
    assert json.loads((out / "train.json").read_text())[0]["steps"] == ["a. b.", "c."]


def test_cli_too_small_file(tmp_path):
    with pytest.raises(SystemExit, match="exceed"):
        main(["data", "prontoqa", "--input", str(_fake(tmp_path)), "--out-dir", str(tmp_path / "o")])
