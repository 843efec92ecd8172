"""`coconut-lm data render`: write the training sequences (or evaluation prompts) of a data
file at one stage, for inspection and for comparison with the official code.

    coconut-lm data render --data valid.json --tokenizer tok/ --method coconut --stage 2 \\
        --c-thought 1 --max-latent-stage 6 --out stage2.jsonl

Each output line is `{"idx", "input_ids", "labels"}` (or `{"idx", "input_ids"}` with `--prompts`).
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

from coconut_lm.data.curriculum import build_prompt, build_sequence
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import add_special_tokens, tokenize_examples
from coconut_lm.io import write_jsonl


def render_rows(
    examples: list[dict],
    tokenizer,
    method: Method | str,
    stage: int,
    options: CurriculumConfig,
    seed: int = 0,
    prompts: bool = False,
) -> list[dict]:
    """The rendered rows of validated `examples` (the tokenizer gets the special tokens)."""
    method = Method.parse(method)
    ids = add_special_tokens(tokenizer, with_pause=method.uses_pause)
    rng = random.Random(seed)
    rows = []
    for example in tokenize_examples(examples, tokenizer):
        if prompts:
            rows.append({"idx": example.idx, "input_ids": build_prompt(example, stage, method, options, ids)})
        else:
            seq = build_sequence(example, stage, method, options, ids, rng)
            rows.append({"idx": example.idx, "input_ids": seq.input_ids, "labels": seq.labels})
    return rows


def render(
    data: str | os.PathLike,
    tokenizer_dir: str | os.PathLike,
    method: Method | str,
    stage: int,
    out: str | os.PathLike,
    options: CurriculumConfig | None = None,
    seed: int = 0,
    prompts: bool = False,
) -> Path:
    """Load `data` and the tokenizer in `tokenizer_dir`, render every example, write `out`."""
    from transformers import AutoTokenizer

    examples = load_examples(data)  # fail on bad data before loading anything else
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = render_rows(examples, tokenizer, Method.parse(method), stage, options or CurriculumConfig(), seed, prompts)
    return write_jsonl(out, rows)


def _main(args: argparse.Namespace) -> int:
    options = CurriculumConfig(
        c_thought=args.c_thought,
        max_latent_stage=args.max_latent_stage,
        pad_latent_to_max=args.pad_latent_to_max,
        uniform_prob=args.uniform_prob,
        icot_tokens_per_epoch=args.icot_tokens_per_epoch,
        icot_smoothing=args.icot_smoothing,
    )
    path = render(args.data, args.tokenizer, args.method, args.stage, args.out, options, args.seed, args.prompts)
    print(f"wrote {path}")
    return 0


def add_parser(subparsers) -> None:
    """Register `data render`."""
    defaults = CurriculumConfig()
    p = subparsers.add_parser("render", help="write the sequences or prompts of a data file at one stage")
    p.add_argument("--data", required=True, help="examples: .json (a list) or .jsonl")
    p.add_argument("--tokenizer", required=True, help="a Hugging Face tokenizer folder or name")
    p.add_argument("--method", required=True, type=Method.parse, help=", ".join(m.value for m in Method))
    p.add_argument("--stage", required=True, type=int, help="curriculum stage (iCoT: the epoch)")
    p.add_argument("--c-thought", type=int, default=defaults.c_thought, help="thoughts per step")
    p.add_argument("--max-latent-stage", type=int, default=defaults.max_latent_stage)
    p.add_argument("--pad-latent-to-max", action="store_true", help="max_latent_stage*c thoughts past it")
    p.add_argument("--uniform-prob", type=float, default=defaults.uniform_prob, help="stage-mixing probability")
    p.add_argument("--icot-tokens-per-epoch", type=int, default=defaults.icot_tokens_per_epoch)
    p.add_argument("--icot-smoothing", type=int, default=defaults.icot_smoothing)
    p.add_argument("--seed", type=int, default=0, help="seed of the stage-mixing / smoothing draws")
    p.add_argument("--prompts", action="store_true", help="write evaluation prompts instead")
    p.add_argument("--out", required=True, help="output .jsonl")
    p.set_defaults(func=_main)
