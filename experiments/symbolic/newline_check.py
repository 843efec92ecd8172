"""Does a newline token between the steps slow down learning the edge lookup? (README, "Data")

A 2-layer model learns to follow a chain graph written as `s t |` edges: the question is the
shuffled edges, then `[Q] root`; the target is the next three nodes of the chain. Printed every
250 steps: the loss and the next-node accuracy (teacher forced).

    python experiments/symbolic/newline_check.py              # steps follow each other
    python experiments/symbolic/newline_check.py --newlines   # a newline token after each node
"""

from __future__ import annotations

import argparse
import random
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SYMBOLS = 32
EDGE, QUESTION, NEWLINE, PAD = SYMBOLS, SYMBOLS + 1, SYMBOLS + 2, SYMBOLS + 3


def example(rng: random.Random, newlines: bool, num_nodes: int = 8) -> tuple[list[int], list[int]]:
    chain = rng.sample(range(SYMBOLS), num_nodes)
    edges = list(zip(chain, chain[1:]))
    rng.shuffle(edges)
    question = [t for a, b in edges for t in (a, b, EDGE)] + [QUESTION, chain[0]] + ([NEWLINE] if newlines else [])
    steps = [t for node in chain[1:4] for t in ([node, NEWLINE] if newlines else [node])]
    return question, steps


def batch(rng: random.Random, size: int, newlines: bool) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [example(rng, newlines) for _ in range(size)]
    width = max(len(q) + len(s) for q, s in rows)
    ids, labels = torch.full((size, width), PAD), torch.full((size, width), -100)
    for i, (q, s) in enumerate(rows):
        ids[i, : len(q) + len(s)] = torch.tensor(q + s)
        labels[i, len(q) : len(q) + len(s)] = torch.tensor(s)
    return ids, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--newlines", action="store_true")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=PAD + 1,
        hidden_size=args.width,
        intermediate_size=4 * args.width,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
    )
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    rng, start = random.Random(0), time.time()
    for step in range(1, args.steps + 1):
        ids, labels = batch(rng, 32, args.newlines)
        out = model(input_ids=ids, labels=labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        if step % 250 == 0:
            predicted, target = out.logits[:, :-1].argmax(-1), labels[:, 1:]
            nodes = (target != -100) & (target != NEWLINE)
            accuracy = (predicted[nodes] == target[nodes]).float().mean().item()
            print(f"{step} loss {out.loss.item():.3f} next-node accuracy {accuracy:.3f} {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
