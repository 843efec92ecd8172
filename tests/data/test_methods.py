"""`Method.ignored_settings` is true: a setting it names changes nothing a method builds, and
every other curriculum setting changes something."""

from __future__ import annotations

import dataclasses
import random

import pytest

from coconut_lm.data.curriculum import build_prompt, build_sequence
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.tokenization import SpecialTokenIds, TokenizedExample

IDS = SpecialTokenIds(start_latent=100, end_latent=101, latent=102, eos=0, pad=0, pause=103)
EXAMPLES = [
    TokenizedExample(idx=0, question=[1, 2], steps=[[10], [20, 21], [30]], answer=[40, 0]),
    TokenizedExample(idx=1, question=[1, 3], steps=[[11]], answer=[41, 0]),
]
OTHER = {
    "c_thought": 2,
    "max_latent_stage": 1,
    "pad_latent_to_max": True,
    "uniform_prob": 1.0,
    "icot_tokens_per_epoch": 1,
    "icot_smoothing": 3,
    "epochs_per_stage": 1,
    "thought_markers": False,
}
"""A value other than the default for each curriculum setting."""


def everything_built(method: Method, curriculum: CurriculumConfig) -> list:
    """Stages, training sequences and prompts of every epoch 0..12 (seeded draws)."""
    out = []
    for epoch in range(13):
        stage = method.stage_for_epoch(epoch, curriculum)
        rng = random.Random(epoch)
        for example in EXAMPLES:
            sequence = build_sequence(example, stage, method, curriculum, IDS, rng)
            out.append(
                (stage, sequence.input_ids, sequence.labels, build_prompt(example, stage, method, curriculum, IDS))
            )
    return out


def test_every_curriculum_setting_has_another_value_here():
    assert set(OTHER) == {f.name for f in dataclasses.fields(CurriculumConfig)}


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.value)
def test_ignored_settings_change_nothing_and_the_others_change_something(method):
    base = everything_built(method, CurriculumConfig())
    ignored = method.ignored_settings()
    for name, value in OTHER.items():
        changed = everything_built(method, CurriculumConfig(**{name: value}))
        if f"curriculum.{name}" in ignored:
            assert changed == base, f"{method.value} reads curriculum.{name}"
        else:
            assert changed != base, f"{method.value} ignores curriculum.{name}"


def test_only_the_methods_with_continuous_thoughts_read_the_thought_settings():
    for method in Method:
        assert ("thoughts.rescale" in method.ignored_settings()) == (not method.uses_thoughts)
