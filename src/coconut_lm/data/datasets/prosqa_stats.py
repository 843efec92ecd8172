"""Graph statistics of ProsQA-format data (the paper's Table 2) and the graph helpers they need.

A ProsQA record carries its graph: `idx_to_symbol` (node names), `edges` (`[parent, child]`
index pairs), `root` (the entity asked about), `target` and `neg_target`. The statistics are
those the paper reports for ProsQA (Table 2: 23.0 nodes, 36.0 edges, shortest path 3.8, 1.6
shortest paths) plus the entity count and the histogram of solution lengths (`len(steps)`).

Example:
    >>> stats = dataset_stats(json.load(open("valid.json")))
    >>> print(format_stats(stats))
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


def children_lists(num_nodes: int, edges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Adjacency lists: `out[u]` = children of `u`, in edge order."""
    out: list[list[int]] = [[] for _ in range(num_nodes)]
    for parent, child in edges:
        out[parent].append(child)
    return out


def reachable(children: Sequence[Sequence[int]], source: int) -> set[int]:
    """All nodes reachable from `source` (itself included)."""
    seen = {source}
    queue = [source]
    for node in queue:
        for nxt in children[node]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def bfs_counts(children: Sequence[Sequence[int]], source: int) -> tuple[dict[int, int], dict[int, int]]:
    """Breadth-first search from `source`.

    Returns `(dist, count)`: for every reachable node, its distance in edges and the number of
    distinct shortest paths from `source` to it.
    """
    dist = {source: 0}
    count = {source: 1}
    queue = [source]
    for node in queue:
        for nxt in children[node]:
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                count[nxt] = count[node]
                queue.append(nxt)
            elif dist[nxt] == dist[node] + 1:
                count[nxt] += count[node]
    return dist, count


def is_path(edges: Iterable[Sequence[int]], path: Sequence[int]) -> bool:
    """Whether consecutive nodes of `path` are joined by edges of the graph."""
    edge_set = {(a, b) for a, b in edges}
    return all((a, b) in edge_set for a, b in zip(path, path[1:], strict=False))


@dataclass
class ProsQAStats:
    """Averages over a ProsQA-format data set (Table 2 of the paper, plus extras)."""

    num_examples: int
    """How many records were measured."""
    nodes: float
    """Mean number of nodes per graph (paper: 23.0)."""
    edges: float
    """Mean number of edges per graph (paper: 36.0)."""
    shortest_path: float
    """Mean length in edges of the shortest root→target path (paper: 3.8)."""
    num_shortest_paths: float
    """Mean number of distinct shortest root→target paths (paper: 1.6)."""
    entities: float
    """Mean number of parentless nodes (entities) per graph."""
    steps_histogram: dict[int, int] = field(default_factory=dict)
    """`len(steps)` → number of records."""

    def steps_fractions(self) -> dict[int, float]:
        """The steps histogram as fractions of the data set."""
        return {k: v / max(self.num_examples, 1) for k, v in sorted(self.steps_histogram.items())}


def record_graph_stats(record: dict) -> tuple[int, int, int, int, int]:
    """`(nodes, edges, shortest path length, number of shortest paths, entities)` of one record."""
    num_nodes = len(record["idx_to_symbol"])
    children = children_lists(num_nodes, record["edges"])
    dist, count = bfs_counts(children, record["root"])
    target = record["target"]
    if target not in dist:
        raise ValueError(f"target {target} is not reachable from root {record['root']}")
    has_parent = {child for _, child in record["edges"]}
    entities = num_nodes - len(has_parent)
    return num_nodes, len(record["edges"]), dist[target], count[target], entities


def dataset_stats(records: Sequence[dict]) -> ProsQAStats:
    """Table-2 statistics of ProsQA-format `records` (each with its graph fields)."""
    if not records:
        raise ValueError("no records to measure")
    rows = [record_graph_stats(r) for r in records]
    n = len(rows)
    means = [sum(col) / n for col in zip(*rows, strict=True)]
    steps = Counter(len(r["steps"]) for r in records)
    return ProsQAStats(
        num_examples=n,
        nodes=means[0],
        edges=means[1],
        shortest_path=means[2],
        num_shortest_paths=means[3],
        entities=means[4],
        steps_histogram=dict(sorted(steps.items())),
    )


def file_stats(path: str | Path) -> ProsQAStats:
    """`dataset_stats` of a ProsQA-format JSON list file."""
    return dataset_stats(json.loads(Path(path).read_text(encoding="utf-8")))


def format_stats(stats: ProsQAStats) -> str:
    """A small aligned text table of `stats`."""
    rows = [
        ("examples", f"{stats.num_examples}"),
        ("nodes", f"{stats.nodes:.2f}"),
        ("edges", f"{stats.edges:.2f}"),
        ("shortest path", f"{stats.shortest_path:.2f}"),
        ("# shortest paths", f"{stats.num_shortest_paths:.2f}"),
        ("entities", f"{stats.entities:.2f}"),
    ]
    for steps, frac in stats.steps_fractions().items():
        rows.append((f"steps = {steps}", f"{stats.steps_histogram[steps]} ({frac:.0%})"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def stats_json(stats: ProsQAStats) -> str:
    """`stats` as a JSON object (histogram keys become strings)."""
    return json.dumps(asdict(stats), indent=1)
