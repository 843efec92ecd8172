"""The symbolic study's committed checkpoints score on their whole test split what results.json
says, and the README tables are the ones results.json gives (`experiments/symbolic/tables.py`)."""

from __future__ import annotations

import importlib.util
import re

import pytest
import torch

from coconut_lm.eval.evaluate import evaluate_checkpoint
from tests.paths import REPO

SYMBOLIC = REPO / "experiments" / "symbolic"
TEST_SPLIT = {  # checkpoint -> (its held-out split, its entry in results.json)
    "cot_stage0_h14_s0": ("test.json", None),
    "cot_stage0_demo_s0": ("demo_test.json", None),
    "coconut_demo_s0": ("demo_test.json", "demo/coconut/s0"),
    "cot_demo_s0": ("demo_test.json", "demo/cot/s0"),
    "coconut_h16_s0": ("test.json", "h16/coconut/s0"),
    "cot_h16_s0": ("test.json", "h16/cot/s0"),
    "coconut_m0_s0": ("m0_test.json", "m0/coconut/s0"),
    "cot_m0_s0": ("m0_test.json", "m0/cot/s0"),
    "coconut_m2_s0": ("m2_test.json", "m2/coconut/s0"),
    "cot_m2_s0": ("m2_test.json", "m2/cot/s0"),
    "coconut_m2_heldout_s0": ("m2_heldout_test.json", "m2_heldout/coconut/s0"),
    "cot_m2_heldout_s0": ("m2_heldout_test.json", "m2_heldout/cot/s0"),
    "coconut_g1_s0": ("paper_test.json", "g1/coconut/s0"),
    "cot_g1_s0": ("paper_test.json", "g1/cot/s0"),
}


def load_tables_module():
    spec = importlib.util.spec_from_file_location("symbolic_tables", SYMBOLIC / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_committed_checkpoint_is_listed():
    assert sorted(p.name for p in (SYMBOLIC / "checkpoints").iterdir()) == sorted(TEST_SPLIT)


@pytest.mark.parametrize("name", sorted(TEST_SPLIT))
def test_committed_checkpoint_scores_what_results_json_says(name):
    torch.set_num_threads(1)
    split, key = TEST_SPLIT[name]
    result = evaluate_checkpoint(str(SYMBOLIC / "checkpoints" / name), str(SYMBOLIC / "data" / split), device="cpu")
    assert all(re.fullmatch(r"n\d+", row["prediction"].strip()) for row in result.predictions[:16])  # a node each
    if name.startswith("cot"):  # the written chain is scored (one line: no newline tokens)
        assert result.cot_exact_match > 0
    if key is not None:
        recorded = load_tables_module().load_results()[key]
        assert result.num_questions == 500
        assert abs(result.accuracy - recorded["accuracy"]) <= 0.005
        if "candidate_accuracy" in recorded:
            assert abs(result.candidate_accuracy - recorded["candidate_accuracy"]) <= 0.005


def test_readme_tables_are_written_from_results_json():
    tables = load_tables_module()
    for path in tables.READMES:
        text = path.read_text()
        assert tables.render(text) == text, f"{path}: run python experiments/symbolic/tables.py"
    assert any("<!-- table:" in p.read_text() for p in tables.READMES)
