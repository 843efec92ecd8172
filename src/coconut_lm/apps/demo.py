"""`coconut-lm demo`: Coconut against chain of thought on graph reasoning, trained from scratch on CPU.

The task is ProsQA's (docs/method.md §6) written symbolically, one token per node
(`coconut-lm data symbolic`): given the edges of a small directed graph, a root and two candidate
nodes, say which candidate the root reaches. The built-in generator makes fresh graphs of 7-9
nodes whose answer is 3 steps deep; a greedy walk that picks the wrong child at the root cannot
recover, so the task rewards keeping several branches open.

1. Chain of thought (stage 0): a 2-layer Llama-style model (tied embeddings) learns to write the
   path root -> target node by node. This is the slow part, and it varies by seed: the model
   learns to follow an edge only after a sudden drop of the loss, which came after 6,000 steps
   for one seed and 22,000 for another. By default the demo starts from the stage-0 checkpoint
   committed with the project (`experiments/symbolic/checkpoints/cot_stage0_demo_s0`: 12,000
   steps on this data, 77% validation accuracy); `--stage0 ''` trains stage 0 here first
   (`cot_epochs` epochs, all cores).
2. Then two runs from it side by side, one core each, for the same number of steps:
   - Coconut: the curriculum, one more step replaced by a continuous thought per stage, then
     `final_epochs` with every step a thought. Thoughts follow the question without
     `<bot>`/`<eot>` and are fed back at the embeddings' scale (`curriculum.thought_markers:
     false`, `thoughts.rescale: true`; docs/method.md §2, §10).
   - The CoT baseline: chain of thought, trained on.
   Both decay the learning rate linearly to 0 over their last `decay_epochs`.
3. Both final models answer every question of the held-out test split; the report gives their
   accuracy, and the latent breadth-first search of Coconut's thoughts over the whole split
   (`coconut-lm analyze frontier`: how much of each thought's next-node distribution lies on the
   nodes k steps from the root).

Everything lands in one folder (`--out`); running the demo again reuses finished runs.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import torch

from coconut_lm.analysis.checkpoint_io import load_analysis_model
from coconut_lm.analysis.frontier import analyze_frontier, format_frontier_summary, write_frontier_report
from coconut_lm.analysis.plots import plot_validation_curves
from coconut_lm.analysis.run_metrics import validation_curve
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits
from coconut_lm.data.datasets.symbolic import build_tokenizer, symbolic_example
from coconut_lm.errors import ConfigError
from coconut_lm.eval.evaluate import evaluate_checkpoint
from coconut_lm.io import atomic_write_text, open_new, write_json
from coconut_lm.options import Int, doc, settings
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.config import RunConfig, config_from_dict
from coconut_lm.train.trainer import train

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


@settings
class DemoConfig:
    """The demo's knobs (`coconut-lm demo --help`)."""

    out: str = doc("runs/demo", "Folder of the demo: data, tokenizer, both runs, summary, plots.")
    seed: Int = doc(0, "Seed of the training order (and of the model, when stage 0 is trained here).")
    stage0: str = doc(
        "experiments/symbolic/checkpoints/cot_stage0_demo_s0",
        "Stage-0 (CoT) checkpoint to start from, trained on this data (a relative path: from the current "
        "folder, else from the project's checkout); '' (or a missing folder): train it here.",
    )
    data_seed: Int = doc(0, "Seed of the generated graphs (the committed stage-0 checkpoint was trained on seed 0's).")
    num_generated: Int = doc(64000, "Generated training questions (stage 0 trains on all of them).")
    num_train: Int = doc(32000, "Of those, the questions each later epoch sees (2,000 steps at batch 16).")
    num_valid: Int = doc(200, "Validation questions (accuracy every epoch).")
    num_test: Int = doc(500, "Held-out test questions (the final table).")
    min_nodes: Int = doc(7, "Smallest graph.")
    max_nodes: Int = doc(9, "Largest graph.")
    depth: Int = doc(3, "Steps from the root to the right candidate (one thought per step).")
    n_layer: Int = doc(2, "Transformer layers.")
    n_embd: Int = doc(64, "Width.")
    n_head: Int = doc(4, "Attention heads.")
    cot_epochs: Int = doc(3, "Epochs of chain of thought when stage 0 is trained here (over num_generated).")
    epochs_per_stage: Int = doc(1, "Epochs of each latent stage.")
    final_epochs: Int = doc(1, "Epochs at the last stage after the curriculum (every step a thought).")
    lr: float = doc(5e-4, "AdamW learning rate (linear warm-up over 100 steps, constant, then the final decay).")
    decay_epochs: Int = doc(1, "The last epochs of both runs, with the learning rate decayed linearly to 0.")
    batch_size: Int = doc(16, "Training batch size.")
    threads: Int = doc(2, "CPU threads: all for stage 0; then one per run.")


