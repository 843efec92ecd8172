"""The flags of `eval` and `generate`: an out-of-range value is one line naming the flag, before
any checkpoint is read (the checkpoint here does not exist)."""

from __future__ import annotations

import pytest

from coconut_lm.errors import ConfigError
from coconut_lm.eval.settings import EvalSettings, GenerateSettings, check_flags
from tests.helpers import fails

EVAL_CASES = [
    (["--limit", "-1"], "--limit: must be >= 1, got -1"),
    (["--limit", "0"], "--limit: must be >= 1, got 0"),
    (["--batch-size", "0"], "--batch-size: must be >= 1, got 0"),
    (["--num-thoughts", "-1"], "--num-thoughts: must be >= 0, got -1"),
    (["--max-new-tokens", "-5"], "--max-new-tokens: must be >= 0, got -5"),
    (["--stage", "-1"], "--stage: must be >= 0, got -1"),
    (["--jacobi-iterations", "0"], "--jacobi-iterations: must be >= 1, got 0"),
    (["--limit", "2.5"], "--limit: expected int, got 2.5"),
    (["--batch-size", "x"], "--batch-size: expected int, got 'x'"),
    (["--too-long", "maybe"], "--too-long: expected one of: error, skip, truncate; got 'maybe'"),
    (["--thoughts", "adaptive", "--num-thoughts", "2"], "--num-thoughts: cannot be given with --thoughts adaptive"),
]


@pytest.mark.parametrize("flags, message", EVAL_CASES)
def test_eval_flags_out_of_range(tmp_path, capsys, flags, message):
    line = fails(["eval", str(tmp_path / "no-checkpoint"), "--data", str(tmp_path / "d.json"), *flags], capsys)
    assert line.startswith(f"coconut-lm eval: {message}")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--num-thoughts", "-1"], "--num-thoughts: must be >= 0, got -1"),
        (["--max-new-tokens", "-5"], "--max-new-tokens: must be >= 0, got -5"),
        (["--stage", "-1"], "--stage: must be >= 0, got -1"),
        (["--stage", "one"], "--stage: expected int, got 'one'"),
        (["--temperature", "-0.5"], "--temperature: must be >= 0 (0: greedy), got -0.5"),
        (["--temperature", "hot"], "--temperature: expected float, got 'hot'"),
        (["--temperature", ".inf"], "--temperature: expected a finite number, got inf"),
        (["--temperature", "1", "--top-p", "0"], "--top-p: must be in (0, 1], got 0.0"),
        (["--temperature", "1", "--top-p", "1.5"], "--top-p: must be in (0, 1], got 1.5"),
        (["--temperature", "1", "--num-samples", "0"], "--num-samples: must be >= 1, got 0"),
        (["--temperature", "1", "--seed", "-1"], "--seed: must be >= 0, got -1"),
        # sampling flags without a temperature would change nothing: refused, not ignored
        (["--num-samples", "4"], "--num-samples: greedy decoding (--temperature 0) gives the same answer"),
        (["--top-p", "0.9"], "--top-p: has no effect on greedy decoding; give --temperature > 0 to sample"),
        (["--seed", "3"], "--seed: has no effect on greedy decoding"),
    ],
)
def test_generate_flags_out_of_range(tmp_path, capsys, flags, message):
    line = fails(["generate", str(tmp_path / "no-checkpoint"), "Is Tom a wumpus?", *flags], capsys)
    assert line.startswith(f"coconut-lm generate: {message}")


def test_defaults_and_library_checks():
    assert check_flags(GenerateSettings, {}) == GenerateSettings(num_thoughts=None, stage=None, max_new_tokens=128)
    assert check_flags(EvalSettings, {"limit": 3, "num_thoughts": 0}).limit == 3
    with pytest.raises(ConfigError, match="--limit: must be >= 1, got 0"):
        check_flags(EvalSettings, {"limit": 0})
    with pytest.raises(ConfigError, match="--stage: must be >= 0, got -2"):
        EvalSettings(stage=-2)
    sampling = check_flags(GenerateSettings, {"temperature": 1, "top_p": 0.5, "num_samples": 3, "seed": 0})
    assert (sampling.temperature, sampling.top_p, sampling.num_samples, sampling.seed) == (1.0, 0.5, 3, 0)
    with pytest.raises(ConfigError, match="--temperature: expected float, got True"):
        check_flags(GenerateSettings, {"temperature": True})
