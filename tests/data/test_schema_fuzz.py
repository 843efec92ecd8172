"""Property tests: random and malformed data files load as valid records or fail with a user error
naming the file, never another exception, and reading changes nothing on disk."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from coconut_lm.constants import END_LATENT, LATENT, START_LATENT
from coconut_lm.data.batching import load_split
from coconut_lm.data.schema import DataError, load_examples, load_graph_records
from coconut_lm.data.tokenization import add_special_tokens
from coconut_lm.errors import UserError
from tests.helpers import fuzz_settings, snapshot
from tests.train.toy import toy_examples, write_tokenizer

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given = hypothesis.given

SPECIAL = [LATENT, START_LATENT, END_LATENT, "<|endoftext|>"]
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\n", "Tom is a wumpus.", "###", *SPECIAL]),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=4), st.sampled_from(SPECIAL), st.text(max_size=4)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
fields = st.one_of(texts, texts, texts, json_values)  # mostly text, sometimes anything
GOOD = toy_examples(4)


@st.composite
def records(draw) -> object:
    """A good record, or one with a field replaced (by a special token's text too), removed or
    added to, or any JSON value."""
    record = dict(draw(st.sampled_from(GOOD)))
    action = draw(st.sampled_from(["keep"] * 4 + ["replace", "replace", "special", "delete", "add_step", "any"]))
    key = draw(st.sampled_from(["question", "steps", "answer"]))
    if action == "special":  # a special token's text typed in user text
        text = draw(st.text(max_size=4)) + draw(st.sampled_from(SPECIAL)) + draw(st.text(max_size=4))
        record[key] = [text] if key == "steps" else text
    elif action == "replace":
        record[key] = draw(fields)
    elif action == "delete":
        del record[key]
    elif action == "add_step":
        record["steps"] = [*record["steps"], draw(fields)]
    elif action == "any":
        return draw(json_values)
    return record


@st.composite
def data_files(draw) -> tuple[str, bytes]:
    """(file suffix, content): a JSON list, JSON Lines, or something broken."""
    rows = draw(st.lists(records(), max_size=3))
    kind = draw(st.sampled_from(["json", "json", "json", "jsonl", "jsonl", "truncated", "bytes", "value"]))
    if kind == "json":
        return ".json", json.dumps(rows).encode()
    if kind == "jsonl":
        return ".jsonl", "".join(json.dumps(r) + draw(st.sampled_from(["\n", "\n\n"])) for r in rows).encode()
    if kind == "truncated":
        text = json.dumps(rows).encode()
        return draw(st.sampled_from([".json", ".jsonl"])), text[: draw(st.integers(0, len(text)))]
    if kind == "bytes":
        return draw(st.sampled_from([".json", ".jsonl"])), draw(st.binary(max_size=40))
    return ".json", json.dumps(draw(json_values)).encode()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def tokenizer(folder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(write_tokenizer(folder / "tok"))
    add_special_tokens(tok)
    return tok


def write(folder: Path, file: tuple[str, bytes]) -> Path:
    suffix, content = file
    path = Path(tempfile.mkdtemp(dir=folder)) / f"data{suffix}"
    path.write_bytes(content)
    return path


@fuzz_settings()
@given(file=data_files())
def test_load_examples_gives_valid_records_or_a_data_error(folder, file):
    path = write(folder, file)
    before = snapshot(path.parent)
    try:
        examples = load_examples(path)
    except DataError as e:
        hypothesis.event("refused")
        assert str(path) in str(e)
    else:
        hypothesis.event("loaded")
        for e in examples:
            assert isinstance(e["question"], str) and e["question"].strip()
            assert isinstance(e["answer"], str) and e["answer"].strip()
            assert isinstance(e["steps"], list) and all(isinstance(s, str) for s in e["steps"])
    assert snapshot(path.parent) == before


@fuzz_settings(max_examples=30)
@given(file=data_files())
def test_load_split_tokenizes_or_names_the_record(folder, tokenizer, file):
    path = write(folder, file)
    try:
        split = load_split(path, tokenizer)
    except UserError as e:
        hypothesis.event(f"refused: {type(e).__name__}")
        assert str(path) in str(e)
    else:
        hypothesis.event("tokenized")
        assert len(split.tokenized) == len(split.examples) > 0
        for example in split.examples:
            for text in (example["question"], example["answer"], *example["steps"]):
                assert not any(special in text for special in SPECIAL)


GRAPH = {"idx_to_symbol": ["Tom", "wumpus", "yumpus"], "edges": [[0, 1], [1, 2]], "root": 0, "target": 2, "steps": []}
graph_values = st.one_of(
    st.integers(-1, 4),
    st.lists(st.lists(st.integers(-1, 4), max_size=3), max_size=4),
    st.lists(texts, max_size=4),
    json_values,
)


@st.composite
def graph_records(draw) -> object:
    """A well-formed ProsQA graph, or one with a field replaced or removed, or any JSON value."""
    record = dict(GRAPH)
    action = draw(st.sampled_from(["keep"] * 4 + ["replace", "replace", "replace", "delete", "any"]))
    key = draw(st.sampled_from(sorted(GRAPH)))
    if action == "replace":
        record[key] = draw(graph_values)
    elif action == "delete":
        del record[key]
    elif action == "any":
        return draw(json_values)
    return record


@fuzz_settings()
@given(rows=st.lists(graph_records(), max_size=3))
def test_load_graph_records_gives_graphs_or_a_data_error(folder, rows):
    path = write(folder, (".json", json.dumps(rows).encode()))
    try:
        records = load_graph_records(path)
    except DataError as e:
        hypothesis.event("refused")
        assert str(path) in str(e) and "\n" not in str(e)
    else:
        hypothesis.event("loaded")
        for r in records:
            n = len(r["idx_to_symbol"])
            assert all(0 <= a < n and 0 <= b < n for a, b in r["edges"]) and 0 <= r["root"] < n
