"""When two ProsQA questions are the same graph: a canonical form invariant to node names.

A ProsQA record is a directed graph (`edges`, `[parent, child]` index pairs over
`idx_to_symbol`) with three marked nodes: the `root` asked about, the `target` it reaches and the
negative candidate `neg_target`. The names only dress it: the text form draws entity and concept
names, the symbolic form (`coconut-lm data symbolic`) draws node symbols, and the generator numbers
nodes in creation order. Two records are the same question exactly when one graph maps onto the
other by a renaming of the nodes that keeps the edges and the three marked nodes.

`graph_key` returns the canonical form: equal keys if and only if the records are the same graph
up to renaming. It is computed by colour refinement (each node coloured by its role, then by the
multisets of its parents' and children's colours, until stable) and, where refinement leaves
nodes indistinguishable, by trying each in turn as distinguished and keeping the smallest
relabelled edge list (individualisation-refinement, the method of canonical-labelling tools such
as nauty). Nodes with the same parents and children are interchangeable, so only one of them is
tried.

Example:
    >>> a = {"edges": [[0, 1], [0, 2]], "root": 0, "target": 1, "neg_target": 2, "idx_to_symbol": ["a", "b", "c"]}
    >>> b = {"edges": [[2, 0], [2, 1]], "root": 2, "target": 0, "neg_target": 1, "idx_to_symbol": ["x", "y", "z"]}
    >>> graph_key(a) == graph_key(b)
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from coconut_lm.errors import InputError

GRAPH_FIELDS = ("idx_to_symbol", "edges", "root", "target", "neg_target")
"""The fields of a record that carry its graph (ProsQA and symbolic data alike)."""

GraphKey = tuple
"""A canonical form: `(num_nodes, edges, root, target, neg_target)` in canonical node labels."""


def _refine(colour: list[int], parents: list[list[int]], children: list[list[int]]) -> list[int]:
    """Colour refinement until stable; colours are ranks of invariant signatures (0..classes-1)."""
    while True:
        signatures = [
            (colour[v], tuple(sorted(colour[p] for p in parents[v])), tuple(sorted(colour[c] for c in children[v])))
            for v in range(len(colour))
        ]
        rank = {s: i for i, s in enumerate(sorted(set(signatures)))}
        refined = [rank[s] for s in signatures]
        if len(rank) == len(set(colour)):
            return refined
        colour = refined


def _individualise(colour: list[int], node: int) -> list[int]:
    """`node` gets its own colour, just below the rest of its class (an invariant choice)."""
    return [2 * c + (0 if v == node else 1) if c == colour[node] else 2 * c for v, c in enumerate(colour)]


def _canonical(
    colour: list[int], parents: list[list[int]], children: list[list[int]], edges: list[tuple[int, int]]
) -> tuple:
    colour = _refine(colour, parents, children)
    classes: dict[int, list[int]] = {}
    for v, c in enumerate(colour):
        classes.setdefault(c, []).append(v)
    ties = [members for _, members in sorted(classes.items()) if len(members) > 1]
    if not ties:
        return tuple(sorted((colour[a], colour[b]) for a, b in edges))
    cell = min(ties, key=len)
    representatives = {}  # one node per set of interchangeable nodes (same parents, same children)
    for v in cell:
        representatives.setdefault((tuple(sorted(parents[v])), tuple(sorted(children[v]))), v)
    return min(_canonical(_individualise(colour, v), parents, children, edges) for v in representatives.values())


def canonical_graph(
    num_nodes: int, edges: Iterable[Sequence[int]], root: int, target: int, neg_target: int
) -> GraphKey:
    """The canonical form of a graph with its three marked nodes (see the module docstring)."""
    pairs = sorted({(int(a), int(b)) for a, b in edges})
    parents: list[list[int]] = [[] for _ in range(num_nodes)]
    children: list[list[int]] = [[] for _ in range(num_nodes)]
    for a, b in pairs:
        children[a].append(b)
        parents[b].append(a)
    role = {root: 0, target: 1, neg_target: 2}
    colour = [role.get(v, 3) for v in range(num_nodes)]
    # the marked nodes keep their roles' colours through refinement (ranks preserve their order)
    return (num_nodes, _canonical(colour, parents, children, pairs), 0, 1, 2)


def graph_key(record: dict) -> GraphKey:
    """The canonical form of a ProsQA-format record's graph; `InputError` if it has no graph."""
    missing = [f for f in GRAPH_FIELDS if f not in record]
    if missing:
        raise InputError(f"no graph fields {missing} (ProsQA or symbolic records carry them)")
    try:
        num_nodes = len(record["idx_to_symbol"])
        edges = [(int(a), int(b)) for a, b in record["edges"]]
        marked = int(record["root"]), int(record["target"]), int(record["neg_target"])
    except (TypeError, ValueError) as e:
        raise InputError(f"malformed graph fields ({e})") from None
    if any(not 0 <= n < num_nodes for edge in edges for n in edge) or any(not 0 <= n < num_nodes for n in marked):
        raise InputError(f"a node index is outside idx_to_symbol (0..{num_nodes - 1})")
    if len(set(marked)) != 3:
        raise InputError("root, target and neg_target must be three different nodes")
    return canonical_graph(num_nodes, edges, *marked)


def file_graph_keys(path: str | Path) -> list[GraphKey]:
    """The graph of every record of a JSON file, in order; errors name the file and record."""
    keys = []
    for i, record in enumerate(read_records(path)):
        try:
            keys.append(graph_key(record))
        except InputError as e:
            raise InputError(f"{path}: record {i}: {e}") from None
    return keys


def load_graph_keys(paths: Iterable[str | Path]) -> set[GraphKey]:
    """The graphs of the records of the given JSON files (e.g. data no new split may contain)."""
    return {key for path in paths for key in file_graph_keys(path)}


def read_records(path: str | Path) -> list[dict]:
    """A JSON list of records; `InputError` naming the file otherwise."""
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read a JSON list of records ({e})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: expected a JSON list of records (objects)")
    return records


def overlap(reference: Iterable[dict], records: Sequence[dict]) -> list[int]:
    """Indices of `records` whose graph (up to renaming) occurs in `reference`."""
    seen = {graph_key(r) for r in reference}
    return [i for i, r in enumerate(records) if graph_key(r) in seen]
