"""`set_num_thoughts`: only the thought slots the prompt builder put after the question change."""

from __future__ import annotations

import pytest

from coconut_lm.data.curriculum import build_prompt
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.tokenization import SpecialTokenIds, TokenizedExample
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import set_num_thoughts

IDS = SpecialTokenIds(start_latent=50, end_latent=51, latent=52, eos=0, pad=0, pause=53)
BOT, EOT, LAT, PAUSE = IDS.start_latent, IDS.end_latent, IDS.latent, IDS.pause
# A question that holds the slot and marker ids (as if they had slipped through): never touched.
QUESTION = [7, LAT, 8, BOT, 9, LAT, EOT, 10]
EXAMPLE = TokenizedExample(idx=0, question=QUESTION, steps=[[11], [12], [13]], answer=[14, 0])


def prompt(method: Method, stage: int, markers: bool = True) -> list[int]:
    options = CurriculumConfig(c_thought=1, max_latent_stage=3, thought_markers=markers)
    return build_prompt(EXAMPLE, stage, method, options, IDS)


@pytest.mark.parametrize("k", [0, 1, 2, 5])
@pytest.mark.parametrize("stage", [0, 2, 3])
def test_with_markers_only_the_slots_between_bot_and_eot_change(stage, k):
    before = prompt(Method.COCONUT, stage)
    assert before == QUESTION + [BOT] + [LAT] * stage + [EOT]
    assert set_num_thoughts(before, len(QUESTION), k, Method.COCONUT, IDS) == QUESTION + [BOT] + [LAT] * k + [EOT]


@pytest.mark.parametrize("k", [0, 1, 4])
@pytest.mark.parametrize("method, slot", [(Method.COCONUT, LAT), (Method.PAUSE, PAUSE)])
def test_without_markers_only_the_trailing_slots_change(method, slot, k):
    before = prompt(method, 2, markers=False)
    n = 2 if method is Method.COCONUT else 3  # pause: the final stage's count
    assert before == QUESTION + [slot] * n
    assert set_num_thoughts(before, len(QUESTION), k, method, IDS) == QUESTION + [slot] * k


def test_the_question_is_kept_even_when_it_looks_like_slots():
    # The old rule replaced the span from the first to the last slot token: the question's end,
    # and `<bot>`, vanished.
    out = set_num_thoughts(prompt(Method.COCONUT, 1), len(QUESTION), 2, Method.COCONUT, IDS)
    assert out[: len(QUESTION)] == QUESTION and out[len(QUESTION) :] == [BOT, LAT, LAT, EOT]


@pytest.mark.parametrize(
    "tail",
    [
        [BOT, LAT, LAT],  # <bot> without <eot>
        [BOT],
        [LAT, 99, LAT],  # something else among the slots
        [BOT, LAT, 99, EOT],
        [99],
    ],
)
def test_a_prompt_not_of_the_builders_shape_is_an_error(tail):
    with pytest.raises(ValueError, match="not the prompt builder's"):
        set_num_thoughts(QUESTION + tail, len(QUESTION), 1, Method.COCONUT, IDS)


def test_methods_without_slots_and_negative_counts_are_refused():
    with pytest.raises(InputError, match="--num-thoughts: method cot uses no thoughts"):
        set_num_thoughts(prompt(Method.COT, 0), len(QUESTION), 1, Method.COT, IDS)
    with pytest.raises(InputError, match="--num-thoughts: must be >= 0, got -1"):
        set_num_thoughts(prompt(Method.COCONUT, 1), len(QUESTION), -1, Method.COCONUT, IDS)
