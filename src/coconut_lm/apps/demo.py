"""`coconut-lm demo`: the paper's claim on a CPU, from nothing but Python packages.

Graph reasoning with one token per node (`data/datasets/symbolic.py`): ProsQA-style graphs from
the built-in generator, the question names two candidate nodes and a root, and the answer is the
candidate reachable from the root. A small model is trained from scratch twice from one shared
chain-of-thought warm-up (stage 0, the path written out):

- **CoT** goes on training on the written-out path for the rest of the budget;
- **Coconut** goes through the curriculum: at stage k the first k path nodes become k continuous
  thoughts, until the whole path is latent.

Both get the same epochs. On the held-out test split (every question) the demo prints each
one's accuracy and generated tokens, and measures what the continuous thoughts hold: how much of
thought k's probability, read through the LM head, sits on the nodes k steps from the root (the
frontier of a breadth-first search), and how often the correct branch is the top one
(`coconut-lm analyze frontier`; JSON and PNG in the run folder). Running the demo again reuses
what is already there.
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Literal

from coconut_lm.analysis.checkpoint_io import load_analysis_model
from coconut_lm.analysis.frontier import analyze_frontier, format_frontier_summary, write_frontier_report
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits
from coconut_lm.data.datasets.symbolic import build_tokenizer, symbolic_example
from coconut_lm.eval.evaluate import evaluate_checkpoint
from coconut_lm.io import write_json
from coconut_lm.options import Int, doc, settings
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.config import RunConfig, config_from_dict
from coconut_lm.train.trainer import train

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


@settings
class DemoConfig:
    """The demo's knobs (`coconut-lm demo --help`)."""

    out: str = doc("runs/demo", "Run folder: data, tokenizer, both runs, the frontier analysis, the summary.")
    seed: Int = doc(0, "Seed of the model and the training order (the data's graphs are drawn with seed 0).")
    num_train: Int = doc(16000, "Generated training questions.")
    num_valid: Int = doc(200, "Validation questions.")
    num_test: Int = doc(500, "Held-out test questions (the final table).")
    min_nodes: Int = doc(7, "Fewest nodes per graph (the paper's: 21).")
    max_nodes: Int = doc(9, "Most nodes per graph (the paper's: 26).")
    min_path: Int = doc(3, "Shortest answer depth, root to target (the paper's: 3).")
    max_path: Int = doc(3, "Longest answer depth (the paper's: 6); also the number of latent stages.")
    model_type: Literal["llama", "gpt2"] = doc("llama", "Architecture, built from scratch.")
    n_layer: Int = doc(2, "Layers.")
    n_embd: Int = doc(64, "Width.")
    n_head: Int = doc(4, "Attention heads.")
    cot_epochs: Int = doc(3, "Chain-of-thought warm-up epochs shared by both runs (stage 0).")
    epochs_per_stage: Int = doc(1, "Epochs of each latent stage; CoT trains as many epochs more.")
    final_epochs: Int = doc(2, "Extra epochs at the last stage (the whole path latent).")
    lr: float = doc(5e-4, "AdamW learning rate.")
    batch_size: Int = doc(16, "Training batch size.")


def make_data(cfg: DemoConfig, data_dir: Path) -> dict[str, Path]:
    """Symbolic train/valid/test splits (no question in two splits) and their tokenizer."""
    paths = {name: data_dir / f"{name}.json" for name in SPLITS}
    tokenizer = data_dir / "tokenizer"
    if not all(p.is_file() for p in paths.values()):
        graphs = ProsQAConfig(
            min_nodes=cfg.min_nodes, max_nodes=cfg.max_nodes, min_path=cfg.min_path, max_path=cfg.max_path
        )
        splits = generate_splits((cfg.num_train, cfg.num_valid, cfg.num_test), 0, graphs)
        for (name, path), records in zip(paths.items(), splits, strict=True):
            rows = [symbolic_example(r, random.Random(f"{name}-{i}")) for i, r in enumerate(records)]
            write_json(path, rows, indent=None)
    if not (tokenizer / "tokenizer.json").is_file():
        build_tokenizer(tokenizer)
    return {**paths, "tokenizer": tokenizer}


def latent_epochs(cfg: DemoConfig) -> int:
    """Epochs after the warm-up: every latent stage, then the final epochs."""
    return cfg.epochs_per_stage * cfg.max_path + cfg.final_epochs


