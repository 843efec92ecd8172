"""The run configuration: typed dataclasses read from YAML, with dotted command-line overrides.

One `RunConfig` holds every setting of a training or evaluation run, in six sections (model,
data, curriculum, training, evaluation, logging) plus the method and the run folder. Each field
has a default and a one-line doc (`coconut-lm train --show-defaults` prints them as YAML);
unknown keys, wrong types and settings that cannot work raise `ConfigError` naming the key:

    >>> cfg = load_config("configs/prosqa_coconut.yaml", ["training.lr=3e-4"])
    >>> cfg.training.lr
    0.0003

Files written for the official code (`args/*.yaml` of facebookresearch/coconut) are recognised
and translated by `coconut_lm.official_args`, with a printed note per mapped key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from coconut_lm.errors import UserError
from coconut_lm.methods import Method

DEFAULT_MODEL = "openai-community/gpt2"
"""The paper's model (docs/method.md §3)."""


class ConfigError(UserError, ValueError):
    """A configuration key is unknown, mistyped or holds a value that cannot work."""


def doc(default: Any, text: str) -> Any:
    """A dataclass field with a default and its one-line documentation."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


@dataclass
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
    max_length: int | None = doc(None, "Longest sequence allowed; default: the model's context size.")
    trust_remote_code: bool = doc(False, "Passed to `from_pretrained` (only for models you trust).")

    def __post_init__(self) -> None:
        _check(
            self.name_or_path is None or self.from_config is None,
            "model",
            "set only one of `name_or_path` and `from_config`",
        )
        if self.name_or_path is None and self.from_config is None:
            self.name_or_path = DEFAULT_MODEL
        if self.from_config is not None:
            _check("model_type" in self.from_config, "model.from_config", "needs a `model_type` key")
            _check(self.tokenizer is not None, "model.tokenizer", "is required with `from_config`")
        _check(self.max_length is None or self.max_length > 0, "model.max_length", "must be positive")


@dataclass
class DataConfig:
    """The example files (`{"question", "steps", "answer"}` records, JSON or JSON Lines)."""

    train_path: str | None = doc(None, "Training examples.")
    val_path: str | None = doc(None, "Validation examples (loss and accuracy every epoch).")
    max_train_examples: int | None = doc(None, "Use only the first N training examples.")
    max_val_examples: int | None = doc(None, "Use only the first N validation examples.")
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
            _check(value is None or value > 0, f"data.{name}", "must be positive")


@dataclass
class CurriculumConfig:
    """The stage schedule (docs/method.md §2); field names are those of `CurriculumOptions`."""

    c_thought: int = doc(1, "Continuous thoughts per removed reasoning step (c).")
    max_latent_stage: int = doc(6, "Last stage that removes one more step (past it: all steps).")
    pad_latent_to_max: bool = doc(False, "Always stage*c thoughts, even for examples with fewer steps.")
    uniform_prob: float = doc(0.0, "Probability of training an example at a random stage.")
    icot_tokens_per_epoch: int = doc(8, "iCoT: CoT tokens removed from the front per epoch.")
    icot_smoothing: int = doc(0, "iCoT: remove up to this many extra tokens at random.")
    epochs_per_stage: int = doc(5, "Epochs per stage; stage = epoch // epochs_per_stage.")

    def __post_init__(self) -> None:
        _check(self.c_thought >= 0, "curriculum.c_thought", "must be >= 0")
        _check(self.max_latent_stage >= 0, "curriculum.max_latent_stage", "must be >= 0")
        _check(0.0 <= self.uniform_prob <= 1.0, "curriculum.uniform_prob", "must be in [0, 1]")
        _check(self.icot_tokens_per_epoch >= 0, "curriculum.icot_tokens_per_epoch", "must be >= 0")
        _check(self.icot_smoothing >= 0, "curriculum.icot_smoothing", "must be >= 0")
        _check(self.epochs_per_stage >= 1, "curriculum.epochs_per_stage", "must be >= 1")

    def options(self):
        """The data core's `CurriculumOptions` (everything but the schedule)."""
        from coconut_lm.data.curriculum import CurriculumOptions

        names = {f.name for f in dataclasses.fields(CurriculumOptions)}
        return CurriculumOptions(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})


