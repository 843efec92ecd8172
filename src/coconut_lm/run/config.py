"""The run configuration: typed dataclasses read from YAML, with dotted command-line overrides.

One `RunConfig` holds every setting of a training or evaluation run, in seven sections (model,
data, curriculum, thoughts, training, evaluation, logging) plus the method and the run folder. Each field
has a default and a one-line doc (`coconut-lm train --show-defaults` prints them as YAML);
unknown keys, wrong types and settings that cannot work raise `ConfigError` naming the key:

    >>> cfg = load_config("configs/prosqa_coconut.yaml", ["training.lr=3e-4"])
    >>> cfg.training.lr
    0.0003

Files written for the official code (`args/*.yaml` of facebookresearch/coconut) are recognised
and translated by `coconut_lm.run.official_args`, with a printed note per mapped key.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from dataclasses import field
from pathlib import Path
from typing import Literal

import yaml

from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.errors import ConfigError
from coconut_lm.options import Bool, Float, Int, check, doc, settings, validate
from coconut_lm.run.official_args import is_official_args, translate_official_args

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "openai-community/gpt2"
"""The paper's model (docs/method.md §3)."""


@settings
class ModelConfig:
    """Where the model and tokenizer come from (docs/method.md §3: GPT-2 124M)."""

    name_or_path: str | None = doc(
        None, "Hub id or local folder of a causal LM; default openai-community/gpt2 (no from_config)."
    )
    from_config: dict | None = doc(
        None, "Build from scratch instead: {model_type: gpt2, n_layer: 4, ...} (needs `tokenizer`)."
    )
    tokenizer: str | None = doc(None, "Tokenizer hub id or folder; default: name_or_path.")
    init_from: str | None = doc(
        None,
        "Weights to start from: a checkpoint folder or an official state-dict file "
        "(e.g. the CoT checkpoint of the official GSM8k recipe).",
    )
    init_token: str = doc("<<", "Token whose embedding initialises the new special tokens.")
    max_length: Int | None = doc(None, "Longest sequence allowed; default: the model's context size.")
    trust_remote_code: Bool = doc(False, "Passed to `from_pretrained` (only for models you trust).")

    def __post_init__(self) -> None:
        check(
            self.name_or_path is None or self.from_config is None,
            "model",
            "set only one of `name_or_path` and `from_config`",
        )
        if self.name_or_path is None and self.from_config is None:
            self.name_or_path = DEFAULT_MODEL
        if self.from_config is not None:
            check("model_type" in self.from_config, "model.from_config", "needs a `model_type` key")
            check(self.tokenizer is not None, "model.tokenizer", "is required with `from_config`")
        check(self.max_length is None or self.max_length > 0, "model.max_length", "must be positive")


@settings
class DataConfig:
    """The example files (`{"question", "steps", "answer"}` records, JSON or JSON Lines)."""

    train_path: str | None = doc(None, "Training examples.")
    val_path: str | None = doc(None, "Validation examples (loss and accuracy every epoch).")
    max_train_examples: Int | None = doc(None, "Use only the first N training examples.")
    max_val_examples: Int | None = doc(None, "Use only the first N validation examples.")
    too_long: Literal["error", "skip", "truncate"] = doc(
        "error",
        "A sequence longer than the model's context: stop with an error naming the example, "
        "skip the example, or cut the sequence at the context size.",
    )
    duplicates: Literal["warn", "error", "ignore"] = doc(
        "warn", "Training records that repeat an earlier one: warn with their count, stop, or accept silently."
    )

    def __post_init__(self) -> None:
        for name in ("max_train_examples", "max_val_examples"):
            value = getattr(self, name)
            check(value is None or value > 0, f"data.{name}", "must be positive")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@settings
