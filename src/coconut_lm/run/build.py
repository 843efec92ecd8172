"""Building the model a run trains or evaluates: base LM, tokenizer, special tokens, wrapper.

Sources, in order of precedence:
1. a checkpoint folder of ours (resume / evaluation): weights and tokenizer as saved;
2. `model.init_from`: a checkpoint or Hugging Face folder, or a state-dict file of the official
   code (plain keys, e.g. its GSM8k CoT checkpoint, or `base_causallm.*` keys of its Coconut);
3. `model.name_or_path` (hub id or local folder; offline works with a folder), or
   `model.from_config` (a fresh architecture) with `model.tokenizer`.

The special tokens are always added to the tokenizer (as the official code does); the embedding
rows are grown and initialised (copy of `model.init_token`, docs/method.md §2) only for the methods
whose sequences hold them, and only for rows the weights do not have yet.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from coconut_lm.data.tokenization import add_special_tokens, init_new_token_embeddings
from coconut_lm.model.coconut import OFFICIAL_PREFIX, CoconutModel
from coconut_lm.run.config import ConfigError, ModelConfig, RunConfig

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


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model", "vocab.txt")
"""Any one of these makes a folder a tokenizer folder."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def hub_offline() -> bool:
    """Whether downloads are off: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set now or at import."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _in_hub_cache(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds some files of the model repository `repo_id`."""
    from huggingface_hub import constants

    return (Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))).is_dir()


def _check_hub_id(source: str, key: str) -> None:
    """Raise `ConfigError` naming `source` and the cause unless the Hub holds a repository of that id:
    one request with the Hub's short metadata timeout and no retries (huggingface_hub's own
    downloads retry a network error for about 50 s), or none at all when downloads are off."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    where = f"{key}: {source!r}: no such local folder, and not in the Hugging Face cache"
    if hub_offline():
        raise ConfigError(f"{where}; downloads are off (HF_HUB_OFFLINE is set): give a folder, or unset it")
    try:
        get_hf_file_metadata(hf_hub_url(source, "config.json"), timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except EntryNotFoundError:
        return  # the repository is there, without that file
    except GatedRepoError:
        raise ConfigError(
            f"{key}: {source!r}: a gated model on the Hub: accept its terms and log in (hf auth login)"
        ) from None
    except RepositoryNotFoundError:
        raise ConfigError(
            f"{where}; the Hugging Face Hub has no model of that id (a private one needs hf auth login)"
        ) from None
    except HfHubHTTPError as e:
        raise ConfigError(f"{where}; the Hugging Face Hub answered: {_first_line(e)}") from None
    except Exception as e:  # a network error, of httpx's or the operating system's
        raise ConfigError(
            f"{where}; the Hugging Face Hub cannot be reached ({type(e).__name__}: {_first_line(e)})"
        ) from None


def from_folder_or_hub(load, source: str | Path, key: str, what: str, **kwargs):
    """`load(source, **kwargs)`, a `from_pretrained`, for a local folder or a Hugging Face Hub id;
    every failure is a `ConfigError` naming `key`, `source` and the cause, quickly when offline.

    A folder is loaded as it is. A hub id is looked up in the local cache first (no network), then,
    unless `HF_HUB_OFFLINE` is set, checked with one short request before it is downloaded.

        >>> from_folder_or_hub(AutoTokenizer.from_pretrained, "gpt2", "model.tokenizer", "a tokenizer")
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    path = Path(source).expanduser()
    text = str(source)
    if not path.is_dir():
        if path.exists():
            raise ConfigError(f"{key}: {source}: not a folder (a {what.split()[-1]} folder or a Hugging Face Hub id)")
        if path.is_absolute() or text.startswith((".", "~")) or text.count("/") > 1:
            raise ConfigError(f"{key}: {source}: no such {what.split()[-1]} folder")
        try:
            validate_repo_id(text)
        except HFValidationError:
            raise ConfigError(f"{key}: {source!r}: neither a folder nor a Hugging Face Hub id") from None
        try:
            return load(text, local_files_only=True, **kwargs)  # the cache: no network
        except (OSError, ValueError) as e:
            if hub_offline() and _in_hub_cache(text):
                raise ConfigError(f"{key}: cannot load {what} from {text!r} (cached): {_first_line(e)}") from None
            _check_hub_id(text, key)
    try:
        return load(str(path) if path.is_dir() else text, **kwargs)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{key}: cannot load {what} from {text!r}: {_first_line(e)}") from None


