"""The stop head: labels, fitting on hand-made states, and the whole path through the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from coconut_lm.cli import main
from coconut_lm.data.methods import CurriculumConfig
from coconut_lm.model.stop_head import StopHead
from coconut_lm.train.stop_head import StopFeatures, exact_stop_rate, fit, needed_thoughts
from tests.paths import REPO


def test_needed_thoughts_and_labels():
    cur = CurriculumConfig(c_thought=2, max_latent_stage=3)
    assert [needed_thoughts(n, cur) for n in (1, 2, 3, 5)] == [2, 4, 6, 6]
    features = StopFeatures(torch.zeros(2, 4, 3), torch.tensor([1, 3]))
    assert features.labels().tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]


def test_fit_learns_a_separable_rule():
    # A state's first coordinate says how many thoughts are left: the head should stop at 0.
    g = torch.Generator().manual_seed(0)
    needed = torch.randint(1, 5, (200,), generator=g)
    left = needed[:, None] - torch.arange(1, 5)[None]  # (N, K)
    states = torch.cat([left[..., None].float(), torch.randn(200, 4, 3, generator=g)], dim=-1)
    head = fit(StopFeatures(states, needed), epochs=400, lr=0.05)
    exact, mean = exact_stop_rate(head, StopFeatures(states, needed))
    assert exact == 1.0 and mean == pytest.approx(float(needed.float().mean()))


def test_save_and_load(tmp_path):
    head = StopHead(8, mlp_width=4)
    head.save(tmp_path, {"max_thoughts": 3})
    again, meta = StopHead.load(tmp_path)
    x = torch.randn(5, 8)
    assert meta["max_thoughts"] == 3 and torch.equal(head(x), again(x))


def test_a_save_cut_short_is_refused_at_load(tmp_path):
    from coconut_lm.errors import InputError
    from coconut_lm.model.stop_head import META, WEIGHTS

    StopHead(8).save(tmp_path, {"max_thoughts": 3})
    earlier = (tmp_path / META).read_text()
    StopHead(8).save(tmp_path, {"max_thoughts": 3})  # killed after the weights: the earlier metadata stays
    (tmp_path / META).write_text(earlier)
    with pytest.raises(InputError, match=f"{WEIGHTS} is not the one {META} describes"):
        StopHead.load(tmp_path)
    (tmp_path / META).unlink()
    with pytest.raises(InputError, match="no complete stop head"):
        StopHead.load(tmp_path)


def test_stop_head_cli_and_adaptive_eval(tmp_path, toy_assets, capsys):
    run = tmp_path / "run"
    overrides = [
        f"model.tokenizer={toy_assets['tokenizer']}",
        f"data.train_path={toy_assets['train']}",
        f"data.val_path={toy_assets['val']}",
        "curriculum.max_latent_stage=2",
        "training.num_epochs=3",
    ]
    assert main(["train", str(REPO / "configs" / "tiny_cpu.yaml"), *overrides, "--run-dir", str(run)]) == 0
    capsys.readouterr()
    assert main(["stop-head", str(run), "--data", str(toy_assets["train"]), "--val", str(toy_assets["val"])]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_thoughts"] == 2 and 0.0 <= report["val_exact_stop"] <= 1.0
    data = str(toy_assets["val"])
    assert main(["eval", str(run), "--data", data, "--thoughts", "adaptive", "--max-new-tokens", "6"]) == 0
    adaptive = json.loads(capsys.readouterr().out)
    assert adaptive["num_questions"] == 6 and 1.0 <= adaptive["mean_thoughts"] <= 2.0
    assert main(["eval", str(run), "--data", data, "--max-new-tokens", "6"]) == 0
    assert "mean_thoughts" in json.loads(capsys.readouterr().out)  # the best checkpoint: any stage


def test_adaptive_needs_a_stop_head(tmp_path, toy_assets):
    run = tmp_path / "run"
    overrides = [f"model.tokenizer={toy_assets['tokenizer']}", f"data.train_path={toy_assets['train']}"]
    overrides += [f"data.val_path={toy_assets['val']}"]
    assert main(["train", str(REPO / "configs" / "tiny_cpu.yaml"), *overrides, "--run-dir", str(run)]) == 0
    with pytest.raises(SystemExit):
        main(["eval", str(run), "--data", str(toy_assets["val"]), "--thoughts", "adaptive"])
