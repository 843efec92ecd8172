"""`coconut_lm.load`: a committed checkpoint answers as `coconut-lm eval` does, batched or not."""

from __future__ import annotations

import json

import pytest
import torch

import coconut_lm
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import evaluate_checkpoint
from tests.paths import REPO

SYMBOLIC = REPO / "experiments" / "symbolic"
CHECKPOINT = SYMBOLIC / "checkpoints" / "coconut_m2_heldout_s0"
DATA = SYMBOLIC / "data" / "m2_heldout_test.json"


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return coconut_lm.load(str(CHECKPOINT), device="cpu")


def test_load_restores_the_run_and_answers_as_eval_does(model):
    assert model.checkpoint["stage"] == model.stage == 5 and model.method.value == "coconut"
    assert model.config.thoughts.rescale and not model.config.curriculum.thought_markers  # the run's own settings
    records = json.loads(DATA.read_text())[:8]
    batched = model.generate([r["question"] for r in records])
    alone = [model.generate(r["question"])[0] for r in records]
    assert [g.text for g in batched] == [g.text for g in alone]
    predictions = evaluate_checkpoint(str(CHECKPOINT), str(DATA), limit=8, device="cpu").predictions
    assert [g.answer for g in batched] == [p["prediction"] for p in predictions]
    assert all(g.num_thoughts == 4 for g in batched)


def test_thoughts_shown_and_counted(model):
    question = json.loads(DATA.read_text())[0]["question"]
    out = model.generate(question, num_thoughts=2, show_thoughts=3)[0]
    assert out.num_thoughts == 2 and len(out.thoughts) == 2 and all(len(t) == 3 for t in out.thoughts)
    assert model.prompt(question, num_thoughts=0)[-1] != model.ids.latent
    with pytest.raises(InputError, match="special token"):
        model.generate(question + " <|latent|>")
