"""The flags of `coconut-lm eval` and `coconut-lm generate` as settings: each range check once.

`cli/eval.py` derives the flags from these dataclasses (`options.add_arguments`) and builds them
with `options.from_arguments`, so a bad value is one line naming the flag, before any model is
loaded; `evaluate_checkpoint` checks its arguments with `check_flags`, so library callers get the
same checks. A stage above the method's last one is refused once the checkpoint says which
method it is (`check_stage`).

    >>> EvalSettings(limit=0)
    ConfigError: --limit: must be >= 1, got 0 (leave it out for all)
"""

from __future__ import annotations

from typing import Literal

from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.errors import InputError
from coconut_lm.options import Float, Int, check, doc, flag, settings, validate


def _at_least(value: int | None, low: int, name: str, unset: str) -> None:
    """`--name` is None or an integer >= `low` (`unset` says what leaving it out means)."""
    ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= low)
    check(ok, "--" + name.replace("_", "-"), f"must be >= {low}, got {value!r} (leave it out for {unset})")


@settings
class EvalSettings:
    """`coconut-lm eval`'s flags (besides the checkpoint, `--data`, `--predictions`, `--device`)."""

    num_thoughts: Int | None = doc(None, "Continuous thoughts per question instead of the stage's (0 or more).")
    thoughts: Literal["fixed", "adaptive"] = doc(
        "fixed", "fixed: the stage's (or --num-thoughts) thoughts; adaptive: the checkpoint's stop head decides."
    )
    jacobi_iterations: Int | None = doc(None, "Compute the thoughts by T Jacobi iterations; default: the run's way.")
    stage: Int | None = doc(None, "Curriculum stage of the prompts; default: the checkpoint's.")
    max_new_tokens: Int | None = doc(None, "Tokens generated per question; default: the run's (0 means 0).")
    too_long: Literal["error", "skip", "truncate"] | None = doc(
        None, "A prompt with no room for the new tokens: error, skip or truncate; default: the run's data.too_long."
    )
    batch_size: Int | None = doc(None, "Questions per generate call; default: the run's evaluation.batch_size.")
    limit: Int | None = doc(None, "Evaluate only the first N examples.")

    def __post_init__(self) -> None:
        _at_least(self.num_thoughts, 0, "num_thoughts", "the stage's")
        _at_least(self.jacobi_iterations, 1, "jacobi_iterations", "the run's setting")
        _at_least(self.stage, 0, "stage", "the checkpoint's")
        _at_least(self.max_new_tokens, 0, "max_new_tokens", "the run's")
        _at_least(self.batch_size, 1, "batch_size", "the run's")
        _at_least(self.limit, 1, "limit", "all")
        check(
            self.thoughts == "fixed" or self.num_thoughts is None,
            "--num-thoughts",
            "cannot be given with --thoughts adaptive (the stop head decides how many)",
        )


@settings
class GenerateSettings:
    """`coconut-lm generate`'s flags (besides the checkpoint, the question and `--device`)."""

    num_thoughts: Int | None = doc(None, "Continuous thoughts instead of the stage's (0 or more).")
    stage: Int | None = doc(None, "Curriculum stage of the prompt; default: the checkpoint's.")
    max_new_tokens: Int = doc(128, "Tokens generated after the prompt (0 means 0).")
    show_thoughts: Int = doc(0, "Print each thought's N most likely tokens, read through the LM head (0: none).")
    temperature: Float = doc(0.0, "Sample each new token at this temperature; 0: greedy (the most likely token).")
    top_p: Float = doc(1.0, "Sample only from the most likely tokens whose probability adds up to P (0 < P <= 1).")
    num_samples: Int = doc(1, "Answers drawn per question (with --temperature > 0).")
    seed: Int | None = doc(None, "Seed of the sampling: the same answers every time (None: fresh draws).")

    def __post_init__(self) -> None:
        _at_least(self.num_thoughts, 0, "num_thoughts", "the stage's")
        _at_least(self.stage, 0, "stage", "the checkpoint's")
        _at_least(self.max_new_tokens, 0, "max_new_tokens", "128")
        _at_least(self.show_thoughts, 0, "show_thoughts", "0")
        _at_least(self.num_samples, 1, "num_samples", "1")
        _at_least(self.seed, 0, "seed", "a fresh draw")
        check(self.temperature >= 0, "--temperature", f"must be >= 0 (0: greedy), got {self.temperature!r}")
        check(0 < self.top_p <= 1, "--top-p", f"must be in (0, 1], got {self.top_p!r}")
        # Greedy decoding draws nothing: a sampling flag given with it would change nothing.
        sample = "give --temperature > 0 to sample"
        check(
            self.temperature > 0 or self.num_samples == 1,
            "--num-samples",
            f"greedy decoding (--temperature 0) gives the same answer every time; {sample}",
        )
        check(self.temperature > 0 or self.top_p == 1, "--top-p", f"has no effect on greedy decoding; {sample}")
        check(self.temperature > 0 or self.seed is None, "--seed", f"has no effect on greedy decoding; {sample}")


def check_flags(cls: type, values: dict) -> object:
    """`cls` (`EvalSettings`, `GenerateSettings`) from keyword values, checked as the flags are
    (types, choices, ranges); `ConfigError` names the flag."""
    return validate(cls, values, key_of=lambda loc: flag(str(loc[0])))


def check_stage(stage: int, method: Method, curriculum: CurriculumConfig) -> None:
    """Raise `InputError` naming `--stage` when `stage` is past the method's final stage."""
    last = method.final_stage(curriculum)
    if stage > last:
        raise InputError(f"--stage: method {method.value} has stages 0 to {last} in this run, got {stage}")
