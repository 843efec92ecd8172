"""The example schema: loading and validating `{"question", "steps", "answer"}` records.

Files are the official JSON format (a list of records, docs/method.md §2) or JSON Lines (one record
per line). Keys beyond the three required ones (e.g. ProsQA's `idx_to_symbol`, `edges`, `root`,
`target`, `neg_target`) are kept as they are. Every problem is reported with the file, the
record index and the field, and a malformed file is rejected as a whole, never half-loaded:

    >>> load_examples("data/prosqa/valid.json")[0]["answer"]
    'Tom is a lempus.'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coconut_lm.data.datasets.prosqa_stats import children_lists, reachable
from coconut_lm.errors import UserError

REQUIRED_FIELDS = ("question", "steps", "answer")
"""Keys every record must have."""

MAX_REPORTED = 20
"""How many problems one `DataError` lists before summarising the rest as a count."""


class DataError(UserError, ValueError):
    """A data file or record is malformed; the message names the file, record and field."""


def _type_name(value: Any) -> str:
    return type(value).__name__


def _record_problems(record: Any, where: str) -> list[str]:
    """The problems of one record, each prefixed with `where` (file and record index)."""
    if not isinstance(record, dict):
        return [f"{where}: expected an object with {list(REQUIRED_FIELDS)}, got {_type_name(record)}"]
    problems = [f"{where}: missing field {key!r}" for key in REQUIRED_FIELDS if key not in record]
    for key in ("question", "answer"):
        if key not in record:
            continue
        value = record[key]
        if not isinstance(value, str):
            problems.append(f"{where}: field {key!r}: expected a string, got {_type_name(value)}")
        elif not value.strip():
            problems.append(f"{where}: field {key!r}: is empty")
    if "steps" in record:
        steps = record["steps"]
        if not isinstance(steps, list):
            problems.append(f"{where}: field 'steps': expected a list of strings, got {_type_name(steps)}")
        else:
            bad = [f"[{j}] is {_type_name(s)}" for j, s in enumerate(steps) if not isinstance(s, str)]
            if bad:
                problems.append(f"{where}: field 'steps': expected a list of strings, but " + ", ".join(bad[:5]))
    return problems


def validate_examples(records: Any, source: str, line_numbers: Sequence[int] | None = None) -> list[dict]:
    """Check `records` against the schema; return them as a list, or raise one `DataError`.

    `source` names where the records came from (a file path); `line_numbers[i]`, when given,
    is the line of record i (JSON Lines) and is added to its messages.
    """
    if not isinstance(records, list):
        raise DataError(f"{source}: expected a list of examples, got {_type_name(records)}")
    if not records:
        raise DataError(f"{source}: holds no examples")
    problems: list[str] = []
    for i, record in enumerate(records):
        where = f"{source}: record {i}"
        if line_numbers is not None:
            where += f" (line {line_numbers[i]})"
        problems.extend(_record_problems(record, where))
    if len(problems) == 1:
        raise DataError(problems[0])  # it names the file, record and field
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"... and {len(problems) - MAX_REPORTED} more problems")
        raise DataError(f"{len(problems)} problem(s) in {source}:\n" + "\n".join(shown))
    return list(records)


def _read_jsonl(path: Path, text: str) -> tuple[list[Any], list[int]]:
    """Records and their 1-based line numbers; blank lines are skipped."""
    records, lines = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DataError(f"{path}: line {lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
        lines.append(lineno)
    return records, lines


def read_records(path: str | os.PathLike) -> tuple[list[Any] | Any, list[int] | None]:
    """The parsed content of a `.json` file (any JSON value) or the records of a `.jsonl` file,
    with their line numbers (None for `.json`); `DataError` for a missing, unreadable or invalid file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    if path.suffix == ".jsonl":
        return _read_jsonl(path, text)
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        raise DataError(
            f"{path}: line {e.lineno}: invalid JSON: {e.msg} (column {e.colno}); "
            "expected a JSON list of examples (use the .jsonl suffix for JSON Lines)"
        ) from None


def load_examples(path: str | os.PathLike) -> list[dict]:
    """Load and validate the examples of a `.json` (a list) or `.jsonl` file.

    Raises `DataError` for a missing or unreadable file, invalid JSON (with the line) and any
    schema problem; returns the records (extra keys kept) in file order.
    """
    records, lines = read_records(path)
    return validate_examples(records, str(path), lines)


GRAPH_FIELDS = ("idx_to_symbol", "edges", "root", "target")
"""The graph of a ProsQA-format record: node names, `[parent, child]` index pairs, the entity
asked about and the concept to reach (`neg_target`, the distractor, is not needed here)."""


def _is_index(value: Any, n: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n


def _graph_problem(record: Any) -> str | None:
    """The first problem of one ProsQA-format record's graph (and `steps`), or None."""
    if not isinstance(record, dict):
        return f"expected an object with {list(GRAPH_FIELDS)}, got {_type_name(record)}"
    missing = [key for key in (*GRAPH_FIELDS, "steps") if key not in record]
    if missing:
        return f"missing field {missing[0]!r} (a ProsQA-format record carries its graph: {', '.join(GRAPH_FIELDS)})"
    nodes, edges = record["idx_to_symbol"], record["edges"]
    if not isinstance(nodes, list) or not nodes:
        return f"field 'idx_to_symbol': expected a non-empty list of node names, got {nodes!r:.60}"
    if not isinstance(record["steps"], list):
        return f"field 'steps': expected a list, got {_type_name(record['steps'])}"
    if not isinstance(edges, list):
        return f"field 'edges': expected a list of [parent, child] pairs, got {_type_name(edges)}"
    for j, edge in enumerate(edges):
        if not (isinstance(edge, list) and len(edge) == 2 and all(_is_index(v, len(nodes)) for v in edge)):
            pair = f"a [parent, child] pair of node indices 0..{len(nodes) - 1}"
            return f"field 'edges': [{j}] is {edge!r:.40}, not {pair}"
    for key in ("root", "target"):
        if not _is_index(record[key], len(nodes)):
            return f"field {key!r}: expected a node index 0..{len(nodes) - 1}, got {record[key]!r:.40}"
    if record["target"] not in reachable(children_lists(len(nodes), edges), record["root"]):
        return f"field 'target': node {record['target']} is not reachable from the root {record['root']}"
    return None


def load_graph_records(path: str | os.PathLike) -> list[dict]:
    """The records of a ProsQA-format file whose graphs are well formed (`data stats`).

    Raises `DataError` naming the file, and the first bad record and field, for anything else:
    not a list, no records, a record without its graph fields (a non-ProsQA file), an edge or
    index out of range.
    """
    records, lines = read_records(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a list of ProsQA-format records, got {_type_name(records)}")
    if not records:
        raise DataError(f"{path}: holds no records")
    for i, record in enumerate(records):
        problem = _graph_problem(record)
        if problem is not None:
            where = f"record {i}" + (f" (line {lines[i]})" if lines is not None else "")
            raise DataError(f"{path}: {where}: {problem}")
    return records
