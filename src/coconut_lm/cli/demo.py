"""`coconut-lm demo`: the demo's flags are the fields of `DemoConfig`."""

from __future__ import annotations

from coconut_lm.options import add_arguments, from_arguments


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train a small Coconut model from scratch on CPU",
        description="Generate ProsQA-style data, train a tokenizer and a small GPT-2 through the Coconut "
        "curriculum on CPU, and report CoT vs Coconut on a test split (about 4 minutes on 2 cores).",
    )
    from coconut_lm.apps.demo import DemoConfig

    add_arguments(parser, DemoConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    from coconut_lm.apps.demo import DemoConfig, run_demo

    print(run_demo(from_arguments(DemoConfig, args))["report"])
    return 0
