"""`coconut-lm analyze ...` (being written)."""


def add_parser(subparsers) -> None:
    pass
