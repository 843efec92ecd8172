"""Probe: where a CoT model's written walks go wrong, from `coconut-lm eval --predictions`.

For each question, the written chain (the generation before `#`) is read as a walk from the root:
- on edges: every written step follows an edge of the question's graph;
- wrong end: a walk on edges that ends elsewhere than the target;
- neither candidate: the answer is neither of the two candidates.
The walk shares are over the questions with a written chain (none for a latent model).

    coconut-lm eval experiments/symbolic/checkpoints/cot_m2_s0 --data experiments/symbolic/data/m2_test.json \
        --predictions cot_m2_s0.jsonl
    python experiments/symbolic/probes/written_walks.py cot_m2_s0.jsonl experiments/symbolic/data/m2_test.json
"""

from __future__ import annotations

import argparse
import json


def walk_summary(predictions: list[dict], examples: list[dict]) -> dict[str, float]:
    written = on_edges = wrong_end = neither = 0
    for prediction, example in zip(predictions, examples, strict=True):
        symbols = example["idx_to_symbol"]
        edges = {(symbols[s], symbols[t]) for s, t in example["edges"]}
        neither += prediction["prediction"].strip() not in {symbols[example["target"]], symbols[example["neg_target"]]}
        walk = [symbols[example["root"]], *prediction["output"].split("#")[0].split()]
        if len(walk) == 1:
            continue
        written += 1
        if all(step in edges for step in zip(walk, walk[1:])):
            on_edges += 1
            wrong_end += walk[-1] != symbols[example["target"]]
    summary = {"questions": len(examples), "written_chains": written, "neither_candidate": neither / len(examples)}
    if written:
        summary |= {"on_edges": on_edges / written, "on_edges_wrong_end": wrong_end / written}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("predictions", help="JSON Lines written by `coconut-lm eval --predictions`")
    parser.add_argument("data", help="the symbolic split it was evaluated on (with its graph fields)")
    args = parser.parse_args()
    with open(args.predictions) as f:
        predictions = [json.loads(line) for line in f if line.strip()]
    with open(args.data) as f:
        examples = json.load(f)
    summary = walk_summary(predictions, examples[: len(predictions)])
    print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
