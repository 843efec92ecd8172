"""The training methods of the paper's Table 1 (docs/method.md §4) and every rule that differs
between them, in one place: the stage schedule, the final stage, where thought slots go in a
training sequence and in a prompt, whether `<bot>`/`<eot>` surround them, and which token fills
them. The curriculum, the trainer, evaluation, analysis and the config all ask a `Method`.

Coconut at stage k (as the official `get_cot_latent_dataset`):

    question <bot> <latent>*(k*c) <eot> steps[k:] answer          (k <= max_latent_stage)
    question <bot> <latent>*(m*c) <eot> answer                     (k >  max_latent_stage)

where m = max_latent_stage with `pad_latent_to_max`, else min(len(steps), max_latent_stage).
Official details kept on purpose: at k <= max_latent_stage an example with fewer than k steps
still gets k*c thoughts whatever `pad_latent_to_max` says, while its evaluation prompt
(`get_question_latent_dataset`) gets min(k, m)*c thoughts.

    >>> Method.COCONUT.sequence_layout(n_steps=3, stage=2, curriculum=CurriculumConfig(c_thought=2))
    Layout(n_skip_steps=2, n_slots=4, markers=True)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from coconut_lm.options import Bool, Int, check, doc, settings

ICOT_FINAL_STAGE = 1_000_000
"""iCoT's final stage (an epoch): late enough that every chain is fully removed."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@settings
class CurriculumConfig:
    """The stage schedule and how sequences are built at a stage (docs/method.md §2)."""

    c_thought: Int = doc(1, "Continuous thoughts per removed reasoning step (c).")
    max_latent_stage: Int = doc(6, "Last stage that removes one more step (past it: all steps).")
    pad_latent_to_max: Bool = doc(False, "Always stage*c thoughts, even for examples with fewer steps.")
    uniform_prob: float = doc(0.0, "Probability of training an example at a random stage.")
    icot_tokens_per_epoch: Int = doc(8, "iCoT: CoT tokens removed from the front per epoch.")
    icot_smoothing: Int = doc(0, "iCoT: remove up to this many extra tokens at random.")
    epochs_per_stage: Int = doc(5, "Epochs per stage; stage = epoch // epochs_per_stage.")
    thought_markers: Bool = doc(
        True,
        "Write <bot>/<eot> around the thought slots. false: the thoughts follow the question directly, "
        "so the first thought is the question's last hidden state and the step after the last thought "
        "is predicted at that thought (docs/method.md §2).",
    )

    def __post_init__(self) -> None:
        minimums = {"c_thought": 0, "max_latent_stage": 0, "icot_tokens_per_epoch": 1, "icot_smoothing": 0}
        for name, low in {**minimums, "epochs_per_stage": 1}.items():
            value = getattr(self, name)
            check(_is_int(value) and value >= low, f"curriculum.{name}", f"must be an integer >= {low}, got {value!r}")
        for name in ("pad_latent_to_max", "thought_markers"):
            check(isinstance(getattr(self, name), bool), f"curriculum.{name}", "must be true or false")
        p = self.uniform_prob
        check(
            isinstance(p, (int, float)) and not isinstance(p, bool) and 0.0 <= p <= 1.0,
            "curriculum.uniform_prob",
            f"must be a probability in [0, 1], got {p!r}",
        )


@dataclass(frozen=True)
class Layout:
    """Where an example's steps go at one stage."""

    n_skip_steps: int
    """Leading steps removed from the language chain."""
    n_slots: int
    """Thought slots written between the question and the remaining chain."""
    markers: bool
    """Whether `<bot>` and `<eot>` surround the slots."""


