"""GSM8k converters to the official `{"question", "steps", "answer"}` format (`data gsm8k`).

Two sources (docs/method.md §6):

- the augmented iCoT text format the paper trains on, one example a line:
  `question||<<eq1>> <<eq2>> #### answer`; steps are the space-separated equations;
- the original GSM8k JSONL (`{"question", "answer"}`), whose answer text carries calculator
  annotations: steps are those annotations in order, the answer is what follows `####`
  (commas removed).

Example (iCoT line → record):
    `A set of 7 spoons costs $21. ...||<<21/7=3>> <<5*3=15>> #### 15`
    → `{"question": "A set of 7 spoons costs $21. ...", "steps": ["<<21/7=3>>", "<<5*3=15>>"],
    "answer": "15"}`
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from coconut_lm.errors import UserError

ICOT_URL = (
    "https://raw.githubusercontent.com/da03/Internalize_CoT_Step_by_Step/"
    "e06a32ee5e4cd117171daeb4755d2a97ece62761/data/gsm8k/{split}.txt"
)
"""The iCoT augmented GSM8k (train / valid / test), at the commit the paper's README names."""
OPENAI_URL = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/{split}.jsonl"
"""The original GSM8k (train / test)."""
SPLITS = {"icot": ("train", "valid", "test"), "openai": ("train", "test")}
"""Splits `--download` can fetch, per format."""

EQUATION = re.compile(r"<<[^<>]*>>")


class GSM8kFormatError(UserError, ValueError):
    """A line of a GSM8k source file could not be parsed; the message names file and line."""


def parse_icot_line(line: str) -> dict:
    """One iCoT line `question||<<eq>> <<eq>> #### answer` → record; ValueError if malformed."""
    parts = line.rstrip("\n").split("||")
    if len(parts) != 2:
        raise ValueError("expected exactly one '||' between question and chain")
    question, chain = parts
    if "####" not in chain:
        raise ValueError("no '####' before the answer")
    chain, answer = chain.rsplit("####", 1)
    steps = chain.split()
    if bad := [s for s in steps if not EQUATION.fullmatch(s)]:
        raise ValueError(f"step {bad[0]!r} is not a <<...>> equation")
    if not question.strip() or not answer.strip():
        raise ValueError("empty question or answer")
    return {"question": question.strip(), "steps": steps, "answer": answer.strip()}


def parse_openai_row(row: dict) -> dict:
    """One original GSM8k row `{"question", "answer"}` → record; ValueError if malformed."""
    if not isinstance(row, dict) or not {"question", "answer"} <= row.keys():
        raise ValueError("expected an object with 'question' and 'answer'")
    text = row["answer"]
    if "####" not in text:
        raise ValueError("no '####' before the answer")
    reasoning, answer = text.rsplit("####", 1)
    answer = answer.replace(",", "").strip()
    if not answer:
        raise ValueError("empty answer")
    return {"question": row["question"].strip(), "steps": EQUATION.findall(reasoning), "answer": answer}


def _convert_lines(path: str | os.PathLike, parse, kind: str) -> list[dict]:
    """Records of a line-per-example file (blank lines skipped), parsed by `parse(line)`.

    Raises GSM8kFormatError naming the file and 1-based line number of a malformed line.
    """
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(parse(line))
            except ValueError as err:  # json.JSONDecodeError is a ValueError too
                raise GSM8kFormatError(f"{path}:{number}: malformed {kind} line: {err}") from None
    return records


def convert_icot(path: str | os.PathLike) -> list[dict]:
    """Records of an iCoT-format GSM8k file (see `_convert_lines` for errors)."""
    return _convert_lines(path, parse_icot_line, "iCoT")


def convert_openai(path: str | os.PathLike) -> list[dict]:
    """Records of an original GSM8k JSONL file (see `_convert_lines` for errors)."""
    return _convert_lines(path, lambda line: parse_openai_row(json.loads(line)), "GSM8k JSONL")


CONVERTERS = {"icot": convert_icot, "openai": convert_openai}


def download(fmt: str, split: str, dest: str | os.PathLike, timeout: float = 30.0) -> Path:
    """Fetch one split of the `fmt` source to `dest`; RuntimeError with a clear message offline."""
    if split not in SPLITS[fmt]:
        raise ValueError(f"format {fmt!r} has splits {SPLITS[fmt]}, not {split!r}")
    url = (ICOT_URL if fmt == "icot" else OPENAI_URL).format(split=split)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as err:
        raise RuntimeError(
            f"could not download {url} ({err}); without network access, fetch the file "
            "elsewhere and pass it with --input"
        ) from None
    dest = Path(dest)
    dest.write_bytes(data)
    return dest
