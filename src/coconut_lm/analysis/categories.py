"""The paper's six outcome categories of a ProsQA output (docs/method.md §7), from the text alone.

An output (the text generated after the prompt, special tokens skipped) is split at the first
"#": before it, the *chain* (step sentences); the *answer* is the official extraction (after
the last "#", as `coconut-lm eval`, so the accuracy here is the evaluation's). Each chain
sentence must read "Every X is a Y." or "X is a Y." with X, Y names of the record's graph
(`idx_to_symbol`); it stands for the edge X -> Y.

Categories (disjoint, exhaustive; checked in this order):

- **Correct Label / Incorrect Label**: the chain has no sentence; the answer is right / wrong.
- **Hallucination**: a sentence that is not a step of that form or names an unknown node; an
  edge that is not in the graph; a chain that is disconnected (a sentence does not start where
  the previous one ended); or a chain that cannot be joined to the root: it must start at the
  root when the prompt had no thoughts, and at a node reachable from the root otherwise (the
  thoughts stand for the unwritten prefix, taken to be a shortest root -> start path).
- With L = (prefix length) + (chain edges) and e = the chain's last node, d* = the shortest
  root -> target distance:
  - e = target: **Correct Path** if L = d*, else **Longer Path**;
  - target reachable from e: **Correct Path** if L + dist(e, target) = d* (the chain is a
    prefix of a shortest path: a valid continuation completes it), else **Longer Path**;
  - target not reachable from e (e.g. the negative target, another leaf): **Wrong Target**.

The answer's correctness is recorded separately (accuracy), whatever the category.

    >>> classify_output(record, "Tom is a wumpus.\\nEvery wumpus is a yumpus.\\n### Tom is a yumpus.")
    PathVerdict(category=<Category.CORRECT_PATH: 'correct_path'>, ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from coconut_lm.data.datasets.prosqa_stats import bfs_counts, children_lists
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import extract_answer, normalise_answer


class Category(str, Enum):
    """The six disjoint outcome categories, in the paper's order."""

    CORRECT_LABEL = "correct_label"
    INCORRECT_LABEL = "incorrect_label"
    CORRECT_PATH = "correct_path"
    LONGER_PATH = "longer_path"
    HALLUCINATION = "hallucination"
    WRONG_TARGET = "wrong_target"

    @property
    def label(self) -> str:
        """The paper's name ("Correct Path")."""
        return self.value.replace("_", " ").title()


STEP_PATTERN = re.compile(r"^(?:Every\s+)?(\S+)\s+is\s+an?\s+(\S+?)\.?$")
"""One step sentence: "Every X is a Y." (concept -> concept) or "X is a Y." (entity -> concept)."""


@dataclass
class ProsQAGraph:
    """The graph of one ProsQA record, with name lookup and distances."""

    names: list[str]
    children: list[list[int]]
    edges: set[tuple[int, int]]
    root: int
    target: int
    neg_target: int | None = None
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict) -> ProsQAGraph:
        missing = [k for k in ("idx_to_symbol", "edges", "root", "target") if k not in record]
        if missing:
            raise InputError(f"record has no graph fields {missing} (ProsQA format needed)")
        names = list(record["idx_to_symbol"])
        edges = {(int(a), int(b)) for a, b in record["edges"]}
        return cls(
            names=names,
            children=children_lists(len(names), edges),
            edges=edges,
            root=int(record["root"]),
            target=int(record["target"]),
            neg_target=record.get("neg_target"),
            index={name: i for i, name in enumerate(names)},
        )

    def distances(self, source: int) -> dict[int, int]:
        """Shortest distance in edges from `source` to every node it reaches."""
        return bfs_counts(self.children, source)[0]


@dataclass
class PathVerdict:
    """The category of one output, with what it was decided from."""

    category: Category
    reason: str
    """Why (one short phrase)."""
    nodes: list[int]
    """The chain's nodes (empty without a parsable chain)."""
    prefix_length: int
    """Edges before the chain's first node (taken by the thoughts); 0 when it starts at the root."""
    answer: str
    answer_correct: bool


