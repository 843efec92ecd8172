"""`thoughts.rescale`: thoughts fed back at the embeddings' mean norm, in every code path."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.model.coconut import next_token_loss
from tests.model.helpers import LATENT, left_pad, make_model, naive_forward
from tests.model.test_coconut_model import first_thought_aligned, labels_after_thoughts, thought_rows
from tests.model.test_generate import check_batched_single_uncached, prompts
from tests.model.test_jacobi import jacobi, no_dropout


def rescaled(family: str):
    model = make_model(family)
    model.rescale_thoughts = True
    return model


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_thoughts_enter_at_the_embeddings_mean_norm(family, kv_layout):
    model = rescaled(family)
    model.kv_layout = kv_layout
    ids, mask = left_pad(thought_rows([3, 1, 0]))
    out = model(ids, mask)
    mean_norm = model.base_model.get_input_embeddings().weight.norm(dim=-1).mean()
    fed = out.inputs_embeds[ids == LATENT].norm(dim=-1)
    torch.testing.assert_close(fed, mean_norm.expand_as(fed), rtol=1e-5, atol=1e-6)
    ref_logits, ref_embeds = naive_forward(model, ids, mask)
    keep = mask.bool()
    torch.testing.assert_close(out.logits[keep], ref_logits[keep], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.inputs_embeds[keep], ref_embeds[keep], atol=1e-5, rtol=1e-5)


def test_gradients_equal_the_naive_forward():
    model = no_dropout(rescaled("llama").train())
    ids, mask = first_thought_aligned(thought_rows([3, 2]))
    labels = labels_after_thoughts(ids, mask)

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    cached = grads(next_token_loss(model(ids, mask).logits, labels))
    naive = grads(next_token_loss(naive_forward(model, ids, mask)[0], labels))
    assert cached.keys() == naive.keys()
    for name in cached:
        torch.testing.assert_close(cached[name], naive[name], atol=1e-5, rtol=1e-4, msg=name)


def test_jacobi_with_as_many_iterations_as_thoughts_equals_sequential():
    model = rescaled("llama")
    ids, mask = left_pad(thought_rows([3, 1, 4, 0]))
    sequential = model(ids, mask)
    parallel = jacobi(model, 4)(ids, mask)
    keep = mask.bool()
    torch.testing.assert_close(parallel.logits[keep], sequential.logits[keep], atol=1e-4, rtol=1e-4)


def test_generate_batched_equals_single_and_uncached(kv_layout):
    model = rescaled("gpt2")
    model.kv_layout = kv_layout
    check_batched_single_uncached(model, prompts([2, 0, 3], seed=2))
