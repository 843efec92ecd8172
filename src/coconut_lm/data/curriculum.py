"""The curriculum of every method: (example, stage, method, options) -> training sequence and
evaluation prompt, as pure functions (docs/method.md §2 and §4).

Coconut at stage k (as the official `get_cot_latent_dataset`):

    question <bot> <latent>*(k*c) <eot> steps[k:] answer          (k <= max_latent_stage)
    question <bot> <latent>*(m*c) <eot> answer                     (k >  max_latent_stage)

where m = max_latent_stage with `pad_latent_to_max`, else min(len(steps), max_latent_stage).
Labels are IGNORE_INDEX on the question, `<bot>`, the thoughts and `<eot>`; the rest is learnt.
Official details kept on purpose: at k <= max_latent_stage an example with fewer than k steps
still gets k*c thoughts whatever `pad_latent_to_max` says, while its evaluation prompt
(`get_question_latent_dataset`) gets min(k, m)*c thoughts. `coconut_no_thought` (the official
`no_thoughts`) removes the same steps but writes neither thoughts nor `<bot>`/`<eot>`.

    >>> seq = build_sequence(example, stage=2, method=Method.COCONUT, options=CurriculumOptions(), ids=ids)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.tokenization import SpecialTokenIds, TokenizedExample
from coconut_lm.methods import Method

CURRICULUM_METHODS = (Method.COCONUT, Method.COCONUT_NO_THOUGHT, Method.PAUSE_AS_THOUGHT)
"""Methods whose sequence follows the scheduled stage (and `uniform_prob` stage mixing)."""

ICOT_FINAL_STAGE = 1_000_000
"""iCoT's final stage (an epoch): late enough that every chain is fully removed."""


@dataclass
class CurriculumOptions:
    """How sequences are built from examples; the stage itself is passed separately."""

    c_thought: int = 1
    """Continuous thoughts per removed reasoning step (c in the paper)."""
    max_latent_stage: int = 6
    """Last stage that replaces one more step; later stages remove all steps."""
    pad_latent_to_max: bool = False
    """Past max_latent_stage, give every example max_latent_stage*c thoughts (else one per step)."""
    uniform_prob: float = 0.0
    """Curriculum methods: probability of training an example at a stage drawn from 0..len(steps)."""
    icot_tokens_per_epoch: int = 8
    """iCoT: chain-of-thought tokens removed from the front per epoch."""
    icot_smoothing: int = 0
    """iCoT: remove up to this many extra tokens, drawn uniformly per example (0 = off)."""

    def __post_init__(self) -> None:
        minimums = {"c_thought": 0, "max_latent_stage": 0, "icot_tokens_per_epoch": 1, "icot_smoothing": 0}
        for name, low in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"CurriculumOptions.{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.pad_latent_to_max, bool):
            raise ValueError(f"CurriculumOptions.pad_latent_to_max must be a bool, got {self.pad_latent_to_max!r}")
        p = self.uniform_prob
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"CurriculumOptions.uniform_prob must be a probability in [0, 1], got {p!r}")


@dataclass
class Sequence:
    """One training sequence."""

    input_ids: list[int]
    """Token ids, thoughts as `<|latent|>` placeholders."""
    labels: list[int]
    """Same length; IGNORE_INDEX where no loss is taken."""


@dataclass(frozen=True)
class _Layout:
    """Where an example's steps go at one stage."""

    n_skip_steps: int
    """Leading steps removed from the language chain."""
    n_slots: int
    """Thought slots written between the question and the remaining chain."""
    markers: bool
    """Whether `<bot>` and `<eot>` surround the slots."""


def final_stage(method: Method | str, options: CurriculumOptions) -> int:
    """The stage a run ends at (and evaluates with), where no language step is left.

    Curriculum methods: max_latent_stage + 1 (the first stage that removes every step; its
    prompt equals max_latent_stage's). cot, no_cot, pause: 0 (stage-independent). iCoT: an
    epoch late enough that every chain is gone.
    """
    method = Method.parse(method)
    if method in CURRICULUM_METHODS or method is Method.COCONUT_NO_CURRICULUM:
        return options.max_latent_stage + 1
    if method is Method.ICOT:
        return ICOT_FINAL_STAGE
    return 0


def _curriculum_thoughts(n_steps: int, stage: int, options: CurriculumOptions) -> tuple[int, int]:
    """(steps removed, thought slots) of the Coconut curriculum at `stage`."""
    if stage > options.max_latent_stage:
        cap = options.max_latent_stage if options.pad_latent_to_max else min(n_steps, options.max_latent_stage)
        return n_steps, cap * options.c_thought
    return min(stage, n_steps), stage * options.c_thought


