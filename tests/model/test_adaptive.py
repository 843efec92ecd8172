"""Adaptive thoughts: a stop head decides per row; extremes equal fixed thought counts."""

from __future__ import annotations

import torch

from coconut_lm.model.stop_head import StopHead
from tests.model.helpers import BOT, EOS, EOT, LATENT, left_pad, make_model
from tests.model.test_generate import until_eos

QUESTIONS = [[5, 6, 7, 8, BOT], [9, 10, 11, BOT], [12, 13, 14, 15, 16, 17, BOT]]


def constant_head(model, logit: float) -> StopHead:
    """A head whose every decision is `logit` (> 0: stop after one thought; < 0: never)."""
    head = StopHead(model.config.hidden_size)
    torch.nn.init.zeros_(head.net.weight)
    torch.nn.init.constant_(head.net.bias, logit)
    return head


def answers(sequences: torch.Tensor, prompt_columns: int) -> list[list[int]]:
    """Each row's tokens after its `<eot>`, up to its EOS."""
    out = []
    for row in sequences[:, prompt_columns:].tolist():
        out.append(until_eos(row[row.index(EOT) + 1 :]))
    return [r[:-1] if r[-1:] == [EOS] else r for r in out]


def fixed(model, k: int, max_new_tokens: int) -> list[list[int]]:
    rows = [q + [LATENT] * k + [EOT] for q in QUESTIONS]
    ids, mask = left_pad(rows)
    out = model.generate(ids, mask, max_new_tokens=max_new_tokens)
    rows = [until_eos(r) for r in out[:, ids.shape[1] :].tolist()]
    return [r[:-1] if r[-1:] == [EOS] else r for r in rows]


def test_never_stopping_equals_the_most_thoughts_and_always_stopping_equals_one():
    model = make_model("gpt2")
    ids, mask = left_pad(QUESTIONS)
    with torch.no_grad():
        for logit, k in ((-1e9, 4), (1e9, 1)):
            out = model.generate_adaptive(ids, mask, constant_head(model, logit), max_thoughts=4, max_new_tokens=6)
            assert out.num_thoughts.tolist() == [k] * 3
            assert answers(out.sequences, ids.shape[1]) == fixed(model, k, 6)
            row = out.sequences[0, ids.shape[1] :].tolist()
            assert row[: k + 1] == [LATENT] * k + [EOT]


def test_rows_stop_on_their_own_and_batched_equals_single():
    model = make_model("gpt2")
    head = StopHead(model.config.hidden_size)
    torch.manual_seed(3)
    torch.nn.init.normal_(head.net.weight, std=2.0)
    ids, mask = left_pad(QUESTIONS)
    with torch.no_grad():
        batched = model.generate_adaptive(ids, mask, head, max_thoughts=5, max_new_tokens=6)
        for i, q in enumerate(QUESTIONS):
            single = model.generate_adaptive(torch.tensor([q]), None, head, max_thoughts=5, max_new_tokens=6)
            assert int(single.num_thoughts[0]) == int(batched.num_thoughts[i])
            got = batched.sequences[i, ids.shape[1] :].tolist()
            assert until_eos(got) == until_eos(single.sequences[0, len(q) :].tolist())
    assert all(1 <= k <= 5 for k in batched.num_thoughts.tolist())


def test_answers_are_capped_and_padded_with_eos():
    model = make_model("gpt2")
    ids, mask = left_pad(QUESTIONS)
    with torch.no_grad():
        out = model.generate_adaptive(ids, mask, constant_head(model, 1e9), max_thoughts=3, max_new_tokens=2)
    for row in out.sequences[:, ids.shape[1] :].tolist():
        after = row[row.index(EOT) + 1 :]
        assert all(t == EOS for t in after[2:])  # at most max_new_tokens answer tokens
