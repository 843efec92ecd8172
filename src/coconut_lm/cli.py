"""The `coconut-lm` command line: one subcommand per module, each a thin wrapper.

Each module listed in `SUBCOMMANDS` defines `add_parser(subparsers)`, which adds its parser and
sets `func` (called with the parsed namespace, returning an exit code or None).
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = (
    "coconut_lm.data.cli",  # coconut-lm data ...
    "coconut_lm.tokenizer",  # coconut-lm tokenizer train ...
    "coconut_lm.bench",  # coconut-lm bench
    "coconut_lm.demo",  # coconut-lm demo
    "coconut_lm.analysis.cli",  # coconut-lm analyze ...
    "coconut_lm.train_cli",  # coconut-lm train
    "coconut_lm.eval_cli",  # coconut-lm eval / generate
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coconut-lm",
        description="Train and study Chain of Continuous Thought (Coconut) language models.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # KEY=VALUE overrides may come after options (`train cfg.yaml --device cpu training.lr=3e-4`),
    # which argparse leaves unparsed; commands with an `overrides` list take them.
    if extra and not (hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    code = args.func(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
