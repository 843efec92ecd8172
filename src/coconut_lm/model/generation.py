"""The decode loop that follows a (multi-pass) prompt prefill, on the KV cache.

One base-model call per step for the whole batch, one new position each; no Python loop over
rows and no per-step host sync (whether every row is done is checked every few steps). Each
token is the argmax (temperature 0, the default) or a sample (`choose_tokens`).
"""

from __future__ import annotations

import math

import torch


def check_sampling(temperature: float, top_p: float) -> None:
    """Raise `ValueError` unless temperature >= 0 and 0 < top_p <= 1 (finite numbers)."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 (0: greedy), got {temperature!r}")
    if not (0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")


def choose_tokens(
    logits: torch.Tensor, temperature: float = 0.0, top_p: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, V) logits -> (B,) next tokens.

    Temperature 0: the argmax (greedy). Otherwise a sample from softmax(logits / temperature),
    restricted to the nucleus (Holtzman et al., 2020): the most likely tokens whose mass first
    reaches `top_p` (the most likely token always stays, so a tiny `top_p` is greedy). `generator`
    (on the logits' device) makes the draw reproducible; None uses torch's global RNG.

        >>> choose_tokens(torch.tensor([[0.0, 2.0, 1.0]]))                      # tensor([1])
        >>> choose_tokens(logits, 0.7, 0.9, torch.Generator().manual_seed(0))  # a sample
    """
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    # the max subtracted first: a tiny temperature gives 0 and -inf, never inf - inf
    probs = torch.softmax((logits - logits.amax(-1, keepdim=True)) / temperature, dim=-1)  # (B, V)
    if top_p >= 1:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ranked, order = probs.sort(dim=-1, descending=True, stable=True)  # (B, V), ties: lower id first
    before = ranked.cumsum(-1) - ranked  # (B, V) mass of the more likely tokens
    ranked = ranked.masked_fill(before >= top_p, 0.0)  # outside the nucleus
    return order.gather(-1, torch.multinomial(ranked, 1, generator=generator)).squeeze(-1)  # (B,)


def decode(
    model,
    cache,
    first_logits: torch.Tensor,
    masks,
    prompt_length: int,
    next_position: torch.Tensor,
    max_new_tokens: int,
    eos_token_id: int,
    stop_check_every: int = 4,
    temperature: float = 0.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, int]:
    """Decode up to `max_new_tokens` tokens, greedily or sampled (`choose_tokens`).

    Args:
        model: a `CoconutModel` (for `base_forward`), whose `cache` already holds the prompt.
        first_logits: (B, V) logits at the prompt's last position.
        masks: the call's `PassMasks`, covering the prompt and `max_new_tokens` more columns.
        prompt_length: T, the prompt's columns.
        next_position: (B,) position id of each row's first new token.
        temperature, top_p, generator: how each token is chosen (`choose_tokens`).

    Returns the (B, n) new tokens (EOS after a row's own EOS; n <= max_new_tokens is the length
    of the longest row, its EOS included) and the number of decode forward passes made.
    """
    batch = first_logits.shape[0]
    device = first_logits.device
    tokens = torch.full((batch, max_new_tokens), eos_token_id, dtype=torch.long, device=device)
    if max_new_tokens == 0:
        return tokens, 0
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    logits = first_logits
    position = next_position[:, None]  # (B, 1)
    steps = 0
    for step in range(max_new_tokens):
        token = choose_tokens(logits, temperature, top_p, generator)  # (B,)
        token = torch.where(done, torch.full_like(token, eos_token_id), token)
        tokens[:, step] = token
        done = done | (token == eos_token_id)
        if step + 1 == max_new_tokens:
            break
        if (step + 1) % stop_check_every == 0 and bool(done.all()):
            break
        column = prompt_length + step  # where this token goes
        out = model.base_forward(
            cache,
            last_logits_only=True,
            input_ids=token[:, None],
            attention_mask=masks(column, column + 1),
            position_ids=position,
        )
        logits = out.logits[:, -1]  # (B, V)
        position = position + 1
        steps += 1
    # Trim the columns after every row's EOS (one host sync, once).
    is_eos = tokens == eos_token_id  # (B, n)
    first_eos = torch.where(
        is_eos.any(1), is_eos.float().argmax(1), torch.full_like(is_eos[:, 0], max_new_tokens, dtype=torch.long)
    )
    length = int(torch.clamp(first_eos + 1, max=max_new_tokens).max()) if batch else 0
    return tokens[:, :length], steps