@dataclass
class TrainingConfig:
    """The optimisation loop (docs/method.md §3: AdamW lr 1e-4, weight decay 0.01, batch 128)."""

    num_epochs: int = doc(50, "Epochs in all (stages included).")
    start_epoch: int = doc(0, "Skip the first epochs (official `resume`); the stage follows.")
    batch_size: int = doc(32, "Examples per micro-batch on each process.")
    gradient_accumulation_steps: int = doc(1, "Micro-batches per optimizer step.")
    lr: float = doc(1e-4, "AdamW learning rate.")
    weight_decay: float = doc(0.01, "AdamW weight decay.")
    betas: list = doc([0.9, 0.999], "AdamW betas.")
    lr_schedule: Literal["constant", "linear", "cosine"] = doc("constant", "Decay over the whole run.")
    warmup_steps: int = doc(0, "Linear warm-up steps after each optimizer reset.")
    max_grad_norm: float | None = doc(None, "Clip the gradient norm to this value.")
    reset_optimizer: Literal["stage", "epoch", "never"] = doc(
        "stage", "Rebuild AdamW when the stage changes, every epoch (official), or never."
    )
    bf16: bool = doc(False, "bfloat16 autocast (on GPU).")
    seed: int = doc(0, "Seeds initialisation, shuffling, the curriculum and dropout.")
    save_every_steps: int | None = doc(None, "Also checkpoint every N optimizer steps (mid-epoch).")
    keep_last: int = doc(2, "Checkpoints kept in `checkpoints/` (the best is kept apart).")
    save_best: bool = doc(True, "Keep the checkpoint of best validation accuracy in `best/`.")
    fsdp: bool = doc(False, "Under torchrun: shard with FSDP (decoder layers) instead of DDP.")
    find_unused_parameters: bool = doc(False, "DDP option, for models with parameters unused by a batch.")
    debug_kill_after_step: int | None = doc(None, "Testing only: SIGKILL the process after this step.")

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "gradient_accumulation_steps", "keep_last"):
            _check(getattr(self, name) >= 1, f"training.{name}", "must be >= 1")
        _check(0 <= self.start_epoch <= self.num_epochs, "training.start_epoch", "must be in [0, num_epochs]")
        _check(self.lr > 0, "training.lr", "must be positive")
        _check(self.weight_decay >= 0, "training.weight_decay", "must be >= 0")
        _check(len(self.betas) == 2, "training.betas", "must be two numbers")
        _check(self.warmup_steps >= 0, "training.warmup_steps", "must be >= 0")
        _check(self.max_grad_norm is None or self.max_grad_norm > 0, "training.max_grad_norm", "must be > 0")
        _check(self.save_every_steps is None or self.save_every_steps > 0, "training.save_every_steps", "> 0")


@dataclass
class EvaluationConfig:
    """Validation during training and `coconut-lm eval`."""

    max_new_tokens: int = doc(128, "Tokens generated per question (official: 64 GSM8k, 128 others).")
    batch_size: int = doc(16, "Questions per generation batch on each process.")
    every_epochs: int = doc(1, "Validate every N epochs (and after the last).")
    only_eval: bool = doc(False, "Evaluate the initial / resumed model and stop (official `only_eval`).")

    def __post_init__(self) -> None:
        for name in ("max_new_tokens", "batch_size", "every_epochs"):
            _check(getattr(self, name) >= 1, f"evaluation.{name}", "must be >= 1")


