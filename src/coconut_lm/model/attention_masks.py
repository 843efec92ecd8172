"""Attention masks of a multi-pass call, built once per call and sliced for each pass.

A Coconut forward makes k+1 base-model calls over one sequence and generation one more per new
token. Left to itself, `transformers` rebuilds the 4D mask from the 2D padding mask in every call.
`PassMasks` builds the call's (B, 1, C, C) mask once, over the C columns of the call's
preallocated KV cache, and a pass over columns [start, end) takes rows [start, end) of it (and
columns [0, end) with a prefix-layout cache): a slice, no work. The format is the one the model's
attention implementation takes as an already prepared mask (`transformers` passes a 4D mask
through):

- "sdpa": boolean, True where a query may attend to a key;
- "eager": additive, 0 where allowed and the dtype's minimum elsewhere;
- anything else (flash attention, flex attention, custom kernels): the 2D padding mask, from
  which `transformers` builds its own in every call, over a prefix-layout cache.
"""

from __future__ import annotations

import torch

from coconut_lm.model.kv_cache import padded_capacity

PREPARED_FORMATS = ("sdpa", "eager")
"""Attention implementations that take a prepared 4D mask from us."""


def prepared_format(implementation: str | None) -> str | None:
    """The mask format we build for this attention implementation, or None (transformers')."""
    return implementation if implementation in PREPARED_FORMATS else None


class PassMasks:
    """The masks of one call. `masks(start, end)` is the mask of the pass over columns [start, end).

    Args:
        key_mask: (B, K) 1 for a real token, 0 for padding, covering every column the call will
            ever attend to (for generation: the prompt, then ones for the new tokens).
        mask_format: `prepared_format(...)` of the model's attention implementation.
        dtype: the dtype of the model's input embeddings (the additive mask's dtype).
        layout: the KV cache's (`kv_cache.cache_layout`): "whole" (attention sees all
            `padded_capacity(K)` columns) or "prefix" (the columns written so far).
    """

    def __init__(self, key_mask: torch.Tensor, mask_format: str | None, dtype: torch.dtype, layout: str = "prefix"):
        self.key_mask = key_mask  # (B, K)
        self.format = mask_format
        self.whole = layout == "whole"
        if mask_format is None:
            return
        batch, columns = key_mask.shape
        capacity = padded_capacity(columns) if self.whole else columns
        valid = torch.zeros(batch, capacity, dtype=torch.bool, device=key_mask.device)  # (B, C)
        valid[:, :columns] = key_mask.bool()
        position = torch.arange(capacity, device=key_mask.device)
        causal = position[None, :] <= position[:, None]  # (C, C): key <= query
        allowed = causal[None, None] & valid[:, None, None, :]  # (B, 1, C, C)
        if mask_format == "eager":
            self.full = torch.zeros(allowed.shape, dtype=dtype, device=key_mask.device)
            self.full.masked_fill_(~allowed, torch.finfo(dtype).min)
        else:
            self.full = allowed

    def __call__(self, start: int, end: int) -> torch.Tensor:
        if self.format is None:
            return self.key_mask[:, :end]  # (B, end)
        if self.whole:
            return self.full[:, :, start:end]  # (B, 1, end - start, C)
        return self.full[:, :, start:end, :end]  # (B, 1, end - start, end)
