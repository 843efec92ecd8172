"""Batching: the training collator (first thoughts aligned) and the prompt collator.

Training batches follow the official `MyCollator` + `DataCollatorWithPadding` (docs/method.md §1):
each row that holds a thought is left-padded so that its first `<|latent|>` falls in the same
column as the latest first thought of the batch (this maximises KV-cache reuse in the thought
passes); its position ids restart at 0 after that padding. Rows without thoughts are not
shifted. Then every row is right-padded to the longest:

    xxxxxxxxxx<latent><latent>xxxxx--        x: a token, -: padding
    -----xxxxx<latent>xxxxxxxx-------
    ---xxxxxxx<latent><latent>xxxxxxx
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq

import torch

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.curriculum import Sequence


def _fields(row: Sequence | Mapping) -> tuple[list[int], list[int] | None]:
    """(input_ids, labels or None) of a `Sequence` or a dict with those keys."""
    if isinstance(row, Sequence):
        return row.input_ids, row.labels
    return list(row["input_ids"]), (list(row["labels"]) if row.get("labels") is not None else None)


def _first_latent(input_ids: list[int], latent_id: int) -> int | None:
    try:
        return input_ids.index(latent_id)
    except ValueError:
        return None


def collate(sequences: Seq[Sequence] | Seq[Mapping], pad_token_id: int, latent_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch of B sequences into LongTensors of shape (B, T).

    Returns `input_ids`, `attention_mask`, `labels` (IGNORE_INDEX on padding; omitted when no
    row has labels) and `position_ids` (0 on padding, 0.. from each row's first real token).
    """
    if not sequences:
        raise ValueError("collate needs at least one sequence")
    rows = [_fields(s) for s in sequences]
    has_labels = [labels is not None for _, labels in rows]
    if any(has_labels) and not all(has_labels):
        raise ValueError("either every sequence in a batch has labels or none has")
    for i, (ids, labels) in enumerate(rows):
        if labels is not None and len(labels) != len(ids):
            raise ValueError(f"sequence {i}: {len(labels)} labels for {len(ids)} input ids")
    firsts = [_first_latent(ids, latent_id) for ids, _ in rows]
    align = max((f for f in firsts if f is not None), default=0)
    shifts = [0 if f is None else align - f for f in firsts]
    lengths = [len(ids) for ids, _ in rows]
    B, T = len(rows), max(s + n for s, n in zip(shifts, lengths))

    input_ids = torch.full((B, T), pad_token_id, dtype=torch.long)  # (B, T)
    attention_mask = torch.zeros((B, T), dtype=torch.long)  # (B, T)
    position_ids = torch.zeros((B, T), dtype=torch.long)  # (B, T)
    labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long) if has_labels[0] else None  # (B, T)
    for b, ((ids, row_labels), shift, n) in enumerate(zip(rows, shifts, lengths)):
        input_ids[b, shift : shift + n] = torch.tensor(ids, dtype=torch.long)
        attention_mask[b, shift : shift + n] = 1
        position_ids[b, shift : shift + n] = torch.arange(n)
        if labels is not None:
            labels[b, shift : shift + n] = torch.tensor(row_labels, dtype=torch.long)
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if labels is not None:
        batch["labels"] = labels
    batch["position_ids"] = position_ids
    return batch


def collate_prompts(prompts: Seq[Seq[int]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Left-pad B prompts so that they all end in the last column, for batched generation.

    Returns `input_ids` (B, T) and `attention_mask` (B, T), 0 on the padding.
    """
    if not prompts:
        raise ValueError("collate_prompts needs at least one prompt")
    lengths = torch.tensor([len(p) for p in prompts], dtype=torch.long)  # (B,)
    if int(lengths.min()) == 0:
        raise ValueError("collate_prompts got an empty prompt")
    B, T = len(prompts), int(lengths.max())
    input_ids = torch.full((B, T), pad_token_id, dtype=torch.long)  # (B, T)
    for b, prompt in enumerate(prompts):
        input_ids[b, T - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
    attention_mask = (torch.arange(T).unsqueeze(0) >= (T - lengths).unsqueeze(1)).long()  # (B, T)
    return {"input_ids": input_ids, "attention_mask": attention_mask}
