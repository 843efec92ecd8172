"""`coconut-lm train`: run a config (or resume a run folder); under torchrun, DDP or FSDP.

coconut-lm train configs/prosqa_coconut.yaml training.lr=3e-4 run_dir=runs/prosqa
coconut-lm train runs/prosqa                  # resume the run from its latest checkpoint
coconut-lm train runs/prosqa --restart        # begin again (the old history goes to previous-N/)
coconut-lm train runs/prosqa training.batch_size=64 --allow-changes   # resume with changed settings
torchrun --nproc_per_node 4 -m coconut_lm train configs/prosqa_coconut.yaml
coconut-lm train --show-defaults              # every key, its default and its doc

Ctrl-C or SIGTERM stops at the next step with a checkpoint to resume from, and exits with 130
(SIGINT) or 143 (SIGTERM); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def resolve_config_path(target: str) -> Path:
    """A YAML file as given, or the `config.yaml` a run folder holds."""
    path = Path(target)
    return path / "config.yaml" if path.is_dir() else path


def run_folder_of(target: str) -> Path | None:
    """The run folder that `target` names: itself, or the folder of its `config.yaml`."""
    from coconut_lm.run.run_folder import RUN_CONFIG_FILE, is_run_folder

    path = Path(target)
    if path.is_dir():
        return path
    return path.parent if path.name == RUN_CONFIG_FILE and is_run_folder(path.parent) else None


def names_run_dir(args: argparse.Namespace) -> bool:
    """Whether the command line sets the run folder (`--run-dir` or `run_dir=...`)."""
    return bool(args.run_dir) or any(o.split("=", 1)[0].strip() == "run_dir" for o in args.overrides)


def run(args: argparse.Namespace) -> int:
    from coconut_lm.run.config import defaults_yaml, load_config
    from coconut_lm.run.distributed import DistEnv, shutdown
    from coconut_lm.train.trainer import train

    if args.show_defaults:
        print(defaults_yaml(), end="")
        return 0
    if args.config is None:
        print("coconut-lm train: give a config file or a run folder (see --help)")
        return 2
    overrides = list(args.overrides)
    if args.run_dir:
        overrides.append(f"run_dir={args.run_dir}")
    cfg = load_config(resolve_config_path(args.config), overrides)
    folder = run_folder_of(args.config)
    if folder is not None and not names_run_dir(args):
        # A run folder is where it is: a copied or moved folder resumes itself, not the folder
        # named by the `run_dir` inside its config.yaml.
        cfg = dataclasses.replace(cfg, run_dir=str(folder))
    if args.restart and args.resume_best:
        raise SystemExit("coconut-lm train: give --restart or --resume-best, not both")
    resume = "restart" if args.restart else "best" if args.resume_best else "auto"
    try:
        summary = train(cfg, device=args.device, resume=resume, allow_changes=args.allow_changes)
    finally:
        import os

        shutdown(DistEnv(world_size=int(os.environ.get("WORLD_SIZE", "1"))))
    print(f"done: {summary}")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model (any method of the paper); resumes a run folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", nargs="?", help="YAML config (ours or an official args file), or a run folder")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. training.lr=3e-4")
    parser.add_argument("--run-dir", help="run folder (same as the override run_dir=...)")
    parser.add_argument("--device", help="cpu to force the CPU; default: the GPU when there is one")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="begin again in a run folder that has checkpoints (they, best/ and the metrics move to previous-N/)",
    )
    parser.add_argument(
        "--resume-best", action="store_true", help="resume from the run folder's best/ (its newer checkpoints go aside)"
    )
    parser.add_argument(
        "--allow-changes",
        action="store_true",
        help="resume even though settings changed that make the run differ from an uninterrupted one "
        "(batch size, data, seed, ...); the changes are logged",
    )
    parser.add_argument("--show-defaults", action="store_true", help="print every key with its default and doc")
    parser.set_defaults(func=run)