def load_tokenizer(source: str, trust_remote_code: bool = False, key: str = "model.tokenizer"):
    """A tokenizer from a folder or a hub id; a path that holds none is a `ConfigError` naming it."""
    from transformers import AutoTokenizer

    path = Path(source).expanduser()
    if path.is_dir() and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ConfigError(f"{key}: {source}: no tokenizer files in this folder (expected {TOKENIZER_FILES[0]})")
    return from_folder_or_hub(
        AutoTokenizer.from_pretrained, source, key, "a tokenizer", trust_remote_code=trust_remote_code
    )


def _from_config(spec: dict, tokenizer):
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = dict(spec)
    model_type = kwargs.pop("model_type")
    kwargs.setdefault("vocab_size", len(tokenizer))
    if kwargs["vocab_size"] < len(tokenizer):
        log.warning(
            "model.from_config.vocab_size %d is smaller than the tokenizer's %d tokens: using %d",
            kwargs["vocab_size"],
            len(tokenizer),
            len(tokenizer),
        )
        kwargs["vocab_size"] = len(tokenizer)
    for name in ("bos_token_id", "eos_token_id"):
        kwargs.setdefault(name, tokenizer.eos_token_id)
    try:
        config = AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"model.from_config: {e}") from None
    return AutoModelForCausalLM.from_config(config)


def load_pretrained(source: str | Path, trust_remote_code: bool = False, key: str = "model.name_or_path"):
    """A causal LM from a hub id or folder, in float32 (training uses autocast for bf16); failures
    are a `ConfigError` naming `key` and `source` (`from_folder_or_hub`)."""
    from transformers import AutoModelForCausalLM

    def load(name: str, local_files_only: bool = False, **kwargs):
        # with peft installed, transformers also looks for an adapter_config.json, on the Hub
        # unless told otherwise (local_files_only does not reach that lookup)
        adapter_kwargs = {"local_files_only": local_files_only}
        return AutoModelForCausalLM.from_pretrained(
            name, local_files_only=local_files_only, adapter_kwargs=adapter_kwargs, **kwargs
        )

    return from_folder_or_hub(
        load,
        source,
        key,
        "a model",
        dtype=torch.float32,
        trust_remote_code=trust_remote_code,
    )


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


def _tokenizer_source(mc: ModelConfig) -> tuple[str, str]:
    """Where the tokenizer comes from, and the config key that says so."""
    return (mc.tokenizer, "model.tokenizer") if mc.tokenizer else (mc.name_or_path, "model.name_or_path")


def build_model(cfg: RunConfig, checkpoint: str | Path | None = None) -> ModelBundle:
    """The `CoconutModel`, tokenizer and special-token ids of a run (see the module doc)."""

    mc: ModelConfig = cfg.model
    official_wrapped: dict | None = None
    if checkpoint is not None:
        tokenizer = load_tokenizer(str(checkpoint), key="checkpoint")
        base = load_pretrained(checkpoint, key="checkpoint")
    elif mc.init_from is not None and _is_folder_model(mc.init_from):
        has_tokenizer = (Path(mc.init_from) / "tokenizer_config.json").is_file()
        source, key = (mc.init_from, "model.init_from") if has_tokenizer else _tokenizer_source(mc)
        tokenizer = load_tokenizer(source, key=key)
        base = load_pretrained(mc.init_from, mc.trust_remote_code, key="model.init_from")
    else:
        source, key = _tokenizer_source(mc)
        tokenizer = load_tokenizer(source, mc.trust_remote_code, key)
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
    if cfg.method.needs_special_embeddings or official_wrapped is not None:
        n_rows = base.get_input_embeddings().weight.shape[0]
        wanted = [ids.start_latent, ids.end_latent, ids.latent] + ([ids.pause] if ids.pause is not None else [])
        new = [i for i in wanted if i >= n_rows]
        if new:
            from_scratch = mc.from_config is not None and checkpoint is None
            init_new_token_embeddings(base, tokenizer, new, init_token=mc.init_token, quiet=from_scratch)
    model = CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos)
    model.thought_update, model.jacobi_iterations = cfg.thoughts.update, cfg.thoughts.iterations
    model.rescale_thoughts = cfg.thoughts.rescale
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