def _prompt_thoughts(n_steps: int, stage: int, options: CurriculumOptions) -> int:
    """Thought slots of the evaluation prompt at `stage` (official `get_question_latent_dataset`)."""
    cap = options.max_latent_stage if options.pad_latent_to_max else min(n_steps, options.max_latent_stage)
    return min(cap, stage) * options.c_thought


def _layout(n_steps: int, stage: int, method: Method, options: CurriculumOptions) -> _Layout:
    """The layout of every method but iCoT, at an already resolved stage."""
    if method is Method.COT:
        return _Layout(0, 0, markers=False)
    if method is Method.NO_COT:
        return _Layout(n_steps, 0, markers=False)
    if method is Method.PAUSE:
        final = final_stage(Method.COCONUT, options)
        return _Layout(n_steps, _prompt_thoughts(n_steps, final, options), markers=False)
    n_skip, n_slots = _curriculum_thoughts(n_steps, stage, options)
    if method is Method.COCONUT_NO_THOUGHT:
        return _Layout(n_skip, 0, markers=False)
    return _Layout(n_skip, n_slots, markers=True)


def _slot_id(method: Method, ids: SpecialTokenIds) -> int:
    """The token written at each thought slot: `<|latent|>`, or `<|pause|>` for pause methods."""
    if not method.uses_pause:
        return ids.latent
    if ids.pause is None:
        raise ValueError(f"method {method.value!r} needs <|pause|>: add_special_tokens(with_pause=True)")
    return ids.pause


def _resolve_stage(
    example: TokenizedExample,
    stage: int,
    method: Method,
    options: CurriculumOptions,
    rng: random.Random | None,
) -> int:
    """The stage an example is trained at: the scheduled one, the final one, or a random one."""
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise ValueError(f"stage must be an integer >= 0, got {stage!r}")
    if method is Method.COCONUT_NO_CURRICULUM:
        return final_stage(method, options)
    if method in CURRICULUM_METHODS and options.uniform_prob > 0:
        if rng is None:
            raise ValueError("uniform_prob > 0 needs an explicit random.Random (rng=...)")
        if rng.random() < options.uniform_prob:
            return rng.randrange(len(example.steps) + 1)
    return stage


def _icot_sequence(
    example: TokenizedExample, epoch: int, options: CurriculumOptions, rng: random.Random | None
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
    options: CurriculumOptions,
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
    layout = _layout(len(example.steps), stage, method, options)
    prefix = list(example.question)
    if layout.markers:
        prefix.append(ids.start_latent)
    prefix += [_slot_id(method, ids)] * layout.n_slots
    if layout.markers:
        prefix.append(ids.end_latent)
    target = [t for step in example.steps[layout.n_skip_steps :] for t in step] + example.answer
    return Sequence(prefix + target, [IGNORE_INDEX] * len(prefix) + target)


def build_prompt(
    example: TokenizedExample,
    stage: int,
    method: Method | str,
    options: CurriculumOptions,
    ids: SpecialTokenIds,
) -> list[int]:
    """The evaluation prompt at `stage`: the question, then (Coconut) `<bot>`, thoughts, `<eot>`.

    Generation continues from it greedily. cot, no_cot, coconut_no_thought and iCoT prompt with
    the question alone; pause with the question and its pause tokens.
    """
    method = Method.parse(method)
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise ValueError(f"stage must be an integer >= 0, got {stage!r}")
    n_steps = len(example.steps)
    if method is Method.PAUSE:
        return example.question + [_slot_id(method, ids)] * _layout(n_steps, 0, method, options).n_slots
    if method not in (Method.COCONUT, Method.COCONUT_NO_CURRICULUM, Method.PAUSE_AS_THOUGHT):
        return list(example.question)
    if method is Method.COCONUT_NO_CURRICULUM:
        stage = final_stage(method, options)
    n_slots = _prompt_thoughts(n_steps, stage, options)
    return example.question + [ids.start_latent] + [_slot_id(method, ids)] * n_slots + [ids.end_latent]


def num_thoughts(example: TokenizedExample, stage: int, method: Method | str, options: CurriculumOptions) -> int:
    """Thought slots (`<|latent|>`, or `<|pause|>` for the pause methods) in the training
    sequence at `stage`, before any `uniform_prob` stage mixing."""
    method = Method.parse(method)
    if method is Method.ICOT:
        return 0
    if method is Method.COCONUT_NO_CURRICULUM:
        stage = final_stage(method, options)
    return _layout(len(example.steps), stage, method, options).n_slots
