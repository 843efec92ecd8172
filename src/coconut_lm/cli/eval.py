"""`coconut-lm eval` and `coconut-lm generate`: a checkpoint on a data file, or on one question.

coconut-lm eval runs/prosqa/best --data data/prosqa/test.json --predictions preds.jsonl
coconut-lm eval runs/prosqa --data test.json --num-thoughts 3   # a run folder: its best checkpoint
coconut-lm generate runs/prosqa/best "Is Tom a wumpus or a yumpus?"
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
    import torch

    from coconut_lm.data.collate import collate_prompts
    from coconut_lm.data.curriculum import build_prompt
    from coconut_lm.data.tokenization import find_special_text, tokenize_examples
    from coconut_lm.errors import InputError
    from coconut_lm.eval.evaluate import extract_answer, load_for_inference, set_num_thoughts
    from coconut_lm.eval.settings import GenerateSettings, check_stage
    from coconut_lm.run.build import context_size
    from coconut_lm.run.checkpoint import checkpoint_line, resolve_checkpoint

    settings = from_arguments(GenerateSettings, args)  # every flag's range, before anything is loaded
    cfg, bundle, stage = load_for_inference(args.checkpoint, args.device)
    special = find_special_text(args.question, bundle.tokenizer)
    if special is not None:
        raise InputError(
            f"question: holds {special!r}, a special token of the tokenizer; coconut-lm places the thought "
            "tokens itself (remove or reword it; --num-thoughts sets how many thoughts)"
        )
    if settings.stage is not None:
        check_stage(settings.stage, cfg.method, cfg.curriculum)
        stage = settings.stage
    example = tokenize_examples(
        [{"question": args.question, "steps": [], "answer": ""}], bundle.tokenizer, check_concat=False
    )[0]
    # The question's number of steps is unknown: give it the stage's full thought count.
    options = dataclasses.replace(cfg.curriculum, pad_latent_to_max=True)
    prompt = build_prompt(example, stage, cfg.method, options, bundle.ids)
    if settings.num_thoughts is not None:
        prompt = set_num_thoughts(prompt, len(example.question), settings.num_thoughts, cfg.method, bundle.ids)
    max_new_tokens = settings.max_new_tokens
    context = context_size(bundle.model, cfg.model)
    if context is not None and len(prompt) + max_new_tokens > context:
        raise InputError(
            f"the question's prompt has {len(prompt)} tokens; with {max_new_tokens} new tokens that exceeds "
            f"the model's context of {context} (use a shorter question or fewer --max-new-tokens)"
        )
    batch = collate_prompts([prompt], bundle.ids.pad)
    device = next(bundle.model.parameters()).device
    with torch.no_grad():
        out = bundle.model.generate(
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            max_new_tokens=max_new_tokens,
            return_dict=True,
        )
    new = out.sequences[0, batch["input_ids"].shape[1] :]
    text = bundle.tokenizer.decode(new, skip_special_tokens=True)
    print(checkpoint_line(resolve_checkpoint(args.checkpoint)))
    print(text.strip())
    print(f"answer: {extract_answer(text)}")
    print(f"continuous thoughts: {int(out.num_thoughts[0])}")
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
    add_arguments(g, GenerateSettings)  # --num-thoughts, --stage, --max-new-tokens
    g.add_argument("--device", help="cpu, cuda, ...")
    g.set_defaults(func=run_generate)
