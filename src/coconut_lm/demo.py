"""`coconut-lm demo`: the first run a new user sees (being written)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="train a small Coconut model from scratch on CPU")
    parser.set_defaults(func=run)


def run(args) -> int:
    print("The demo is not written yet; see the README for what works today.")
    return 0
