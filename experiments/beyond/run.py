"""Adaptive and Jacobi thoughts measured on a trained Coconut checkpoint (README, "Beyond the paper").

    python experiments/beyond/run.py CHECKPOINT --train TRAIN.json --valid VALID.json --test TEST.json \\
        --out experiments/beyond/results_NAME.json

1. fixed thoughts (the checkpoint's final-stage prompts) against adaptive ones: a stop head is
   trained on the training split (`coconut-lm stop-head`, linear) and `eval --thoughts adaptive`
   lets each question stop on its own; accuracy and mean thoughts on the test split;
2. Jacobi thoughts at inference, T = 1, 2, 3 iterations, against the sequential update, on the
   same checkpoint and test split (accuracy, forward passes per question).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coconut_lm.eval.evaluate import evaluate_checkpoint
from coconut_lm.io import write_json
from coconut_lm.train.stop_head import train_stop_head


def figures(result) -> dict:
    keys = ("accuracy", "mean_thoughts", "mean_new_tokens", "forward_passes_per_question", "num_questions")
    return {k: result.metrics("")[k] for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--train", required=True)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--train-limit", type=int, default=4000, help="training questions for the stop head")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    results = {"checkpoint": args.checkpoint}
    results["stop_head"] = train_stop_head(args.checkpoint, args.train, args.valid, limit=args.train_limit)
    results["fixed"] = figures(evaluate_checkpoint(args.checkpoint, args.test, device="cpu"))
    results["adaptive"] = figures(evaluate_checkpoint(args.checkpoint, args.test, device="cpu", thoughts="adaptive"))
    for t in (1, 2, 3):
        result = evaluate_checkpoint(args.checkpoint, args.test, device="cpu", jacobi_iterations=t)
        results[f"jacobi_T{t}"] = figures(result)
    write_json(Path(args.out), results)
    for name in ("fixed", "adaptive", "jacobi_T1", "jacobi_T2", "jacobi_T3"):
        r = results[name]
        print(
            f"{name}: accuracy {r['accuracy']:.3f}, mean thoughts {r['mean_thoughts']:.2f}, "
            f"passes {r['forward_passes_per_question']:.1f}"
        )


if __name__ == "__main__":
    main()
