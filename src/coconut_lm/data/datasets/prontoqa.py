"""ProntoQA converter to the official `{"question", "steps", "answer"}` format (`data prontoqa`).

Input: the JSON written by the official ProntoQA generator (asaparov/prontoqa, run with the
paper's flags, docs/method.md §6): `{"example1": {"test_example": {"question", "query",
"chain_of_thought": [...], "answer"}}, ...}`. As in the official Coconut preprocessing:
question = question + " " + query; steps = the chain-of-thought sentences taken two at a time
(sentences 1-2, 3-4, ...; an odd last one stands alone); answer "True" / "False"; split in file
order into 9,000 train / 200 valid / the rest test. `seed` shuffles before splitting instead.

Example:
    chain ["Max is a vumpus.", "Each vumpus is a brimpus.", "Max is a brimpus.", ...]
    → steps ["Max is a vumpus. Each vumpus is a brimpus.", "Max is a brimpus. ...", ...]
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from pathlib import Path

from coconut_lm.errors import InputError
from coconut_lm.io import write_json

DEFAULT_SPLITS = (9000, 200)
"""Train and valid sizes of the paper; the test split takes the rest (800 of 10,000)."""


def pair_sentences(sentences: Sequence[str]) -> list[str]:
    """Group chain-of-thought sentences two by two into steps."""
    return [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]


def convert_example(example: dict) -> dict:
    """One generator `test_example` → record; ValueError naming the missing field."""
    for key in ("question", "query", "chain_of_thought", "answer"):
        if key not in example:
            raise ValueError(f"missing field {key!r}")
    return {
        "question": example["question"] + " " + example["query"],
        "steps": pair_sentences(example["chain_of_thought"]),
        "answer": example["answer"],
    }


def convert_prontoqa(path: str | os.PathLike) -> list[dict]:
    """Records of a ProntoQA generator JSON file, in file order."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected an object of examples, got {type(raw).__name__}")
    records = []
    for key, value in raw.items():
        try:
            records.append(convert_example(value["test_example"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{path}: example {key!r} is malformed: {err}") from None
    return records


def split_records(
    records: list[dict], sizes: Sequence[int] = DEFAULT_SPLITS, seed: int | None = None
) -> dict[str, list[dict]]:
    """`{"train", "valid", "test"}`: the first `sizes[0]`, the next `sizes[1]`, the rest.

    File order (the official split) unless `seed` is given, which shuffles first.
    """
    if seed is not None:
        records = list(records)
        random.Random(seed).shuffle(records)
    n_train, n_valid = sizes
    if n_train + n_valid > len(records):
        raise InputError(f"--splits {n_train}+{n_valid} exceed the {len(records)} examples")
    return {
        "train": records[:n_train],
        "valid": records[n_train : n_train + n_valid],
        "test": records[n_train + n_valid :],
    }


def build_prontoqa(
    input_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    sizes: Sequence[int] = DEFAULT_SPLITS,
    seed: int | None = None,
) -> dict[str, Path]:
    """Convert and split `input_path`, writing train.json, valid.json, test.json to `out_dir`."""
    splits = split_records(convert_prontoqa(input_path), sizes, seed)
    return {name: write_json(Path(out_dir) / f"{name}.json", rows) for name, rows in splits.items()}
