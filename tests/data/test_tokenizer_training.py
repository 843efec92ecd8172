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
    with pytest.raises(ValueError, match=r"vocab_size must be > 259 \(3 special tokens \+ 256 bytes\) for the llama"):
        train_tokenizer(["x"], vocab_size=259, out_dir=tmp_path, family="llama")


def test_family_and_prepend_scheme_validation(tmp_path):
    with pytest.raises(ValueError, match="family must be one of byte-bpe, llama, unigram, gemma, got 'bert'"):
        train_tokenizer(["x"], vocab_size=300, out_dir=tmp_path, family="bert")
    for family, scheme in [("llama", "never"), ("gemma", "first")]:
        with pytest.raises(ValueError, match="prepend_scheme must be first or always"):
            train_tokenizer(["x"], vocab_size=300, out_dir=tmp_path, family=family, prepend_scheme=scheme)


@pytest.mark.parametrize(
    "family, specials",
    [
        ("llama", ["<unk>", "<s>", "</s>", "<0x00>"]),  # as Llama-2: the bytes follow, BOS starts each encode
        ("unigram", ["<unk>", "<s>", "</s>", "<0x00>"]),
        ("gemma", ["<pad>", "<eos>", "<bos>", "<unk>", "<0x00>"]),
    ],
)
def test_sentencepiece_families_have_their_models_special_tokens(tmp_path, data_file, family, specials):
    tok = AutoTokenizer.from_pretrained(train_tokenizer([data_file], 400, tmp_path / family, family=family))
    assert tok.convert_tokens_to_ids(specials) == list(range(len(specials)))
    assert tok.encode("Tom")[0] == tok.bos_token_id == specials.index(tok.bos_token)
    assert tok.pad_token == ("<pad>" if family == "gemma" else None)  # Llama-2 has none: pad = EOS later
    assert 260 < len(tok) <= 400  # the Unigram trainer stops short on small data
    text = record_text(RECORDS[3])
    assert tok.decode(tok.encode(text), skip_special_tokens=True) == text


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


def test_cli_family(tmp_path, data_file):
    out = tmp_path / "tok"
    argv = ["tokenizer", "train", "--data", str(data_file), "--vocab-size", "400", "--out", str(out)]
    assert main([*argv, "--family", "llama"]) == 0
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.bos_token == "<s>" and tok.tokenize("Tom")[0].startswith("\u2581")
    with pytest.raises(SystemExit):
        main([*argv, "--family", "sentencepiece", "--overwrite"])
