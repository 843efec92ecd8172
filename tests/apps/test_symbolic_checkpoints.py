"""The symbolic study's committed checkpoints load (manifest checked) and `coconut-lm eval` reads
them on the first questions of the split they were tested on."""

from __future__ import annotations

import re

import pytest
import torch

from coconut_lm.eval.evaluate import evaluate_checkpoint
from tests.paths import REPO

SYMBOLIC = REPO / "experiments" / "symbolic"
TEST_SPLIT = {  # checkpoint -> its held-out split
    "cot_stage0_h14_s0": "test.json",
    "coconut_h16_s0": "test.json",
    "cot_h16_s0": "test.json",
    "coconut_m0_s0": "m0_test.json",
    "cot_m0_s0": "m0_test.json",
    "coconut_m2_s0": "m2_test.json",
    "cot_m2_s0": "m2_test.json",
    "coconut_g1_s0": "paper_test.json",
    "cot_g1_s0": "paper_test.json",
}


def test_every_committed_checkpoint_is_listed():
    assert sorted(p.name for p in (SYMBOLIC / "checkpoints").iterdir()) == sorted(TEST_SPLIT)


@pytest.mark.parametrize("name", sorted(TEST_SPLIT))
def test_committed_checkpoint_evaluates(name):
    torch.set_num_threads(1)
    data = SYMBOLIC / "data" / TEST_SPLIT[name]
    result = evaluate_checkpoint(str(SYMBOLIC / "checkpoints" / name), str(data), limit=16, device="cpu")
    assert result.num_questions == 16
    assert all(re.fullmatch(r"n\d+", row["prediction"].strip()) for row in result.predictions)  # a node each
    if name.startswith("cot"):  # the written chain is scored (one line: no newline tokens)
        assert result.cot_exact_match > 0