def make_data(cfg: DemoConfig, folder: Path) -> dict[str, Path]:
    """Symbolic splits (no graph in two splits), as `experiments/symbolic/run.py` writes them,
    the first `num_train` training questions for the latent stages, and the tokenizer."""
    paths = {split: folder / f"{split}.json" for split in ("stage0", "train", "valid", "test")}
    tokenizer = folder / "tokenizer"
    if not all(p.is_file() for p in paths.values()):
        graphs = ProsQAConfig(min_nodes=cfg.min_nodes, max_nodes=cfg.max_nodes, min_path=cfg.depth, max_path=cfg.depth)
        sizes = (cfg.num_generated, cfg.num_valid, cfg.num_test)
        splits = dict(zip(("train", "valid", "test"), generate_splits(sizes, cfg.data_seed, graphs), strict=True))
        rows = {
            split: [symbolic_example(r, random.Random(f"{split}-{i}")) for i, r in enumerate(records)]
            for split, records in splits.items()
        }
        rows["stage0"], rows["train"] = rows["train"], rows["train"][: cfg.num_train]
        for split, path in paths.items():
            write_json(path, rows[split], indent=None)
    if not (tokenizer / "tokenizer.json").is_file():
        build_tokenizer(tokenizer)
    return {**paths, "tokenizer": tokenizer}


def llama_spec(n_layer: int, n_embd: int, n_head: int, tie_embeddings: bool = True) -> dict:
    """`model.from_config` of a small Llama-style model (rotary positions; tied embeddings by default)."""
    return {
        "model_type": "llama",
        "num_hidden_layers": n_layer,
        "hidden_size": n_embd,
        "intermediate_size": 4 * n_embd,
        "num_attention_heads": n_head,
        "num_key_value_heads": n_head,
        "max_position_embeddings": 512,
        "tie_word_embeddings": tie_embeddings,
    }


def graph_run_tree(
    method: str,
    run_dir: str | Path,
    architecture: dict,
    files: dict[str, Path],
    *,
    depth: int,
    epochs_per_stage: int,
    num_epochs: int,
    seed: int,
    batch_size: int,
    lr: float,
    **sections: dict,
) -> dict:
    """The graph recipe, shared by the demo and the graph study (`experiments/symbolic/run.py`):
    one thought per step (a node), thoughts right after the question and fed back at the
    embeddings' scale, 10% of each stage's examples at a random earlier stage, AdamW with a warm-up
    and clipping. `architecture` is `model.from_config`; `files` holds tokenizer, train and valid;
    `sections` update the sections of the tree (`training={"lr_schedule": "linear"}`)."""
    tree = {
        "method": method,
        "run_dir": str(run_dir),
        "model": {"from_config": architecture, "tokenizer": str(files["tokenizer"])},
        "data": {"train_path": str(files["train"]), "val_path": str(files["valid"])},
        "curriculum": {
            "c_thought": 1,
            "max_latent_stage": depth,
            "epochs_per_stage": epochs_per_stage,
            "pad_latent_to_max": True,
            "uniform_prob": 0.1,
            "thought_markers": False,
        },
        "thoughts": {"rescale": True},
        "training": {
            "num_epochs": num_epochs,
            "batch_size": batch_size,
            "lr": lr,
            "warmup_steps": 100,
            "max_grad_norm": 1.0,
            "reset_optimizer": "never",
            "seed": seed,
            "keep_last": 1000,
            "save_best": False,
        },
        "evaluation": {"max_new_tokens": 2 * depth + 4, "batch_size": 200},
        "logging": {"progress_bar": False},
    }
    for section, values in sections.items():
        tree[section].update(values)
    return tree


def run_config(cfg: DemoConfig, files: dict[str, Path], name: str, method: str, num_epochs: int, **extra) -> RunConfig:
    """The `coconut-lm train` configuration of one of the demo's runs (folder and `<name>.yaml` in `out`)."""
    tree = graph_run_tree(
        method,
        Path(cfg.out) / name,
        llama_spec(cfg.n_layer, cfg.n_embd, cfg.n_head),
        files,
        depth=cfg.depth,
        epochs_per_stage=cfg.epochs_per_stage,
        num_epochs=num_epochs,
        seed=cfg.seed,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        **extra,
    )
    return config_from_dict(tree)


def latent_epochs(cfg: DemoConfig) -> int:
    """Epochs after stage 0: one stage per step, then the final epochs."""
    return cfg.epochs_per_stage * cfg.depth + cfg.final_epochs


STAGE0_SHAPE = ("min_nodes", "max_nodes", "depth", "n_layer", "n_embd", "n_head")
"""The settings the committed stage-0 checkpoint was trained with (their defaults)."""


def check_stage0(cfg: DemoConfig) -> None:
    """The committed stage-0 checkpoint fits only the graphs and model it was trained with."""
    if cfg.stage0 and cfg.stage0 == DemoConfig().stage0:
        changed = [f"--{n.replace('_', '-')}" for n in STAGE0_SHAPE if getattr(cfg, n) != getattr(DemoConfig(), n)]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)}: the committed stage-0 checkpoint was trained with the defaults; "
                "add --stage0 '' to train stage 0 for these settings"
            )


CHECKOUT = Path(__file__).resolve().parents[3]
"""The project's checkout when the package runs from it (`src/coconut_lm/apps/demo.py`)."""


