"""A KV cache preallocated to the sequence length, differentiable, that never copies its past.

`transformers`' `DynamicCache` appends by concatenation: every pass copies the whole cache, and
in training every pass's attention saves its own copy for backward. Coconut makes k+1 passes over
one sequence (more with generation), so that is k+1 copies of the cache in time and memory.

`PreallocatedLayer` writes each pass's new keys/values into one buffer of the final length and
hands attention an alias of the filled prefix. The alias is a fresh tensor on the buffer's storage
(not an autograd view), so later writes past its end do not invalidate it for backward; the
region it covers is never written again. Gradients flow through `_Append`: the alias's gradient
splits into the previous alias's part and the new keys' part, exactly as `torch.cat` would.

Used only where every layer of the model's cache is a plain full-attention `DynamicLayer`;
other layouts (sliding windows, linear attention, ...) keep `transformers`' own cache.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


def _alias(buffer: torch.Tensor, length: int) -> torch.Tensor:
    """A new tensor on `buffer`'s storage covering `buffer[..., :length, :]`, own version counter."""
    out = buffer.new_empty(0)
    size = (*buffer.shape[:2], length, buffer.shape[3])
    out.set_(buffer.untyped_storage(), buffer.storage_offset(), size, buffer.stride())
    return out


class _Append(torch.autograd.Function):
    """`cat([prev, new], dim=-2)` written into a preallocated buffer."""

    @staticmethod
    def forward(ctx, buffer: torch.Tensor, prev: torch.Tensor | None, new: torch.Tensor, start: int):
        end = start + new.shape[-2]
        buffer[:, :, start:end].copy_(new)
        ctx.start = start
        return _alias(buffer, end)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        start = ctx.start
        prev_grad = grad[:, :, :start] if ctx.needs_input_grad[1] else None
        return None, prev_grad, grad[:, :, start:], None


class PreallocatedLayer(DynamicLayer):
    """One layer's keys and values, in buffers of `capacity` positions."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        batch, heads, _, dim = key_states.shape
        self.device = key_states.device
        self.key_buffer = key_states.new_empty(batch, heads, self.capacity, dim)
        self.value_buffer = value_states.new_empty(batch, value_states.shape[1], self.capacity, value_states.shape[3])
        self.keys = self.values = None
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"KV cache overflow: {end} positions, capacity {self.capacity}")
        self.keys = _Append.apply(self.key_buffer, self.keys, key_states, self.length)
        self.values = _Append.apply(self.value_buffer, self.values, value_states, self.length)
        self.length = end
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def reset(self) -> None:
        self.length = 0
        self.keys = self.values = None


def is_full_attention(config) -> bool:
    """Whether every layer of the model attends to every earlier position (no sliding window,
    chunked or linear attention): the layouts this cache preallocates and `PassMasks` masks."""
    layers = DynamicCache(config=config).layers
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def make_cache(config, capacity: int) -> DynamicCache:
    """A cache for `capacity` positions: preallocated when the model's layers allow it."""
    cache = DynamicCache(config=config)
    if is_full_attention(config):
        cache.layers = [PreallocatedLayer(capacity) for _ in cache.layers]
    return cache
