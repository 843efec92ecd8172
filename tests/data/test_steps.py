"""Free-text chains cut into steps: each splitter on hand-made chains, the converter, the CLI."""

from __future__ import annotations

import json

import pytest

from coconut_lm.cli import main
from coconut_lm.data.steps import convert, read_records, split_steps, statistics_of
from coconut_lm.errors import InputError

CHAIN = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May. It cost $3.5 each!\n"
    "\n"
    "Altogether she sold 48+24 = <<48+24=72>>72 clips (in two months).\n"
    "#### 72"
)


def test_lines():
    assert split_steps(CHAIN, "lines") == [
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May. It cost $3.5 each!",
        "Altogether she sold 48+24 = <<48+24=72>>72 clips (in two months).",
        "#### 72",
    ]


def test_sentences_keep_decimals_together():
    assert split_steps("First, 3.5 apples. Then 2 more! Why? (Because.) done", "sentences") == [
        "First, 3.5 apples.",
        "Then 2 more!",
        "Why?",
        "(Because.) done",
    ]
    assert split_steps(CHAIN, "sentences")[:2] == [
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.",
        "It cost $3.5 each!",
    ]


def test_equations_and_regex():
    assert split_steps(CHAIN, "equations") == ["<<48/2=24>>", "<<48+24=72>>"]
    assert split_steps(CHAIN, r"match:<<([^>]*)>>") == ["48/2=24", "48+24=72"]  # the group when there is one
    assert split_steps("a=1; b=2; c", "match:[a-z]=\\d") == ["a=1", "b=2"]
    assert split_steps("First. Second. Third", r"regex:\. ") == ["First", "Second", "Third"]  # cut at matches
    assert split_steps("a;;b ; c;", "regex:;") == ["a", "b", "c"]  # empty pieces dropped
    assert split_steps("abc", "regex:x*") == ["abc"]  # empty matches cut nothing
    for bad in ("regex:(", "match:("):
        with pytest.raises(InputError, match="not a regular expression"):
            split_steps("x", bad)
    with pytest.raises(InputError, match="expected one of lines, sentences, equations, regex:PATTERN"):
        convert([], "q", "c", "a", "words")


def test_convert_with_the_answer_in_the_chain_field():
    records = [
        {"question": "How many clips?", "answer": CHAIN.replace("#### 72", "#### 1,072")},
        {"question": "No equations here", "answer": "She sold them.\n#### 5"},
        {"question": "", "answer": "x #### 1"},
        {"answer": "#### 1"},
        {"question": "No marker", "answer": "<<1+1=2>>"},
    ]
    examples, failed = convert(records, "question", "answer", "answer", "equations", answer_after="####")
    assert examples == [{"question": "How many clips?", "steps": ["<<48/2=24>>", "<<48+24=72>>"], "answer": "1072"}]
    assert [(f["index"], f["reason"]) for f in failed] == [
        (1, "the chain gives no step with --split 'equations'"),
        (2, "field 'question' is empty or not text"),
        (3, "no field 'question'"),
        (4, "no '####' in field 'answer'"),
    ]
    stats = statistics_of(examples, failed, len(records))
    assert stats["examples"] == 1 and stats["left_out"] == 4 and stats["steps_per_example"]["histogram"] == {2: 1}


def test_answer_after_reads_the_chain_field_when_no_answer_field_is_given(tmp_path, capsys):
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"question": "Q", "solution": "<<2*3=6>> then <<6+1=7>>\n#### 7"}]))
    out = tmp_path / "out.json"
    argv = ["data", "steps", "--input", str(source), "--chain-field", "solution", "--answer-after", "####"]
    assert main([*argv, "--split", "equations", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == [{"question": "Q", "steps": ["<<2*3=6>>", "<<6+1=7>>"], "answer": "7"}]


def test_no_record_converted_is_an_error_and_writes_nothing(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"question": "Q", "chain": "x"}]))
    out = tmp_path / "out.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "steps", "--input", str(source), "--split", "lines", "--out", str(out)])
    assert exit_info.value.code == 2 and not out.exists()


def test_cli_on_json_lines(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    rows = [{"q": "Q1", "rationale": "Step one.\nStep two.", "label": 3}, {"q": "Q2", "rationale": "", "label": 1}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.json"
    argv = ["data", "steps", "--input", str(source), "--question-field", "q", "--chain-field", "rationale"]
    assert main([*argv, "--answer-field", "label", "--split", "lines", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == [{"question": "Q1", "steps": ["Step one.", "Step two."], "answer": "3"}]
    stats = json.loads(out.with_suffix(".stats.json").read_text())
    assert stats["reasons"] == {"field 'rationale' is empty or not text": 1}
    assert "1 of 2 records converted, 1 left out" in capsys.readouterr().out
    assert read_records(source) == rows


def test_gsm8k_equations_match_the_gsm8k_converter(data_dir_optional, tmp_path):
    if data_dir_optional is None:
        pytest.skip("../shared/data is absent")
    from coconut_lm.data.datasets.gsm8k import parse_openai_row

    rows = read_records(data_dir_optional / "gsm8k" / "openai" / "test.jsonl")[:200]
    examples, failed = convert(rows, "question", "answer", "answer", "equations", answer_after="####")
    reference = [parse_openai_row(r) for r in rows]
    assert examples == [r for r in reference if r["steps"]]  # the same records, minus those without steps
    assert len(failed) == sum(not r["steps"] for r in reference)
