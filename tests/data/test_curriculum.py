"""The curriculum of every method: the official fixtures exactly, then each method by hand."""

from __future__ import annotations

import json
import random
from functools import cache

import pytest

from coconut_lm.constants import IGNORE_INDEX as X
from coconut_lm.data.curriculum import Sequence, build_prompt, build_sequence, num_thoughts
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import SpecialTokenIds, TokenizedExample, add_special_tokens, tokenize_examples
from tests.paths import DATA, FIXTURES, require

OFFICIAL_METHODS = {
    "coconut": Method.COCONUT,
    "cot": Method.COT,
    "no_cot": Method.NO_COT,
    "no_thoughts": Method.COCONUT_NO_THOUGHT,
}
OFFICIAL_OPTIONS = {"prosqa": {"c_thought": 1, "max_latent_stage": 6}, "gsm8k": {"c_thought": 2, "max_latent_stage": 3}}


def parse_gsm8k_icot(line: str) -> dict:
    """`question||<<eq>> <<eq>> #### answer` -> an example (the converter is another module's)."""
    question, rest = line.split("||", 1)
    chain, answer = rest.split("####", 1)
    return {"question": question, "steps": chain.split(), "answer": answer.strip()}


@cache
def official_setup():
    """(special ids, {dataset: the first 40 tokenized validation examples}) of the fixtures."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(require(FIXTURES / "tokenizer"))
    ids = add_special_tokens(tok)
    prosqa = load_examples(require(DATA / "prosqa" / "valid.json"))[:40]
    lines = require(DATA / "gsm8k" / "icot" / "valid.txt").read_text(encoding="utf-8").splitlines()[:40]
    gsm8k = [parse_gsm8k_icot(line) for line in lines]
    return ids, {"prosqa": tokenize_examples(prosqa, tok), "gsm8k": tokenize_examples(gsm8k, tok)}


def official_rows(name: str) -> list[dict]:
    path = require(FIXTURES / name)
    return [json.loads(line) for line in path.read_text().splitlines()]


def row_setup(row: dict):
    ids, examples = official_setup()
    options = CurriculumConfig(pad_latent_to_max=row["pad_latent_to_max"], **OFFICIAL_OPTIONS[row["dataset"]])
    return ids, examples[row["dataset"]][row["idx"]], OFFICIAL_METHODS[row["method"]], options


def test_official_sequences_exactly():
    rows = official_rows("sequences.jsonl")
    assert len(rows) == 1720
    for row in rows:
        ids, example, method, options = row_setup(row)
        seq = build_sequence(example, row["stage"], method, options, ids)
        assert (seq.input_ids, seq.labels) == (row["input_ids"], row["labels"]), row
        assert seq.input_ids.count(ids.latent) == num_thoughts(example, row["stage"], method, options)


def test_official_prompts_exactly():
    rows = official_rows("prompts.jsonl")
    assert len(rows) == 1720
    for row in rows:
        ids, example, method, options = row_setup(row)
        assert build_prompt(example, row["stage"], method, options, ids) == row["input_ids"], row


# Hand-made examples: question [1, 2], steps [10], [20, 21], [30], answer [40, EOS].
IDS = SpecialTokenIds(start_latent=100, end_latent=101, latent=102, eos=0, pad=0, pause=103)
BOT, EOT, L, P = 100, 101, 102, 103
EX = TokenizedExample(idx=0, question=[1, 2], steps=[[10], [20, 21], [30]], answer=[40, 0])
SHORT = TokenizedExample(idx=1, question=[1, 2], steps=[[10]], answer=[40, 0])


def opts(**kw) -> CurriculumConfig:
    return CurriculumConfig(**{"c_thought": 2, "max_latent_stage": 2, **kw})


def seq(example, stage, method, rng=None, **kw) -> Sequence:
    return build_sequence(example, stage, method, opts(**kw), IDS, rng)


def test_coconut_stages():
    assert seq(EX, 0, "coconut") == Sequence([1, 2, BOT, EOT, 10, 20, 21, 30, 40, 0], [X] * 4 + [10, 20, 21, 30, 40, 0])
    assert seq(EX, 1, "coconut") == Sequence([1, 2, BOT, L, L, EOT, 20, 21, 30, 40, 0], [X] * 6 + [20, 21, 30, 40, 0])
    assert seq(EX, 2, "coconut").input_ids == [1, 2, BOT] + [L] * 4 + [EOT, 30, 40, 0]
    # past max_latent_stage: every step goes, max_latent_stage * c thoughts stay
    assert seq(EX, 3, "coconut") == Sequence([1, 2, BOT] + [L] * 4 + [EOT, 40, 0], [X] * 8 + [40, 0])
    assert seq(EX, 9, "coconut") == seq(EX, 3, "coconut")


def test_fewer_steps_than_the_stage():
    # official: at stage <= max_latent_stage the sequence gets stage * c thoughts whatever the
    # number of steps and pad_latent_to_max; the prompt is capped at len(steps) without padding
    for pad in (False, True):
        assert seq(SHORT, 2, "coconut", pad_latent_to_max=pad).input_ids == [1, 2, BOT] + [L] * 4 + [EOT, 40, 0]
    assert build_prompt(SHORT, 2, "coconut", opts(), IDS) == [1, 2, BOT, L, L, EOT]
    assert build_prompt(SHORT, 2, "coconut", opts(pad_latent_to_max=True), IDS) == [1, 2, BOT] + [L] * 4 + [EOT]
    # past max_latent_stage, pad_latent_to_max decides for the sequence too
    assert seq(SHORT, 3, "coconut").input_ids == [1, 2, BOT, L, L, EOT, 40, 0]
    assert seq(SHORT, 3, "coconut", pad_latent_to_max=True).input_ids == [1, 2, BOT] + [L] * 4 + [EOT, 40, 0]
    assert num_thoughts(SHORT, 2, "coconut", opts()) == 4 and num_thoughts(SHORT, 3, "coconut", opts()) == 2


def test_prompts():
    assert build_prompt(EX, 0, "coconut", opts(), IDS) == [1, 2, BOT, EOT]
    assert build_prompt(EX, 1, "coconut", opts(), IDS) == [1, 2, BOT, L, L, EOT]
    assert build_prompt(EX, 7, "coconut", opts(), IDS) == [1, 2, BOT] + [L] * 4 + [EOT]
    for method in ("cot", "no_cot", "coconut_no_thought", "icot"):
        assert build_prompt(EX, 2, method, opts(), IDS) == [1, 2]
    assert build_prompt(EX, 0, "coconut_no_curriculum", opts(), IDS) == build_prompt(EX, 3, "coconut", opts(), IDS)
    assert build_prompt(EX, 1, "pause_as_thought", opts(), IDS) == [1, 2, BOT, P, P, EOT]
    assert build_prompt(EX, 0, "pause", opts(), IDS) == [1, 2, P, P, P, P]
    assert build_prompt(SHORT, 0, "pause", opts(), IDS) == [1, 2, P, P]


def test_without_thought_markers_the_thoughts_follow_the_question():
    # the first thought is the question's last hidden state; the next step is predicted at the last thought
    no_markers = {"thought_markers": False}
    chain = [10, 20, 21, 30, 40, 0]
    assert seq(EX, 0, "coconut", **no_markers) == Sequence([1, 2, *chain], [X] * 2 + chain)
    assert seq(EX, 1, "coconut", **no_markers) == Sequence([1, 2, L, L, *chain[1:]], [X] * 4 + chain[1:])
    assert seq(EX, 3, "coconut", **no_markers).input_ids == [1, 2] + [L] * 4 + [40, 0]
    assert build_prompt(EX, 0, "coconut", opts(**no_markers), IDS) == [1, 2]
    assert build_prompt(EX, 7, "coconut", opts(**no_markers), IDS) == [1, 2] + [L] * 4
    assert build_prompt(EX, 1, "pause_as_thought", opts(**no_markers), IDS) == [1, 2, P, P]
    assert seq(EX, 0, "coconut", **no_markers) == seq(EX, 0, "cot")  # stage 0 is CoT exactly


def test_cot_and_no_cot_ignore_the_stage():
    for stage in (0, 1, 5):
        assert seq(EX, stage, "cot") == Sequence([1, 2, 10, 20, 21, 30, 40, 0], [X, X, 10, 20, 21, 30, 40, 0])
        assert seq(EX, stage, "no_cot") == Sequence([1, 2, 40, 0], [X, X, 40, 0])


def test_coconut_no_thought_removes_steps_without_markers():
    assert seq(EX, 0, "coconut_no_thought") == seq(EX, 0, "cot")
    assert seq(EX, 2, "coconut_no_thought") == Sequence([1, 2, 30, 40, 0], [X, X, 30, 40, 0])
    assert seq(EX, 3, "coconut_no_thought") == seq(EX, 0, "no_cot")


def test_coconut_no_curriculum_is_the_final_stage_from_the_start():
    final = Method.COCONUT.final_stage(opts())
    assert final == 3
    for stage in (0, 1, 7):
        assert seq(EX, stage, "coconut_no_curriculum") == seq(EX, final, "coconut")
        assert seq(SHORT, stage, "coconut_no_curriculum") == seq(SHORT, final, "coconut")


def test_pause_is_no_cot_with_final_stage_pauses():
    assert seq(EX, 0, "pause") == Sequence([1, 2, P, P, P, P, 40, 0], [X] * 6 + [40, 0])
    assert seq(EX, 5, "pause") == seq(EX, 0, "pause")
    assert seq(SHORT, 0, "pause").input_ids == [1, 2, P, P, 40, 0]
    assert seq(SHORT, 0, "pause", pad_latent_to_max=True).input_ids == [1, 2, P, P, P, P, 40, 0]
    with pytest.raises(ValueError, match="with_pause=True"):
        build_sequence(EX, 0, Method.PAUSE, opts(), SpecialTokenIds(100, 101, 102, 0, 0))


def test_pause_as_thought_is_coconut_with_pause_tokens():
    for stage in range(5):
        coconut = seq(EX, stage, "coconut")
        pause = seq(EX, stage, "pause_as_thought")
        assert pause.input_ids == [P if t == L else t for t in coconut.input_ids]
        assert pause.labels == coconut.labels


def test_icot_removal_schedule():
    kw = {"icot_tokens_per_epoch": 3}
    assert seq(EX, 0, "icot", **kw) == seq(EX, 0, "cot")  # chain = 10 20 21 30
    assert seq(EX, 1, "icot", **kw) == Sequence([1, 2, 30, 40, 0], [X, X, 30, 40, 0])
    assert seq(EX, 2, "icot", **kw) == seq(EX, 0, "no_cot")
    assert seq(EX, Method.parse("icot").final_stage(opts()), "icot") == seq(EX, 0, "no_cot")
    assert seq(EX, 1, "icot", icot_tokens_per_epoch=1).input_ids == [1, 2, 20, 21, 30, 40, 0]


def test_icot_smoothing_is_seeded_and_bounded():
    kw = {"icot_tokens_per_epoch": 1, "icot_smoothing": 2}
    long = TokenizedExample(idx=0, question=[1], steps=[list(range(10, 30))], answer=[40, 0])
    rng = random.Random(0)
    removed = [20 - (len(seq(long, 3, "icot", rng, **kw).input_ids) - 3) for _ in range(200)]
    assert set(removed) == {3, 4, 5}
    again = random.Random(0)
    assert removed[:10] == [20 - (len(seq(long, 3, "icot", again, **kw).input_ids) - 3) for _ in range(10)]
    with pytest.raises(ValueError, match="random.Random"):
        seq(long, 3, "icot", **kw)


def test_uniform_prob_draws_the_stage_from_a_seeded_rng():
    rng, mirror = random.Random(1234), random.Random(1234)
    stages = set()
    for _ in range(100):
        got = seq(EX, 1, "coconut", rng, uniform_prob=0.5)
        stage = mirror.randrange(len(EX.steps) + 1) if mirror.random() < 0.5 else 1
        stages.add(stage)
        assert got == seq(EX, stage, "coconut")
    assert stages == {0, 1, 2, 3}
    rng = random.Random(0)
    assert seq(EX, 2, "coconut", rng) == seq(EX, 2, "coconut")  # uniform_prob 0 draws nothing
    assert rng.random() == random.Random(0).random()
    with pytest.raises(ValueError, match="random.Random"):
        seq(EX, 1, "coconut", uniform_prob=0.3)


def test_num_thoughts_counts_the_slots_of_every_method():
    for method in Method:
        for example in (EX, SHORT):
            for stage in range(5):
                s = seq(example, stage, method, random.Random(0))
                slots = s.input_ids.count(L) + s.input_ids.count(P)
                assert slots == num_thoughts(example, stage, method, opts()), (method, stage)


def test_final_stage():
    o = opts()
    assert [Method.parse(m).final_stage(o) for m in ("cot", "no_cot", "pause")] == [0, 0, 0]
    for method in ("coconut", "coconut_no_curriculum", "coconut_no_thought", "pause_as_thought"):
        assert Method.parse(method).final_stage(o) == 3
    assert Method.parse("icot").final_stage(o) >= 10**6


@pytest.mark.parametrize(
    "field, value",
    [("c_thought", -1), ("c_thought", 1.5), ("max_latent_stage", -2), ("uniform_prob", 1.5),
     ("icot_tokens_per_epoch", 0), ("icot_smoothing", -1), ("thought_markers", "no")],
)  # fmt: skip
def test_options_are_validated(field, value):
    with pytest.raises(ValueError, match=f"curriculum.{field}: must be"):
        CurriculumConfig(**{field: value})


def test_bad_stage_and_method():
    with pytest.raises(ValueError, match="stage must be an integer >= 0"):
        seq(EX, -1, "coconut")
    with pytest.raises(ValueError, match="stage must be an integer >= 0"):
        build_prompt(EX, -1, "coconut", opts(), IDS)
    with pytest.raises(ValueError, match="expected one of"):
        seq(EX, 0, "coconuts")
