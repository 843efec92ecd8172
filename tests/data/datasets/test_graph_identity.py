"""Graph identity up to renaming: renamed copies are the same graph, distinct graphs are not."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from coconut_lm.cli import main
from coconut_lm.data.datasets.graph_identity import graph_key
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_prosqa
from coconut_lm.data.datasets.symbolic import symbolic_example
from coconut_lm.errors import InputError


def renamed(record: dict, rng: random.Random) -> dict:
    """The same graph with its nodes renumbered and renamed, and its edges reordered."""
    n = len(record["idx_to_symbol"])
    perm = list(range(n))
    rng.shuffle(perm)
    edges = [[perm[a], perm[b]] for a, b in record["edges"]]
    rng.shuffle(edges)
    return {
        "idx_to_symbol": [f"x{i}" for i in range(n)],
        "edges": edges,
        **{field: perm[record[field]] for field in ("root", "target", "neg_target")},
    }


def brute_force_same(a: dict, b: dict) -> bool:
    """Some renaming of a's nodes gives b's edges and marked nodes (tiny graphs only)."""
    n = len(a["idx_to_symbol"])
    if n != len(b["idx_to_symbol"]) or len(a["edges"]) != len(b["edges"]):
        return False
    target = {tuple(e) for e in b["edges"]}
    marked = ("root", "target", "neg_target")
    for perm in itertools.permutations(range(n)):
        if all(perm[a[f]] == b[f] for f in marked) and {(perm[x], perm[y]) for x, y in a["edges"]} == target:
            return True
    return False


def random_graph(rng: random.Random, n: int) -> dict:
    edges = [[a, b] for a in range(n) for b in range(a + 1, n) if rng.random() < 0.35]
    root, target, neg = rng.sample(range(n), 3)
    return {"idx_to_symbol": list("abcdef"[:n]), "edges": edges, "root": root, "target": target, "neg_target": neg}


def test_renamed_copies_are_the_same_graph():
    rng = random.Random(0)
    config = ProsQAConfig(min_nodes=9, max_nodes=12, min_path=3, max_path=4)
    for record in generate_prosqa(200, seed=3, config=config):
        key = graph_key(record)
        assert graph_key(renamed(record, rng)) == key
        assert graph_key(symbolic_example(record, rng)) == key  # the symbolic form draws new node symbols


def test_key_is_isomorphism_on_small_graphs():
    # every pair of 200 random graphs on 5-6 nodes, against a search over all renamings
    rng = random.Random(1)
    graphs = [random_graph(rng, rng.choice((5, 6))) for _ in range(100)]
    graphs += [renamed(g, rng) for g in graphs]
    for a, b in itertools.combinations(graphs, 2):
        assert (graph_key(a) == graph_key(b)) == brute_force_same(a, b)


def test_marked_nodes_and_edges_tell_graphs_apart():
    base = {"idx_to_symbol": list("abcd"), "edges": [[0, 1], [1, 2], [0, 3]], "root": 0, "target": 2, "neg_target": 3}
    swapped = {**base, "target": 3, "neg_target": 2}  # the same edges, other candidates
    reversed_edge = {**base, "edges": [[0, 1], [2, 1], [0, 3]]}
    extra_node = {**base, "idx_to_symbol": list("abcde")}  # an isolated node more
    keys = {graph_key(g) for g in (base, swapped, reversed_edge, extra_node)}
    assert len(keys) == 4


def test_symmetric_graphs_are_fast_and_exact():
    # ten interchangeable leaves under the root: refinement alone cannot tell them apart
    leaves = [[1, k] for k in range(4, 14)]
    g = {"idx_to_symbol": [str(i) for i in range(14)], "edges": [[0, 1], [0, 2], [0, 3], *leaves], "root": 0,
         "target": 2, "neg_target": 3}  # fmt: skip
    assert graph_key(renamed(g, random.Random(2))) == graph_key(g)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"edges": [], "root": 0, "target": 1}, "no graph fields"),
        ({"idx_to_symbol": ["a", "b"], "edges": [[0, 5]], "root": 0, "target": 1, "neg_target": 0}, "outside"),
        ({"idx_to_symbol": ["a", "b", "c"], "edges": [], "root": 0, "target": 0, "neg_target": 1}, "different"),
        ({"idx_to_symbol": ["a", "b", "c"], "edges": [["x", 1]], "root": 0, "target": 1, "neg_target": 2}, "malformed"),
    ],
)
def test_bad_graph_fields(bad, message):
    with pytest.raises(InputError, match=message):
        graph_key(bad)


def test_cli_overlap_and_symbolic_exclude(tmp_path, capsys):
    config = ProsQAConfig(min_nodes=5, max_nodes=6, min_path=1, max_path=2)
    train = generate_prosqa(40, seed=0, config=config)
    rng = random.Random(0)
    held_out = [renamed(train[0], rng), renamed(train[5], rng), *generate_prosqa(3, seed=9, config=config)]
    fresh = [i for i, r in enumerate(held_out) if graph_key(r) not in {graph_key(t) for t in train}]
    paths = {name: tmp_path / f"{name}.json" for name in ("train", "held_out")}
    paths["train"].write_text(json.dumps(train))
    paths["held_out"].write_text(json.dumps([{**r, "question": "", "steps": [], "answer": ""} for r in held_out]))
    assert main(["data", "overlap", "--train", str(paths["train"]), str(paths["held_out"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)[str(paths["held_out"])]
    assert report["seen_graphs"] == 5 - len(fresh) >= 2
    assert main(["data", "overlap", "--train", str(paths["train"]), str(paths["held_out"]), "--strict"]) == 1
    capsys.readouterr()
    out = tmp_path / "train_sym.json"
    args = ["data", "symbolic", "--input", str(paths["train"]), "--out", str(out), "--exclude", str(paths["held_out"])]
    assert main(args) == 0
    kept = json.loads(out.read_text())
    assert not {graph_key(r) for r in kept} & {graph_key(r) for r in held_out}
    assert "left out" in capsys.readouterr().out


def test_cli_overlap_names_a_bad_record(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "q", "steps": [], "answer": "a"}]))
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "overlap", "--train", str(bad), str(bad)])
    assert exit_info.value.code == 2
