"""Symbolic graph reasoning: ProsQA graphs written with one token per node, and their tokenizer.

Most of a small model's budget on text ProsQA goes to reading (hundreds of sub-word tokens per
question, three spellings per concept). The symbolic form keeps the reasoning and drops the
reading, as the follow-up theory work on Coconut does: a node is one token `n<k>`, an edge is
`s t |`, the question names the two candidates and the root, the steps are the nodes of one
shortest path and the answer is the target:

    question  "n4 n9 | n9 n2 | n4 n7 | n7 n5 | [Q] n5 n2 [R] n4"
    steps     ["n9", "n2"]
    answer    "n2"

Node symbols are a random permutation of `n0 .. n<V-1>` per example (seeded), so a model cannot
learn anything from a node's number; edges are shuffled. Records keep the graph fields in
symbol space (`idx_to_symbol`, `edges`, `root`, `target`, `neg_target`), so the text can always
be checked against the graph. The tokenizer is word-level over exactly these symbols plus the
markers and a newline token; the rest of the pipeline (curriculum, training, evaluation,
analysis) reads it like any `transformers` tokenizer.

Example:
    >>> from coconut_lm.data.datasets.prosqa import generate_prosqa
    >>> record = symbolic_example(generate_prosqa(1, seed=0)[0], random.Random(0), num_symbols=32)
    >>> record["answer"] == record["steps"][-1]
    True
"""

from __future__ import annotations

import json
import random
from collections import deque
from pathlib import Path

from coconut_lm.data.datasets.graph_identity import GRAPH_FIELDS
from coconut_lm.data.tokenizer_training import EOS_TOKEN, save_tokenizer
from coconut_lm.errors import InputError

EDGE_END, QUESTION, ROOT, ANSWER, NEWLINE = "|", "[Q]", "[R]", "###", "\n"
DEFAULT_SYMBOLS = 32
"""Node symbols in the vocabulary (the released ProsQA graphs have at most 28 nodes)."""


def node_symbol(k: int) -> str:
    return f"n{k}"


def shortest_path(edges: list[list[int]], root: int, target: int, rng: random.Random) -> list[int] | None:
    """One shortest root→target path (uniform among them), or None if there is none."""
    children: dict[int, list[int]] = {}
    for a, b in edges:
        children.setdefault(a, []).append(b)
    ways = {root: 1}  # number of shortest paths from root to each node
    depth = {root: 0}
    parents: dict[int, list[int]] = {root: []}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for child in children.get(node, []):
            if child not in depth:
                depth[child], ways[child], parents[child] = depth[node] + 1, 0, []
                queue.append(child)
            if depth[child] == depth[node] + 1:
                ways[child] += ways[node]
                parents[child].append(node)
    if target not in depth:
        return None
    path = [target]
    while path[-1] != root:
        options = parents[path[-1]]
        path.append(rng.choices(options, weights=[ways[p] for p in options])[0])
    return path[::-1]


def symbolic_example(record: dict, rng: random.Random, num_symbols: int = DEFAULT_SYMBOLS) -> dict:
    """The symbolic form of one ProsQA record with graph fields (see the module docstring)."""
    missing = [f for f in GRAPH_FIELDS if f not in record]
    if missing:
        raise InputError(f"no graph fields {missing} (a ProsQA record with its graph is needed)")
    num_nodes = len(record["idx_to_symbol"])
    if num_nodes > num_symbols:
        raise InputError(f"a graph of {num_nodes} nodes needs --symbols >= {num_nodes}, got {num_symbols}")
    edges = [[int(a), int(b)] for a, b in record["edges"]]
    root, target, neg = int(record["root"]), int(record["target"]), int(record["neg_target"])
    path = shortest_path(edges, root, target, rng)
    if path is None or len(path) < 2:
        raise InputError(f"the target (node {target}) is not reachable from the root (node {root})")
    names = [node_symbol(k) for k in rng.sample(range(num_symbols), num_nodes)]
    pairs = [f"{names[a]} {names[b]} {EDGE_END}" for a, b in edges]
    rng.shuffle(pairs)
    options = [names[target], names[neg]]
    rng.shuffle(options)
    return {
        "question": " ".join([*pairs, QUESTION, *options, ROOT, names[root]]),
        "steps": [names[n] for n in path[1:]],
        "answer": names[target],
        "idx_to_symbol": names,
        "edges": edges,
        "root": root,
        "target": target,
        "neg_target": neg,
    }


def convert_file(path: str | Path, seed: int = 0, num_symbols: int = DEFAULT_SYMBOLS) -> list[dict]:
    """Every record of a ProsQA JSON file, symbolic; errors name the file and record."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read a JSON list of records ({e})") from None
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of records")
    out = []
    for i, record in enumerate(records):
        try:
            out.append(symbolic_example(record, random.Random(f"symbolic-{seed}-{i}"), num_symbols))
        except InputError as e:
            raise InputError(f"{path}: record {i}: {e}") from None
    return out


def vocabulary(num_symbols: int = DEFAULT_SYMBOLS) -> list[str]:
    """Every token of the symbolic tokenizer, EOS first."""
    return [EOS_TOKEN, NEWLINE, EDGE_END, QUESTION, ROOT, ANSWER] + [node_symbol(k) for k in range(num_symbols)]


def build_tokenizer(out_dir: str | Path, num_symbols: int = DEFAULT_SYMBOLS, newline_tokens: bool = False) -> Path:
    """Save a word-level tokenizer of `vocabulary(num_symbols)` (`save_pretrained` format).

    White space separates tokens and is dropped, newlines included: the steps of a chain follow
    each other with no separator, so the model predicts each node of a path at the position of
    the node before it (one induction step). Small models learn that within a few hundred steps;
    with a newline token between the steps (`newline_tokens=True`, which decodes the text back
    exactly) the same models learned no edge lookup in thousands. Without newline tokens the
    decoded text has the tokens joined by spaces: the answer after `###` reads as usual, the
    line-based CoT exact match does not apply.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: i for i, token in enumerate(vocabulary(num_symbols))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=EOS_TOKEN))
    if newline_tokens:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(r"[^\S\n]+"), behavior="removed"),
                pre_tokenizers.Split(NEWLINE, behavior="isolated"),
            ]
        )
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s+"), behavior="removed")
    # Tokens joined by spaces; with newline tokens, none around a newline (the text back exactly).
    steps = [decoders.Replace(Regex(r"\z"), " "), decoders.Fuse()]
    if newline_tokens:
        steps.append(decoders.Replace(Regex(r" ?\n ?"), NEWLINE))
    # the trailing space goes by a regex: `decoders.Strip` panics on an empty output
    tokenizer.decoder = decoders.Sequence([*steps, decoders.Replace(Regex(r" \z"), "")])
    return save_tokenizer(tokenizer, out_dir)