class TrainingConfig:
    """The optimisation loop (docs/method.md §3: AdamW lr 1e-4, weight decay 0.01, batch 128)."""

    num_epochs: Int = doc(50, "Epochs in all (stages included).")
    start_epoch: Int = doc(0, "Skip the first epochs (official `resume`); the stage follows.")
    batch_size: Int = doc(32, "Examples per micro-batch on each process.")
    gradient_accumulation_steps: Int = doc(1, "Micro-batches per optimizer step.")
    lr: float = doc(1e-4, "AdamW learning rate.")
    weight_decay: float = doc(0.01, "AdamW weight decay.")
    betas: list = doc([0.9, 0.999], "AdamW betas.")
    lr_schedule: Literal["constant", "linear", "cosine"] = doc(
        "constant", "Decay over the epochs this run trains (from `start_epoch`), or its last `decay_epochs`."
    )
    decay_epochs: Int = doc(0, "Keep the learning rate constant until the last N epochs, then decay (0: all).")
    warmup_steps: Int = doc(0, "Linear warm-up steps after each optimizer reset.")
    max_grad_norm: float | None = doc(None, "Clip the gradient norm to this value.")
    reset_optimizer: Literal["stage", "epoch", "never"] = doc(
        "stage", "Rebuild AdamW when the stage changes, every epoch (official), or never."
    )
    bf16: Bool = doc(False, "bfloat16 autocast (on GPU).")
    seed: Int = doc(0, "Seeds initialisation, shuffling, the curriculum and dropout.")
    save_every_steps: Int | None = doc(None, "Also checkpoint every N optimizer steps (mid-epoch).")
    keep_last: Int = doc(2, "Checkpoints kept in `checkpoints/` (the best is kept apart).")
    save_best: Bool = doc(True, "Keep the checkpoint of best validation accuracy in `best/`.")
    on_nonfinite: Literal["stop", "skip_step"] = doc(
        "stop",
        "A non-finite loss or gradient norm: stop with one line naming the step (nothing non-finite is "
        "saved), or skip that optimizer step and count it (`train/skipped_steps`).",
    )
    fsdp: Bool = doc(False, "Under torchrun: shard with FSDP (decoder layers) instead of DDP.")
    find_unused_parameters: Bool = doc(False, "DDP option, for models with parameters unused by a batch.")

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "gradient_accumulation_steps", "keep_last"):
            check(getattr(self, name) >= 1, f"training.{name}", "must be >= 1")
        check(0 <= self.start_epoch <= self.num_epochs, "training.start_epoch", "must be in [0, num_epochs]")
        check(self.lr > 0, "training.lr", "must be positive")
        check(self.weight_decay >= 0, "training.weight_decay", "must be >= 0")
        check(
            len(self.betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in self.betas),
            "training.betas",
            f"must be two numbers in [0, 1), got {self.betas}",
        )
        check(self.warmup_steps >= 0, "training.warmup_steps", "must be >= 0")
        trained = self.num_epochs - self.start_epoch
        check(0 <= self.decay_epochs <= trained, "training.decay_epochs", f"must be in [0, {trained}] (epochs trained)")
        check(
            self.decay_epochs == 0 or self.lr_schedule != "constant",
            "training.decay_epochs",
            "needs a decaying lr_schedule (linear or cosine)",
        )
        check(self.max_grad_norm is None or self.max_grad_norm > 0, "training.max_grad_norm", "must be > 0")
        check(self.save_every_steps is None or self.save_every_steps > 0, "training.save_every_steps", "> 0")


@settings
class ThoughtsConfig:
    """How continuous thoughts are computed, in training and generation (docs/method.md §8)."""

    update: Literal["sequential", "jacobi"] = doc(
        "sequential",
        "sequential: thought i from thought i-1 (one pass each, the paper's); jacobi: all thoughts at once, "
        "`iterations` times (exact when iterations >= the most thoughts of a sequence).",
    )
    iterations: Int = doc(3, "Jacobi iterations over the block of thoughts (with update: jacobi).")
    rescale: Bool = doc(
        False,
        "Feed each thought back rescaled to the mean norm of the input embeddings (not in the paper; "
        "small models trained from scratch need it, docs/method.md §10).",
    )

    def __post_init__(self) -> None:
        check(self.iterations >= 1, "thoughts.iterations", "must be >= 1")


@settings
class EvaluationConfig:
    """Validation during training and `coconut-lm eval`."""

    max_new_tokens: Int = doc(128, "Tokens generated per question (official: 64 GSM8k, 128 others).")
    batch_size: Int = doc(16, "Questions per generation batch on each process.")
    every_epochs: Int = doc(1, "Validate every N epochs (and after the last).")
    only_eval: Bool = doc(False, "Evaluate the initial / resumed model and stop (official `only_eval`).")

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "batch_size", "every_epochs"):
            check(getattr(self, name) >= 1, f"evaluation.{name}", "must be >= 1")