def stage0_checkpoint(cfg: DemoConfig, data: dict[str, Path]) -> Path:
    """The committed stage-0 checkpoint, or one trained here (all threads)."""
    for folder in (Path(cfg.stage0), CHECKOUT / cfg.stage0):
        if cfg.stage0 and folder.is_dir():
            return folder
    if cfg.stage0:
        logger.warning("%s not found: training stage 0 here (%d epochs)", cfg.stage0, cfg.cot_epochs)
    stage0 = run_config(cfg, data, "stage0", "cot", cfg.cot_epochs, data={"train_path": str(data["stage0"])})
    torch.set_num_threads(cfg.threads)
    train(stage0, device="cpu")
    return ckpt.latest_checkpoint(stage0.run_dir)


def train_side_by_side(cot: RunConfig, coconut: RunConfig, threads: int) -> None:
    """The CoT baseline in a child process (one thread; its log in `cot.log`) while Coconut trains here."""
    folder = Path(cot.run_dir).parent
    yaml_path = folder / "cot.yaml"
    atomic_write_text(yaml_path, cot.to_yaml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open_new(folder / "cot.log") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "coconut_lm", "train", str(yaml_path)], env=env, stdout=log, stderr=log
        )
        torch.set_num_threads(max(1, threads - 1))
        try:
            train(coconut, device="cpu")
        finally:
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the CoT baseline failed (coconut-lm train {yaml_path}; its log: {folder / 'cot.log'})")


def run_demo(cfg: DemoConfig) -> dict:
    """Data, the trainings, evaluation and the frontier analysis; returns the figures and the
    text report (`report`)."""
    check_stage0(cfg)
    start = time.time()
    out = Path(cfg.out)
    data = make_data(cfg, out / "data")
    start_from = str(stage0_checkpoint(cfg, data))
    decay = {"lr_schedule": "linear", "decay_epochs": cfg.decay_epochs} if cfg.decay_epochs else {}
    cot = run_config(cfg, data, "cot", "cot", latent_epochs(cfg), model={"init_from": start_from}, training=decay)
    coconut = run_config(
        cfg,
        data,
        "coconut",
        "coconut",
        cfg.epochs_per_stage + latent_epochs(cfg),
        model={"init_from": start_from},
        training={"start_epoch": cfg.epochs_per_stage, **decay},
    )
    atomic_write_text(out / "coconut.yaml", coconut.to_yaml())
    logger.info("from %s: Coconut and the CoT baseline side by side, %d epochs each", start_from, latent_epochs(cfg))
    train_side_by_side(cot, coconut, cfg.threads)

    finals = {"CoT": ckpt.latest_checkpoint(cot.run_dir), "Coconut": ckpt.latest_checkpoint(coconut.run_dir)}
    results = {name: evaluate_checkpoint(str(path), str(data["test"]), device="cpu") for name, path in finals.items()}
    records = json.loads(data["test"].read_text(encoding="utf-8"))
    frontier = analyze_frontier(load_analysis_model(finals["Coconut"]), records)
    curves = {  # epochs after stage 0
        "CoT": validation_curve(Path(cot.run_dir)),
        "Coconut": validation_curve(Path(coconut.run_dir), shift=-cfg.epochs_per_stage),
    }
    plots = []
    try:  # frontier.json first, then the plots
        plots = write_frontier_report(frontier, out / "frontier")[1:]
        plots.append(plot_validation_curves(curves, out / "val_accuracy.png", "Symbolic graphs: validation accuracy"))
    except ImportError:
        logger.warning("matplotlib is not installed: no plots (pip install 'coconut-lm[plot]')")
    seconds = time.time() - start
    n = results["Coconut"].num_questions
    report = [
        f"\nTest split ({n} questions, graphs of {cfg.min_nodes}-{cfg.max_nodes} nodes, answers {cfg.depth} steps "
        f"deep, chance 50%), {seconds / 60:.1f} minutes in all:\n",
        "| model | test accuracy | restricted to the two candidates | mean new tokens |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r.accuracy:.1%} | {r.candidate_accuracy:.1%} | {r.mean_new_tokens:.1f} |"
            for name, r in results.items()
        ),
        "\nLatent breadth-first search: what Coconut's k-th thought predicts as the next node, over "
        "every test question (frontier = the nodes k steps from the root):\n",
        format_frontier_summary(frontier),
        f"\nFolder: {out} (cot/ and coconut/ runs, frontier/, demo_summary.json"
        + "".join(f", {p.name}" for p in plots[-1:])
        + ")",
        f"Next: coconut-lm eval {finals['Coconut']} --data {data['test']}\n"
        f"      coconut-lm analyze thoughts {finals['Coconut']} --data {data['test']} --out {out / 'thoughts'}",
    ]
    summary = {
        "seconds": seconds,
        "start": start_from,
        "results": {name: r.metrics("") for name, r in results.items()},
        "checkpoints": {name: str(path) for name, path in finals.items()},
        "validation": curves,
        "frontier": frontier.per_thought,
    }
    write_json(out / "demo_summary.json", summary)
    summary["report"] = "\n".join(report)
    return summary
