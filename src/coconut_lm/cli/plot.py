"""`coconut-lm plot`: a run's metrics.jsonl as figures (needs matplotlib: pip install 'coconut-lm[plot]').

coconut-lm plot runs/prosqa                    # runs/prosqa/plots/training.png and validation.png
coconut-lm plot runs/prosqa --out figures/     # elsewhere
coconut-lm plot runs/prosqa/metrics.jsonl      # the file itself (a copy, a run in progress)

training.png: the training loss (and its running mean) and the learning rate by step, each
curriculum stage shaded, the validation loss as points; validation.png: the validation accuracy
by epoch, the stage changes marked. Files of those names in --out are replaced.
"""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from coconut_lm.analysis.run_metrics import plot_run

    for path in plot_run(args.run, args.out):
        print(f"wrote {path}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plot",
        help="plot a run's training loss, learning rate and validation accuracy (PNG)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", help="run folder (or its metrics.jsonl)")
    p.add_argument("--out", help="folder for the PNG files (default: RUN/plots)")
    p.set_defaults(func=run)
