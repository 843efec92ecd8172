"""`coconut-lm data render`: the CLI reproduces the official sequences and prompts."""

from __future__ import annotations

import json

import pytest

from coconut_lm.cli import main
from coconut_lm.data import render
from coconut_lm.data.schema import DataError
from coconut_lm.errors import USER_ERROR_STATUS
from tests.paths import DATA, FIXTURES, require


def run_cli(argv: list[str]) -> int:
    return main(["--debug", "data", "render", *argv])  # --debug: errors raise, as the tests expect


@pytest.fixture(scope="module")
def prosqa40(tmp_path_factory):
    """The first 40 ProsQA validation questions, as the fixtures were made from."""
    records = json.loads(require(DATA / "prosqa" / "valid.json").read_text())[:40]
    path = tmp_path_factory.mktemp("data") / "prosqa40.json"
    path.write_text(json.dumps(records))
    return path


def official(name: str, **key) -> list[dict]:
    rows = [json.loads(line) for line in require(FIXTURES / name).read_text().splitlines()]
    return [r for r in rows if all(r[k] == v for k, v in key.items())]


@pytest.mark.parametrize("prompts", [False, True])
def test_render_matches_the_official_rows(tmp_path, prosqa40, prompts):
    out = tmp_path / "out.jsonl"
    argv = ["--data", str(prosqa40), "--tokenizer", str(require(FIXTURES / "tokenizer")), "--method", "coconut"]
    argv += ["--stage", "7", "--c-thought", "1", "--max-latent-stage", "6", "--out", str(out)]
    argv += ["--prompts"] if prompts else []
    assert run_cli(argv) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    expected = official(
        "prompts.jsonl" if prompts else "sequences.jsonl",
        dataset="prosqa",
        method="coconut",
        pad_latent_to_max=False,
        stage=7,
    )
    keys = ["idx", "input_ids"] if prompts else ["idx", "input_ids", "labels"]
    assert [{k: r[k] for k in keys} for r in got] == [{k: r[k] for k in keys} for r in expected]
    first = got[0]  # and as text: the decoded sequence, thoughts marked, and the tokens the loss is on
    assert "<|latent|>" in first["text"]
    if not prompts:
        assert first["target"] and first["text"].endswith(first["target"])


def test_render_function_with_pause_and_mixing(tmp_path, prosqa40):
    tokenizer = require(FIXTURES / "tokenizer")
    options = render.CurriculumConfig(uniform_prob=0.5)
    paths = [
        render.render(prosqa40, tokenizer, "pause_as_thought", 2, tmp_path / f"{i}.jsonl", options, seed=3)
        for i in range(2)
    ]
    rows = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert paths[0].read_text() == paths[1].read_text()  # seeded
    assert len(rows) == 40 and not any(3002 in r["input_ids"] for r in rows)  # no <|latent|>
    # <|pause|> is added after the three latent tokens; the stages were mixed
    assert len({r["input_ids"].count(3003) for r in rows}) > 2


def test_render_bad_data_fails_before_writing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "steps": [], "answer": "a"}\n{"question": "q"}\n')
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"bad.jsonl: record 1 \(line 2\): missing field 'steps'"):
        render.render(bad, "unused-tokenizer", "coconut", 0, out)
    assert not out.exists()


def test_cli_registers_render_under_data():
    from coconut_lm.cli import build_parser, data
    from coconut_lm.data.methods import CurriculumConfig
    from coconut_lm.options import from_arguments

    args = build_parser().parse_args(
        ["data", "render", "--data", "d.json", "--tokenizer", "t", "--method", "icot", "--stage", "2", "--out", "o"]
    )
    assert args.func is data._run_render and args.method.value == "icot"
    assert from_arguments(CurriculumConfig, args).icot_tokens_per_epoch == 8  # flags not given: the defaults


def test_render_refuses_special_token_text_with_one_line(tmp_path, capsys):
    records = [{"question": "Is Tom a wumpus?", "steps": ["Tom is a wumpus."], "answer": "Yes."}] * 3
    records[1] = dict(records[1], answer="Tom is a <|endoftext|> wumpus.")
    data, out = tmp_path / "d.json", tmp_path / "out.jsonl"
    data.write_text(json.dumps(records))
    argv = ["data", "render", "--data", str(data), "--tokenizer", str(require(FIXTURES / "tokenizer"))]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--method", "coconut", "--stage", "1", "--out", str(out)])
    assert exc.value.code == USER_ERROR_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"coconut-lm data render: {data}: record 1: field 'answer' holds '<|endoftext|>', a special token"
    )
    assert not out.exists()
