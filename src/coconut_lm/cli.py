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
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    code = args.func(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
