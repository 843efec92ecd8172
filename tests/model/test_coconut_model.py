"""CoconutModel: equal to a naive reference, to the base model without thoughts, across families."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.model.coconut import next_token_loss
from tests.model.helpers import BOT, EOS, EOT, LATENT, left_pad, make_model, naive_forward

torch.set_grad_enabled(True)


def thought_rows(counts: list[int], seed: int = 0) -> list[list[int]]:
    """Rows `question <bot> <latent>*k <eot> answer <eos>` with random question/answer tokens."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i, k in enumerate(counts):
        q = torch.randint(2, 50, (5 + 2 * i,), generator=g).tolist()
        a = torch.randint(2, 50, (3 + i % 2,), generator=g).tolist()
        rows.append(q + [BOT] + [LATENT] * k + [EOT] + a + [EOS])
    return rows


def first_thought_aligned(rows):
    """The official collator's layout: left pads so that the first thoughts share a column."""
    first = [r.index(LATENT) if LATENT in r else 0 for r in rows]
    shifts = [max(first) - f for f in first]
    # right-align after shifting: pad on the right is expressed as extra left shift of the others
    width = max(len(r) + s for r, s in zip(rows, shifts))
    ids = torch.full((len(rows), width), EOS, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, (r, s) in enumerate(zip(rows, shifts)):
        ids[i, s : s + len(r)] = torch.tensor(r)
        mask[i, s : s + len(r)] = 1
    return ids, mask


def labels_after_thoughts(ids, mask):
    labels = ids.clone()
    labels[mask == 0] = IGNORE_INDEX
    for i in range(ids.shape[0]):
        eot = (ids[i] == EOT).nonzero()
        if len(eot):
            labels[i, : eot[0, 0] + 1] = IGNORE_INDEX
    return labels


@pytest.mark.parametrize("layout", ["first_aligned", "end_aligned"])
def test_cached_passes_equal_naive_recompute(family, layout, kv_layout):
    model = make_model(family)
    model.kv_layout = kv_layout
    rows = thought_rows([3, 1, 4, 0])
    ids, mask = first_thought_aligned(rows) if layout == "first_aligned" else left_pad(rows)
    out = model(ids, mask)
    ref_logits, ref_embeds = naive_forward(model, ids, mask)
    keep = mask.bool()
    torch.testing.assert_close(out.inputs_embeds[keep], ref_embeds[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.logits[keep], ref_logits[keep], atol=1e-4, rtol=1e-4)
    assert out.num_forward_passes == 4 + 1 if layout == "first_aligned" else out.num_forward_passes >= 5


def test_zero_thoughts_equals_base_model(family):
    model = make_model(family)
    ids, mask = left_pad([[5, 6, 7, 8, 9, EOS], [11, 12, 13, EOS]])
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    labels[:, 1:][mask[:, :-1] == 0] = IGNORE_INDEX  # predicted from a padding position: no target
    out = model(ids, mask, labels=labels)
    ref = model.base_model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0))
    assert out.num_forward_passes == 1
    # Padding rows attend to nothing; what attention returns there is the kernel's own choice.
    keep = mask.bool()
    torch.testing.assert_close(out.logits[keep], ref.logits[keep])
    torch.testing.assert_close(out.loss, next_token_loss(ref.logits, labels))


def test_gradient_flows_through_thoughts(family, kv_layout):
    model = make_model(family).train()
    model.kv_layout = kv_layout
    for m in model.modules():  # deterministic: no dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    ids, mask = first_thought_aligned(thought_rows([3, 2]))
    labels = labels_after_thoughts(ids, mask)
    weight = model.base_model.get_input_embeddings().weight

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    ours = grads(model(ids, mask, labels=labels).loss)
    ref = grads(next_token_loss(naive_forward(model, ids, mask)[0], labels))
    cut = grads(next_token_loss(naive_forward(model, ids, mask, detach_thoughts=True)[0], labels))
    assert ours.keys() == ref.keys()
    for name in ref:  # every parameter, through the cache's backward
        torch.testing.assert_close(ours[name], ref[name], atol=1e-6, rtol=1e-5, msg=name)
    ours, cut = (
        ours[next(n for n, p in model.named_parameters() if p is weight)],
        cut[next(n for n, p in model.named_parameters() if p is weight)],
    )
    question = ids[0, : (ids[0] == BOT).nonzero()[0, 0]]
    # the thought path carries gradient to the question's embeddings
    assert (ours[question] - cut[question]).abs().max() > 1e-6


def test_loss_sum_reduction_counts_tokens():
    model = make_model("gpt2")
    ids, mask = first_thought_aligned(thought_rows([2, 2]))
    labels = labels_after_thoughts(ids, mask)
    mean = model(ids, mask, labels=labels).loss
    total = model(ids, mask, labels=labels, reduction="sum").loss
    n = (labels[:, 1:] != IGNORE_INDEX).sum()
    torch.testing.assert_close(total / n, mean)


def test_thought_in_column_zero_is_an_error():
    model = make_model("gpt2")
    with pytest.raises(ValueError, match="column 0"):
        model(torch.tensor([[LATENT, 5, 6]]))


def test_official_state_dict_loads():
    source, target = make_model("gpt2", seed=1), make_model("gpt2", seed=2)
    state = {f"base_causallm.{k}": v for k, v in source.base_model.state_dict().items()}
    state["embedding.weight"] = source.base_model.get_input_embeddings().weight.detach().clone()
    target.load_official_state_dict(state)
    ids = torch.tensor([[5, 6, BOT, LATENT, EOT, 7]])
    torch.testing.assert_close(target(ids).logits, source(ids).logits)
    with pytest.raises(KeyError, match="does not fit"):
        target.load_official_state_dict({"base_causallm.nonsense": torch.zeros(1)})


def test_official_state_dict_without_tied_head_loads_and_missing_layers_fail():
    source, target = make_model("gpt2", seed=1), make_model("gpt2", seed=2)
    state = {f"base_causallm.{k}": v for k, v in source.base_model.state_dict().items()}
    del state["base_causallm.lm_head.weight"]  # tied to the input embedding: may be absent
    target.load_official_state_dict(state)
    torch.testing.assert_close(target.base_model.lm_head.weight, source.base_model.lm_head.weight)
    del state["base_causallm.transformer.h.0.attn.c_attn.weight"]
    with pytest.raises(KeyError, match="missing"):
        make_model("gpt2", seed=3).load_official_state_dict(state)
