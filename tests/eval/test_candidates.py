"""Candidate-restricted accuracy: the candidates of a record, and batched scores equal to
scoring each candidate alone."""

from __future__ import annotations

import random

import torch
import transformers as tf

from coconut_lm.constants import ANSWER_PREFIX
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_prosqa
from coconut_lm.data.datasets.symbolic import build_tokenizer, symbolic_example
from coconut_lm.data.tokenization import add_special_tokens
from coconut_lm.eval.candidates import candidate_answers, candidate_choices
from coconut_lm.model.coconut import CoconutModel


def test_candidate_answers():
    text = {"answer": "Tom is a wumpus.", "idx_to_symbol": ["Tom", "wumpus", "yumpus"], "target": 1, "neg_target": 2}
    assert candidate_answers(text) == ["Tom is a wumpus.", "Tom is a yumpus."]
    symbolic = {"answer": "n7", "idx_to_symbol": ["n3", "n7", "n1"], "target": 1, "neg_target": 2}
    assert candidate_answers(symbolic) == ["n7", "n1"]
    assert candidate_answers({"answer": "42"}) is None  # not binary-choice (GSM8k)
    assert candidate_answers({**symbolic, "target": 9}) is None  # malformed graph fields: not scored


@torch.no_grad()
def log_prob(model, ids: list[int], start: int) -> float:
    """Summed log-probability of ids[start:] given ids[:start], one unpadded sequence."""
    logits = model(torch.tensor([ids])).logits[0, :-1].float()  # (T-1, V)
    logp = torch.log_softmax(logits, -1)
    return sum(float(logp[t - 1, ids[t]]) for t in range(start, len(ids)))


def test_batched_choice_equals_each_candidate_scored_alone(tmp_path):
    tokenizer = tf.AutoTokenizer.from_pretrained(str(build_tokenizer(tmp_path / "tok", 16)))
    ids = add_special_tokens(tokenizer)
    torch.manual_seed(0)
    base = tf.LlamaForCausalLM(
        tf.LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
        )
    )  # fmt: skip
    model = CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos).eval()
    config = ProsQAConfig(min_nodes=5, max_nodes=7, min_path=1, max_path=3)
    rng = random.Random(0)
    records = [symbolic_example(r, rng, num_symbols=16) for r in generate_prosqa(6, seed=0, config=config)]
    marker = tokenizer.convert_tokens_to_ids("###")
    prompts, generations = [], []
    for i, record in enumerate(records):
        question = tokenizer.encode(record["question"], add_special_tokens=False)
        prompts.append(question + [ids.latent] * (i % 3))  # 0-2 thoughts: rows of other layouts in one batch
        chain = tokenizer.encode(" ".join(record["steps"][:-1]), add_special_tokens=False)
        answer = [marker, tokenizer.convert_tokens_to_ids(record["idx_to_symbol"][i % 4])]  # any node, right or not
        generations.append(chain + answer + [ids.eos] * 2 if i % 2 else chain)  # odd rows never wrote '###'
    records.append({"question": "x", "steps": [], "answer": "42"})  # not binary-choice
    prompts.append(prompts[0])
    generations.append(generations[0])
    choices = candidate_choices(model, tokenizer, ids, prompts, generations, records)
    assert choices[-1] is None
    for prompt, generation, record, choice in zip(prompts, generations, records[:-1], choices[:-1]):
        end = generation.index(marker) if marker in generation else len(generation)
        prefix = prompt + generation[:end]
        scores = []
        for answer in candidate_answers(record):
            segment = tokenizer.encode(ANSWER_PREFIX + answer, add_special_tokens=False) + [ids.eos]
            scores.append(log_prob(model, prefix + segment, len(prefix)))
        assert abs(scores[0] - scores[1]) > 1e-4  # a clear choice, so the comparison below means something
        assert choice == (scores[0] > scores[1])


def test_no_binary_records_gives_no_candidate_accuracy():
    from coconut_lm.eval.evaluate import EvalResult

    result = EvalResult(1.0, 0.0, 1.0, 0.0, 1.0, 1)
    assert "eval/candidate_accuracy" not in result.metrics()
    assert EvalResult(1.0, 0.0, 1.0, 0.0, 1.0, 1, candidate_accuracy=0.5).metrics()["eval/candidate_accuracy"] == 0.5
