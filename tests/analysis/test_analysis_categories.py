"""The six outcome categories on a hand-made graph, and on the released data's gold chains."""

from __future__ import annotations

import json

import pytest

from coconut_lm.analysis.categories import Category, ProsQAGraph, classify_output, parse_sentence
from tests.paths import DATA, require

# Tom -> wumpus -> yumpus -> zumpus (target): the shortest path (3 edges).
# Tom -> dumpus -> rompus -> yumpus: a longer way to yumpus (so via dumpus: 4 edges to the target).
# dumpus -> lempus: the negative target. Alex -> rompus: another entity.
RECORD = {
    "question": "...",
    "steps": ["Tom is a wumpus.", "Every wumpus is a yumpus.", "Every yumpus is a zumpus."],
    "answer": "Tom is a zumpus.",
    "idx_to_symbol": ["Tom", "wumpus", "yumpus", "zumpus", "dumpus", "rompus", "lempus", "Alex"],
    "edges": [[0, 1], [1, 2], [2, 3], [0, 4], [4, 5], [5, 2], [4, 6], [7, 5]],
    "root": 0,
    "target": 3,
    "neg_target": 6,
}

CASES = [
    # (output, thoughts in the prompt, expected category)
    ("Tom is a wumpus.\nEvery wumpus is a yumpus.\nEvery yumpus is a zumpus.\n### Tom is a zumpus.", 0, "correct_path"),
    ("Tom is a wumpus. Every wumpus is a yumpus. Every yumpus is a zumpus. ### Tom is a zumpus.", 0, "correct_path"),
    ("Tom is a wumpus.\n### Tom is a zumpus.", 0, "correct_path"),  # a prefix of the shortest path
    ("Tom is a wumpus.\nEvery wumpus is a yumpus.\n### Tom is a lempus.", 0, "correct_path"),  # wrong answer
    ("Every wumpus is a yumpus.\nEvery yumpus is a zumpus.\n### Tom is a zumpus.", 1, "correct_path"),
    ("Every yumpus is a zumpus.\n### Tom is a zumpus.", 2, "correct_path"),
    (
        "Tom is a dumpus.\nEvery dumpus is a rompus.\nEvery rompus is a yumpus.\n"
        "Every yumpus is a zumpus.\n### Tom is a zumpus.",
        0,
        "longer_path",
    ),
    ("Tom is a dumpus.\n### Tom is a zumpus.", 0, "longer_path"),  # any completion is longer
    ("Every rompus is a yumpus.\n### Tom is a zumpus.", 1, "longer_path"),  # shortest prefix to rompus is 2
    ("Tom is a dumpus.\nEvery dumpus is a lempus.\n### Tom is a lempus.", 0, "wrong_target"),
    ("Tom is a wumpus.\nEvery wumpus is a zumpus.\n### Tom is a zumpus.", 0, "hallucination"),  # no such edge
    ("Tom is a wumpus.\nEvery yumpus is a zumpus.\n### Tom is a zumpus.", 0, "hallucination"),  # disconnected
    ("Tom is a gorpus.\n### Tom is a gorpus.", 0, "hallucination"),  # unknown node
    ("Tom likes a wumpus.\n### Tom is a zumpus.", 0, "hallucination"),  # not a step sentence
    ("Every wumpus is a yumpus.\nEvery yumpus is a zumpus.\n### Tom is a zumpus.", 0, "hallucination"),  # no root
    ("Alex is a rompus.\nEvery rompus is a yumpus.\n### Tom is a yumpus.", 1, "hallucination"),  # not below Tom
    ("### Tom is a zumpus.", 0, "correct_label"),
    ("### Tom is a zumpus.", 3, "correct_label"),
    ("### Tom is a lempus.", 0, "incorrect_label"),
    ("", 0, "incorrect_label"),
]


@pytest.mark.parametrize(("text", "k", "expected"), CASES)
def test_category_of_hand_made_outputs(text: str, k: int, expected: str) -> None:
    verdict = classify_output(RECORD, text, num_thoughts=k)
    assert verdict.category == Category(expected), verdict.reason


def test_every_category_is_covered_and_answers_scored() -> None:
    assert {c for _, _, c in CASES} == {c.value for c in Category}
    right = classify_output(RECORD, "Tom is a wumpus.\n### Tom is a zumpus.")
    wrong = classify_output(RECORD, "Tom is a wumpus.\n### Tom is a lempus.")
    assert (right.answer_correct, wrong.answer_correct) == (True, False)
    assert right.nodes == [0, 1] and right.prefix_length == 0
    assert classify_output(RECORD, "Every yumpus is a zumpus.\n###", num_thoughts=2).prefix_length == 2


def test_parse_sentence_templates() -> None:
    assert parse_sentence("Every wumpus is a yumpus.") == ("wumpus", "yumpus")
    assert parse_sentence("Tom is a wumpus.") == ("Tom", "wumpus")
    assert parse_sentence("Tom likes a wumpus.") is None


def test_graph_needs_prosqa_fields() -> None:
    with pytest.raises(ValueError, match="graph fields"):
        ProsQAGraph.from_record({"question": "q", "steps": [], "answer": "a"})


def test_released_gold_chains_are_correct() -> None:
    """The released valid.json's own steps: Correct Path (Correct Label once k removes them all)."""
    records = json.loads(require(DATA / "prosqa" / "valid.json").read_text(encoding="utf-8"))
    for k in range(4):
        for record in records:
            text = "".join(step + "\n" for step in record["steps"][k:]) + "### " + record["answer"]
            verdict = classify_output(record, text, num_thoughts=k)
            expected = Category.CORRECT_PATH if record["steps"][k:] else Category.CORRECT_LABEL
            assert verdict.category == expected, (k, record["steps"], verdict.reason)
            assert verdict.answer_correct
