"""`coconut_lm.load`: a committed checkpoint answers as `coconut-lm eval` does, batched or not."""

from __future__ import annotations

import json

import pytest
import torch

import coconut_lm
from coconut_lm.errors import ConfigError, InputError
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


def test_sampled_answers_repeat_with_a_seed(model):
    questions = [r["question"] for r in json.loads(DATA.read_text())[:2]]
    draw = dict(temperature=1.5, top_p=0.95, num_samples=3, max_new_tokens=8)
    outs = model.generate(questions, seed=0, **draw)
    assert [(o.question, o.sample) for o in outs] == [(q, s) for q in questions for s in range(3)]
    assert [o.text for o in model.generate(questions, seed=0, **draw)] == [o.text for o in outs]
    assert all(o.num_thoughts == 4 for o in outs)  # the thoughts come before any draw
    greedy = [o.text for o in model.generate(questions, max_new_tokens=8)]
    assert {o.text for o in outs} > set(greedy)  # drawn: an answer greedy decoding does not give
    nucleus = model.generate(questions, temperature=1.5, top_p=1e-9, num_samples=2, seed=1, max_new_tokens=8)
    assert [o.text for o in nucleus] == [t for t in greedy for _ in range(2)]  # the top token alone: greedy


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": -1.0}, "--temperature: must be >= 0"),
        ({"temperature": 1.0, "top_p": 0.0}, "--top-p: must be in"),
        ({"temperature": 1.0, "num_samples": 0}, "--num-samples: must be >= 1"),
        ({"num_samples": 2}, "--num-samples: greedy decoding"),
        ({"max_new_tokens": -1}, "--max-new-tokens: must be >= 0"),
    ],
)
def test_generate_checks_its_arguments_as_the_flags(model, options, message):
    with pytest.raises(ConfigError, match=message):
        model.generate("n1 n2 | [Q] n1 [R] n2", **options)
