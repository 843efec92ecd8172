"""The tokenizer trainer: round trip, AutoTokenizer loading, special token, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from coconut_lm.cli import main
from coconut_lm.data.tokenizer_training import EOS_TOKEN, record_text, train_tokenizer

RECORDS = [
    {
        "question": f"Tom is a wumpus. Every wumpus is a yumpus{i}. Is Tom a yumpus{i}?",
        "steps": ["Tom is a wumpus.", f"Every wumpus is a yumpus{i}."],
        "answer": f"Tom is a yumpus{i}.",
    }
    for i in range(40)
]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.json"
    path.write_text(json.dumps(RECORDS))
    return path


@pytest.fixture(scope="module")
def tokenizer_dir(data_file, tmp_path_factory) -> Path:
    return train_tokenizer([data_file], vocab_size=300, out_dir=tmp_path_factory.mktemp("tok"))


def test_loads_with_autotokenizer(tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    assert tok.eos_token == tok.bos_token == tok.pad_token == tok.unk_token == EOS_TOKEN
    assert tok.convert_tokens_to_ids(EOS_TOKEN) == 0
    assert 257 <= len(tok) <= 300


@pytest.mark.parametrize(
    "text", [record_text(RECORDS[3]), "  leading spaces, tabs\tand\nnewlines ", "ünïcödé 🥥 42*3=126", ""]
)
def test_round_trip(tokenizer_dir, text):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text


def test_learned_merges_and_special_token(tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    assert "Ġwumpus" in tok.tokenize("Tom is a wumpus.")  # GPT-2-style space marker
    assert tok.encode("a" + EOS_TOKEN, add_special_tokens=False)[-1] == 0


def test_texts_and_files_mix(tmp_path, data_file):
    out = train_tokenizer(["some plain text", data_file], vocab_size=280, out_dir=tmp_path / "t")
    assert (out / "tokenizer.json").exists()


def test_vocab_size_validation(tmp_path):
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(["x"], vocab_size=100, out_dir=tmp_path)


def test_cli(tmp_path, data_file):
    out = tmp_path / "tok"
    assert main(["tokenizer", "train", "--data", str(data_file), "--vocab-size", "290", "--out", str(out)]) == 0
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.decode(tok.encode("Every wumpus is a yumpus7.")) == "Every wumpus is a yumpus7."
    before = (out / "tokenizer.json").read_bytes()
    argv = ["tokenizer", "train", "--data", str(data_file), "--vocab-size", "300", "--out", str(out)]
    with pytest.raises(SystemExit, match="already holds files"):
        main(argv)
    assert (out / "tokenizer.json").read_bytes() == before
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "tokenizer.json").read_bytes() != before
