"""End to end through the CLI: train 2 stages on a tiny GPT-2, then eval and generate."""

from __future__ import annotations

import json

import torch
import yaml
from safetensors.torch import load_file

from coconut_lm.cli import main
from coconut_lm.run.build import build_model
from coconut_lm.run.config import config_from_dict
from coconut_lm.train.trainer import seed_everything
from tests.paths import REPO


def test_train_eval_generate(tmp_path, toy_assets, capsys):
    run = tmp_path / "run"
    overrides = [
        f"model.tokenizer={toy_assets['tokenizer']}",
        f"data.train_path={toy_assets['train']}",
        f"data.val_path={toy_assets['val']}",
        "training.lr=2e-3",
    ]
    assert main(["train", str(REPO / "configs" / "tiny_cpu.yaml"), *overrides, "--run-dir", str(run)]) == 0
    cfg_dict = yaml.safe_load((run / "config.yaml").read_text())

    # Metrics: 2 epochs x 4 steps of training, and one validation per epoch.
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "train/loss" in r]
    eval_rows = [r for r in rows if "eval/accuracy" in r]
    assert [r["train/stage"] for r in train_rows] == [0] * 4 + [1] * 4
    assert len(eval_rows) == 2 and all(0.0 <= r["eval/accuracy"] <= 1.0 for r in eval_rows)
    assert "lr: 0.002" in (run / "config.yaml").read_text()  # the resolved config, override applied

    # Checkpoints: rolling (keep_last 2) and best; a transformers folder with the special tokens.
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["step-00000004", "step-00000008"]
    final = run / "checkpoints" / "step-00000008"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(final)
    tok = AutoTokenizer.from_pretrained(final)
    assert "<|latent|>" in tok.get_vocab() and hf.get_input_embeddings().weight.shape[0] == len(tok)
    assert json.loads((final / "trainer_state.json").read_text())["epoch"] == 2
    torch.load(final / "optimizer.pt", weights_only=True)  # loads without unpickling objects

    # Every parameter changed compared with the same seeded initialisation.
    seed_everything(0)
    initial = build_model(config_from_dict(cfg_dict)).model.base_model.state_dict()
    trained = load_file(final / "model.safetensors")
    for name, value in trained.items():
        assert not torch.equal(value, initial[name]), f"{name} did not change"

    # eval reads the checkpoint (a run folder: its best checkpoint) and writes predictions.
    capsys.readouterr()
    preds = tmp_path / "preds.jsonl"
    assert (
        main(
            [
                "eval",
                str(run),
                "--data",
                str(toy_assets["val"]),
                "--predictions",
                str(preds),
                "--max-new-tokens",
                "6",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["num_questions"] == 6
    assert metrics["mean_new_tokens"] >= 1  # thoughts count as generated tokens
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [r["idx"] for r in lines] == list(range(6))
    assert {"prediction", "correct", "cot_match", "new_tokens", "num_thoughts"} <= set(lines[0])

    # More thoughts on request; generate prints the answer and the thought count.
    assert (
        main(
            [
                "eval",
                str(final),
                "--data",
                str(toy_assets["val"]),
                "--num-thoughts",
                "3",
                "--max-new-tokens",
                "4",
                "--limit",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["mean_new_tokens"] >= 3
    assert (
        main(["generate", str(final), "Is Tom a wumpus or a yumpus?", "--max-new-tokens", "4", "--device", "cpu"]) == 0
    )
    assert "continuous thoughts: 1" in capsys.readouterr().out
