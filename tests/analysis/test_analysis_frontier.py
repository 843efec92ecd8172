"""The frontier analysis on hand-made graphs, probabilities, prompt columns and attention rows,
then end to end."""

from __future__ import annotations

import importlib
import math
import random

import pytest
import torch
import transformers as tf
from tokenizers import processors

from coconut_lm.analysis.checkpoint_io import AnalysisModel, question_ids
from coconut_lm.analysis.frontier import (
    _edge_columns,
    _question_edges,
    analyze_frontier,
    correct_branches,
    distances,
    edge_attention,
    format_frontier_summary,
    question_span,
    thought_columns,
    thought_metrics,
)
from coconut_lm.data.collate import collate_prompts
from coconut_lm.data.datasets.symbolic import EDGE_END, build_tokenizer, symbolic_example
from coconut_lm.data.methods import Method
from coconut_lm.data.tokenization import add_special_tokens
from coconut_lm.errors import InputError
from coconut_lm.model.coconut import CoconutModel

# 0 -> 1 -> 3 -> 5 (target), 0 -> 2 -> 3, 0 -> 4 (negative), 2 -> 6
EDGES = [[0, 1], [1, 3], [3, 5], [0, 2], [2, 3], [0, 4], [2, 6]]
GRAPH = {"idx_to_symbol": [f"c{i}" for i in range(7)], "edges": EDGES, "root": 0, "target": 5, "neg_target": 4}
# 0 -> 1 -> 2 (target), 0 -> 3 (negative): a shorter question, so batches mix left paddings
SMALL = {"idx_to_symbol": ["d0", "d1", "d2", "d3"], "edges": [[0, 1], [1, 2], [0, 3]], "root": 0, "target": 2}
SMALL["neg_target"] = 3
K = 3  # thought slots per prompt


def tiny_tokenizer(folder, newline_tokens: bool = False, bos: bool = False):
    """The symbolic tokenizer (12 node symbols) with the special tokens; with `bos`, every
    question starts with `<|endoftext|>` (the pad id too, so padding and BOS look alike)."""
    tokenizer = tf.AutoTokenizer.from_pretrained(str(build_tokenizer(folder, 12, newline_tokens=newline_tokens)))
    if bos:
        bos_id = tokenizer.convert_tokens_to_ids(tokenizer.bos_token)
        tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{tokenizer.bos_token} $A", special_tokens=[(tokenizer.bos_token, bos_id)]
        )
    return tokenizer, add_special_tokens(tokenizer)


def mixed_records() -> list[dict]:
    """Questions of two lengths (7 and 3 edges), interleaved."""
    return [symbolic_example(GRAPH if s % 2 else SMALL, random.Random(s), num_symbols=12) for s in range(4)]


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


@pytest.mark.parametrize("markers", [False, True])
@pytest.mark.parametrize(("newline_tokens", "bos"), [(False, False), (True, False), (False, True), (True, True)])
def test_prompt_columns_in_both_layouts(tmp_path, markers, newline_tokens, bos):
    tokenizer, ids = tiny_tokenizer(tmp_path / "tok", newline_tokens, bos)
    am = AnalysisModel(None, tokenizer, ids, Method.COCONUT, max_thoughts=K, slot_id=ids.latent, markers=markers)
    records = mixed_records()
    prompts = [am.forced_prompt(q, K) for q in question_ids(records, tokenizer)]
    input_ids = collate_prompts(prompts, ids.pad)["input_ids"]  # (B, T)
    width = input_ids.shape[1]
    assert len({len(p) for p in prompts}) == 2  # rows of different lengths, left-padded

    # slots fill the last K columns (before `<eot>` with markers); each thought comes from the column before
    last_slot = width - 2 if markers else width - 1
    producers = thought_columns(input_ids, ids.latent)
    assert producers.tolist() == [list(range(last_slot - K, last_slot))] * len(records)
    first = tokenizer.convert_ids_to_tokens(input_ids[:, last_slot - K].tolist())  # produces thought 1
    if markers:
        assert first == [tokenizer.convert_ids_to_tokens(ids.start_latent)] * len(records)
    else:  # the question's last token: its root node, or the newline after it
        assert first == ["\n" if newline_tokens else r["question"].split()[-1] for r in records]

    for b, record in enumerate(records):
        columns, edges = _question_edges(record, b, prompts[b], width, tokenizer)
        start = width - len(prompts[b]) + int(bos)  # the question's first token
        assert columns == [[start + 3 * j, start + 3 * j + 1, start + 3 * j + 2] for j in range(len(record["edges"]))]
        names = record["idx_to_symbol"]
        for cols, (s, t) in zip(columns, edges):
            assert tokenizer.convert_ids_to_tokens(input_ids[b, cols].tolist()) == [names[s], names[t], EDGE_END]
        assert sorted(edges) == sorted(tuple(e) for e in record["edges"])


