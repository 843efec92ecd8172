"""experiments/table1_cpu/run.py: the pieces that decide what is run and what is reported."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.paths import REPO


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("table1_run", REPO / "experiments" / "table1_cpu" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


EXAMPLE = {
    "question": "Tumpuses are gorpuses. Every gorpus is happy. Tumpuses are numpuses. Alex is a tumpus. "
    "True or false: Alex is happy.",
    "steps": ["Alex is a tumpus. Tumpuses are gorpuses.", "Alex is a gorpus. Every gorpus is happy.", "Alex is happy."],
    "answer": "True",
}


def test_chain_diagnostics_of_the_gold_chain_are_perfect(run):
    gold = {"output": "\n".join(EXAMPLE["steps"]) + "\n### True"}
    d = run.chain_diagnostics([gold], [EXAMPLE])
    assert d == {
        "rule_sentences_per_question": 2.0,
        "grounded_rule_fraction": 1.0,
        "first_step_correct": 1.0,
        "chain_exact": 1.0,
    }


def test_chain_diagnostics_count_invented_facts(run):
    invented = {"output": "Alex is a tumpus. Tumpuses are numpuses.\nAlex is a numpus. Numpuses are happy.\n### True"}
    d = run.chain_diagnostics([invented], [EXAMPLE])
    assert d["rule_sentences_per_question"] == 2.0
    assert d["grounded_rule_fraction"] == 0.5  # "Numpuses are happy." is not in the question
    assert d["first_step_correct"] == 0.0 and d["chain_exact"] == 0.0


def test_a_run_is_claimed_once_and_a_dead_workers_claim_is_taken_over(run, tmp_path):
    folder = tmp_path / "coconut_s0"
    assert run.claim(folder)
    assert run.claim(folder)  # this process holds it
    folder.with_name(folder.name + ".claim").write_text(str(os.getppid()))  # a live other process
    assert not run.claim(folder)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder.with_name(folder.name + ".claim").write_text(str(dead.pid))
    assert run.claim(folder)
    assert folder.with_name(folder.name + ".claim").read_text() == str(os.getpid())


def test_every_method_has_a_paper_figure_for_both_data_sets(run):
    from coconut_lm.data.methods import Method

    for setting in run.SETTINGS.values():
        assert set(run.PAPER[setting.name]) == {m.value for m in Method}
