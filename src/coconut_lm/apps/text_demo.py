"""`coconut-lm demo-text`: the Coconut curriculum on ProsQA in the paper's text format, on CPU.

It generates a small ProsQA-style data set with the built-in generator (docs/method.md §6; graphs
small enough for a CPU to learn), trains a byte-level BPE tokenizer on it, builds a small GPT-2
from a config and trains it through the Coconut curriculum (stage 0 = chain of thought, then one
more step replaced by a continuous thought per stage), validating every epoch. At the end it
prints, on the held-out test split, the accuracy and mean generated tokens of the last stage-0
(CoT) checkpoint and of the final Coconut checkpoint, and, over every test question, what Coconut
answers when it must switch to language after k = 0, 1, 2 thoughts (the paper's path categories:
correct path, hallucinated edge, wrong target, ...); it plots validation accuracy by epoch with the
stage boundaries.

Everything lands in one run folder (`--out`); running the demo again resumes or reuses it. The
same run can then be studied with `coconut-lm eval`, `generate` and `analyze`.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from coconut_lm.analysis.checkpoint_io import load_analysis_model
from coconut_lm.analysis.paths import analyze_paths, format_paths_table
from coconut_lm.analysis.plots import plot_validation_curve
from coconut_lm.analysis.run_metrics import validation_curve
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits
from coconut_lm.data.tokenizer_training import train_tokenizer
from coconut_lm.eval.evaluate import evaluate_checkpoint
from coconut_lm.io import atomic_write_text, write_json
from coconut_lm.options import Int, doc, settings
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run import run_folder
from coconut_lm.run.config import config_from_dict
from coconut_lm.train.trainer import train

logger = logging.getLogger(__name__)


@settings
class TextDemoConfig:
    """The demo's knobs (`coconut-lm demo --help`)."""

    out: str = doc("runs/demo_text", "Run folder: data, tokenizer, config, metrics, checkpoints, plot.")
    seed: Int = doc(0, "Seed of the data, the model and the training order.")
    num_train: Int = doc(4000, "Generated training questions.")
    num_valid: Int = doc(100, "Validation questions (accuracy every epoch).")
    num_test: Int = doc(200, "Held-out test questions (the final table).")
    min_nodes: Int = doc(5, "Smallest graph (the paper's: 21).")
    max_nodes: Int = doc(7, "Largest graph (the paper's: 26).")
    max_path: Int = doc(2, "Longest shortest path root -> target (the paper's: 6).")
    vocab_size: Int = doc(512, "BPE vocabulary of the tokenizer trained on the data.")
    n_layer: Int = doc(3, "GPT-2 layers.")
    n_embd: Int = doc(96, "GPT-2 width.")
    n_head: Int = doc(4, "GPT-2 attention heads.")
    max_latent_stage: Int = doc(2, "Latent stages after stage 0 (one more step becomes a thought per stage).")
    epochs_per_stage: Int = doc(5, "Epochs of each stage.")
    lr: float = doc(3e-3, "AdamW learning rate.")
    batch_size: Int = doc(16, "Training batch size.")
    icot_tokens_per_epoch: Int = doc(2, "iCoT baseline only: chain tokens removed per epoch (Table-1 experiment).")


def make_data(cfg: TextDemoConfig, data_dir: Path) -> dict[str, Path]:
    """Train/valid/test splits of generated ProsQA (no question in two splits)."""

    paths = {name: data_dir / f"{name}.json" for name in ("train", "valid", "test")}
    if all(p.is_file() for p in paths.values()):
        return paths
    graph = ProsQAConfig(min_nodes=cfg.min_nodes, max_nodes=cfg.max_nodes, min_path=2, max_path=cfg.max_path)
    splits = generate_splits((cfg.num_train, cfg.num_valid, cfg.num_test), cfg.seed, graph)
    for path, records in zip(paths.values(), splits, strict=True):
        write_json(path, records)
    return paths