def test_question_span_and_thought_columns_by_hand():
    # pad pad BOS q q q "\n" <bot> L L <eot>, and a row with no padding (latent 9, <bot> 7, <eot> 8)
    rows = torch.tensor([[0, 0, 0, 4, 5, 6, 1, 7, 9, 9, 8], [0, 3, 4, 5, 3, 6, 5, 7, 9, 9, 8]])  # (2, 11)
    assert thought_columns(rows, latent_id=9).tolist() == [[7, 8], [7, 8]]
    assert thought_columns(rows[:, :-1], latent_id=9).tolist() == [[7, 8], [7, 8]]  # no <eot>
    assert thought_columns(rows[:, :-2], latent_id=9).tolist() == [[7], [7]]
    assert thought_columns(rows[:, :7], latent_id=9).shape == (2, 0)  # no thoughts
    with pytest.raises(InputError, match="different thought counts"):
        thought_columns(torch.tensor([[1, 9, 9], [1, 1, 9]]), latent_id=9)
    with pytest.raises(InputError, match="column 0"):
        thought_columns(torch.tensor([[9, 1]]), latent_id=9)
    assert question_span(rows[0].tolist(), [4, 5, 6]) == range(3, 6)
    assert question_span(rows[1].tolist(), [3, 6, 5]) == range(4, 7)  # the last occurrence
    assert question_span(rows[0].tolist(), [4, 6]) is None
    assert question_span([4, 5], [4, 5, 6]) is None and question_span([4, 5], []) is None


def test_a_question_not_in_its_prompt_names_the_record(tmp_path):
    tokenizer, ids = tiny_tokenizer(tmp_path / "tok")
    record = mixed_records()[1]
    plain = tokenizer.encode(record["question"], add_special_tokens=False)
    with pytest.raises(InputError, match="record 7: the question's tokens are not found"):
        _question_edges(record, 7, plain[:-1] + [ids.latent] * K, 40, tokenizer)

    class SubwordTokenizer:  # two tokens per word: the edge columns would be misread
        def encode(self, text, add_special_tokens):
            return [5, 6] * len(text.split())

    with pytest.raises(InputError, match="record 2: the question is not one token per word"):
        _question_edges(record, 2, plain, 40, SubwordTokenizer())


def tiny_model(tokenizer, ids) -> CoconutModel:
    torch.manual_seed(0)
    base = tf.GPT2LMHeadModel(tf.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=len(tokenizer)))
    return CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos).eval()


@pytest.mark.parametrize("markers", [False, True])
def test_attention_is_read_at_the_planted_columns(tmp_path, monkeypatch, markers):
    """Attention planted by hand from each thought's producing column (1 on frontier edges, 1/4 on
    the others, 0 elsewhere) must come back as a ratio of exactly 4 at every thought and layer."""
    tokenizer, ids = tiny_tokenizer(tmp_path / "tok")
    am = AnalysisModel(tiny_model(tokenizer, ids), tokenizer, ids, Method.COCONUT, K, ids.latent, markers)
    records = mixed_records()
    module = importlib.import_module("coconut_lm.analysis.frontier")  # the package exports a `frontier` function
    real_forward = module._forward

    def planted(am, prompts):
        thoughts, attentions, input_ids = real_forward(am, prompts)
        weights = torch.zeros_like(attentions[0])  # (B, heads, T, T)
        width = input_ids.shape[1]
        for b, (prompt, record) in enumerate(zip(prompts, records)):  # one batch: all the records
            depth = distances(record["edges"], record["root"])
            index = {name: n for n, name in enumerate(record["idx_to_symbol"])}
            words = record["question"].split()
            for k in range(1, K + 1):
                row = width - (2 if markers else 1) - K + k - 1  # the column before slot k
                for j in range(0, len(words) - 2, 3):
                    if words[j + 2] != EDGE_END:
                        break
                    into = depth.get(index[words[j]]) == k - 1 and depth.get(index[words[j + 1]]) == k
                    col = width - len(prompt) + j
                    weights[b, :, row, col : col + 3] = 1.0 if into else 0.25
        return thoughts, tuple(weights for _ in attentions), input_ids

    monkeypatch.setattr(module, "_forward", planted)
    report = analyze_frontier(am, records, batch_size=4)
    for layer in (layer for layers in report.attention for layer in layers):
        assert layer["frontier_edge"] == pytest.approx(3.0) and layer["other_edge"] == pytest.approx(0.75)
        assert layer["ratio"] == pytest.approx(4.0)


def test_end_to_end_on_a_tiny_model(tmp_path):
    tokenizer, ids = tiny_tokenizer(tmp_path / "tok")
    model = tiny_model(tokenizer, ids)
    base = model.base_model
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
