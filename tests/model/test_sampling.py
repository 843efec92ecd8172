"""Sampled generation: temperature 0 is today's greedy decoding, a seed repeats the draws, the
nucleus holds what it should, and the cached decode loop draws as a recomputed one does."""

from __future__ import annotations

import pytest
import torch

from coconut_lm.model.coconut import CoconutModel
from coconut_lm.model.generation import check_sampling, choose_tokens
from tests.model.helpers import BOT, EOS, EOT, LATENT, left_pad, make_model


def prompts(counts: list[int], seed: int = 0) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randint(2, 50, (4 + 3 * i,), generator=g).tolist() + [BOT] + [LATENT] * k + [EOT]
        for i, k in enumerate(counts)
    ]


def no_marker_tokens(model: CoconutModel, eos_bias: float = 0.0) -> CoconutModel:
    """Never draw `<bot>`, `<eot>` or `<latent>` (a drawn `<latent>` would be a thought to a
    recomputing reference, a token to the decode loop); `eos_bias` on the EOS logit."""
    head = model.base_model.get_output_embeddings()
    bias = torch.zeros(head.out_features)
    bias[[BOT, EOT, LATENT]] = -1e4
    bias[EOS] = eos_bias
    head.bias = torch.nn.Parameter(bias)
    return model


def recomputed(model: CoconutModel, ids, mask, n: int, **sampling) -> torch.Tensor:
    """Reference: the full multi-pass forward over the whole batch for every new token, each token
    chosen by `choose_tokens` (EOS after a row's EOS); (B, n) new tokens."""
    done = torch.zeros(ids.shape[0], dtype=torch.bool)
    new = []
    for _ in range(n):
        token = choose_tokens(model(ids, mask).logits[:, -1], **sampling)  # (B,)
        token = torch.where(done, torch.full_like(token, EOS), token)
        done |= token == EOS
        new.append(token)
        ids, mask = torch.cat([ids, token[:, None]], 1), torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
    return torch.stack(new, 1)


def until_eos(tokens: list[int]) -> list[int]:
    return tokens[: tokens.index(EOS) + 1] if EOS in tokens else tokens


def rows_until_eos(new: torch.Tensor) -> list[list[int]]:
    return [until_eos(row) for row in new.tolist()]


@torch.no_grad()
def test_temperature_zero_is_greedy_and_a_tiny_nucleus_too(family):
    model = no_marker_tokens(make_model(family))
    ids, mask = left_pad(prompts([3, 0, 2, 1]))
    greedy = model.generate(ids, mask, 7)
    assert torch.equal(model.generate(ids, mask, 7, temperature=0.0, top_p=0.5), greedy)  # top_p unused at 0
    reference = recomputed(model, ids, mask, 7)  # argmax of the recomputed logits
    assert rows_until_eos(greedy[:, ids.shape[1] :]) == rows_until_eos(reference)
    tiny = model.generate(ids, mask, 7, temperature=1.5, top_p=1e-9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tiny, greedy)  # the nucleus keeps the most likely token alone


@torch.no_grad()
def test_cached_sampling_draws_as_the_recomputed_reference(family):
    model = no_marker_tokens(make_model(family))
    ids, mask = left_pad(prompts([2, 0, 4, 1, 3]))
    for temperature, top_p in ((1.0, 1.0), (2.0, 0.8)):
        draw = dict(temperature=temperature, top_p=top_p)
        out = model.generate(ids, mask, 8, generator=torch.Generator().manual_seed(3), **draw)
        reference = recomputed(model, ids, mask, 8, generator=torch.Generator().manual_seed(3), **draw)
        assert rows_until_eos(out[:, ids.shape[1] :]) == rows_until_eos(reference)


@torch.no_grad()
def test_a_seed_repeats_the_draws_and_rows_end_with_eos():
    model = no_marker_tokens(make_model("llama"), eos_bias=3.0)  # EOS often drawn, not always
    ids, mask = left_pad(prompts([2, 2, 0, 1] * 4, seed=1))

    def sample(seed: int):
        g = torch.Generator().manual_seed(seed)
        return model.generate(ids, mask, 12, return_dict=True, temperature=3.0, top_p=0.95, generator=g)

    first, again, other = sample(0), sample(0), sample(1)
    assert torch.equal(first.sequences, again.sequences)
    assert not torch.equal(first.sequences, other.sequences)
    assert not torch.equal(first.sequences, model.generate(ids, mask, 12))  # not greedy
    new = first.sequences[:, ids.shape[1] :]  # (B, n)
    assert torch.equal(first.sequences[:, : ids.shape[1]], ids) and 1 <= new.shape[1] <= 12
    assert first.num_thoughts.tolist() == [2, 2, 0, 1] * 4
    is_eos = new == EOS
    after_first_eos = is_eos.long().cumsum(1) > 0  # (B, n) from a row's first EOS on
    assert torch.equal(is_eos | ~after_first_eos, torch.ones_like(is_eos))  # only EOS after a row's EOS
    assert 0 < int(is_eos.any(1).sum()) < len(new)  # some rows ended early, some ran to the limit


def test_the_nucleus_and_the_temperature():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log().expand(40_000, 4)  # (B, V)

    def frequencies(temperature: float, top_p: float) -> torch.Tensor:
        return torch.bincount(choose_tokens(logits, temperature, top_p, g), minlength=4) / logits.shape[0]

    expected = torch.tensor([0.5, 0.3, 0.15, 0.05])
    torch.testing.assert_close(frequencies(1.0, 1.0), expected, atol=0.01, rtol=0)
    torch.testing.assert_close(frequencies(1.0, 0.7), torch.tensor([0.625, 0.375, 0, 0]), atol=0.01, rtol=0)
    assert frequencies(1.0, 0.5).tolist() == [1.0, 0, 0, 0]  # the top token's mass reaches 0.5 alone
    hot = expected.pow(1 / 2.0) / expected.pow(1 / 2.0).sum()  # softmax(log p / 2)
    torch.testing.assert_close(frequencies(2.0, 1.0), hot, atol=0.01, rtol=0)
    assert frequencies(1e-30, 1.0).tolist() == [1.0, 0, 0, 0]  # a tiny temperature: no inf - inf


@pytest.mark.parametrize(
    "temperature, top_p, message",
    [(-1.0, 1.0, "temperature"), (float("nan"), 1.0, "temperature"), (1.0, 0.0, "top_p"), (1.0, 1.5, "top_p")],
)
def test_bad_sampling_settings_are_refused(temperature, top_p, message):
    with pytest.raises(ValueError, match=message):
        check_sampling(temperature, top_p)
    ids, mask = left_pad(prompts([1]))
    with pytest.raises(ValueError, match=message):
        make_model("gpt2").generate(ids, mask, 2, temperature=temperature, top_p=top_p)
