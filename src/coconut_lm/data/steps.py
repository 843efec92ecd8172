"""Any chain-of-thought data set as curriculum input: free-text chains cut into steps (`data steps`).

The curriculum replaces reasoning *steps* by continuous thoughts, one stage at a time, so every
example needs its chain as a list of steps. Users' data sets have chains as free text; a
splitter says where one step ends:

- `lines`: one step per non-empty line;
- `sentences`: one step per sentence (a `.`, `!` or `?` followed by white space and a capital,
  digit or opening bracket/quote ends a sentence; decimals such as 3.5 do not);
- `equations`: the `<<...>>` calculator annotations of GSM8k-style chains, in order;
- `regex:PATTERN`: cut at every match of PATTERN (the matches are dropped), e.g. `regex:\\. `;
- `match:PATTERN`: every match of PATTERN is a step (its first group when it has one).

    coconut-lm data steps --input train.jsonl --question-field question --chain-field answer \\
        --answer-field answer --answer-after '####' --split equations --out train.json

With `--answer-after MARK`, the answer is the text after the last MARK of the answer field (of
the chain field when no `--answer-field` is given), and when the chain comes from the same field,
the chain is the text before it. Examples whose chain
gives no step, or whose fields are missing or empty, are left out and reported with the reason;
the statistics (steps per example) are printed and written beside the output (`.stats.json`).
`--hub NAME` reads a Hugging Face dataset instead of a file (needs `pip install datasets` and
the network; nothing else here touches it).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

from coconut_lm.data.datasets.gsm8k import EQUATION
from coconut_lm.errors import InputError

SPLITTERS = ("lines", "sentences", "equations", "regex:PATTERN", "match:PATTERN")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'\[])")


def split_steps(chain: str, how: str) -> list[str]:
    """The steps of one chain (see the module docstring); `how` is one of `SPLITTERS`."""
    if how == "lines":
        return [line.strip() for line in chain.splitlines() if line.strip()]
    if how == "sentences":
        return [s.strip() for s in _SENTENCE_END.split(chain.strip()) if s.strip()]
    if how == "equations":
        return EQUATION.findall(chain)
    if how.startswith("regex:"):
        pieces, start = [], 0
        for m in compile_pattern(how).finditer(chain):
            if m.end() > m.start():  # an empty match cuts nothing
                pieces.append(chain[start : m.start()])
                start = m.end()
        return [s.strip() for s in [*pieces, chain[start:]] if s.strip()]
    if how.startswith("match:"):
        pattern = compile_pattern(how)
        found = [m.group(1) if pattern.groups else m.group(0) for m in pattern.finditer(chain)]
        return [s.strip() for s in found if s.strip()]
    raise InputError(f"--split {how!r}: expected one of {', '.join(SPLITTERS)}")


def compile_pattern(how: str) -> re.Pattern:
    try:
        return re.compile(how.split(":", 1)[1])
    except re.error as e:
        raise InputError(f"--split {how!r}: not a regular expression ({e})") from None


def read_records(path: str | Path) -> list:
    """A JSON list or JSON Lines file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except ValueError as e:
            raise InputError(f"{path}: not valid JSON ({e})") from None
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError as e:
                raise InputError(f"{path}:{n}: not valid JSON ({e})") from None
    return records


def convert(
    records: list,
    question_field: str,
    chain_field: str,
    answer_field: str | None,
    how: str,
    answer_after: str | None = None,
) -> tuple[list[dict], list[dict]]:
    """(examples in the project's schema, [{index, reason}] of the records left out).

    `answer_field` None: "answer", or with `answer_after` the chain field (the answer follows the
    marker at the end of the chain, as in GSM8k's original `answer` field)."""
    if answer_field is None:
        answer_field = chain_field if answer_after is not None else "answer"
    if how.startswith(("regex:", "match:")):
        compile_pattern(how)  # a bad pattern is the user's error, not each record's
    elif how not in SPLITTERS:
        split_steps("", how)
    examples, failed = [], []
    for i, record in enumerate(records):
        try:
            examples.append(_example(record, question_field, chain_field, answer_field, how, answer_after))
        except ValueError as e:
            failed.append({"index": i, "reason": str(e)})
    return examples, failed


def _field(record, name: str) -> str:
    if not isinstance(record, dict) or name not in record:
        raise ValueError(f"no field {name!r}")
    value = record[name]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field {name!r} is empty or not text")
    return value


def _example(record, question_field, chain_field, answer_field, how, answer_after) -> dict:
    question, chain, answer = (_field(record, f) for f in (question_field, chain_field, answer_field))
    if answer_after is not None:
        if answer_after not in answer:
            raise ValueError(f"no {answer_after!r} in field {answer_field!r}")
        before, answer = answer.rsplit(answer_after, 1)
        answer = answer.replace(",", "").strip() if answer_after == "####" else answer.strip()
        if chain_field == answer_field:
            chain = before
        if not answer:
            raise ValueError(f"nothing after {answer_after!r}")
    steps = split_steps(chain, how)
    if not steps:
        raise ValueError(f"the chain gives no step with --split {how!r}")
    return {"question": question.strip(), "steps": steps, "answer": answer.strip()}


def statistics_of(examples: list[dict], failed: list[dict], total: int) -> dict:
    counts = [len(e["steps"]) for e in examples]
    return {
        "records": total,
        "examples": len(examples),
        "left_out": len(failed),
        "steps_per_example": {
            "mean": statistics.mean(counts) if counts else 0.0,
            "median": statistics.median(counts) if counts else 0,
            "min": min(counts, default=0),
            "max": max(counts, default=0),
            "histogram": dict(sorted(Counter(counts).items())),
        },
        "reasons": dict(Counter(f["reason"] for f in failed).most_common()),
        "first_left_out": failed[:10],
    }


def format_statistics(stats: dict) -> str:
    s = stats["steps_per_example"]
    lines = [
        f"{stats['examples']} of {stats['records']} records converted, {stats['left_out']} left out",
        f"steps per example: mean {s['mean']:.2f}, median {s['median']}, min {s['min']}, max {s['max']}",
        "histogram (steps: examples): " + ", ".join(f"{k}: {v}" for k, v in s["histogram"].items()),
    ]
    lines += [f"left out ({n}): {reason}" for reason, n in stats["reasons"].items()]
    return "\n".join(lines)


def hub_records(name: str, split: str) -> list:
    try:
        import datasets
    except ImportError:
        raise InputError("--hub needs the datasets package: pip install datasets") from None
    return list(datasets.load_dataset(name, split=split))
