"""Symbolic graph data: the text is the graph, the steps a shortest path, the tokenizer exact."""

from __future__ import annotations

import json
import random

import pytest

from coconut_lm.data.datasets.prosqa import generate_prosqa
from coconut_lm.data.datasets.symbolic import (
    EDGE_END,
    QUESTION,
    ROOT,
    build_tokenizer,
    convert_file,
    shortest_path,
    symbolic_example,
    vocabulary,
)
from coconut_lm.errors import InputError

# A hand-made graph: 0 -> 1 -> 3 -> 5, 0 -> 2 -> 3, 0 -> 4 (the negative leaf), 1 -> 6 -> 7 -> 5.
HAND = {
    "idx_to_symbol": [f"c{i}" for i in range(8)],
    "edges": [[0, 1], [1, 3], [3, 5], [0, 2], [2, 3], [0, 4], [1, 6], [6, 7], [7, 5]],
    "root": 0,
    "target": 5,
    "neg_target": 4,
}


def parse(record: dict) -> tuple[set[tuple[str, str]], list[str], str]:
    """(edges, candidates, root) read back from the question text."""
    body, rest = record["question"].split(f" {QUESTION} ")
    candidates, root = rest.split(f" {ROOT} ")
    pairs = [p.split() for p in (body + " ").split(f" {EDGE_END} ") if p.strip()]
    return {(a, b) for a, b in pairs}, candidates.split(), root


def check(record: dict) -> None:
    names = record["idx_to_symbol"]
    edges, candidates, root = parse(record)
    assert edges == {(names[a], names[b]) for a, b in record["edges"]}  # round trip of the graph
    assert len(edges) == len(record["edges"])
    assert sorted(candidates) == sorted([names[record["target"]], names[record["neg_target"]]])
    assert root == names[record["root"]]
    path = [root, *record["steps"]]
    assert all((a, b) in edges for a, b in zip(path, path[1:]))  # a path of the graph
    assert record["answer"] == record["steps"][-1] == names[record["target"]]
    shortest = shortest_path(record["edges"], record["root"], record["target"], random.Random(0))
    assert len(path) == len(shortest)  # and a shortest one
    assert len(set(names)) == len(names)


def test_hand_made_graph():
    record = symbolic_example(HAND, random.Random(3))
    check(record)
    paths = set()
    for seed in range(40):
        r = symbolic_example(HAND, random.Random(seed))
        paths.add(tuple(r["idx_to_symbol"].index(step) for step in r["steps"]))
    assert paths == {(1, 3, 5), (2, 3, 5)}  # both shortest paths occur; 0-1-6-7-5 never (longer)


def test_generator_output_and_released_data(tmp_path, data_dir_optional):
    records = generate_prosqa(20, seed=1)
    source = tmp_path / "prosqa.json"
    source.write_text(json.dumps(records))
    files = [source] + ([data_dir_optional / "prosqa" / "valid.json"] if data_dir_optional else [])
    for path in files:
        converted = convert_file(path, seed=0)
        assert len(converted) == len(json.loads(path.read_text()))
        for record in converted:
            check(record)
        assert convert_file(path, seed=0) == converted  # seeded
        assert convert_file(path, seed=1) != converted


def test_bad_records_name_file_and_record(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([HAND, {"question": "q", "steps": [], "answer": "a"}]))
    with pytest.raises(InputError, match=rf"{path}: record 1: no graph fields"):
        convert_file(path)
    with pytest.raises(InputError, match="a graph of 8 nodes needs --symbols >= 8, got 6"):
        symbolic_example(HAND, random.Random(0), num_symbols=6)
    unreachable = {**HAND, "target": 0, "root": 5}
    with pytest.raises(InputError, match="not reachable"):
        symbolic_example(unreachable, random.Random(0))


@pytest.mark.parametrize("newline_tokens", [False, True])
def test_tokenizer_feeds_the_pipeline(tmp_path, newline_tokens):
    from transformers import AutoTokenizer

    from coconut_lm.data.tokenization import add_special_tokens, tokenize_examples
    from coconut_lm.eval.evaluate import extract_answer

    path = build_tokenizer(tmp_path / "tok", num_symbols=16, newline_tokens=newline_tokens)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    assert len(tokenizer) == len(vocabulary(16))
    for token in vocabulary(16)[1:]:
        if token != "\n":
            assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    record = symbolic_example(HAND, random.Random(0), num_symbols=16)
    text = record["question"] + "\n" + "\n".join(record["steps"]) + "\n### " + record["answer"]
    ids = tokenizer.encode(text, add_special_tokens=False)
    newlines = 1 + len(record["steps"]) if newline_tokens else 0
    assert len(ids) == len(text.split()) + newlines  # one token per symbol (and newline)
    if newline_tokens:
        assert tokenizer.decode(ids) == text  # exactly the text back
    else:
        assert tokenizer.decode(ids) == " ".join(text.split())  # the steps follow each other
    assert extract_answer(tokenizer.decode(ids)) == record["answer"]
    assert tokenizer.decode([]) == "" and tokenizer.decode(ids[:1]) == record["question"].split()[0]
    ids_special = add_special_tokens(tokenizer)
    (example,) = tokenize_examples([record], tokenizer)  # checks pieces == whole text
    assert example.answer[-1] == ids_special.eos
    assert [len(step) for step in example.steps] == [1 + newline_tokens] * len(record["steps"])


def test_written_chain_is_scored_without_newline_tokens():
    from coconut_lm.eval.evaluate import _score

    example = {"question": "n1 n2 | n2 n3 | [Q] n3 n4 [R] n1", "steps": ["n2", "n3"], "answer": "n3"}
    right, wrong = "n2 n3 ### n3", "n2 n4 ### n3"
    assert _score(f"{example['question']} {right}", right, example) == ("n3", True, True)
    assert _score(f"{example['question']} {wrong}", wrong, example) == ("n3", True, False)
    lines = "n2\nn3\n### n3"  # with newline tokens: the official line-based extraction
    assert _score(f"{example['question']}\n{lines}", lines, example) == ("n3", True, True)
