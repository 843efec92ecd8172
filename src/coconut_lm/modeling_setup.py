"""Building the model a run trains or evaluates: base LM, tokenizer, special tokens, wrapper.

Sources, in order of precedence:
1. a checkpoint folder of ours (resume / evaluation): weights and tokenizer as saved;
2. `model.init_from`: a checkpoint or Hugging Face folder, or a state-dict file of the official
   code (plain keys, e.g. its GSM8k CoT checkpoint, or `base_causallm.*` keys of its Coconut);
3. `model.name_or_path` (hub id or local folder; offline works with a folder), or
   `model.from_config` (a fresh architecture) with `model.tokenizer`.

The special tokens are always added to the tokenizer (as the official code does); the embedding
rows are grown and initialised (copy of `model.init_token`, PAPER.md §2) only for the methods
whose sequences hold them, and only for rows the weights do not have yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from coconut_lm.config import ConfigError, ModelConfig, RunConfig
from coconut_lm.methods import Method

log = logging.getLogger(__name__)


@dataclass
class ModelBundle:
    """A model ready to train or evaluate, with what the data pipeline needs."""

    model: torch.nn.Module
    """The `CoconutModel` (for every method: without thoughts in the input it is the base LM)."""
    tokenizer: object
    """The tokenizer with the special tokens added."""
    ids: object
    """`SpecialTokenIds` of the tokenizer."""


def needs_special_embeddings(method: Method) -> bool:
    """Whether the method's sequences hold `<bot>`, `<eot>`, thoughts or pause tokens."""
    return method.uses_thoughts or method.uses_pause


def load_tokenizer(source: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)


def _from_config(spec: dict, tokenizer):
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = dict(spec)
    model_type = kwargs.pop("model_type")
    kwargs.setdefault("vocab_size", len(tokenizer))
    for name in ("bos_token_id", "eos_token_id"):
        kwargs.setdefault(name, tokenizer.eos_token_id)
    try:
        config = AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"model.from_config: {e}") from None
    return AutoModelForCausalLM.from_config(config)


def load_pretrained(source: str | Path, trust_remote_code: bool = False):
    """A causal LM from a hub id or folder, in float32 (training uses autocast for bf16)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, trust_remote_code=trust_remote_code)


def _is_folder_model(path: str) -> bool:
    return Path(path).is_dir() and (Path(path) / "config.json").is_file()


def read_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a `.safetensors` file or a torch file (tensors only: weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model.init_from: {path} is neither a model folder nor a state-dict file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def _load_plain_state_dict(base, state_dict: dict, source: str) -> None:
    """Load an official plain (CoT) state dict into the base LM, as the official code (non-strict,
    reported); the vocabulary must be the base's own (tokens are added afterwards)."""
    missing, unexpected = base.load_state_dict(state_dict, strict=False)
    missing = [k for k in missing if "lm_head" not in k]  # tied to the input embedding
    if missing or unexpected:
        raise ConfigError(
            f"model.init_from: {source} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )


def build_model(cfg: RunConfig, checkpoint: str | Path | None = None) -> ModelBundle:
    """The `CoconutModel`, tokenizer and special-token ids of a run (see the module doc)."""
    from coconut_lm.data.tokenization import add_special_tokens, init_new_token_embeddings
    from coconut_lm.model import OFFICIAL_PREFIX, CoconutModel

    mc: ModelConfig = cfg.model
    official_wrapped: dict | None = None
    if checkpoint is not None:
        tokenizer = load_tokenizer(str(checkpoint))
        base = load_pretrained(checkpoint)
    elif mc.init_from is not None and _is_folder_model(mc.init_from):
        has_tokenizer = (Path(mc.init_from) / "tokenizer_config.json").is_file()
        tokenizer = load_tokenizer(mc.init_from if has_tokenizer else (mc.tokenizer or mc.name_or_path))
        base = load_pretrained(mc.init_from, mc.trust_remote_code)
    else:
        tokenizer = load_tokenizer(mc.tokenizer or mc.name_or_path, mc.trust_remote_code)
        if mc.from_config is not None:
            base = _from_config(mc.from_config, tokenizer)
        else:
            base = load_pretrained(mc.name_or_path, mc.trust_remote_code)
        if mc.init_from is not None:
            state_dict = read_state_dict_file(mc.init_from)
            if any(k.startswith(OFFICIAL_PREFIX) for k in state_dict):
                official_wrapped = state_dict  # an official Coconut: load after the resize
            else:
                _load_plain_state_dict(base, state_dict, mc.init_from)
    ids = add_special_tokens(tokenizer, with_pause=cfg.method.uses_pause)
    if needs_special_embeddings(cfg.method) or official_wrapped is not None:
        n_rows = base.get_input_embeddings().weight.shape[0]
        wanted = [ids.start_latent, ids.end_latent, ids.latent] + ([ids.pause] if ids.pause is not None else [])
        new = [i for i in wanted if i >= n_rows]
        if new:
            init_new_token_embeddings(base, tokenizer, new, init_token=mc.init_token)
    model = CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos)
    if official_wrapped is not None:
        model.load_official_state_dict(official_wrapped)
    return ModelBundle(model, tokenizer, ids)


def context_size(model: torch.nn.Module, cfg: ModelConfig | None = None) -> int | None:
    """Longest sequence the model takes: `model.max_length`, else its config's position count."""
    if cfg is not None and cfg.max_length is not None:
        return cfg.max_length
    config = model.config
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None