def run_config(
    cfg: TextDemoConfig,
    data: dict[str, Path],
    tokenizer_dir: Path,
    method: str = "coconut",
    run_dir: Path | None = None,
):
    """The `coconut-lm train` configuration of the demo (also written as `demo.yaml`).

    Other methods (`method`) get the same model, data and number of epochs: the Table-1
    experiment (`experiments/table1_cpu`) compares them at equal budget.
    """

    num_stages = cfg.max_latent_stage + 1
    tree = {
        "method": method,
        "run_dir": str(run_dir or Path(cfg.out)),
        "model": {
            "from_config": {
                "model_type": "gpt2",
                "n_layer": cfg.n_layer,
                "n_embd": cfg.n_embd,
                "n_head": cfg.n_head,
                "n_positions": 512,
            },
            "tokenizer": str(tokenizer_dir),
        },
        "data": {"train_path": str(data["train"]), "val_path": str(data["valid"]), "too_long": "skip"},
        "curriculum": {
            "c_thought": 1,
            "max_latent_stage": cfg.max_latent_stage,
            "epochs_per_stage": cfg.epochs_per_stage,
            "pad_latent_to_max": True,
            "icot_tokens_per_epoch": cfg.icot_tokens_per_epoch,
        },
        "training": {
            "num_epochs": cfg.epochs_per_stage * num_stages,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "warmup_steps": 20,
            "seed": cfg.seed,
            "keep_last": cfg.epochs_per_stage * num_stages,
        },
        "evaluation": {"max_new_tokens": 48, "batch_size": 100},
        "logging": {"progress_bar": True},
    }
    return config_from_dict(tree)


def stage_checkpoints(run_dir: Path) -> tuple[Path, Path]:
    """The last checkpoint trained at stage 0 (the CoT model) and the last one of the run."""

    folders = ckpt.list_checkpoints(run_dir)
    stage0 = [f for f in folders if ckpt.read_trainer_state(f).stage == 0]
    if not stage0:
        raise RuntimeError(f"{run_dir}: no stage-0 checkpoint left (raise training.keep_last)")
    return stage0[-1], folders[-1]


def summary_table(rows: dict) -> str:
    lines = ["| model | test accuracy | mean new tokens |", "|---|---|---|"]
    for name, result in rows.items():
        lines.append(f"| {name} | {result.accuracy:.3f} | {result.mean_new_tokens:.1f} |")
    return "\n".join(lines)


def run_demo(cfg: TextDemoConfig) -> dict:
    """Data, tokenizer, training, evaluation; returns the figures and the text report (`report`)."""

    start = time.time()
    out = Path(cfg.out)
    # `out` is the run folder too: a folder of something else is refused before anything is written.
    run_folder.check_run_dir(out, own=("data", "tokenizer", "demo.yaml"))
    data = make_data(cfg, out / "data")
    tokenizer_dir = out / "tokenizer"
    if not (tokenizer_dir / "tokenizer.json").is_file():
        train_tokenizer([data["train"]], cfg.vocab_size, tokenizer_dir)
    run = run_config(cfg, data, tokenizer_dir)
    atomic_write_text(out / "demo.yaml", run.to_yaml())
    atomic_write_text(out / run_folder.RUN_CONFIG_FILE, run.to_yaml())  # makes `out` a run folder
    logger.info("data, tokenizer and config in %s; training %d epochs ...", out, run.training.num_epochs)
    train(run, device="cpu")

    stage0, final = stage_checkpoints(out)
    results = {
        "CoT (end of stage 0)": evaluate_checkpoint(str(stage0), str(data["test"]), device="cpu"),
        f"Coconut (stage {_stage(final)})": evaluate_checkpoint(str(final), str(data["test"]), device="cpu"),
    }
    coconut = list(results.values())[-1]
    records = json.loads(data["test"].read_text(encoding="utf-8"))
    paths = analyze_paths(load_analysis_model(final, device="cpu"), records, max_new_tokens=48, batch_size=100)
    curve = validation_curve(out)
    try:
        plot = plot_validation_curve(curve, out / "val_accuracy.png", "Coconut demo (ProsQA-style, CPU)")
    except ImportError:
        logger.warning("matplotlib is not installed: no plot (pip install 'coconut-lm[plot]')")
        plot = None
    seconds = time.time() - start
    report = [
        f"\nTest split ({coconut.num_questions} questions), {seconds / 60:.1f} minutes in all:\n",
        summary_table(results),
        "\nCoconut switched to language after k thoughts, every test question classified (the paper's "
        "path categories; k = its trained count is its own output):\n",
        format_paths_table(paths),
    ]
    summary = {
        "seconds": seconds,
        "results": {name: r.metrics("") for name, r in results.items()},
        "checkpoints": {"cot": str(stage0), "coconut": str(final)},
        "validation": curve,
        "paths": {"accuracy": paths.accuracy, "counts": paths.counts},
    }
    write_json(out / "demo_summary.json", summary)
    report += [
        f"\nRun folder: {out} (metrics.jsonl, config.yaml, checkpoints/, demo_summary.json"
        + (f", {plot.name})" if plot else ")"),
        f"Next: coconut-lm eval {final} --data {data['test']}\n"
        f"      coconut-lm analyze paths {final} --data {data['test']} --out {out / 'analysis'}",
    ]
    summary["report"] = "\n".join(report)
    return summary


def _stage(checkpoint: Path) -> int:

    return ckpt.read_trainer_state(checkpoint).stage