def run_config(cfg: DemoConfig, data: dict[str, Path], method: str, run_dir: Path, num_epochs: int) -> RunConfig:
    """The `coconut-lm train` configuration of one of the demo's runs."""
    model = {"model_type": cfg.model_type, "num_hidden_layers": cfg.n_layer, "hidden_size": cfg.n_embd}
    model.update(num_attention_heads=cfg.n_head, max_position_embeddings=256)
    if cfg.model_type == "llama":
        model.update(intermediate_size=4 * cfg.n_embd, num_key_value_heads=cfg.n_head)
    tree = {
        "method": method,
        "run_dir": str(run_dir),
        "model": {"from_config": model, "tokenizer": str(data["tokenizer"])},
        "data": {"train_path": str(data["train"]), "val_path": str(data["valid"])},
        "curriculum": {
            "c_thought": 1,
            "max_latent_stage": cfg.max_path,
            "epochs_per_stage": cfg.epochs_per_stage,
            "pad_latent_to_max": True,
        },
        "training": {
            "num_epochs": num_epochs,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "warmup_steps": 100,
            "max_grad_norm": 1.0,
            "reset_optimizer": "never",
            "seed": cfg.seed,
            "keep_last": 1,
            "save_best": False,
        },
        "evaluation": {"max_new_tokens": 2 * cfg.max_path + 4, "batch_size": 250, "every_epochs": 1000},
        "logging": {"progress_bar": False},
    }
    return config_from_dict(tree)


def train_runs(cfg: DemoConfig, data: dict[str, Path], out: Path) -> dict[str, Path]:
    """The shared warm-up, then Coconut from it and CoT continued; their last checkpoints."""
    cot_dir, coconut_dir = out / "cot", out / "coconut"
    warm = run_config(cfg, data, "cot", cot_dir, cfg.cot_epochs)
    if not (coconut_dir / "checkpoints").is_dir():
        logger.info("chain-of-thought warm-up: %d epochs ...", cfg.cot_epochs)
        train(warm, device="cpu")
        warm_checkpoint = ckpt.latest_checkpoint(cot_dir)
    else:
        warm_checkpoint = None  # Coconut has started: it resumes from its own checkpoints
    coconut = run_config(cfg, data, "coconut", coconut_dir, cfg.epochs_per_stage + latent_epochs(cfg))
    coconut.training.start_epoch = cfg.epochs_per_stage  # stage 1 first: stage 0 was the warm-up
    if warm_checkpoint is not None:
        coconut.model.init_from = str(warm_checkpoint)
    logger.info("Coconut: %d latent stages, %d epochs ...", cfg.max_path, latent_epochs(cfg))
    train(coconut, device="cpu")
    cot = run_config(cfg, data, "cot", cot_dir, cfg.cot_epochs + latent_epochs(cfg))
    logger.info("CoT: %d more epochs ...", latent_epochs(cfg))
    train(cot, device="cpu")  # resumes the warm-up run
    return {"CoT": ckpt.latest_checkpoint(cot_dir), "Coconut": ckpt.latest_checkpoint(coconut_dir)}


def summary_table(results: dict) -> str:
    lines = ["| model | test accuracy | mean new tokens | forward passes per question |", "|---|---|---|---|"]
    for name, r in results.items():
        lines.append(
            f"| {name} | {100 * r.accuracy:.1f}% | {r.mean_new_tokens:.1f} | {r.forward_passes_per_question:.1f} |"
        )
    return "\n".join(lines)


def run_demo(cfg: DemoConfig) -> dict:
    """Data, both runs, the test table and the frontier analysis; the figures and a text report."""
    start = time.time()
    out = Path(cfg.out)
    data = make_data(cfg, out / "data")
    checkpoints = train_runs(cfg, data, out)
    test = str(data["test"])
    results = {name: evaluate_checkpoint(str(path), test, device="cpu") for name, path in checkpoints.items()}
    records = json.loads(data["test"].read_text(encoding="utf-8"))
    frontier = analyze_frontier(load_analysis_model(checkpoints["Coconut"], device="cpu"), records)
    try:
        figures = write_frontier_report(frontier, out / "frontier")
    except ImportError:  # the JSON is written first; the plots need matplotlib
        logger.warning("matplotlib is not installed: no plots (pip install 'coconut-lm[plot]')")
        figures = [out / "frontier" / "frontier.json"]
    seconds = time.time() - start
    summary = {
        "seconds": seconds,
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "results": {name: r.metrics("") for name, r in results.items()},
        "checkpoints": {name: str(path) for name, path in checkpoints.items()},
        "frontier": {"per_thought": frontier.per_thought, "attention": frontier.attention},
    }
    write_json(out / "demo_summary.json", summary)
    summary["report"] = "\n".join(
        [
            f"\nTest split ({results['Coconut'].num_questions} questions, chance 50%), "
            f"{seconds / 60:.1f} minutes in all:\n",
            summary_table(results),
            "\nWhat Coconut's continuous thoughts hold, over the whole test split (thought k read through the LM "
            "head; frontier = the nodes k steps from the root):\n",
            format_frontier_summary(frontier),
            f"\nRun folder: {out} (cot/, coconut/, frontier/: " + ", ".join(p.name for p in figures) + ")",
            f"Next: coconut-lm eval {checkpoints['Coconut']} --data {test}\n"
            f"      coconut-lm analyze thoughts {checkpoints['Coconut']} --data {test} --out {out / 'thoughts'}",
        ]
    )
    return summary
