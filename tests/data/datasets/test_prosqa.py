"""ProsQA generator: consistency of every example, determinism, dedup, statistics vs Table 2."""

from __future__ import annotations

import json
import random

import pytest

from coconut_lm.cli import main
from coconut_lm.data.datasets import prosqa
from coconut_lm.data.datasets.graph_identity import graph_key
from coconut_lm.data.datasets.prosqa import (
    CONCEPT_NAMES,
    ENTITY_NAMES,
    ProsQAConfig,
    generate_prosqa,
    generate_splits,
    question_key,
    sample_graph,
)
from coconut_lm.data.datasets.prosqa_stats import (
    bfs_counts,
    children_lists,
    dataset_stats,
    file_stats,
    format_stats,
    is_path,
    reachable,
)
from tests.paths import DATA, require

VALID = DATA / "prosqa" / "valid.json"
SMALL = ProsQAConfig(min_nodes=8, max_nodes=12, min_path=2, max_path=4)

# Table 2 of the paper: nodes, edges, shortest path length, number of shortest paths
PAPER = {"nodes": 23.0, "edges": 36.0, "shortest_path": 3.8, "num_shortest_paths": 1.6}


def _path_of(record: dict) -> list[int]:
    """The node sequence the steps walk, read back from the sentences."""
    index = {name: i for i, name in enumerate(record["idx_to_symbol"])}
    nodes = [record["root"]]
    for step in record["steps"]:
        assert step.endswith(".")
        nodes.append(index[step[:-1].rsplit(" a ", 1)[1]])
    return nodes


def check_record(record: dict, config: ProsQAConfig) -> None:
    """Every invariant a ProsQA example must satisfy."""
    names, edges = record["idx_to_symbol"], record["edges"]
    root, target, neg = record["root"], record["target"], record["neg_target"]
    children = children_lists(len(names), edges)
    dist, _ = bfs_counts(children, root)
    assert target in dist and neg not in dist
    assert not children[target] and not children[neg]
    assert config.min_path <= dist[target] <= config.max_path
    path = _path_of(record)
    assert path[-1] == target and is_path(edges, path) and len(path) - 1 == dist[target]
    assert len(set(names)) == len(names)
    has_parent = {b for _, b in edges}
    for i, name in enumerate(names):
        assert name in (CONCEPT_NAMES if i in has_parent else ENTITY_NAMES)
    assert root in (0, 1) and names[root] in ENTITY_NAMES
    assert record["answer"] == f"{names[root]} is a {names[target]}."
    question = record["question"]
    tail = f" Is {names[root]} a "
    assert question.count(tail) == 1
    options = question.split(tail)[1].removesuffix("?").split(" or ")
    assert sorted(options) == sorted([names[target], names[neg]])
    sentences = question.split(tail)[0].split(". ")
    assert len(sentences) == len(edges)
    assert all(step in question for step in record["steps"])


@pytest.mark.parametrize("config", [SMALL, ProsQAConfig()], ids=["small", "default"])
def test_every_example_is_consistent(config):
    for record in generate_prosqa(200, seed=1, config=config):
        check_record(record, config)


def test_deterministic_for_a_seed():
    assert generate_prosqa(20, seed=5) == generate_prosqa(20, seed=5)
    assert generate_prosqa(20, seed=5) != generate_prosqa(20, seed=6)


def test_sample_graph_is_a_dag_in_creation_order():
    for seed in range(50):
        num_nodes, edges = sample_graph(random.Random(seed), ProsQAConfig())
        assert all(a < b < num_nodes for a, b in edges)
        assert len(set(edges)) == len(edges)
        touched = {n for e in edges for n in e} | {0, 1}
        assert touched == set(range(num_nodes))  # isolated nodes were dropped


def test_splits_share_no_graph_and_repeat_no_question():
    # tiny graphs repeat often (under other names), so both checks really have work to do here
    tiny = ProsQAConfig(min_nodes=5, max_nodes=6, min_path=1, max_path=2)
    train, valid, test = generate_splits([200, 20, 20], seed=0, config=tiny)
    assert [len(s) for s in (train, valid, test)] == [200, 20, 20]
    questions = [question_key(r["question"]) for split in (train, valid, test) for r in split]
    assert len(set(questions)) == len(questions)
    train_graphs = [graph_key(r) for r in train]
    assert len(set(train_graphs)) < len(train_graphs)  # training may repeat a graph under other names
    held_out = [graph_key(r) for r in valid + test]
    assert len(set(held_out)) == len(held_out)  # held-out graphs are all different
    assert not set(held_out) & set(train_graphs)  # and none is trained on, under any names


