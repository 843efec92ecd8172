"""`coconut-lm bench`: a preset shape, then any field of `BenchConfig` as a flag."""

from __future__ import annotations

import json

from coconut_lm.options import add_arguments, from_arguments


def add_parser(subparsers) -> None:
    from coconut_lm.apps.bench import PRESETS, BenchConfig

    parser = subparsers.add_parser("bench", help="speed and memory of Coconut against plain Hugging Face")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="a named shape (PRESETS)")
    add_arguments(parser, BenchConfig, skip=("preset",))  # flags not given keep the preset's value
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.set_defaults(func=run)


def run(args) -> int:
    from coconut_lm.apps.bench import PRESETS, BenchConfig, format_table, run_bench

    cfg = from_arguments(BenchConfig, args, base={**PRESETS[args.preset], "preset": args.preset})
    result = run_bench(cfg)
    print(json.dumps(result) if args.json else format_table(result))
    return 0
