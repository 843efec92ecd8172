"""GSM8k converters: the real files (counts, content), malformed lines, and the CLI."""

from __future__ import annotations

import json

import pytest

from coconut_lm.cli import main
from coconut_lm.data.datasets.gsm8k import GSM8kFormatError, convert_icot, convert_openai, parse_icot_line
from tests.paths import DATA, require

GSM = DATA / "gsm8k"


@pytest.mark.parametrize(("name", "count", "no_steps"), [("valid.txt", 500, 6), ("test.txt", 1319, 18)])
def test_icot_counts(name, count, no_steps):
    records = convert_icot(require(GSM / "icot" / name))
    assert len(records) == count
    assert all(r["answer"] and r["question"] for r in records)
    # a few lines have an empty chain ("question|| #### 9"): kept, with no steps
    assert sum(not r["steps"] for r in records) == no_steps
    assert all(s.startswith("<<") and s.endswith(">>") for r in records for s in r["steps"])


def test_icot_first_valid_record():
    first = convert_icot(require(GSM / "icot" / "valid.txt"))[0]
    assert first["question"].startswith("John cuts his grass to 2 inches.")
    assert first["steps"] == ["<<4-2=2>>", "<<2/.5=4>>", "<<12/4=3>>", "<<100*3=300>>"]
    assert first["answer"] == "300"


@pytest.mark.parametrize(("name", "count"), [("train.jsonl", 7473), ("test.jsonl", 1319)])
def test_openai_counts(name, count):
    records = convert_openai(require(GSM / "openai" / name))
    assert len(records) == count
    assert all("," not in r["answer"] and r["answer"] == r["answer"].strip() for r in records)


def test_openai_first_train_record():
    first = convert_openai(require(GSM / "openai" / "train.jsonl"))[0]
    assert first["steps"] == ["<<48/2=24>>", "<<48+24=72>>"]
    assert first["answer"] == "72"


def test_openai_answer_commas_removed(tmp_path):
    src = tmp_path / "x.jsonl"
    src.write_text(json.dumps({"question": "Q?", "answer": "a <<1000*2=2000>>2000\n#### 2,000"}) + "\n")
    assert convert_openai(src) == [{"question": "Q?", "steps": ["<<1000*2=2000>>"], "answer": "2000"}]


def test_parse_icot_line():
    record = parse_icot_line("How many? ||<<1+1=2>> <<2*3=6>> #### 6\n")
    assert record == {"question": "How many?", "steps": ["<<1+1=2>>", "<<2*3=6>>"], "answer": "6"}


@pytest.mark.parametrize(
    "line", ["no separator #### 3", "q||<<1+1=2>> 3", "q||<<1+1=2>> oops #### 2", "a||b||<<1=1>> #### 1"]
)
def test_icot_malformed_line_names_file_and_line(tmp_path, line):
    src = tmp_path / "bad.txt"
    src.write_text("q||<<1+1=2>> #### 2\n" + line + "\n")
    with pytest.raises(GSM8kFormatError, match=r"bad\.txt:2:"):
        convert_icot(src)


def test_openai_malformed_line_names_file_and_line(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"question": "q", "answer": "#### 1"}\n\n{"question": "q"}\n')
    with pytest.raises(GSM8kFormatError, match=r"bad\.jsonl:3:"):
        convert_openai(src)


def test_cli_icot(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("q1||<<1+1=2>> #### 2\nq2||<<2+2=4>> <<4*2=8>> #### 8\n")
    out = tmp_path / "out" / "gsm.json"
    assert main(["data", "gsm8k", "--format", "icot", "--input", str(src), "--out", str(out)]) == 0
    assert json.loads(out.read_text())[1] == {"question": "q2", "steps": ["<<2+2=4>>", "<<4*2=8>>"], "answer": "8"}


def test_cli_malformed_input_is_a_clear_error(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("broken line\n")
    with pytest.raises(SystemExit, match=r"in\.txt:1:"):
        main(["data", "gsm8k", "--format", "icot", "--input", str(src), "--out", str(tmp_path / "o.json")])


@pytest.mark.parametrize(
    "extra",
    [[], ["--input", "x.txt", "--download", "test"]],
)
def test_cli_needs_exactly_one_source(tmp_path, extra):
    with pytest.raises(SystemExit, match="exactly one of"):
        main(["data", "gsm8k", "--format", "icot", *extra, "--out", str(tmp_path / "o.json")])


def test_cli_download_rejects_unknown_split(tmp_path):
    with pytest.raises(SystemExit, match="has splits"):
        main(["data", "gsm8k", "--format", "openai", "--download", "valid", "--out", str(tmp_path / "o.json")])