class Method(str, Enum):
    """How an example is turned into a training sequence and a prompt, stage by stage."""

    COT = "cot"
    """Chain of thought: every step in language, at every stage."""
    NO_COT = "no_cot"
    """Question straight to answer."""
    COCONUT = "coconut"
    """The curriculum: stage k replaces the first k steps by k*c continuous thoughts."""
    COCONUT_NO_CURRICULUM = "coconut_no_curriculum"
    """Coconut trained at the final stage from the start."""
    COCONUT_NO_THOUGHT = "coconut_no_thought"
    """The curriculum removes steps but inserts no thoughts (official `no_thoughts`)."""
    PAUSE = "pause"
    """Pause tokens (as many as Coconut's thoughts) between question and answer, No-CoT style."""
    PAUSE_AS_THOUGHT = "pause_as_thought"
    """The Coconut curriculum with pause tokens in place of thoughts."""
    ICOT = "icot"
    """Stepwise internalisation (Deng et al. 2024): CoT tokens removed from the front over epochs."""

    @classmethod
    def parse(cls, value: str | Method) -> Method:
        """`Method` from its name, with an error that lists the valid names."""
        if isinstance(value, Method):
            return value
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown method {value!r}; expected one of: {names}") from None

    # -- what the model and tokenizer need ------------------------------------------------------

    @property
    def uses_thoughts(self) -> bool:
        """Whether sequences hold continuous thoughts (hidden-state feedback)."""
        return self in (Method.COCONUT, Method.COCONUT_NO_CURRICULUM)

    @property
    def uses_pause(self) -> bool:
        """Whether thought slots hold the learned `<|pause|>` token (the tokenizer needs it)."""
        return self in (Method.PAUSE, Method.PAUSE_AS_THOUGHT)

    @property
    def has_markers(self) -> bool:
        """Whether prompts and sequences carry `<bot>`/`<eot>` around the thought slots (unless
        `curriculum.thought_markers` is false)."""
        return self in (Method.COCONUT, Method.COCONUT_NO_CURRICULUM, Method.PAUSE_AS_THOUGHT)

    @property
    def needs_special_embeddings(self) -> bool:
        """Whether the model's embeddings must hold rows for the added special tokens."""
        return self.uses_thoughts or self.uses_pause

    def slot_token(self, ids) -> int | None:
        """The token written at each thought slot (`ids`: `SpecialTokenIds`); None for methods
        whose sequences have no slots."""
        if self.uses_thoughts:
            return ids.latent
        if not self.uses_pause:
            return None
        if ids.pause is None:
            raise ValueError(f"method {self.value!r} needs <|pause|>: add_special_tokens(with_pause=True)")
        return ids.pause

    def check_curriculum(self, curriculum: CurriculumConfig) -> None:
        """Raise `ConfigError` if this method cannot run with these curriculum settings."""
        if self.uses_thoughts or self is Method.PAUSE_AS_THOUGHT:
            check(curriculum.c_thought >= 1, "curriculum.c_thought", f"must be >= 1 with {self.value}")
        if self is Method.PAUSE:
            check(
                curriculum.c_thought * curriculum.max_latent_stage >= 1,
                "curriculum",
                "pause needs c_thought * max_latent_stage >= 1 pause tokens",
            )

    def ignored_settings(self) -> frozenset[str]:
        """The settings (dotted config keys) this method never reads: a value given for one of
        them changes nothing, so a run warns about it and a resumed run may change it freely.

            >>> sorted(Method.COT.ignored_settings())[:2]
            ['curriculum.c_thought', 'curriculum.epochs_per_stage']
        """
        used: set[str] = set()
        if self.follows_curriculum:  # the scheduled stage, and stage mixing
            used |= {"epochs_per_stage", "uniform_prob", "max_latent_stage"}
        if self.uses_thoughts or self.uses_pause:  # how many slots: c per step, up to max_latent_stage
            used |= {"c_thought", "max_latent_stage", "pad_latent_to_max"}
        if self.has_markers:
            used.add("thought_markers")
        if self is Method.ICOT:
            used |= {"icot_tokens_per_epoch", "icot_smoothing"}
        ignored = {f"curriculum.{f.name}" for f in fields(CurriculumConfig) if f.name not in used}
        if not self.uses_thoughts:  # no hidden state is fed back
            ignored |= {"thoughts.update", "thoughts.iterations", "thoughts.rescale"}
        return frozenset(ignored)

    def why_no_adaptive_thoughts(self, curriculum: CurriculumConfig) -> str | None:
        """Why a model of this method and curriculum cannot decide when to stop thinking (a stop
        head reads each thought, and `<eot>` ends them), or None when it can. Its adaptive prompt
        is the question and `<bot>`; it thinks up to `max_latent_stage * c_thought` thoughts."""
        if not self.uses_thoughts:
            return f"method {self.value} has no continuous thoughts to stop"
        if not curriculum.thought_markers:
            return "adaptive thoughts need a model trained with thought markers (<eot> ends them)"
        if curriculum.max_latent_stage * curriculum.c_thought < 1:
            return "the run gives no thoughts (max_latent_stage * c_thought = 0)"
        return None

    # -- the schedule ---------------------------------------------------------------------------

    @property
    def follows_curriculum(self) -> bool:
        """Whether the sequence follows the scheduled stage (and `uniform_prob` stage mixing)."""
        return self in (Method.COCONUT, Method.COCONUT_NO_THOUGHT, Method.PAUSE_AS_THOUGHT)

    def final_stage(self, curriculum: CurriculumConfig) -> int:
        """The stage a run ends at (and evaluates with), where no language step is left.

        Curriculum methods: max_latent_stage + 1 (the first stage that removes every step; its
        prompt equals max_latent_stage's). cot, no_cot, pause: 0 (stage-independent). iCoT: an
        epoch late enough that every chain is gone.
        """
        if self.follows_curriculum or self is Method.COCONUT_NO_CURRICULUM:
            return curriculum.max_latent_stage + 1
        if self is Method.ICOT:
            return ICOT_FINAL_STAGE
        return 0

    def layout_stage(self, stage: int, curriculum: CurriculumConfig) -> int:
        """The stage whose layout a sequence of this method takes at `stage`: Coconut w/o curriculum
        trains and is prompted at the final stage, whatever the schedule says; others at `stage`."""
        return self.final_stage(curriculum) if self is Method.COCONUT_NO_CURRICULUM else stage

    def stage_for_epoch(self, epoch: int, curriculum: CurriculumConfig) -> int:
        """The stage trained at `epoch` (0-based)."""
        if self is Method.ICOT:
            return epoch  # iCoT's schedule is per epoch (tokens removed per epoch)
        if self in (Method.COT, Method.NO_COT, Method.PAUSE):
            return 0
        return self.layout_stage(min(epoch // curriculum.epochs_per_stage, self.final_stage(curriculum)), curriculum)

    # -- layouts --------------------------------------------------------------------------------

    def sequence_layout(self, n_steps: int, stage: int, curriculum: CurriculumConfig) -> Layout:
        """The training sequence's layout at a resolved stage (not iCoT, which cuts tokens)."""
        stage = self.layout_stage(stage, curriculum)
        if self is Method.COT:
            return Layout(0, 0, markers=False)
        if self is Method.NO_COT:
            return Layout(n_steps, 0, markers=False)
        if self is Method.ICOT:
            return Layout(0, 0, markers=False)
        if self is Method.PAUSE:
            return Layout(n_steps, self.prompt_layout(n_steps, stage, curriculum).n_slots, markers=False)
        c = curriculum.c_thought
        if stage > curriculum.max_latent_stage:
            n_skip, n_slots = n_steps, _thought_cap(n_steps, curriculum) * c
        else:
            n_skip, n_slots = min(stage, n_steps), stage * c
        if self is Method.COCONUT_NO_THOUGHT:
            return Layout(n_skip, 0, markers=False)
        return Layout(n_skip, n_slots, markers=curriculum.thought_markers)

    def prompt_layout(self, n_steps: int, stage: int, curriculum: CurriculumConfig) -> Layout:
        """The evaluation prompt's layout: the question, then the slots (official
        `get_question_latent_dataset`); methods without slots prompt with the question alone."""
        if self is Method.PAUSE:  # its pauses: as many as Coconut's thoughts at the final stage
            stage = Method.COCONUT.final_stage(curriculum)
        elif not self.has_markers:
            return Layout(n_steps, 0, markers=False)
        stage = self.layout_stage(stage, curriculum)
        n_slots = min(_thought_cap(n_steps, curriculum), stage) * curriculum.c_thought
        return Layout(n_steps, n_slots, markers=self.has_markers and curriculum.thought_markers)


def _thought_cap(n_steps: int, curriculum: CurriculumConfig) -> int:
    """Steps that get thoughts at the final stage: max_latent_stage, or fewer for short chains."""
    if curriculum.pad_latent_to_max:
        return curriculum.max_latent_stage
    return min(n_steps, curriculum.max_latent_stage)
