"""`coconut-lm demo` (symbolic graphs, `DemoConfig`) and `coconut-lm demo-text` (ProsQA in
the paper's text format, `TextDemoConfig`): their flags are the fields of those settings."""

from __future__ import annotations

from coconut_lm.options import add_arguments, from_arguments


def add_parser(subparsers) -> None:
    from coconut_lm.apps.demo import DemoConfig
    from coconut_lm.apps.text_demo import TextDemoConfig

    parser = subparsers.add_parser(
        "demo",
        help="Coconut vs chain of thought on graph reasoning, trained from scratch on CPU",
        description="Generate graph questions written one token per node, train chain of thought, then Coconut "
        "and the CoT baseline side by side, and report both on a test split with Coconut's latent search "
        "(about 12 minutes on 2 cores).",
    )
    add_arguments(parser, DemoConfig)
    parser.set_defaults(func=run_graph)
    text = subparsers.add_parser(
        "demo-text",
        help="train a small Coconut model on ProsQA text on CPU",
        description="Generate ProsQA-style text data, train a tokenizer and a small GPT-2 through the Coconut "
        "curriculum on CPU, and report CoT vs Coconut on a test split (about 6 minutes on 2 cores).",
    )
    add_arguments(text, TextDemoConfig)
    text.set_defaults(func=run_text)


def run_graph(args) -> int:
    from coconut_lm.apps.demo import DemoConfig, run_demo

    print(run_demo(from_arguments(DemoConfig, args))["report"])
    return 0


def run_text(args) -> int:
    from coconut_lm.apps.text_demo import TextDemoConfig, run_demo

    print(run_demo(from_arguments(TextDemoConfig, args))["report"])
    return 0
