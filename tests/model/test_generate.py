"""Batched KV-cache generate == one prompt at a time == recomputing without a cache."""

from __future__ import annotations

import torch

from coconut_lm.model.coconut import CoconutModel
from tests.model.helpers import BOT, EOS, EOT, LATENT, left_pad, make_model


def prompts(counts: list[int], seed: int = 0, markers: bool = True) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randint(2, 50, (4 + 3 * i,), generator=g).tolist()
        + ([BOT] + [LATENT] * k + [EOT] if markers else [LATENT] * k)
        for i, k in enumerate(counts)
    ]


def uncached_greedy(model: CoconutModel, prompt: list[int], max_new_tokens: int) -> list[int]:
    """Reference: the full multi-pass forward on the whole sequence for every new token."""
    seq = list(prompt)
    for _ in range(max_new_tokens):
        token = int(model(torch.tensor([seq])).logits[0, -1].argmax())
        seq.append(token)
        if token == EOS:
            break
    return seq[len(prompt) :]


def until_eos(tokens: list[int]) -> list[int]:
    return tokens[: tokens.index(EOS) + 1] if EOS in tokens else tokens


def test_batched_equals_single_and_uncached(family, kv_layout):
    model = make_model(family)
    model.kv_layout = kv_layout
    rows = prompts([3, 0, 5, 1])
    ids, mask = left_pad(rows)
    with torch.no_grad():
        out = model.generate(ids, mask, max_new_tokens=7, return_dict=True)
        for i, row in enumerate(rows):
            single = model.generate(torch.tensor([row]), max_new_tokens=7)[0, len(row) :].tolist()
            batched = out.sequences[i, ids.shape[1] :].tolist()
            assert until_eos(batched) == until_eos(single) == uncached_greedy(model, row, 7)
    assert out.sequences[:, : ids.shape[1]].equal(ids)
    assert out.num_thoughts.tolist() == [3, 0, 5, 1]
    assert out.thoughts.shape == (4, 5, model.config.hidden_size)
    assert out.thought_mask.sum(1).tolist() == [3, 0, 5, 1]


def check_batched_single_uncached(model: CoconutModel, rows: list[list[int]], max_new_tokens: int = 5):
    """Batched generate == one prompt at a time == uncached greedy, row by row; the batched output."""
    ids, mask = left_pad(rows)
    with torch.no_grad():
        out = model.generate(ids, mask, max_new_tokens=max_new_tokens, return_dict=True)
        for i, row in enumerate(rows):
            single = model.generate(torch.tensor([row]), max_new_tokens=max_new_tokens)[0, len(row) :].tolist()
            assert until_eos(out.sequences[i, ids.shape[1] :].tolist()) == until_eos(single)
            assert until_eos(single) == uncached_greedy(model, row, max_new_tokens)
    return out


def test_prompts_ending_in_thoughts(kv_layout):
    # without thought markers the first new token is read at the last thought
    model = make_model("gpt2")
    model.kv_layout = kv_layout
    out = check_batched_single_uncached(model, prompts([3, 0, 2], seed=1, markers=False))
    assert out.num_thoughts.tolist() == [3, 0, 2]


def test_rows_pad_with_eos_after_finishing():
    model = make_model("gpt2")
    # Make EOS the greedy choice right after `<eot>` for every prompt: bias the LM head.
    head = model.base_model.get_output_embeddings()
    with torch.no_grad():
        ids, mask = left_pad(prompts([2, 2]))
        free = model.generate(ids, mask, max_new_tokens=6)
        assert free.shape[1] == ids.shape[1] + 6
        bias = torch.zeros(head.out_features)
        bias[EOS] = 1e4
        head.bias = torch.nn.Parameter(bias)
        out = model.generate(ids, mask, max_new_tokens=6, return_dict=True)
    assert out.sequences.shape[1] == ids.shape[1] + 1  # all rows stopped: trimmed after the EOS
    assert (out.sequences[:, -1] == EOS).all()
