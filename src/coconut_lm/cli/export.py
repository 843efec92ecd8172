"""`coconut-lm export`: a checkpoint without its resume-only files, for sharing.

coconut-lm export runs/symbolic out/symbolic-coconut     # the run's latest checkpoint (RUN/best for the best)
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="copy a checkpoint without its optimizer and RNG states (for eval, generate, analyze)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("checkpoint", help="checkpoint folder (RUN/best: the best), or a run folder (its latest checkpoint)")
    p.add_argument("out", help="new folder (must not exist)")
    p.set_defaults(func=run)


def run(args) -> int:
    from coconut_lm.run.checkpoint import export_for_inference

    print(f"wrote {export_for_inference(args.checkpoint, args.out)}")
    return 0
