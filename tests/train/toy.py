"""Tiny generated data, tokenizer and configs for the training tests (no network, no ../shared)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

NAMES = ["Tom", "Ann", "Bob", "Eve", "Sam", "Max", "Liz", "Ron"]
CONCEPTS = ["wumpus", "yumpus", "zumpus", "dumpus", "rompus", "lempus", "gorpus", "vumpus"]


def toy_examples(n: int, seed: int = 0) -> list[dict]:
    """ProsQA-like records: 1-3 steps of a chain, answer "X is a c."."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = rng.choice(NAMES)
        chain = rng.sample(CONCEPTS, rng.randint(2, 4))
        steps = [f"{name} is a {chain[0]}."] + [f"Every {a} is a {b}." for a, b in zip(chain, chain[1:])]
        other = rng.choice([c for c in CONCEPTS if c not in chain])
        pair = [chain[-1], other] if rng.random() < 0.5 else [other, chain[-1]]
        out.append(
            {
                "question": f"Is {name} a {pair[0]} or {pair[1]}?",
                "steps": steps[:-1] or steps,
                "answer": f"{name} is a {chain[-1]}.",
            }
        )
    return out


def write_data(folder: Path, n_train: int = 16, n_val: int = 6) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    train, val = folder / "train.json", folder / "valid.json"
    train.write_text(json.dumps(toy_examples(n_train, 0)))
    val.write_text(json.dumps(toy_examples(n_val, 1)))
    return train, val


def write_tokenizer(folder: Path) -> Path:
    from coconut_lm.data.tokenizer_training import train_tokenizer

    texts = [json.dumps(e) for e in toy_examples(200, 7)] + ["### " + " ".join(NAMES + CONCEPTS)]
    return train_tokenizer(texts, vocab_size=320, out_dir=folder, min_frequency=2)


def tiny_config(tmp: Path, tokenizer: Path, train: Path, val: Path, **sections) -> dict:
    """A nested config dict for a 2-layer width-32 GPT-2 (2 stages x 1 epoch by default)."""
    cfg = {
        "method": "coconut",
        "run_dir": str(tmp / "run"),
        "model": {
            "from_config": {"model_type": "gpt2", "n_layer": 2, "n_embd": 32, "n_head": 2, "n_positions": 96},
            "tokenizer": str(tokenizer),
        },
        "data": {"train_path": str(train), "val_path": str(val)},
        "curriculum": {"c_thought": 1, "max_latent_stage": 1, "epochs_per_stage": 1},
        "training": {"num_epochs": 2, "batch_size": 4, "lr": 1e-3, "seed": 0},
        "evaluation": {"max_new_tokens": 8, "batch_size": 4},
        "logging": {"progress_bar": False},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    return cfg


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path
