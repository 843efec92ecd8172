"""Attention masks of a multi-pass call, built once per call and sliced for each pass.

A Coconut forward makes k+1 base-model calls over one sequence and generation one more per new
token. Left to itself, `transformers` rebuilds the 4D mask from the 2D padding mask in every call.
`PassMasks` builds it once, in the format the model's attention implementation takes as an
already prepared mask (`transformers` passes a 4D mask through unchanged):

- "sdpa": boolean, True where a query may attend to a key;
- "eager": additive, 0 where allowed and the dtype's minimum elsewhere;
- anything else (flash attention, flex attention, custom kernels): the 2D padding mask, as before.

A one-position pass (a thought, or a decode step) attends to every valid key before it, so its
mask is a slice of the key-padding row, with no work at all.
"""

from __future__ import annotations

import torch

PREPARED_FORMATS = ("sdpa", "eager")
"""Attention implementations that take a prepared 4D mask from us."""


class PassMasks:
    """The masks of one call. `masks(start, end)` is the mask of the pass over columns [start, end).

    Args:
        key_mask: (B, K) 1 for a real token, 0 for padding, covering every column the call will
            ever attend to (for generation: the prompt, then ones for the new tokens).
        implementation: the model's `config._attn_implementation`.
        dtype: the dtype of the model's input embeddings (the additive mask's dtype).
    """

    def __init__(self, key_mask: torch.Tensor, implementation: str | None, dtype: torch.dtype):
        self.key_mask = key_mask  # (B, K)
        self.format = implementation if implementation in PREPARED_FORMATS else None
        valid = key_mask.bool()[:, None, None, :]  # (B, 1, 1, K)
        if self.format == "eager":
            self.fill = torch.finfo(dtype).min
            self.keys = torch.zeros(valid.shape, dtype=dtype, device=key_mask.device).masked_fill(~valid, self.fill)
        else:
            self.keys = valid

    def __call__(self, start: int, end: int) -> torch.Tensor:
        if self.format is None:
            return self.key_mask[:, :end]  # (B, end): transformers builds the 4D mask
        keys = self.keys[..., :end]  # (B, 1, 1, end)
        if end - start == 1:
            return keys  # the last position sees every valid key
        device = self.key_mask.device
        queries = torch.arange(start, end, device=device)[:, None]  # (q, 1)
        future = torch.arange(end, device=device)[None, :] > queries  # (q, end)
        if self.format == "eager":
            return keys.masked_fill(future, self.fill)  # (B, 1, q, end)
        return keys & ~future  # (B, 1, q, end)