@dataclass
class LoggingConfig:
    """Where metrics go: always `metrics.jsonl`; TensorBoard and W&B when asked for."""

    tensorboard: bool = doc(False, "Also log to TensorBoard (extra: coconut-lm[tensorboard]).")
    wandb: bool = doc(False, "Also log to Weights & Biases (extra: coconut-lm[wandb]).")
    project: str = doc("coconut", "W&B project.")
    name: str | None = doc(None, "Run name; default: the run folder's name.")
    log_every_steps: int = doc(1, "Write training metrics every N optimizer steps.")
    progress_bar: bool = doc(True, "Show a tqdm progress bar on rank 0.")

    def __post_init__(self) -> None:
        _check(self.log_every_steps >= 1, "logging.log_every_steps", "must be >= 1")


SECTIONS = {
    "model": ModelConfig,
    "data": DataConfig,
    "curriculum": CurriculumConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "logging": LoggingConfig,
}


@dataclass
class RunConfig:
    """A whole run: the method, the run folder and one section per concern."""

    method: Method = doc(Method.COCONUT, "Training method (docs/method.md §4): " + ", ".join(m.value for m in Method))
    run_dir: str = doc("runs/coconut", "Run folder: resolved config, metrics, checkpoints.")
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        self.method = Method.parse(self.method)
        if self.method.uses_thoughts or self.method == Method.PAUSE_AS_THOUGHT:
            _check(self.curriculum.c_thought >= 1, "curriculum.c_thought", f"must be >= 1 with {self.method.value}")
        if self.method == Method.PAUSE:
            _check(
                self.curriculum.c_thought * self.curriculum.max_latent_stage >= 1,
                "curriculum",
                "pause needs c_thought * max_latent_stage >= 1 pause tokens",
            )

    def to_dict(self) -> dict:
        """Plain YAML-ready dict (the method as its name)."""
        out = dataclasses.asdict(self)
        out["method"] = self.method.value
        out["training"]["debug_kill_after_step"] = None  # a test hook, never carried into a resume
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Building dataclasses from plain dicts, with type checks that name the key.


def _type_ok(value: Any, tp: Any) -> tuple[bool, Any]:
    """Whether `value` fits annotation `tp`; returns (ok, value converted where lossless)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            ok, converted = _type_ok(value, arg)
            if ok:
                return True, converted
        return False, value
    if origin is Literal:
        return value in typing.get_args(tp), value
    if tp is type(None):
        return value is None, value
    if tp is float:
        if isinstance(value, str):  # YAML reads "1e-4" (no dot) as a string
            try:
                return True, float(value)
            except ValueError:
                return False, value
        return isinstance(value, (int, float)) and not isinstance(value, bool), float(value) if isinstance(
            value, (int, float)
        ) else value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(tp, type):
        return isinstance(value, tp), value
    return True, value


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def build_dataclass(cls: type, values: dict, prefix: str = "") -> Any:
    """`cls(**values)` with unknown keys and mistyped values reported by their dotted name."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(sorted(names))})")
        tp = hints[key]
        if tp is Method:
            try:
                kwargs[key] = Method.parse(value)
            except ValueError as e:
                raise ConfigError(f"{prefix}{key}: {e}") from None
            continue
        if dataclasses.is_dataclass(tp):
            kwargs[key] = build_dataclass(tp, value or {}, f"{prefix}{key}.")
            continue
        ok, converted = _type_ok(value, tp)
        if not ok:
            raise ConfigError(f"{prefix}{key}: expected {_type_name(tp)}, got {value!r}")
        kwargs[key] = converted
    return cls(**kwargs)  # __post_init__ messages name their keys in full


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
    from coconut_lm.official_args import is_official_args, translate_official_args

    if is_official_args(tree):
        tree, notes = translate_official_args(tree)
        for note in notes:
            print(f"[official args] {note}")
    tree = dict(tree)
    for override in overrides:
        apply_override(tree, override)
    return build_dataclass(RunConfig, tree)


def read_yaml(path: Path):
    """A YAML file's content; a file that does not parse is a `ConfigError` naming line and column."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}not valid YAML ({e.problem or e.context})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read it ({e})") from None


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
