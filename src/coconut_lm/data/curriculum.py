"""The curriculum of every method: (example, stage, method, curriculum) -> training sequence and
evaluation prompt, as pure functions (docs/method.md §2 and §4). The per-method rules (layouts,
stages, slot tokens) are `Method`'s; this module writes the tokens.

Labels are IGNORE_INDEX on the question, `<bot>`, the thoughts and `<eot>`; the rest is learnt.
`coconut_no_thought` (the official `no_thoughts`) removes the same steps as Coconut but writes
neither thoughts nor `<bot>`/`<eot>`.

    >>> seq = build_sequence(example, stage=2, method=Method.COCONUT, curriculum=CurriculumConfig(), ids=ids)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.tokenization import SpecialTokenIds, TokenizedExample


@dataclass
class Sequence:
    """One training sequence."""

    input_ids: list[int]
    """Token ids, thoughts as `<|latent|>` placeholders."""
    labels: list[int]
    """Same length; IGNORE_INDEX where no loss is taken."""


def _resolve_stage(
    example: TokenizedExample,
    stage: int,
    method: Method,
    options: CurriculumConfig,
    rng: random.Random | None,
) -> int:
    """The stage an example is trained at: the scheduled one, the final one, or a random one."""
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise ValueError(f"stage must be an integer >= 0, got {stage!r}")
    if method.follows_curriculum and options.uniform_prob > 0:
        if rng is None:
            raise ValueError("uniform_prob > 0 needs an explicit random.Random (rng=...)")
        if rng.random() < options.uniform_prob:
            return rng.randrange(len(example.steps) + 1)
    return method.layout_stage(stage, options)


def _icot_sequence(
    example: TokenizedExample, epoch: int, options: CurriculumConfig, rng: random.Random | None
) -> Sequence:
    """iCoT: drop the first epoch*icot_tokens_per_epoch (+ smoothing) chain tokens."""
    chain = [t for step in example.steps for t in step]
    n_remove = epoch * options.icot_tokens_per_epoch
    if options.icot_smoothing > 0:
        if rng is None:
            raise ValueError("icot_smoothing > 0 needs an explicit random.Random (rng=...)")
        n_remove += rng.randint(0, options.icot_smoothing)
    target = chain[min(n_remove, len(chain)) :] + example.answer
    return Sequence(example.question + target, [IGNORE_INDEX] * len(example.question) + target)


def build_sequence(
    example: TokenizedExample,
    stage: int,
    method: Method | str,
    options: CurriculumConfig,
    ids: SpecialTokenIds,
    rng: random.Random | None = None,
) -> Sequence:
    """The training sequence of `example` at `stage` (for iCoT: the epoch).

    `rng` is needed (and consumed) only for `uniform_prob` > 0 on the curriculum methods and
    for `icot_smoothing` > 0; pass one `random.Random(seed)` per epoch for reproducibility.
    """
    method = Method.parse(method)
    stage = _resolve_stage(example, stage, method, options, rng)
    if method is Method.ICOT:
        return _icot_sequence(example, stage, options, rng)
    layout = method.sequence_layout(len(example.steps), stage, options)
    prefix = list(example.question) + _slots(layout, method, ids)
    target = [t for step in example.steps[layout.n_skip_steps :] for t in step] + example.answer
    return Sequence(prefix + target, [IGNORE_INDEX] * len(prefix) + target)


def build_prompt(
    example: TokenizedExample,
    stage: int,
    method: Method | str,
    options: CurriculumConfig,
    ids: SpecialTokenIds,
) -> list[int]:
    """The evaluation prompt at `stage`: the question, then (Coconut) `<bot>`, thoughts, `<eot>`.

    Generation continues from it greedily. cot, no_cot, coconut_no_thought and iCoT prompt with
    the question alone; pause with the question and its pause tokens.
    """
    method = Method.parse(method)
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise ValueError(f"stage must be an integer >= 0, got {stage!r}")
    return list(example.question) + _slots(method.prompt_layout(len(example.steps), stage, options), method, ids)


def _slots(layout, method: Method, ids: SpecialTokenIds) -> list[int]:
    """The thought slots of a layout, between `<bot>` and `<eot>` when it has markers."""
    slots = [method.slot_token(ids)] * layout.n_slots
    return [ids.start_latent, *slots, ids.end_latent] if layout.markers else slots


def num_thoughts(example: TokenizedExample, stage: int, method: Method | str, options: CurriculumConfig) -> int:
    """Thought slots (`<|latent|>`, or `<|pause|>` for the pause methods) in the training
    sequence at `stage`, before any `uniform_prob` stage mixing."""
    return Method.parse(method).sequence_layout(len(example.steps), stage, options).n_slots
