"""The `coconut-lm` command line: one subcommand per module, each a thin wrapper.

Each module listed in `SUBCOMMANDS` defines `add_parser(subparsers)`, which adds its parser and
sets `func` (called with the parsed namespace, returning an exit code or None).

Errors follow one policy (`coconut_lm.errors`): a `UserError`, or a command's own
`SystemExit("message")`, prints one line and exits with status 2; `--debug` (anywhere on the
command line) shows the traceback instead. An interrupt (Ctrl-C, or SIGTERM during training)
prints one line and exits with 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
Logging is configured here, once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

from coconut_lm.errors import UserError, exit_with

SUBCOMMANDS = (
    "coconut_lm.cli.data",  # coconut-lm data ...
    "coconut_lm.cli.tokenizer",  # coconut-lm tokenizer train ...
    "coconut_lm.cli.bench",  # coconut-lm bench
    "coconut_lm.cli.demo",  # coconut-lm demo
    "coconut_lm.cli.analyze",  # coconut-lm analyze ...
    "coconut_lm.cli.plot",  # coconut-lm plot RUN
    "coconut_lm.cli.train",  # coconut-lm train
    "coconut_lm.cli.eval",  # coconut-lm eval / generate
    "coconut_lm.cli.stop_head",  # coconut-lm stop-head
    "coconut_lm.cli.export",  # coconut-lm export
)


class Parser(argparse.ArgumentParser):
    """argparse under the error policy: a bad command line is one line naming the command and
    the argument (`coconut-lm data steps: the following arguments are required: --split`), exit 2.
    Every subcommand's parser is one too (argparse gives subparsers their parent's class)."""

    def error(self, message: str):
        raise exit_with(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="coconut-lm",
        description="Train and study Chain of Continuous Thought (Coconut) language models.",
        epilog="--debug (anywhere): show the traceback of an error instead of its one line.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


SUBCOMMAND_DESTS = ("data_command", "analysis", "tokenizer_command")
"""Where commands with subcommands keep the subcommand's name (for error lines)."""


def command_name(args: argparse.Namespace) -> str:
    """`coconut-lm data prosqa`, `coconut-lm train`, ... for the command that ran."""
    sub = next((getattr(args, d) for d in SUBCOMMAND_DESTS if getattr(args, d, None)), None)
    return " ".join(filter(None, ("coconut-lm", args.command, sub)))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars: noise in every command's output
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
    try:
        code = args.func(args)
    except UserError as e:
        if debug:
            raise
        raise exit_with(f"{command_name(args)}: {e}") from None
    except SystemExit as e:
        if debug or not isinstance(e.code, str):
            raise
        raise exit_with(e.code) from None
    except KeyboardInterrupt as e:  # `TrainingStopped` names its checkpoint
        if debug:
            raise
        print(f"{command_name(args)}: {str(e) or 'interrupted (Ctrl-C)'}", file=sys.stderr)
        return 128 + getattr(e, "signum", signal.SIGINT)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
