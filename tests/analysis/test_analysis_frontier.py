"""The frontier analysis on hand-made graphs, probabilities and attention rows, then end to end."""

from __future__ import annotations

import math
import random

import pytest
import torch
import transformers as tf

from coconut_lm.analysis.checkpoint_io import AnalysisModel
from coconut_lm.analysis.frontier import (
    _edge_columns,
    analyze_frontier,
    correct_branches,
    distances,
    edge_attention,
    format_frontier_summary,
    thought_metrics,
)
from coconut_lm.data.datasets.symbolic import build_tokenizer, symbolic_example
from coconut_lm.data.methods import Method
from coconut_lm.data.tokenization import add_special_tokens
from coconut_lm.model.coconut import CoconutModel

# 0 -> 1 -> 3 -> 5 (target), 0 -> 2 -> 3, 0 -> 4 (negative), 2 -> 6
EDGES = [[0, 1], [1, 3], [3, 5], [0, 2], [2, 3], [0, 4], [2, 6]]
GRAPH = {"idx_to_symbol": [f"c{i}" for i in range(7)], "edges": EDGES, "root": 0, "target": 5, "neg_target": 4}


def test_distances_and_correct_branches():
    assert distances(EDGES, 0) == {0: 0, 1: 1, 2: 1, 4: 1, 3: 2, 6: 2, 5: 3}
    assert distances(EDGES, 5, reverse=True) == {5: 0, 3: 1, 1: 2, 2: 2, 0: 3}
    assert correct_branches(EDGES, 0, 5) == {0: {0}, 1: {1, 2}, 2: {3}, 3: {5}}
    assert correct_branches(EDGES, 5, 0) == {}  # unreachable


def test_thought_metrics_on_given_probabilities():
    depth = distances(EDGES, 0)
    probs = {0: 0.0, 1: 0.1, 2: 0.5, 3: 0.05, 4: 0.3, 5: 0.0, 6: 0.05}
    m = thought_metrics(probs, depth, {1, 2}, k=1)
    assert m["frontier_size"] == 3 and m["frontier_mass"] == pytest.approx(0.9)
    assert m["other_node_mass"] == pytest.approx(0.1)
    assert m["top1"] is True and m["top3"] is True  # node 2 (correct) ranks first
    assert m["top1_chance"] == pytest.approx(2 / 3)  # 2 of the 3 frontier nodes lead to the target
    q = [0.1 / 0.9, 0.5 / 0.9, 0.3 / 0.9]
    assert m["entropy"] == pytest.approx(-sum(p * math.log(p) for p in q))
    assert m["normalised_entropy"] == pytest.approx(m["entropy"] / math.log(3))
    wrong = thought_metrics({**probs, 4: 0.9, 2: 0.0}, depth, {1, 2}, k=1)
    assert wrong["top1"] is False and wrong["top3"] is True
    assert "top1" not in thought_metrics(probs, depth, set(), k=2)  # no correct branch given
    assert thought_metrics(probs, depth, set(), k=4) is None  # nothing at distance 4


def test_edge_columns_and_attention():
    record = symbolic_example(GRAPH, random.Random(0), num_symbols=8)
    columns, edges = _edge_columns(record, start=2)
    assert sorted(edges) == sorted(tuple(e) for e in EDGES)
    assert columns[0] == [2, 3, 4] and columns[-1][-1] == 2 + 3 * len(EDGES) - 1
    row = torch.zeros(30)
    row[columns[0]] = torch.tensor([0.1, 0.1, 0.1])
    row[columns[1]] = torch.tensor([0.05, 0.0, 0.0])
    front, other = edge_attention(row, columns[:3], [True, False, False])
    assert front == pytest.approx(0.3) and other == pytest.approx(0.025)


def test_end_to_end_on_a_tiny_model(tmp_path):
    tokenizer = tf.AutoTokenizer.from_pretrained(str(build_tokenizer(tmp_path / "tok", num_symbols=12)))
    ids = add_special_tokens(tokenizer)
    torch.manual_seed(0)
    base = tf.GPT2LMHeadModel(tf.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=len(tokenizer)))
    model = CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos).eval()
    am = AnalysisModel(model, tokenizer, ids, Method.COCONUT, max_thoughts=3, slot_id=ids.latent, markers=True)
    records = [symbolic_example(GRAPH, random.Random(s), num_symbols=12) for s in range(5)]
    report = analyze_frontier(am, records, batch_size=2)
    assert report.num_layers == 2 and len(report.per_thought) == 3
    for row in report.per_thought:
        assert row["questions"] == 5
        assert 0 <= row["frontier_mass"] + row["other_node_mass"] <= 1 + 1e-6
    assert all(layer["ratio"] is not None for layer in report.attention[0])
    assert base.config._attn_implementation == "sdpa"  # restored after the eager pass
    assert "| 1 | 5 |" in format_frontier_summary(report)
