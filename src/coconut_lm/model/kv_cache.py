"""A KV cache preallocated to the sequence length, differentiable, that never copies its past.

`transformers`' `DynamicCache` appends by concatenation: every pass copies the whole cache, and
in training every pass's attention saves its own copy for backward. Coconut makes k+1 passes over
one sequence (more with generation), so that is k+1 copies of the cache in time and memory.

`PreallocatedLayer` writes each pass's new keys/values into one zero-filled buffer and hands
attention an alias of it: a fresh tensor on the buffer's storage (not an autograd view), so later
writes do not invalidate it for backward. Two layouts:

- whole buffer (`whole_buffer=True`, with the masks of `attention_masks.PassMasks`): attention
  gets the whole buffer, `capacity` columns rounded up to a multiple of `CAPACITY_MULTIPLE`, and
  the mask hides the columns not written yet (they are future positions of every query). Every
  pass of a call then sees keys and values of one shape and one contiguous layout, the layout
  attention kernels are built for, and kernels never meet a partial tile of keys; static shapes
  are also what CUDA graphs need. Later writes to columns a pass did not attend to change nothing
  in its backward: their attention weights are zero.
- prefix (for attention implementations that take the 2D padding mask and count the keys
  themselves): attention gets the columns written so far.

Gradients flow through `_Append`, as they would through `torch.cat`: the new keys get the
gradient of their columns, the earlier passes' keys the rest.

Used only where every layer of the model's cache is a plain full-attention `DynamicLayer`;
other layouts (sliding windows, linear attention, ...) keep `transformers`' own cache.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

CAPACITY_MULTIPLE = 64
"""Whole-buffer caches hold a multiple of this many columns (aligned, no partial key tiles)."""


def padded_capacity(columns: int) -> int:
    """`columns` rounded up to a multiple of `CAPACITY_MULTIPLE`."""
    return -(-columns // CAPACITY_MULTIPLE) * CAPACITY_MULTIPLE


def _alias(buffer: torch.Tensor, length: int) -> torch.Tensor:
    """A new tensor on `buffer`'s storage covering `buffer[..., :length, :]`, own version counter."""
    out = buffer.new_empty(0)
    size = (*buffer.shape[:2], length, buffer.shape[3])
    out.set_(buffer.untyped_storage(), buffer.storage_offset(), size, buffer.stride())
    return out


class _Append(torch.autograd.Function):
    """Write `new` at columns [start, start + n) of `buffer`; return an alias of its first
    `visible` columns (the earlier columns are `prev`'s, as in `cat([prev, new], dim=-2)`)."""

    @staticmethod
    def forward(ctx, buffer: torch.Tensor, prev: torch.Tensor | None, new: torch.Tensor, start: int, visible: int):
        end = start + new.shape[-2]
        buffer[:, :, start:end].copy_(new)
        ctx.start, ctx.end = start, end
        ctx.prev_columns = 0 if prev is None else prev.shape[-2]
        return _alias(buffer, visible)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # `prev` may take the whole gradient: its own `_Append` keeps only its columns, and
        # each column belongs to exactly one pass. The new columns get a copy, so that
        # accumulating into `prev`'s gradient can never write into theirs.
        prev_grad = grad[:, :, : ctx.prev_columns] if ctx.needs_input_grad[1] else None
        return None, prev_grad, grad[:, :, ctx.start : ctx.end].clone(), None, None


class PreallocatedLayer(DynamicLayer):
    """One layer's keys and values, in zero-filled buffers of `capacity` columns."""

    def __init__(self, capacity: int, whole_buffer: bool = False):
        super().__init__()
        self.capacity = capacity
        self.whole_buffer = whole_buffer
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        batch, heads, _, dim = key_states.shape
        self.device = key_states.device
        # Zeros, not garbage: masked columns still enter attention's matmuls (0 weight x NaN = NaN).
        self.key_buffer = key_states.new_zeros(batch, heads, self.capacity, dim)
        self.value_buffer = value_states.new_zeros(batch, value_states.shape[1], self.capacity, value_states.shape[3])
        self.keys = self.values = None
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"KV cache overflow: {end} positions, capacity {self.capacity}")
        visible = self.capacity if self.whole_buffer else end
        self.keys = _Append.apply(self.key_buffer, self.keys, key_states, self.length, visible)
        self.values = _Append.apply(self.value_buffer, self.values, value_states, self.length, visible)
        self.length = end
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def reset(self) -> None:
        self.length = 0
        self.keys = self.values = None


def cache_layout(cache) -> str | None:
    """ "whole" or "prefix" for a cache of `PreallocatedLayer`s, None for any other cache."""
    layers = getattr(cache, "layers", None)
    if not layers or not all(isinstance(layer, PreallocatedLayer) for layer in layers):
        return None
    return "whole" if layers[0].whole_buffer else "prefix"


def is_full_attention(config) -> bool:
    """Whether every layer of the model attends to every earlier position (no sliding window,
    chunked or linear attention): the layouts this cache preallocates."""
    layers = DynamicCache(config=config).layers
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def make_cache(config, columns: int, whole_buffer: bool = False) -> DynamicCache:
    """A cache for `columns` positions: preallocated when the model's layers allow it (whole
    buffer: `padded_capacity(columns)` columns, every one handed to attention)."""
    cache = DynamicCache(config=config)
    if is_full_attention(config):
        capacity = padded_capacity(columns) if whole_buffer else columns
        cache.layers = [PreallocatedLayer(capacity, whole_buffer) for _ in cache.layers]
    return cache


def branch_cache(cache, config) -> DynamicCache:
    """A cache that attends to `cache`'s columns and appends its own by concatenation, writing
    nothing into `cache` (Jacobi thought iterations: each reruns the same columns on one prefix).
    Gradients flow back into `cache`'s keys and values. Only for full-attention layers."""
    branch = DynamicCache(config=config)
    layers = []
    for parent in cache.layers:
        layer = DynamicLayer()
        if isinstance(parent, PreallocatedLayer):
            keys, values = parent.keys[:, :, : parent.length], parent.values[:, :, : parent.length]
        else:
            keys, values = parent.keys, parent.values
        layer.keys, layer.values, layer.device = keys, values, keys.device
        layer.is_initialized = True
        layers.append(layer)
    branch.layers = layers
    return branch
