"""Checkpoint folders: weights `transformers` can read, plus the trainer state to resume exactly.

A checkpoint is a folder (`<run>/checkpoints/step-00000012/`, or `<run>/best/`) holding

    config.json, model.safetensors   the base causal LM (`save_pretrained`, special tokens included)
    tokenizer files                  the tokenizer with the added special tokens
    coconut_config.yaml              the resolved run configuration
    trainer_state.json               epoch, step within the epoch, stage, global step, best accuracy,
                                     Python and NumPy RNG states (JSON)
    optimizer.pt                     AdamW state (tensors and numbers: loads with weights_only=True)
    rng_rank{R}.pt                   torch CPU/CUDA RNG states of each process (tensors)
    manifest.json                    size and SHA-256 of every other file, written last

It is written into a temporary folder and renamed into place, so a killed writer never leaves a
half checkpoint that could be resumed; the manifest makes "complete and intact" checkable after
the fact too (a truncated or deleted file, a full disk): resume skips a checkpoint that does not
verify, saying which and why, and evaluation names the damaged file. Every path read from a
checkpoint (a manifest entry, a file opened by name) must stay inside its folder
(`checkpoint_file`: no `..`, no absolute path, no link out of it). Loading never unpickles
arbitrary objects: weights are safetensors and the `.pt` files are read with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from coconut_lm.errors import UserError
from coconut_lm.io import (
    atomic_write,
    atomic_write_text,
    check_folder_writable,
    default_file_mode,
    make_fresh_folder,
    write_json,
)

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
"""Sub-folder of the run folder with the rolling checkpoints."""
BEST = "best"
"""Sub-folder of the run folder with the checkpoint of best validation accuracy."""
CONFIG_FILE = "coconut_config.yaml"
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
MANIFEST_FILE = "manifest.json"
STEP_NAME = re.compile(r"step-\d+")
"""Names of the rolling checkpoint folders (`step_name`)."""


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, incomplete or does not fit the run."""


@dataclass
class TrainerState:
    """Where training is: what a resumed run needs besides weights and optimizer."""

    epoch: int = 0
    """Current epoch (0-based)."""
    step_in_epoch: int = 0
    """Optimizer steps already done in `epoch` (0 at an epoch boundary)."""
    global_step: int = 0
    """Optimizer steps since the start of the run."""
    stage: int = 0
    """Curriculum stage of `epoch`."""
    steps_since_reset: int = 0
    """Optimizer steps since AdamW was last rebuilt (drives the warm-up)."""
    best_accuracy: float | None = None
    """Best validation accuracy so far."""
    skipped_steps: int = 0
    """Optimizer steps skipped for a non-finite loss or gradient (`training.on_nonfinite: skip_step`)."""
    global_batch: int = 0
    """Examples per optimizer step (batch size x accumulation x processes); 0: not recorded."""
    python_rng: list = field(default_factory=list)
    """`random.getstate()` as JSON."""
    numpy_rng: dict = field(default_factory=dict)
    """`numpy.random.get_state()` as JSON."""


def capture_host_rng(state: TrainerState) -> None:
    """Store the Python and NumPy RNG states in `state` (JSON-friendly)."""
    version, internal, gauss = random.getstate()
    state.python_rng = [version, list(internal), gauss]
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state.numpy_rng = {
        "name": name,
        "keys": keys.tolist(),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": cached,
    }


def restore_host_rng(state: TrainerState) -> None:
    if state.python_rng:
        version, internal, gauss = state.python_rng
        random.setstate((version, tuple(internal), gauss))
    if state.numpy_rng:
        s = state.numpy_rng
        np.random.set_state((s["name"], np.array(s["keys"], dtype=np.uint32), s["pos"], s["has_gauss"], s["cached"]))


def torch_rng_state() -> dict[str, torch.Tensor]:
    """This process's torch RNG states as tensors."""
    out = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state()
    return out


def restore_torch_rng(states: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])


def step_name(global_step: int) -> str:
    return f"step-{global_step:08d}"


def temp_dir_for(final: Path) -> Path:
    """The temporary folder a checkpoint is written into before the rename."""
    return final.parent / f".tmp-{final.name}"


