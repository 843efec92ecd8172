"""Jacobi thought updates: T = k equals the sequential update, rows are independent, pass counts."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.model.coconut import next_token_loss
from tests.model.helpers import left_pad, make_model
from tests.model.test_coconut_model import first_thought_aligned, labels_after_thoughts, thought_rows
from tests.model.test_generate import prompts

torch.set_grad_enabled(True)

FULL_ATTENTION = ("gpt2", "gpt2_eager", "llama", "qwen2")
COUNTS = [3, 1, 4, 0]


def jacobi(model, iterations: int):
    model.thought_update, model.jacobi_iterations = "jacobi", iterations
    return model


def no_dropout(model):
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    return model


@pytest.mark.parametrize("family", FULL_ATTENTION)
@pytest.mark.parametrize("layout", ["first_aligned", "end_aligned"])
def test_as_many_iterations_as_thoughts_equal_sequential(family, layout, kv_layout):
    model = make_model(family)
    model.kv_layout = kv_layout
    rows = thought_rows(COUNTS)
    ids, mask = first_thought_aligned(rows) if layout == "first_aligned" else left_pad(rows)
    sequential = model(ids, mask)
    parallel = jacobi(model, max(COUNTS))(ids, mask)
    keep = mask.bool()
    torch.testing.assert_close(parallel.inputs_embeds[keep], sequential.inputs_embeds[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(parallel.logits[keep], sequential.logits[keep], atol=1e-4, rtol=1e-4)
    if layout == "first_aligned":  # the same number of passes: k + 1
        assert parallel.num_forward_passes == sequential.num_forward_passes == max(COUNTS) + 1


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_gradients_equal_sequential(family, kv_layout):
    model = no_dropout(make_model(family).train())
    model.kv_layout = kv_layout
    ids, mask = first_thought_aligned(thought_rows([3, 2]))
    labels = labels_after_thoughts(ids, mask)

    def grads():
        model.zero_grad()
        next_token_loss(model(ids, mask).logits, labels).backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    sequential = grads()
    jacobi(model, 3)
    parallel = grads()
    assert parallel.keys() == sequential.keys()
    for name in sequential:  # every parameter, through every iteration and the cache's branches
        torch.testing.assert_close(parallel[name], sequential[name], atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("iterations", [1, 2])
@pytest.mark.parametrize("layout", ["first_aligned", "end_aligned"])
def test_fewer_iterations_batched_equal_single(iterations, layout, kv_layout):
    model = jacobi(make_model("gpt2"), iterations)
    model.kv_layout = kv_layout
    rows = thought_rows(COUNTS)
    ids, mask = first_thought_aligned(rows) if layout == "first_aligned" else left_pad(rows)
    batched = model(ids, mask)
    for i, row in enumerate(rows):
        single = model(torch.tensor([row]))
        keep = mask[i].bool()
        torch.testing.assert_close(batched.logits[i][keep], single.logits[0], atol=1e-4, rtol=1e-4)
    # fewer iterations than thoughts: an approximation, not the sequential result
    sequential = make_model("gpt2")(ids, mask)
    assert not torch.allclose(batched.logits[mask.bool()], sequential.logits[mask.bool()], atol=1e-3)


@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
def test_pass_count_is_the_option(iterations):
    model = jacobi(make_model("gpt2"), iterations)
    ids, mask = first_thought_aligned(thought_rows(COUNTS))
    assert model(ids, mask).num_forward_passes == iterations + 1  # the prefix, then T block passes
    ids, mask = left_pad(thought_rows(COUNTS))  # thoughts starting in different columns: one more
    assert model(ids, mask).num_forward_passes == iterations + 2
    assert model(ids[:, :5], mask[:, :5]).num_forward_passes == 1  # no thought: one pass


def test_generate_with_jacobi_equals_single_prompts():
    model = jacobi(make_model("gpt2"), 2)
    rows = prompts([3, 0, 2])
    ids, mask = left_pad(rows)
    with torch.no_grad():
        out = model.generate(ids, mask, max_new_tokens=5)
        for i, row in enumerate(rows):
            single = model.generate(torch.tensor([row]), max_new_tokens=5)[0, len(row) :]
            assert out[i, ids.shape[1] :].tolist()[: len(single)] == single.tolist()


def test_sliding_window_models_are_refused():
    model = jacobi(make_model("mistral"), 2)
    ids, mask = first_thought_aligned(thought_rows([2]))
    with pytest.raises(ValueError, match="jacobi"):
        model(ids, mask)
