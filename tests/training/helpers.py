"""Building a `Trainer` in-process for the equivalence tests."""

from __future__ import annotations

from coconut_lm.config import config_from_dict
from coconut_lm.distributed import DistEnv
from coconut_lm.modeling_setup import build_model
from coconut_lm.tracking import NullTracker
from coconut_lm.training import Trainer, seed_everything
from coconut_lm.training_data import load_split


def make_trainer(cfg_dict: dict) -> Trainer:
    cfg = config_from_dict(cfg_dict)
    seed_everything(cfg.training.seed)
    bundle = build_model(cfg)
    train = load_split(cfg.data.train_path, bundle.tokenizer)
    return Trainer(cfg, DistEnv(), bundle, train, None, NullTracker())


NO_DROPOUT = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
