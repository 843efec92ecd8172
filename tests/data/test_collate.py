"""The collator: the official forward batches exactly, and its padding rules by hand."""

from __future__ import annotations

import json
from functools import cache

import pytest
import torch

from coconut_lm.constants import IGNORE_INDEX as X
from coconut_lm.data.collate import collate, collate_prompts
from coconut_lm.data.curriculum import Sequence, build_sequence
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import add_special_tokens, tokenize_examples
from tests.paths import DATA, FIXTURES, require

FORWARD_CASES = [
    f"{model}_{case}"
    for model in ("gpt2", "llama")
    for case in ("gsm8k_stage2", "prosqa_stage0", "prosqa_stage3", "prosqa_stage7", "prosqa_stage7_nopad")
]
OFFICIAL_OPTIONS = {"prosqa": {"c_thought": 1, "max_latent_stage": 6}, "gsm8k": {"c_thought": 2, "max_latent_stage": 3}}


@cache
def official_examples():
    """(special ids, {dataset: the first 40 tokenized validation examples}) of the fixtures."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(require(FIXTURES / "tokenizer"))
    ids = add_special_tokens(tok)
    prosqa = load_examples(require(DATA / "prosqa" / "valid.json"))[:40]
    gsm8k = []
    for line in require(DATA / "gsm8k" / "icot" / "valid.txt").read_text(encoding="utf-8").splitlines()[:40]:
        question, rest = line.split("||", 1)
        chain, answer = rest.split("####", 1)
        gsm8k.append({"question": question, "steps": chain.split(), "answer": answer.strip()})
    return ids, {"prosqa": tokenize_examples(prosqa, tok), "gsm8k": tokenize_examples(gsm8k, tok)}


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_official_forward_batches_exactly(case):
    from safetensors.torch import load_file

    folder = require(FIXTURES / "forward" / case)
    official = load_file(folder / "batch.safetensors")
    expected = json.loads((folder / "expected.json").read_text())
    ids, examples = official_examples()
    assert (ids.latent, ids.start_latent, ids.end_latent) == (
        expected["latent_id"],
        expected["start_latent_id"],
        expected["end_latent_id"],
    )
    options = CurriculumConfig(pad_latent_to_max=expected["pad_latent_to_max"], **OFFICIAL_OPTIONS[expected["dataset"]])
    by_tokens = {}
    for example in examples[expected["dataset"]]:
        seq = build_sequence(example, expected["stage"], Method.COCONUT, options, ids)
        by_tokens[tuple(seq.input_ids)] = seq
    # which examples the batch holds: its rows without the padding
    rows = [by_tokens[tuple(r[m.bool()].tolist())] for r, m in zip(official["input_ids"], official["attention_mask"])]
    assert [r.input_ids.count(ids.latent) for r in rows] == expected["thoughts_per_row"]
    batch = collate(rows, ids.pad, ids.latent)
    assert sorted(batch) == sorted(official)
    for key, value in official.items():
        assert batch[key].dtype == torch.long
        assert torch.equal(batch[key], value), key


PAD, LAT = 0, 9


def test_rows_without_thoughts_are_only_right_padded():
    batch = collate([Sequence([1, 2, 3], [X, 2, 3]), Sequence([4], [4])], PAD, LAT)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[X, 2, 3], [4, X, X]]
    assert batch["position_ids"].tolist() == [[0, 1, 2], [0, 0, 0]]


def test_first_thoughts_are_aligned():
    rows = [
        Sequence([1, LAT, 5], [X, X, 5]),  # first thought at 1
        Sequence([1, 2, 3, LAT, LAT, 6], [X, X, X, X, X, 6]),  # first thought at 3
        Sequence([7, 8], [7, 8]),  # no thought: not shifted
    ]
    batch = collate(rows, PAD, LAT)
    assert batch["input_ids"].tolist() == [[0, 0, 1, LAT, 5, 0], [1, 2, 3, LAT, LAT, 6], [7, 8, 0, 0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[0, 0, 1, 1, 1, 0], [1] * 6, [1, 1, 0, 0, 0, 0]]
    assert batch["labels"].tolist() == [[X, X, X, X, 5, X], [X] * 5 + [6], [7, 8, X, X, X, X]]
    assert batch["position_ids"].tolist() == [[0, 0, 0, 1, 2, 0], [0, 1, 2, 3, 4, 5], [0, 1, 0, 0, 0, 0]]
    assert (batch["input_ids"] == LAT).int().argmax(dim=1)[:2].tolist() == [3, 3]


def test_single_row_is_unchanged_and_dicts_are_accepted():
    row = {"input_ids": [1, 2, LAT, 4], "labels": [X, X, X, 4], "idx": 3}
    batch = collate([row], PAD, LAT)
    assert batch["input_ids"].tolist() == [row["input_ids"]]
    assert batch["labels"].tolist() == [row["labels"]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3]]


def test_prompts_without_labels_have_no_labels_key():
    batch = collate([{"input_ids": [1, LAT]}, {"input_ids": [1, 2, 3, LAT]}], PAD, LAT)
    assert "labels" not in batch
    assert batch["input_ids"].tolist() == [[0, 0, 1, LAT], [1, 2, 3, LAT]]


def test_bad_batches():
    with pytest.raises(ValueError, match="at least one"):
        collate([], PAD, LAT)
    with pytest.raises(ValueError, match="sequence 1: 1 labels for 2 input ids"):
        collate([Sequence([1], [1]), Sequence([1, 2], [1])], PAD, LAT)
    with pytest.raises(ValueError, match="every sequence"):
        collate([{"input_ids": [1], "labels": [1]}, {"input_ids": [2]}], PAD, LAT)


def test_collate_prompts_left_pads_with_ends_aligned():
    batch = collate_prompts([[5, 6, 7], [8], [1, 2]], pad_token_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8], [0, 1, 2]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    assert batch["input_ids"].dtype == batch["attention_mask"].dtype == torch.long
    with pytest.raises(ValueError, match="empty prompt"):
        collate_prompts([[1], []], 0)
