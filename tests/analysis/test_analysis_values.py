"""Implicit values: frontier and heights on a hand-made graph; the batched, KV-cached value equals
a brute-force product of per-token probabilities; batching does not change the values."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.analysis.categories import ProsQAGraph
from coconut_lm.analysis.values import (
    analyze_values,
    continuation_ids,
    continuation_values,
    cumulative_top,
    frontier,
    node_heights,
)
from tests.analysis.test_analysis_categories import RECORD


def test_frontier_and_heights() -> None:
    graph = ProsQAGraph.from_record(RECORD)
    assert frontier(graph, 1) == [1, 4]  # wumpus, dumpus
    assert frontier(graph, 2) == [2, 5, 6]  # yumpus, rompus, lempus
    # leaves: zumpus (3), lempus (6); dumpus reaches lempus in 1 edge, zumpus in 3
    assert node_heights(graph, "shortest")[4] == 1
    assert node_heights(graph, "longest")[4] == 3
    assert node_heights(graph, "shortest")[0] == 2 and node_heights(graph, "longest")[0] == 4
    with pytest.raises(ValueError, match="height mode"):
        node_heights(graph, "mean")


def test_cumulative_top() -> None:
    assert cumulative_top([0.1, 0.5, 0.2, 0.05]) == pytest.approx([0.5, 0.7, 0.8])
    assert cumulative_top([0.4]) == pytest.approx([0.4, 0.4, 0.4])


def brute_force_value(model, prompt: list[int], tokens: list[int]) -> float:
    """prod_j p(tokens[j] | prompt + tokens[:j]), one full forward per token, batch 1."""
    value = 1.0
    for j, token in enumerate(tokens):
        ids = torch.tensor([prompt + tokens[:j]])
        probs = model(ids, torch.ones_like(ids)).logits[0, -1].float().softmax(-1)
        value *= float(probs[token])
    return value


@torch.no_grad()
def test_values_equal_brute_force(analysis_model, prosqa_records) -> None:
    am = analysis_model
    prefix = am.tokenizer.encode("Every", add_special_tokens=False)
    questions = [am.tokenizer.encode(r["question"] + "\n") for r in prosqa_records[:3]]
    prompts = [am.forced_prompt(q, k) + prefix for q, k in zip(questions, (1, 2, 2))]  # different lengths
    names = ["wumpus", "yumpus", "Tom", "lorpus"]
    row_prompt = [0, 0, 1, 2, 2, 2]
    row_tokens = [continuation_ids(am.tokenizer, "Every", names[j % len(names)]) for j in range(len(row_prompt))]
    assert max(len(t) for t in row_tokens) > 1  # multi-token names are exercised
    got = continuation_values(am.model, prompts, row_prompt, row_tokens, am.ids.pad)
    want = [brute_force_value(am.model, prompts[p], t) for p, t in zip(row_prompt, row_tokens)]
    torch.testing.assert_close(got, torch.tensor(want), rtol=1e-4, atol=1e-7)


def test_continuation_ids_split_cleanly(analysis_model) -> None:
    tok = analysis_model.tokenizer
    ids = continuation_ids(tok, "Every", "wumpus")
    assert tok.encode("Every", add_special_tokens=False) + ids == tok.encode("Every wumpus", add_special_tokens=False)
    assert tok.decode(ids) == " wumpus"


def test_batched_values_equal_one_at_a_time(analysis_model, prosqa_records) -> None:
    records = prosqa_records[:4]
    batched = analyze_values(analysis_model, records, batch_size=4)
    single = analyze_values(analysis_model, records, batch_size=1)
    for qb, qs in zip(batched.questions, single.questions):
        for k in (1, 2):
            assert [r["node"] for r in qb["frontier"][k]] == [r["node"] for r in qs["frontier"][k]]
            vb = torch.tensor([r["value"] for r in qb["frontier"][k]])
            vs = torch.tensor([r["value"] for r in qs["frontier"][k]])
            torch.testing.assert_close(vb, vs, rtol=1e-4, atol=1e-7)
    first = batched.questions[0]["frontier"][1]
    graph = ProsQAGraph.from_record(records[0])
    assert [r["node"] for r in first] == sorted(graph.children[graph.root])
    assert all(0.0 < r["value"] <= 1.0 for q in batched.questions for k in (1, 2) for r in q["frontier"][k])


@torch.no_grad()
def test_root_placeholder_in_prefix(analysis_model, prosqa_records) -> None:
    """`{root} is a` reads the value of the root's children in the first sentence of a chain."""
    am, record = analysis_model, prosqa_records[0]
    report = analyze_values(am, [record], ks=(1,), prefix="{root} is a")
    graph = ProsQAGraph.from_record(record)
    root = graph.names[graph.root]
    row = report.questions[0]["frontier"][1][0]
    prompt = am.forced_prompt(am.tokenizer.encode(record["question"] + "\n"), 1)
    prompt += am.tokenizer.encode(f"{root} is a", add_special_tokens=False)
    want = brute_force_value(am.model, prompt, continuation_ids(am.tokenizer, f"{root} is a", row["name"]))
    assert row["value"] == pytest.approx(want, rel=1e-4)
