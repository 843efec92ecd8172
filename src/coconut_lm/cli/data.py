"""`coconut-lm data ...`: build, inspect and render data sets.

Each module in `DATA_SUBCOMMANDS` defines `add_parser(subparsers)` for its own subcommand(s).
"""

from __future__ import annotations

import importlib

DATA_SUBCOMMANDS = (
    "coconut_lm.data.datasets.gsm8k",  # data gsm8k
    "coconut_lm.data.datasets.prontoqa",  # data prontoqa
    "coconut_lm.data.datasets.prosqa",  # data prosqa, data stats
    "coconut_lm.data.render",  # data render
    "coconut_lm.data.datasets.symbolic",  # data symbolic
    "coconut_lm.data.steps",  # data steps
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="build, inspect and render data sets")
    data_sub = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    for module_name in DATA_SUBCOMMANDS:
        module = importlib.import_module(module_name)
        if hasattr(module, "add_parser"):
            module.add_parser(data_sub)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
