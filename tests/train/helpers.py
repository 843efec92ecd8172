"""Building a `Trainer` in-process for the equivalence tests."""

from __future__ import annotations

from coconut_lm.data.batching import load_split
from coconut_lm.run.build import build_model
from coconut_lm.run.config import config_from_dict
from coconut_lm.run.distributed import DistEnv
from coconut_lm.train.tracking import NullTracker
from coconut_lm.train.trainer import Trainer, seed_everything


def make_trainer(cfg_dict: dict) -> Trainer:
    cfg = config_from_dict(cfg_dict)
    seed_everything(cfg.training.seed)
    bundle = build_model(cfg)
    train = load_split(cfg.data.train_path, bundle.tokenizer)
    return Trainer(cfg, DistEnv(), bundle, train, None, NullTracker())


NO_DROPOUT = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
