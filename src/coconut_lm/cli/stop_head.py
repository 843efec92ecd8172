"""`coconut-lm stop-head`: train the classifier that decides when to stop thinking.

coconut-lm stop-head runs/symbolic/best --data data/train.json --val data/valid.json
coconut-lm eval runs/symbolic/best --data data/test.json --thoughts adaptive
"""

from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "stop-head",
        help="train a stop head on a Coconut checkpoint (for eval --thoughts adaptive)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("checkpoint", help="checkpoint folder, or a run folder (its best, else latest, checkpoint)")
    p.add_argument("--data", required=True, help="training examples (the labels come from their steps)")
    p.add_argument("--val", help="validation examples: report how often the head stops at the needed thought")
    p.add_argument("--mlp-width", type=int, default=0, help="0: a linear head; else a one-hidden-layer MLP")
    p.add_argument("--epochs", type=int, default=300, help="full-batch optimisation steps")
    p.add_argument("--limit", type=int, help="only the first N examples of each file")
    p.add_argument("--device", help="cpu, cuda, ...")
    p.set_defaults(func=run)


def run(args) -> int:
    from coconut_lm.train.stop_head import train_stop_head

    report = train_stop_head(args.checkpoint, args.data, args.val, args.mlp_width, args.epochs, args.device, args.limit)
    print(json.dumps(report, indent=1))
    return 0
