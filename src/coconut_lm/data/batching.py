"""What the trainer feeds on: per-epoch sequences, the shuffled order, global and micro-batches.

The trainer never looks inside examples; this module turns them into batches:

- `Method.stage_for_epoch`: the curriculum stage of an epoch (docs/method.md §2: epoch // epochs_per_stage,
  capped at the method's final stage; w/o curriculum always the final stage; iCoT: the epoch).
- `build_stage_sequences`: every training sequence of a stage (the data core's `build_sequence`),
  with sequences longer than the model's context stopped, skipped or cut (`data.too_long`).
- `epoch_order` / `global_batches` / `micro_batch`: a seeded shuffle of the whole set (the same
  on every process), cut into global batches of batch_size x accumulation x world size; global
  batch g, accumulation step a, rank r gets slice (a * world + r) of it. The global order does
  not depend on the world size, so one process with accumulation sees the same global batches as
  several processes (the equivalence the tests check). A final partial global batch is dropped.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.curriculum import Sequence, build_sequence
from coconut_lm.data.methods import Method
from coconut_lm.data.schema import DataError, load_examples
from coconut_lm.data.tokenization import tokenize_examples
from coconut_lm.errors import UserError

log = logging.getLogger(__name__)


class SequenceTooLongError(UserError, ValueError):
    """A training sequence does not fit the model's context."""


@dataclass
class SplitData:
    """One data file: the validated records and their tokens (same order, idx = position)."""

    path: str
    examples: list[dict]
    tokenized: list

    def __len__(self) -> int:
        return len(self.examples)


def load_split(path: str | Path, tokenizer, limit: int | None = None) -> SplitData:
    """Load, validate (raises `DataError`, naming the file) and tokenise a data file; a record
    holding a special token's text is refused (`InputError`, naming the file, record and field)."""

    examples = load_examples(path)
    if limit is not None:
        examples = examples[:limit]
    return SplitData(str(path), examples, tokenize_examples(examples, tokenizer, source=str(path)))


def curriculum_rng(seed: int, epoch: int) -> random.Random:
    """The RNG of an epoch's stage mixing (`uniform_prob`), the same on every process."""
    return random.Random(f"curriculum-{seed}-{epoch}")


def describe_example(split: SplitData, i: int) -> str:
    """`example i of FILE ('question start...')`, for messages."""
    question = split.examples[i]["question"]
    return f"example {i} of {split.path} ({question[:60]!r}{'...' if len(question) > 60 else ''})"


def build_stage_sequences(
    split: SplitData,
    stage: int,
    method: Method,
    options,
    ids,
    rng: random.Random | None,
    max_length: int | None,
    too_long: str = "error",
) -> list:
    """The sequences of every example at `stage`; index i is example i, or None if skipped."""

    out: list = []
    cut: list[int] = []  # skipped or truncated examples
    for i, example in enumerate(split.tokenized):
        seq = build_sequence(example, stage, method, options, ids, rng)
        if max_length is not None and len(seq.input_ids) > max_length:
            cut.append(i)
            if too_long == "error":
                raise SequenceTooLongError(
                    f"{describe_example(split, i)}: {len(seq.input_ids)} tokens at stage {stage}, more than the "
                    f"model's context of {max_length}; set data.too_long=skip or data.too_long=truncate"
                )
            if too_long == "skip":
                seq = None
            else:
                seq = Sequence(list(seq.input_ids[:max_length]), list(seq.labels[:max_length]))
        out.append(seq)
    if cut:
        action = "skipped" if too_long == "skip" else "truncated"
        log.warning(
            "data.too_long=%s: %s %d of %d examples of %s at stage %d (longer than %d tokens): %s",
            too_long,
            action,
            len(cut),
            len(out),
            split.path,
            stage,
            max_length,
            _first_indices(cut),
        )
    return out


def _first_indices(indices: list[int], n: int = 5) -> str:
    return ", ".join(map(str, indices[:n])) + (", ..." if len(indices) > n else "")


def check_duplicates(split: SplitData, policy: str) -> None:
    """Warn about (`warn`), refuse (`error`) or accept (`ignore`) records that repeat an earlier one."""

    first_seen: dict = {}
    repeats: list[int] = []
    for i, e in enumerate(split.examples):
        key = (e["question"], tuple(e["steps"]), e["answer"])
        if first_seen.setdefault(key, i) != i:
            repeats.append(i)
    if not repeats or policy == "ignore":
        return
    message = (
        f"{split.path}: {len(repeats)} records repeat an earlier record (records {_first_indices(repeats)}); "
        "set data.duplicates=ignore to accept them or data.duplicates=error to stop"
    )
    if policy == "error":
        raise DataError(message)
    log.warning("%s", message)


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """A seeded permutation of range(n), a function of (seed, epoch) only."""
    order = list(range(n))
    random.Random(f"order-{seed}-{epoch}").shuffle(order)
    return order


def global_batches(order: list[int], sequences: list, global_size: int) -> list[list[int]]:
    """The order (skipped examples removed) cut into full global batches."""
    kept = [i for i in order if sequences[i] is not None]
    return [kept[s : s + global_size] for s in range(0, len(kept) - global_size + 1, global_size)]


def micro_batch(chunk: list[int], batch_size: int, accum_step: int, world_size: int, rank: int) -> list[int]:
    """The example indices of one process's micro-batch in a global batch."""
    start = (accum_step * world_size + rank) * batch_size
    return chunk[start : start + batch_size]


def count_targets(sequence) -> int:
    """Tokens the next-token loss is computed on (labels after the first position)."""
    return sum(1 for label in sequence.labels[1:] if label != IGNORE_INDEX)


@dataclass
class EpochPlan:
    """One epoch: its stage, sequences and global batches (same on every process)."""

    epoch: int
    stage: int
    sequences: list
    batches: list[list[int]]


def plan_epoch(split: SplitData, epoch: int, cfg, ids, max_length: int | None, world_size: int) -> EpochPlan:
    """Stage, sequences and global batches of `epoch` under run config `cfg`."""
    stage = cfg.method.stage_for_epoch(epoch, cfg.curriculum)
    rng = curriculum_rng(cfg.training.seed, epoch)
    options = cfg.curriculum
    sequences = build_stage_sequences(split, stage, cfg.method, options, ids, rng, max_length, cfg.data.too_long)
    t = cfg.training
    size = t.batch_size * t.gradient_accumulation_steps * world_size
    batches = global_batches(epoch_order(len(sequences), t.seed, epoch), sequences, size)
    if not batches:
        raise ValueError(
            f"{split.path}: {sum(s is not None for s in sequences)} usable examples, fewer than one global batch "
            f"of {size} (batch_size x gradient_accumulation_steps x processes)"
        )
    return EpochPlan(epoch, stage, sequences, batches)
