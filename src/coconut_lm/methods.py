"""The training methods of the paper's Table 1 (docs/method.md §4), as one enum."""

from __future__ import annotations

from enum import Enum


class Method(str, Enum):
    """How an example is turned into a training sequence, stage by stage."""

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

    @property
    def uses_thoughts(self) -> bool:
        """Whether sequences hold continuous thoughts (hidden-state feedback)."""
        return self in (Method.COCONUT, Method.COCONUT_NO_CURRICULUM)

    @property
    def uses_pause(self) -> bool:
        """Whether the tokenizer needs the `<|pause|>` token."""
        return self in (Method.PAUSE, Method.PAUSE_AS_THOUGHT)

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