def test_question_key_ignores_sentence_order():
    a = "Tom is a wumpus. Every wumpus is a yumpus. Is Tom a yumpus or zumpus?"
    b = "Every wumpus is a yumpus. Tom is a wumpus. Is Tom a zumpus or yumpus?"
    assert question_key(a) == question_key(b)
    assert question_key(a) != question_key(a.replace("Tom", "Rex"))


def test_too_few_distinct_questions_raises(monkeypatch):
    # settings that only ever yield the same question must fail, not loop forever
    same = generate_prosqa(1, seed=0)[0]
    monkeypatch.setattr(prosqa, "generate_example", lambda rng, config: same)
    monkeypatch.setattr(prosqa, "MAX_DUPLICATES", 20)
    with pytest.raises(RuntimeError, match="repeated a graph or a question"):
        generate_prosqa(2, seed=0)


def test_exclude_graphs():
    tiny = ProsQAConfig(min_nodes=5, max_nodes=6, min_path=1, max_path=2)
    first = generate_prosqa(30, seed=0, config=tiny)
    again = generate_splits([30, 10], seed=0, config=tiny, exclude={graph_key(r) for r in first})
    assert not {graph_key(r) for r in first} & {graph_key(r) for split in again for r in split}


@pytest.mark.parametrize(
    "bad",
    [dict(min_nodes=10, max_nodes=5), dict(p_root_side=0.8, p_other_side=0.3), dict(min_path=4, max_path=3)],
)
def test_config_validation(bad):
    with pytest.raises(ValueError):
        ProsQAConfig(**bad)


def test_default_statistics_match_table_2():
    stats = dataset_stats(generate_prosqa(1000, seed=0))
    for key, value in PAPER.items():
        assert getattr(stats, key) == pytest.approx(value, rel=0.05), key
    released = {3: 0.41, 4: 0.44, 5: 0.12, 6: 0.02}
    fractions = stats.steps_fractions()
    assert set(fractions) == set(released)
    for steps, share in released.items():
        assert fractions[steps] == pytest.approx(share, abs=0.04), steps


def test_released_valid_statistics():
    stats = file_stats(require(VALID))
    assert stats.num_examples == 300
    assert stats.nodes == pytest.approx(22.82)
    assert stats.edges == pytest.approx(36.26)
    assert stats.shortest_path == pytest.approx(3.7533, abs=1e-3)
    assert stats.num_shortest_paths == pytest.approx(1.6133, abs=1e-3)
    assert stats.entities == pytest.approx(2.5133, abs=1e-3)
    assert stats.steps_histogram == {3: 124, 4: 133, 5: 36, 6: 7}
    for key, value in PAPER.items():
        assert getattr(stats, key) == pytest.approx(value, rel=0.05), key
    assert "shortest path" in format_stats(stats)


def test_released_valid_names_are_the_vocabulary():
    records = json.loads(require(VALID).read_text())
    names = {n for r in records for n in r["idx_to_symbol"]}
    assert names == set(ENTITY_NAMES) | set(CONCEPT_NAMES)
    for record in records:  # the consistency check holds for the released data too
        check_record(record, ProsQAConfig())


def test_reachable():
    assert reachable(children_lists(4, [(0, 1), (1, 2)]), 0) == {0, 1, 2}


def test_cli_generate_and_stats(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["data", "prosqa", "--num", "30", "--seed", "3", "--out", str(out), "--max-nodes", "22"]) == 0
    assert len(json.loads(out.read_text())) == 30
    capsys.readouterr()
    assert main(["data", "stats", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_examples"] == 30
    assert main(["data", "stats", str(out)]) == 0
    assert "# shortest paths" in capsys.readouterr().out


def test_cli_splits_with_exclude(tmp_path):
    base = tmp_path / "base.json"
    assert main(["data", "prosqa", "--num", "10", "--out", str(base)]) == 0
    out = tmp_path / "splits"
    args = ["data", "prosqa", "--splits", "20,5,5", "--out-dir", str(out), "--exclude", str(base)]
    assert main(args) == 0
    files = {name: json.loads((out / f"{name}.json").read_text()) for name in ("train", "valid", "test")}
    assert [len(files[n]) for n in ("train", "valid", "test")] == [20, 5, 5]
    graphs = {graph_key(r) for rows in files.values() for r in rows}
    assert not graphs & {graph_key(r) for r in json.loads(base.read_text())}


def test_cli_argument_errors(tmp_path):
    with pytest.raises(SystemExit, match="--num and --out"):
        main(["data", "prosqa", "--num", "3"])
    with pytest.raises(SystemExit, match="min_nodes"):
        main(["data", "prosqa", "--num", "3", "--out", str(tmp_path / "x"), "--min-nodes", "40"])
