"""The greedy decode loop that follows a (multi-pass) prompt prefill, on the KV cache.

One base-model call per step for the whole batch, one new position each; no Python loop over
rows and no per-step host sync (whether every row is done is checked every few steps).
"""

from __future__ import annotations

import torch


def greedy_decode(
    model,
    cache,
    first_logits: torch.Tensor,
    masks,
    prompt_length: int,
    next_position: torch.Tensor,
    max_new_tokens: int,
    eos_token_id: int,
    stop_check_every: int = 4,
) -> tuple[torch.Tensor, int]:
    """Decode up to `max_new_tokens` tokens greedily.

    Args:
        model: a `CoconutModel` (for `base_forward`), whose `cache` already holds the prompt.
        first_logits: (B, V) logits at the prompt's last position.
        masks: the call's `PassMasks`, covering the prompt and `max_new_tokens` more columns.
        prompt_length: T, the prompt's columns.
        next_position: (B,) position id of each row's first new token.

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
        token = logits.argmax(-1)  # (B,)
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