def split_output(text: str) -> tuple[str, str]:
    """(chain, answer): the text before the first '#', and the official answer extraction."""
    return text.split("#")[0], extract_answer(text)


def chain_sentences(chain: str) -> list[str]:
    """The sentences of a chain, split at newlines and after each period."""
    parts = re.split(r"\n|(?<=\.)\s+", chain)
    return [p.strip() for p in parts if p.strip()]


def parse_sentence(sentence: str) -> tuple[str, str] | None:
    """("X", "Y") of a step sentence, or None if it is not one."""
    match = STEP_PATTERN.match(sentence)
    return (match.group(1), match.group(2)) if match else None


def _chain_nodes(graph: ProsQAGraph, sentences: list[str]) -> tuple[list[int] | None, str]:
    """The chain as a node list, or (None, reason) when it is a hallucination in itself."""
    nodes: list[int] = []
    for sentence in sentences:
        pair = parse_sentence(sentence)
        if pair is None:
            return None, f"not a step sentence: {sentence!r}"
        unknown = [name for name in pair if name not in graph.index]
        if unknown:
            return None, f"unknown node {unknown[0]!r}"
        head, tail = graph.index[pair[0]], graph.index[pair[1]]
        if nodes and head != nodes[-1]:
            return None, f"disconnected at {pair[0]!r}"
        if (head, tail) not in graph.edges:
            return None, f"no edge {pair[0]} -> {pair[1]}"
        nodes = nodes or [head]
        nodes.append(tail)
    return nodes, ""


def classify_chain(graph: ProsQAGraph, nodes: list[int], num_thoughts: int) -> tuple[Category, str, int]:
    """(category, reason, prefix length) of a valid, connected chain of >= 1 edge."""
    from_root = graph.distances(graph.root)
    start, end = nodes[0], nodes[-1]
    if start != graph.root and (num_thoughts == 0 or start not in from_root):
        return Category.HALLUCINATION, "not joined to the root", 0
    prefix = from_root[start]
    length = prefix + len(nodes) - 1
    shortest = from_root[graph.target]
    if end == graph.target:
        if length == shortest:
            return Category.CORRECT_PATH, "a shortest path", prefix
        return Category.LONGER_PATH, f"length {length} > {shortest}", prefix
    to_target = graph.distances(end).get(graph.target)
    if to_target is None:
        return Category.WRONG_TARGET, "the target is unreachable from its end", prefix
    if length + to_target == shortest:
        return Category.CORRECT_PATH, "a prefix of a shortest path", prefix
    return Category.LONGER_PATH, f"best completion {length + to_target} > {shortest}", prefix


def classify_output(record: dict | ProsQAGraph, text: str, answer: str | None = None, num_thoughts: int = 0):
    """The `PathVerdict` of generated `text` for a ProsQA `record` (see the module docstring).

    `num_thoughts`: thoughts in the prompt (0: the chain must start at the root). With a
    `ProsQAGraph`, pass the gold `answer` ("Tom is a X.").
    """
    graph = record if isinstance(record, ProsQAGraph) else ProsQAGraph.from_record(record)
    if answer is None:
        if isinstance(record, ProsQAGraph):
            raise ValueError("classify_output: pass the gold answer with a ProsQAGraph")
        answer = record["answer"]
    chain, predicted = split_output(text)
    correct = predicted == normalise_answer(answer)
    sentences = chain_sentences(chain)
    base = {"answer": predicted, "answer_correct": correct}
    if not sentences:
        category = Category.CORRECT_LABEL if correct else Category.INCORRECT_LABEL
        return PathVerdict(category, "answer only", [], 0, **base)
    nodes, reason = _chain_nodes(graph, sentences)
    if nodes is None:
        return PathVerdict(Category.HALLUCINATION, reason, [], 0, **base)
    category, reason, prefix = classify_chain(graph, nodes, num_thoughts)
    return PathVerdict(category, reason, nodes, prefix, **base)