@settings
class LoggingConfig:
    """Where metrics go: always `metrics.jsonl`; TensorBoard and W&B when asked for."""

    tensorboard: Bool = doc(False, "Also log to TensorBoard (extra: coconut-lm[tensorboard]).")
    wandb: Bool = doc(False, "Also log to Weights & Biases (extra: coconut-lm[wandb]).")
    project: str = doc("coconut", "W&B project.")
    name: str | None = doc(None, "Run name; default: the run folder's name.")
    log_every_steps: Int = doc(1, "Write training metrics every N optimizer steps.")
    progress_bar: Bool = doc(True, "Show progress on rank 0: a tqdm bar on a terminal, else a line now and then.")
    progress_every_s: Float = doc(60.0, "Where stderr is not a terminal (a log file), a progress line every N s.")

    def __post_init__(self) -> None:
        check(self.log_every_steps >= 1, "logging.log_every_steps", "must be >= 1")
        check(self.progress_every_s > 0, "logging.progress_every_s", "must be > 0")


SECTIONS = {
    "model": ModelConfig,
    "data": DataConfig,
    "curriculum": CurriculumConfig,
    "thoughts": ThoughtsConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "logging": LoggingConfig,
}


@settings
class RunConfig:
    """A whole run: the method, the run folder and one section per concern."""

    method: Method = doc(Method.COCONUT, "Training method (docs/method.md §4): " + ", ".join(m.value for m in Method))
    run_dir: str = doc("runs/coconut", "Run folder: resolved config, metrics, checkpoints.")
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    thoughts: ThoughtsConfig = field(default_factory=ThoughtsConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        self.method = Method.parse(self.method)
        self.method.check_curriculum(self.curriculum)

    def ignored_settings(self) -> dict[str, object]:
        """The settings set to a value other than their default that this run's method never
        reads (`Method.ignored_settings`), e.g. {"curriculum.c_thought": 2} for `cot`."""
        out = {}
        for key in sorted(self.method.ignored_settings()):
            section, name = key.split(".")
            value = getattr(getattr(self, section), name)
            if value != getattr(SECTIONS[section](), name):
                out[key] = value
        return out

    def to_dict(self) -> dict:
        """Plain YAML-ready dict (the method as its name)."""
        out = dataclasses.asdict(self)
        out["method"] = self.method.value
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------------------------
# From YAML and overrides to a validated `RunConfig`.


def apply_override(tree: dict, override: str) -> None:
    """Apply one `section.key=value` override (value parsed as YAML) to a nested dict."""
    if "=" not in override:
        raise ConfigError(f"override {override!r}: expected KEY=VALUE, e.g. training.lr=3e-4")
    key, raw = override.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"override {override!r}: the value is not valid YAML") from None
    parts = key.strip().split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part} is not a section")
    node[parts[-1]] = value


def config_from_dict(tree: dict, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """`RunConfig` from a nested dict (our format or an official args dict) plus overrides."""
    if is_official_args(tree):
        tree, notes = translate_official_args(tree)
        for note in notes:
            logger.info("[official args] %s", note)
    tree = copy.deepcopy(tree)  # the overrides must not change the caller's sections
    # `training.debug_kill_after_step`: a test hook that every config.yaml written before the
    # package's restructure (its layered folders) carried, as null; such run folders still resume.
    if isinstance(tree.get("training"), dict):
        tree["training"] = {k: v for k, v in tree["training"].items() if k != "debug_kill_after_step"}
    for override in overrides:
        apply_override(tree, override)
    return validate(RunConfig, tree)


def read_yaml(path: Path):
    """A YAML file's content; a file that does not parse is a `ConfigError` naming line and column."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}not valid YAML ({e.problem or e.context})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read it ({' '.join(str(e).split())})") from None  # one line


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config (ours or an official args file), apply dotted overrides, validate."""
    tree: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        tree = read_yaml(path) or {}
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    return config_from_dict(tree, overrides)


def defaults_yaml() -> str:
    """Every key with its default and doc, as a commented YAML file."""
    lines = []
    for f in dataclasses.fields(RunConfig):
        if f.name in SECTIONS:
            lines.append(f"{f.name}:")
            for sub in dataclasses.fields(SECTIONS[f.name]):
                value = yaml.safe_dump(getattr(SECTIONS[f.name](), sub.name), default_flow_style=True)
                lines.append(f"  {sub.name}: {value.strip().removesuffix('...').strip()}  # {sub.metadata['doc']}")
        else:
            default = f.default.value if isinstance(f.default, Method) else f.default
            lines.append(f"{f.name}: {default}  # {f.metadata['doc']}")
    return "\n".join(lines) + "\n"