def write_checkpoint_files(
    folder: Path,
    base_model,
    tokenizer,
    config_yaml: str,
    state: TrainerState,
    optimizer_state: dict | None,
    model_state: dict | None = None,
) -> None:
    """Rank 0's part of a checkpoint (weights, tokenizer, config, state, optimizer) into `folder`.

    `model_state`: a full state dict of the base model when its parameters are sharded (FSDP).
    """
    from transformers.utils import logging as hf_logging

    folder.mkdir(parents=True, exist_ok=True)
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar per checkpoint is noise
    base_model.save_pretrained(folder, state_dict=model_state, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    atomic_write_text(folder / CONFIG_FILE, config_yaml)
    write_json(folder / STATE_FILE, asdict(state))
    if optimizer_state is not None:
        atomic_write(folder / OPTIMIZER_FILE, lambda f: torch.save(optimizer_state, f))


def write_rng_file(folder: Path, rank: int) -> None:
    """Each process's torch RNG states (every rank writes its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / f"rng_rank{rank}.pt", lambda f: torch.save(torch_rng_state(), f))


def publish(temp: Path, final: Path) -> None:
    """Move a finished temporary folder into place, replacing an older one of the same name.

    The swap is one `renameat2(RENAME_EXCHANGE)` where the system has it, so `final` never goes
    missing; elsewhere the old folder is moved aside for the instant of the rename. A link or a
    file at `final` is refused, never replaced or followed.
    """
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise CheckpointError(f"{final}: is not a folder of checkpoint files (a link or a file); not replaced")
    if final.exists() and _exchange(temp, final):
        shutil.rmtree(temp, ignore_errors=True)  # now holds the old folder
    elif final.exists():
        old = final.parent / f".old-{final.name}"
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        temp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        temp.rename(final)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux `renameat2`); False where that is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    ok = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    return ok


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> None:
    """The last file of a checkpoint: size and SHA-256 of every other file (modes normalised)."""
    mode = default_file_mode()
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file() or path.name == MANIFEST_FILE:
            continue
        path.chmod(mode)  # some writers (temporary files renamed into place) leave 0600
        files[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    write_json(folder / MANIFEST_FILE, {"files": files})


def checkpoint_file(folder: str | Path, name: object) -> Path:
    """`folder / name` for a file name read from a checkpoint (its manifest, its config), refused
    unless it stays inside the folder: no `..`, no absolute path or sub-path, no link out of it."""
    folder = Path(folder)
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\\" in name:
        raise CheckpointError(f"{folder}: entry {name!r} is not a file name inside the checkpoint folder")
    path = folder / name
    if not path.resolve().is_relative_to(folder.resolve()):
        raise CheckpointError(f"{folder}: entry {name!r} is a link out of the checkpoint folder (refused)")
    return path


def _confined_folder(folder: Path) -> None:
    """Every link in a checkpoint folder must stay inside it (transformers opens files by name)."""
    for path in folder.iterdir():
        if path.is_symlink():
            checkpoint_file(folder, path.name)


def read_manifest(folder: Path) -> dict[str, dict]:
    """The manifest's `{file name: {"bytes", "sha256"}}`, checked for shape; else `CheckpointError`."""
    manifest = folder / MANIFEST_FILE
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        raise CheckpointError(f"{manifest}: unreadable manifest (damaged checkpoint)") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise CheckpointError(
            f'{manifest}: malformed manifest: expected {{"files": {{name: ...}}}} (damaged checkpoint)'
        )
    for name, meta in files.items():
        checkpoint_file(folder, name)
        ok = isinstance(meta, dict) and isinstance(meta.get("sha256"), str)
        if not ok or not isinstance(meta.get("bytes"), int) or isinstance(meta["bytes"], bool):
            raise CheckpointError(
                f'{manifest}: malformed entry {name!r}: expected {{"bytes": int, "sha256": str}} (damaged checkpoint)'
            )
    return files


def verify_checkpoint(folder: str | Path, resume: bool = False) -> None:
    """Raise `CheckpointError` naming the first file of `folder` that is missing or damaged, or an
    entry that points outside it.

    Without a manifest (folders written by hand or by older versions) only the files are checked
    that inference (`resume`: training too) cannot do without.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    _confined_folder(folder)
    if not (folder / MANIFEST_FILE).is_file():
        needed = ("config.json", CONFIG_FILE) + ((STATE_FILE, OPTIMIZER_FILE) if resume else ())
        for name in needed:
            if not (folder / name).is_file():
                raise CheckpointError(f"{folder / name}: missing (incomplete checkpoint)")
        return
    for name, meta in read_manifest(folder).items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{path}: missing (incomplete checkpoint)")
        size = path.stat().st_size
        if size != meta["bytes"]:
            raise CheckpointError(f"{path}: {size} bytes, the manifest says {meta['bytes']} (damaged checkpoint)")
        if _sha256(path) != meta["sha256"]:
            raise CheckpointError(f"{path}: checksum differs from the manifest's (damaged checkpoint)")


def export_for_inference(checkpoint: str | Path, out: str | Path) -> Path:
    """Copy a checkpoint without what only resuming needs (optimizer and RNG states), with a new
    manifest: a small folder that `coconut-lm eval`, `generate` and `analyze` read."""
    source, target = resolve_checkpoint(checkpoint), Path(out)
    verify_checkpoint(source)
    if os.path.lexists(target):
        raise CheckpointError(f"{target}: already exists")
    check_folder_writable(target.parent)
    temp = make_fresh_folder(temp_dir_for(target))  # a leftover of an export that was killed goes
    for path in source.iterdir():
        if path.is_file() and path.name != MANIFEST_FILE and not _resume_only(path.name):
            shutil.copy2(checkpoint_file(source, path.name), temp / path.name)
    write_manifest(temp)
    publish(temp, target)
    return target


def _resume_only(name: str) -> bool:
    return name == OPTIMIZER_FILE or (name.startswith("rng_rank") and name.endswith(".pt"))


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Rolling checkpoint folders of a run, oldest first (temporary folders and links excluded;
    not verified)."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if STEP_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(run_dir: str | Path, reasons: list[str] | None = None) -> Path | None:
    """The newest rolling checkpoint that verifies; each newer one that does not is skipped with
    a warning that says why (also appended to `reasons`)."""
    for folder in reversed(list_checkpoints(run_dir)):
        try:
            verify_checkpoint(folder, resume=True)
        except CheckpointError as e:
            log.warning("skipping checkpoint %s: %s", folder, e)
            if reasons is not None:
                reasons.append(str(e))
            continue
        return folder
    return None


def prune_checkpoints(run_dir: str | Path, keep_last: int) -> None:
    """Delete all but the newest `keep_last` rolling checkpoints, and stale temporary folders."""
    folder = Path(run_dir) / CHECKPOINTS
    for old in list_checkpoints(run_dir)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".tmp-*") if folder.is_dir() else []:
        shutil.rmtree(stale, ignore_errors=True)


def resolve_checkpoint(path: str | Path) -> Path:
    """The checkpoint that `eval`, `generate`, `analyze` and `stop-head` read for `path`.

    A checkpoint folder is itself (`RUN/best` for the best one). A run folder means its latest
    checkpoint: where training ended, the last of the final stage once the run is complete;
    `best/` only when it holds no other. `best/` is never chosen silently, because it is picked
    by validation accuracy across all stages and may be an early stage with fewer thoughts.
    """
    folder = Path(path)
    if not (folder / CONFIG_FILE).is_file():
        latest, best = latest_checkpoint(folder), folder / BEST
        folder = latest if latest is not None else best if (best / CONFIG_FILE).is_file() else None
        if folder is None:
            raise CheckpointError(f"{path}: neither a checkpoint folder nor a run folder with checkpoints")
    return folder


def checkpoint_line(folder: str | Path) -> str:
    """One line naming a checkpoint, its step and its stage, for the reports that read one."""
    d = describe_checkpoint(folder)
    return f"checkpoint: {d['checkpoint']}" + ("" if d["step"] is None else f" (step {d['step']}, stage {d['stage']})")


def describe_checkpoint(folder: str | Path) -> dict:
    """{"checkpoint", "step", "epoch", "stage"} of a checkpoint folder (None where it has no trainer state)."""
    state = read_trainer_state(folder) if (Path(folder) / STATE_FILE).is_file() else None
    return {
        "checkpoint": str(folder),
        "step": state.global_step if state else None,
        "epoch": state.epoch if state else None,
        "stage": state.stage if state else None,
    }


def read_trainer_state(folder: str | Path) -> TrainerState:
    path = checkpoint_file(folder, STATE_FILE)
    if not path.is_file():
        raise CheckpointError(f"{folder}: not a training checkpoint (no {STATE_FILE})")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        state = TrainerState(**values)
    except (ValueError, TypeError, OSError):
        raise CheckpointError(f"{path}: unreadable or malformed trainer state (damaged checkpoint)") from None
    counters = ("epoch", "step_in_epoch", "global_step", "stage", "steps_since_reset")
    if not all(isinstance(getattr(state, n), int) and getattr(state, n) >= 0 for n in counters):
        raise CheckpointError(f"{path}: {', '.join(counters)} must be integers >= 0 (damaged checkpoint)")
    return state


def _torch_file(folder: str | Path, name: str) -> dict | None:
    path = checkpoint_file(folder, name)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch reports a damaged zip file in several exception types
        raise CheckpointError(f"{path}: unreadable ({type(e).__name__}) (damaged checkpoint)") from None


def read_optimizer_state(folder: str | Path) -> dict | None:
    return _torch_file(folder, OPTIMIZER_FILE)


def read_rng_state(folder: str | Path, rank: int) -> dict[str, torch.Tensor] | None:
    return _torch_file(folder, f"rng_rank{rank}.pt")


def read_checkpoint_config(folder: str | Path) -> dict | None:
    """The run configuration saved in a checkpoint, as a dict (None if absent)."""
    import yaml

    path = checkpoint_file(folder, CONFIG_FILE)
    if not path.is_file():
        return None
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: unreadable run configuration (damaged checkpoint)") from None
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: expected a YAML mapping (damaged checkpoint)")
    return saved


def check_compatible(folder: str | Path, method: str, model_type: str | None) -> None:
    """Refuse a checkpoint trained with another method or on another model type."""
    saved = read_checkpoint_config(folder)
    if saved is None:
        return
    if saved.get("method") != method:
        raise CheckpointError(
            f"{folder}: checkpoint of method {saved.get('method')!r}, but this run is {method!r} "
            "(use model.init_from to start a new method from it, in a new run folder)"
        )
    config_path = checkpoint_file(folder, "config.json")
    if model_type and config_path.is_file():
        try:
            saved_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
        except (ValueError, AttributeError, OSError):
            raise CheckpointError(f"{config_path}: unreadable model configuration (damaged checkpoint)") from None
        if saved_type and saved_type != model_type:
            raise CheckpointError(f"{folder}: checkpoint of a {saved_type!r} model, but this run builds {model_type!r}")
