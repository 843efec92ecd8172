"""A Coconut run without `<bot>`/`<eot>` (`curriculum.thought_markers: false`) and with rescaled
thoughts (`thoughts.rescale`): it trains, evaluates and is analysed with prompts that end in the
thoughts, and every model loaded from it rescales its thoughts."""

from __future__ import annotations

import pytest

from coconut_lm.analysis.checkpoint_io import load_analysis_model
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import evaluate_checkpoint
from coconut_lm.run.checkpoint import latest_checkpoint, resolve_checkpoint
from coconut_lm.run.config import config_from_dict
from coconut_lm.train.stop_head import train_stop_head
from coconut_lm.train.trainer import train


def test_train_eval_and_analyse_without_markers(make_config, toy_assets):
    cfg = config_from_dict(make_config(curriculum={"thought_markers": False}, thoughts={"rescale": True}))
    train(cfg, device="cpu")
    final = latest_checkpoint(cfg.run_dir)
    result = evaluate_checkpoint(str(final), str(toy_assets["val"]), device="cpu")
    assert result.num_questions == 6 and 0.0 <= result.accuracy <= 1.0

    am = load_analysis_model(final)
    assert am.has_thoughts and not am.markers and am.max_thoughts == 1
    assert am.model.rescale_thoughts
    prompt = am.forced_prompt([5, 6], k=1)
    assert prompt == [5, 6, am.ids.latent]

    with pytest.raises(InputError, match="thought markers"):
        train_stop_head(str(final), str(toy_assets["train"]), str(toy_assets["val"]), device="cpu")


def test_an_exported_checkpoint_evaluates_the_same(make_config, toy_assets, tmp_path):
    from coconut_lm.cli import main

    cfg = config_from_dict(make_config(curriculum={"thought_markers": False}, thoughts={"rescale": True}))
    train(cfg, device="cpu")
    final = resolve_checkpoint(cfg.run_dir)  # the run's latest checkpoint
    out = tmp_path / "shared"
    assert main(["export", cfg.run_dir, str(out)]) == 0
    assert not (out / "optimizer.pt").exists() and not list(out.glob("rng_rank*.pt"))
    assert (out / "model.safetensors").read_bytes() == (final / "model.safetensors").read_bytes()
    ours = evaluate_checkpoint(str(out), str(toy_assets["val"]), device="cpu")
    theirs = evaluate_checkpoint(str(final), str(toy_assets["val"]), device="cpu")
    assert ours.accuracy == theirs.accuracy and ours.mean_new_tokens == theirs.mean_new_tokens
    with pytest.raises(SystemExit) as exc:  # an existing folder is never overwritten
        main(["export", cfg.run_dir, str(out)])
    assert exc.value.code == 2
