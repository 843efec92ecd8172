"""`coconut-lm eval` and `coconut-lm generate`: a checkpoint on a data file, or on one question.

coconut-lm eval runs/prosqa/best --data data/prosqa/test.json --predictions preds.jsonl
coconut-lm eval runs/prosqa --data test.json --num-thoughts 3   # a run folder: its best checkpoint
coconut-lm generate runs/prosqa/best "Is Tom a wumpus or a yumpus?"
"""

from __future__ import annotations

import argparse
import dataclasses
import json


def run_eval(args: argparse.Namespace) -> int:
    import os

    from coconut_lm.eval.evaluate import evaluate_checkpoint
    from coconut_lm.io import write_jsonl

    result = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        num_thoughts=args.num_thoughts,
        stage=args.stage,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        limit=args.limit,
        device=args.device,
        too_long=args.too_long,
        thoughts=args.thoughts,
        jacobi_iterations=args.jacobi_iterations,
    )
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun every process evaluates a shard; rank 0 reports
    if args.predictions:
        write_jsonl(args.predictions, result.predictions)
    print(json.dumps(result.metrics(prefix=""), indent=1))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    import torch

    from coconut_lm.data.collate import collate_prompts
    from coconut_lm.data.curriculum import build_prompt
    from coconut_lm.data.tokenization import tokenize_examples
    from coconut_lm.errors import InputError
    from coconut_lm.eval.evaluate import extract_answer, load_for_inference, set_num_thoughts
    from coconut_lm.run.build import context_size

    if args.max_new_tokens < 0:
        raise InputError(f"--max-new-tokens: must be >= 0, got {args.max_new_tokens}")
    cfg, bundle, stage = load_for_inference(args.checkpoint, args.device)
    example = tokenize_examples(
        [{"question": args.question, "steps": [], "answer": ""}], bundle.tokenizer, check_concat=False
    )[0]
    # The question's number of steps is unknown: give it the stage's full thought count.
    options = dataclasses.replace(cfg.curriculum, pad_latent_to_max=True)
    prompt = build_prompt(example, stage if args.stage is None else args.stage, cfg.method, options, bundle.ids)
    if args.num_thoughts is not None:
        prompt = set_num_thoughts(prompt, cfg.method.slot_token(bundle.ids), args.num_thoughts)
    context = context_size(bundle.model, cfg.model)
    if context is not None and len(prompt) + args.max_new_tokens > context:
        raise InputError(
            f"the question's prompt has {len(prompt)} tokens; with {args.max_new_tokens} new tokens that exceeds "
            f"the model's context of {context} (use a shorter question or fewer --max-new-tokens)"
        )
    batch = collate_prompts([prompt], bundle.ids.pad)
    device = next(bundle.model.parameters()).device
    with torch.no_grad():
        out = bundle.model.generate(
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            max_new_tokens=args.max_new_tokens,
            return_dict=True,
        )
    new = out.sequences[0, batch["input_ids"].shape[1] :]
    text = bundle.tokenizer.decode(new, skip_special_tokens=True)
    print(text.strip())
    print(f"answer: {extract_answer(text)}")
    print(f"continuous thoughts: {int(out.num_thoughts[0])}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="accuracy of a checkpoint on a data file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint folder, or a run folder (its best, else latest, checkpoint)")
    p.add_argument("--data", required=True, help="examples (JSON list or JSON Lines)")
    p.add_argument("--num-thoughts", type=int, help="override the number of continuous thoughts")
    p.add_argument(
        "--thoughts",
        choices=("fixed", "adaptive"),
        default="fixed",
        help="fixed: the stage's (or --num-thoughts) thoughts; adaptive: the checkpoint's stop head decides",
    )
    p.add_argument(
        "--jacobi-iterations", type=int, help="compute the thoughts by T Jacobi iterations (default: the run's setting)"
    )
    p.add_argument("--stage", type=int, help="curriculum stage of the prompts (default: the checkpoint's)")
    p.add_argument("--max-new-tokens", type=int, help="default: the run's evaluation.max_new_tokens (0 means 0)")
    p.add_argument(
        "--too-long",
        choices=("error", "skip", "truncate"),
        help="a prompt that leaves no room for the new tokens in the model's context: stop, leave the "
        "question out, or keep the prompt's last tokens (default: the run's data.too_long)",
    )
    p.add_argument("--batch-size", type=int, help="questions per generate call")
    p.add_argument("--limit", type=int, help="only the first N examples")
    p.add_argument("--predictions", help="write one JSON line per question here")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ...")
    p.set_defaults(func=run_eval)

    g = subparsers.add_parser("generate", help="answer one question with a checkpoint")
    g.add_argument("checkpoint", help="checkpoint folder or run folder")
    g.add_argument("question")
    g.add_argument("--num-thoughts", type=int, help="override the number of continuous thoughts")
    g.add_argument("--stage", type=int, help="curriculum stage of the prompt (default: the checkpoint's)")
    g.add_argument("--max-new-tokens", type=int, default=128)
    g.add_argument("--device", help="cpu, cuda, ...")
    g.set_defaults(func=run_generate)
