"""Fixtures of the analysis tests: small generated ProsQA data and a tiny trained checkpoint,
made once per session (no network, no ../shared)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

NUM_TRAIN = 48
NUM_TEST = 6


def small_prosqa(num: int, seed: int) -> list[dict]:
    from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_prosqa

    return generate_prosqa(num, seed, ProsQAConfig(min_nodes=7, max_nodes=9, min_path=2, max_path=4))


def _train_few_steps(model, tokenizer, ids, records: list[dict], steps: int = 12) -> None:
    """A few AdamW steps on stage-mixed Coconut sequences, so outputs look like chains."""
    from coconut_lm.data.collate import collate
    from coconut_lm.data.curriculum import build_sequence
    from coconut_lm.data.methods import CurriculumConfig
    from coconut_lm.data.tokenization import tokenize_examples

    tokenized = tokenize_examples(records, tokenizer)
    options = CurriculumConfig(max_latent_stage=2, uniform_prob=1.0)
    rng = random.Random(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        chunk = [tokenized[(8 * step + j) % len(tokenized)] for j in range(8)]
        batch = collate([build_sequence(t, 0, "coconut", options, ids, rng) for t in chunk], ids.pad, ids.latent)
        loss = model(batch["input_ids"], batch["attention_mask"], batch["labels"], batch["position_ids"]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@pytest.fixture(scope="session")
def prosqa_records() -> list[dict]:
    return small_prosqa(NUM_TEST, seed=1)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, prosqa_records) -> dict[str, Path]:
    """{"checkpoint": folder with save_pretrained model + tokenizer, "data": test JSON file}."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from coconut_lm.data.tokenization import add_special_tokens
    from coconut_lm.data.tokenizer_training import record_text, train_tokenizer
    from coconut_lm.model.coconut import CoconutModel

    root = tmp_path_factory.mktemp("analysis")
    train = small_prosqa(NUM_TRAIN, seed=0)
    texts = [record_text(r) for r in train + prosqa_records]
    tokenizer = AutoTokenizer.from_pretrained(train_tokenizer(texts, vocab_size=400, out_dir=root / "tok"))
    ids = add_special_tokens(tokenizer)
    torch.manual_seed(0)
    special = {"bos_token_id": ids.eos, "eos_token_id": ids.eos, "pad_token_id": ids.eos}
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=512, vocab_size=len(tokenizer), **special)
    base = GPT2LMHeadModel(config)
    _train_few_steps(CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos), tokenizer, ids, train)
    folder = root / "checkpoint"
    base.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    data = root / "test.json"
    data.write_text(json.dumps(prosqa_records), encoding="utf-8")
    return {"checkpoint": folder, "data": data}


@pytest.fixture(scope="session")
def analysis_model(tiny_checkpoint):
    from coconut_lm.analysis.checkpoint_io import load_analysis_model

    return load_analysis_model(tiny_checkpoint["checkpoint"])


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op thread: the machine is shared and these models are tiny."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
