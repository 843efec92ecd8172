"""`coconut-lm eval` and `coconut-lm generate`: a checkpoint on a data file, or on one question.

coconut-lm eval runs/prosqa/best --data data/prosqa/test.json --predictions preds.jsonl
coconut-lm eval runs/prosqa --data test.json --num-thoughts 3   # a run folder: its latest checkpoint
coconut-lm generate runs/prosqa/best "Is Tom a wumpus or a yumpus?"
coconut-lm generate runs/prosqa "Is Tom a wumpus?" --temperature 0.8 --num-samples 8 --seed 0   # 8 drawn answers
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from coconut_lm.options import add_arguments, from_arguments


def run_eval(args: argparse.Namespace) -> int:
    import os

    from coconut_lm.eval.evaluate import evaluate_checkpoint
    from coconut_lm.eval.settings import EvalSettings
    from coconut_lm.io import check_target, write_jsonl

    settings = from_arguments(EvalSettings, args)  # every flag's range, before anything is loaded
    if args.predictions:  # before the long work: a link, a device, an existing file, no permission
        check_target(args.predictions, overwrite=args.overwrite)
    result = evaluate_checkpoint(args.checkpoint, args.data, device=args.device, **dataclasses.asdict(settings))
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun every process evaluates a shard; rank 0 reports
    if args.predictions:
        write_jsonl(args.predictions, result.predictions)
    print(json.dumps({**result.checkpoint, **result.metrics(prefix="")}, indent=1))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from collections import Counter

    from coconut_lm.eval.inference import load
    from coconut_lm.eval.settings import GenerateSettings
    from coconut_lm.run.checkpoint import checkpoint_line

    settings = from_arguments(GenerateSettings, args)  # every flag's range, before anything is loaded
    model = load(args.checkpoint, args.device)
    outs = model.generate(args.question, **dataclasses.asdict(settings))
    print(checkpoint_line(model.folder))
    for k, tokens in enumerate(outs[0].thoughts, 1):  # the thoughts come before any draw: one set
        print(f"thought {k}: {' '.join(tokens)}")
    if len(outs) == 1:
        print(outs[0].text)
        print(f"answer: {outs[0].answer}")
    else:
        for out in outs:
            print(f"sample {out.sample + 1}: {out.text}")
        votes = Counter(out.answer for out in outs).most_common()
        print("answers: " + ", ".join(f"{answer} ({n})" for answer, n in votes))
    print(f"continuous thoughts: {outs[0].num_thoughts}")
    return 0


def add_parser(subparsers) -> None:
    from coconut_lm.eval.settings import EvalSettings, GenerateSettings

    p = subparsers.add_parser(
        "eval",
        help="accuracy of a checkpoint on a data file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint folder (RUN/best: the best), or a run folder (its latest checkpoint)")
    p.add_argument("--data", required=True, help="examples (JSON list or JSON Lines)")
    add_arguments(p, EvalSettings)  # --num-thoughts, --thoughts, --stage, --limit, ... with their checks
    p.add_argument("--predictions", help="write one JSON line per question here (a new file, or see --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --predictions file")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ...")
    p.set_defaults(func=run_eval)

    g = subparsers.add_parser("generate", help="answer one question with a checkpoint")
    g.add_argument("checkpoint", help="checkpoint folder or run folder")
    g.add_argument("question", help="the question text (special tokens such as <|latent|> are refused)")
    add_arguments(g, GenerateSettings)  # --num-thoughts, --stage, --max-new-tokens, --temperature, ...
    g.add_argument("--device", help="cpu, cuda, ...")
    g.set_defaults(func=run_generate)
