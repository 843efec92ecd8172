"""The training loop: stages, epochs, exact gradient accumulation, checkpoints and validation.

`train(cfg)` runs a whole `RunConfig` (single process, or DDP/FSDP under `torchrun`):

- each epoch trains the stage `epoch // epochs_per_stage` (docs/method.md §2; `Method.stage_for_epoch`),
  with its sequences rebuilt and reshuffled (seeded; the same global order for any world size);
- AdamW is rebuilt when the stage changes (`training.reset_optimizer: stage`), every epoch
  (`epoch`, the official behaviour) or never;
- the loss of an optimizer step is the mean over *all* target tokens of its global batch: each
  micro-batch contributes its summed token loss divided by the global batch's target-token
  count, so batch 8 == batch 4 x 2 accumulation steps == 2 processes x batch 4, exactly (a mean
  per micro-batch would weight tokens of short micro-batches more);
- after every epoch (rank 0 writes): validation loss and generation accuracy to the trackers,
  a checkpoint in `checkpoints/` (keep-last-N), and `best/` when the accuracy improves;
- with `save_every_steps`, mid-epoch checkpoints too; a run folder with checkpoints resumes from
  the latest, at the step it stopped, with weights, optimizer and RNG states restored, so a
  killed-and-resumed run ends with the same weights as an uninterrupted one; a run folder whose
  checkpoints are all unusable is refused, never restarted over its `best/` (`run.run_folder`);
- a non-finite loss or gradient norm stops training with one line naming the step, or skips
  that optimizer step (`training.on_nonfinite`); non-finite weights are never saved;
- a resumed run whose settings differ from its checkpoint's in a way that breaks exactness is
  refused unless `allow_changes` (`run.changes`); with it, an epoch resumed under another global
  batch continues after the examples it already trained; `metrics.jsonl` loses the rows of the
  steps trained again;
- SIGINT / SIGTERM stop at the next step boundary with a rolling checkpoint (`train.interrupts`).
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import os
import random
import shutil
import signal
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError

from coconut_lm.data.batching import (
    SplitData,
    build_stage_sequences,
    check_duplicates,
    count_targets,
    load_split,
    micro_batch,
    plan_epoch,
)
from coconut_lm.data.collate import collate
from coconut_lm.data.schema import DataError
from coconut_lm.errors import InputError, UserError
from coconut_lm.eval.evaluate import EvalResult, eval_prompts, evaluate, fit_prompts, full_params
from coconut_lm.io import atomic_write_bytes, check_folder_writable, make_fresh_folder
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run import run_folder
from coconut_lm.run.build import ModelBundle, build_model, context_size
from coconut_lm.run.changes import check_resume
from coconut_lm.run.config import ConfigError, RunConfig
from coconut_lm.run.distributed import DistEnv, all_reduce_sum, barrier, init_distributed, unwrap, wrap_model
from coconut_lm.run.lock import RunLock
from coconut_lm.train.interrupts import StopSignals, TrainingStopped, signal_name
from coconut_lm.train.tracking import METRICS_FILE, EpochProgress, build_tracker, drop_metrics_after

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tied_duplicates(module: torch.nn.Module) -> list[str]:
    """Names of parameters that are another parameter (tied weights), all but the first."""
    seen, dupes = set(), []
    for name, param in module.named_parameters(remove_duplicate=False):
        if id(param) in seen:
            dupes.append(name)
        seen.add(id(param))
    return dupes


def lr_factor(schedule: str, warmup: int, steps_since_reset: int, progress: float) -> float:
    """Multiplier of the base learning rate: warm-up after each reset, then the decay."""
    warm = min(1.0, (steps_since_reset + 1) / warmup) if warmup else 1.0
    progress = min(max(progress, 0.0), 1.0)
    decay = {"constant": 1.0, "linear": 1.0 - progress, "cosine": 0.5 * (1.0 + math.cos(math.pi * progress))}
    return warm * decay[schedule]


class TrainingDiverged(UserError, ArithmeticError):
    """The loss, a gradient or the weights became infinite or NaN."""


class Trainer:
    """Owns the optimisation of one run; see the module docstring."""

    def __init__(
        self,
        cfg: RunConfig,
        env: DistEnv,
        bundle: ModelBundle,
        train: SplitData | None,
        val: SplitData | None,
        tracker,
        resume_from: Path | None = None,
        stop: StopSignals | None = None,
    ):
        self.cfg, self.env, self.bundle, self.train, self.val, self.tracker = cfg, env, bundle, train, val, tracker
        self.run_dir = Path(cfg.run_dir)
        self.model = bundle.model
        self.wrapped = wrap_model(self.model, env, cfg.training.fsdp, cfg.training.find_unused_parameters)
        self.max_length = context_size(self.model, cfg.model)
        self.state = ckpt.TrainerState(epoch=cfg.training.start_epoch)
        self.optimizer: torch.optim.Optimizer | None = None
        t = cfg.training
        self.global_size = t.batch_size * t.gradient_accumulation_steps * env.world_size
        steps_per_epoch = len(train) // self.global_size if train else 0
        self.total_steps = max(1, steps_per_epoch * (t.num_epochs - t.start_epoch))  # counted from start_epoch
        self.decay_steps = max(1, steps_per_epoch * t.decay_epochs) if t.decay_epochs else self.total_steps
        device_type = env.device.type
        self.autocast = (lambda: torch.autocast(device_type, dtype=torch.bfloat16)) if t.bf16 else nullcontext
        self.stop = stop
        self.saved: Path | None = None
        """The last checkpoint saved or resumed from, and its global step (a stop there saves nothing)."""
        self.saved_step: int | None = None
        if resume_from is not None:
            self._resume(resume_from)
            self.saved, self.saved_step = resume_from, self.state.global_step

    # -- optimizer and checkpoints ------------------------------------------------------------

    def _new_optimizer(self) -> None:
        t = self.cfg.training
        self.optimizer = torch.optim.AdamW(
            self.wrapped.parameters(), lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay
        )
        self.state.steps_since_reset = 0

    def _optimizer_state(self) -> dict:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(self.wrapped, self.optimizer, options=options)

    def _resume(self, folder: Path) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        self.state = ckpt.read_trainer_state(folder)
        optim_state = ckpt.read_optimizer_state(folder)
        if optim_state is not None:
            self._new_optimizer()
            steps_since_reset = self.state.steps_since_reset
            set_optimizer_state_dict(
                self.wrapped, self.optimizer, optim_state, options=StateDictOptions(full_state_dict=True)
            )
            self.state.steps_since_reset = steps_since_reset
        ckpt.restore_host_rng(self.state)
        rng = ckpt.read_rng_state(folder, self.env.rank)
        if rng is not None:
            ckpt.restore_torch_rng(rng)
        if self.env.is_main:
            logger.info("resuming from %s (epoch %d, step %d)", folder, self.state.epoch, self.state.step_in_epoch)
        old = self.state.global_batch
        if old and old != self.global_size and self.state.step_in_epoch:
            self._continue_epoch(old)

    def _continue_epoch(self, old: int) -> None:
        """Resumed with another global batch (`--allow-changes`): continue the epoch's seeded order
        at the first new batch that holds an example not yet trained; none is left out, and the
        rest of that batch is trained a second time."""
        state = self.state
        done = state.step_in_epoch * old  # examples of the epoch's order already trained
        state.step_in_epoch = done // self.global_size
        if self.env.is_main:
            steps = len(self.train) // self.global_size if self.train else 0
            logger.warning(
                "epoch %d was at step %d with %d examples per step: it continues at step %d of %d with %d "
                "(%d of its examples trained; %d of them are trained again)",
                state.epoch + 1,
                done // old,
                old,
                state.step_in_epoch,
                steps,
                self.global_size,
                done,
                done - state.step_in_epoch * self.global_size,
            )

    def save(self, final: Path) -> None:
        """Write a checkpoint folder atomically (every process takes part; rank 0 writes).

        Non-finite weights are never saved: `TrainingDiverged`, and earlier checkpoints stay.
        """
        if not self._weights_finite():
            raise TrainingDiverged(
                f"training diverged by global step {self.state.global_step}: the weights are not finite; "
                f"checkpoint {final.name} not saved, earlier ones are intact (lower training.lr or set "
                "training.max_grad_norm)"
            )
        model_state = None
        if self.cfg.training.fsdp and self.env.distributed:
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

            full = get_model_state_dict(self.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
            model_state = {k.removeprefix("base_model."): v for k, v in full.items()}
            for name in tied_duplicates(self.model.base_model):
                model_state.pop(name, None)  # as save_pretrained does for tied weights
        optim_state = self._optimizer_state() if self.optimizer is not None else None
        self.state.global_batch = self.global_size
        temp = ckpt.temp_dir_for(final)
        try:
            if self.env.is_main:
                make_fresh_folder(temp)  # what a killed save left there goes
            barrier(self.env)
            ckpt.write_rng_file(temp, self.env.rank)
            if self.env.is_main:
                ckpt.capture_host_rng(self.state)
                ckpt.write_checkpoint_files(
                    temp,
                    self.model.base_model,
                    self.bundle.tokenizer,
                    self.cfg.to_yaml(),
                    self.state,
                    optim_state,
                    model_state,
                )
            barrier(self.env)
            if self.env.is_main:
                ckpt.write_manifest(temp)  # last: every rank's files are in
                ckpt.publish(temp, final)
                ckpt.prune_checkpoints(self.run_dir, self.cfg.training.keep_last)
        except (OSError, SafetensorError) as e:  # safetensors reports its own I/O errors
            shutil.rmtree(temp, ignore_errors=True)  # earlier checkpoints are untouched
            full = getattr(e, "errno", None) == errno.ENOSPC or f"os error {errno.ENOSPC})" in str(e)
            reason = "no space left on device" if full else (getattr(e, "strerror", None) or str(e))
            where = getattr(e, "filename", None) or temp
            raise ckpt.CheckpointError(
                f"{reason} while writing {where}; checkpoint {final.name} not saved, earlier ones are intact"
            ) from None
        barrier(self.env)

    def save_rolling(self) -> None:
        final = self.run_dir / ckpt.CHECKPOINTS / ckpt.step_name(self.state.global_step)
        self.save(final)
        self.saved, self.saved_step = final, self.state.global_step

    def stop_if_asked(self) -> None:
        """At a step boundary: after SIGINT / SIGTERM (on any process), save a resume point and
        raise `TrainingStopped` naming it."""
        signum = self._stop_signal()
        if not signum:
            return
        state = self.state
        if state.global_step > 0 and self.saved_step != state.global_step:
            self.save_rolling()
        if self.saved is None:
            message = f"stopped by {signal_name(signum)} before the first step; nothing was trained or saved"
        else:
            where = f"epoch {state.epoch + 1}, step {state.step_in_epoch}" if state.step_in_epoch else "epoch end"
            message = (
                f"stopped by {signal_name(signum)} at global step {state.global_step} ({where}); resume point: "
                f"{self.saved} (`coconut-lm train {self.run_dir}` continues the run)"
            )
        raise TrainingStopped(message, signum, self.saved)

    def _stop_signal(self) -> int | None:
        """The signal that asks to stop, on this process or (under torchrun) on any."""
        signum = self.stop.requested if self.stop else None
        if not self.env.distributed:
            return signum
        votes = torch.tensor([signum == signal.SIGINT, signum == signal.SIGTERM], device=self.env.device)
        votes = all_reduce_sum(votes.float(), self.env)
        return signal.SIGINT if votes[0] > 0 else signal.SIGTERM if votes[1] > 0 else None

    # -- one optimizer step -------------------------------------------------------------------

    def _sync(self, last: bool):
        """Gradient synchronisation only on the last micro-batch of a step."""
        if not self.env.distributed:
            return nullcontext()
        if self.cfg.training.fsdp:
            self.wrapped.set_requires_gradient_sync(last)
            return nullcontext()
        return nullcontext() if last else self.wrapped.no_sync()

    def _to_device(self, sequences: list) -> dict[str, torch.Tensor]:

        batch = collate(sequences, self.bundle.ids.pad, self.bundle.ids.latent)
        return {k: v.to(self.env.device) for k, v in batch.items() if isinstance(v, torch.Tensor)}

    def accumulate_gradients(self, sequences: list, chunk: list[int]) -> tuple[torch.Tensor, int, int]:
        """Forward and backward over this process's micro-batches of global batch `chunk`.

        Leaves in `.grad` the gradient of the mean token loss of the whole global batch (once
        DDP/FSDP have averaged over processes). Returns (summed token loss of this process,
        target tokens of the global batch, tokens seen by this process).
        """
        t, env = self.cfg.training, self.env
        n_targets = sum(count_targets(sequences[i]) for i in chunk)  # whole global batch: no communication
        loss_sum = torch.zeros((), device=env.device)
        tokens = 0
        for a in range(t.gradient_accumulation_steps):
            idx = micro_batch(chunk, t.batch_size, a, env.world_size, env.rank)
            batch = self._to_device([sequences[i] for i in idx])
            with self._sync(a == t.gradient_accumulation_steps - 1), self.autocast():
                out = self.wrapped(**batch, reduction="sum")
                # DDP/FSDP average gradients over processes: scale back up by the world size.
                loss = out.loss * (env.world_size / max(n_targets, 1))
            loss.backward()
            loss_sum += out.loss.detach().float()
            tokens += int(batch["attention_mask"].sum())
        return loss_sum, n_targets, tokens

    def lr_multiplier(self) -> float:
        """The schedule at this step: warm-up, constant until the last `decay_epochs`, then the decay."""
        t = self.cfg.training
        progress = (self.state.global_step - (self.total_steps - self.decay_steps)) / self.decay_steps
        return lr_factor(t.lr_schedule, t.warmup_steps, self.state.steps_since_reset, progress)

    def train_step(self, sequences: list, chunk: list[int]) -> tuple[float, int]:
        """One optimizer step on global batch `chunk`; returns (mean token loss, tokens seen here).

        A non-finite loss or gradient norm never reaches the weights: the step is skipped
        (`training.on_nonfinite: skip_step`) or training stops (`TrainingDiverged`).
        """
        t = self.cfg.training
        loss_sum, n_targets, tokens = self.accumulate_gradients(sequences, chunk)
        loss = float(all_reduce_sum(loss_sum, self.env)) / max(n_targets, 1)
        params = [p for p in self.wrapped.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])  # a DTensor under FSDP
        full_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
        if not (math.isfinite(loss) and math.isfinite(full_norm)):
            self.optimizer.zero_grad(set_to_none=True)
            self._nonfinite_step(loss, full_norm)
            return loss, tokens
        if t.max_grad_norm is not None:
            torch.nn.utils.clip_grads_with_norm_(params, t.max_grad_norm, norm)
        for group in self.optimizer.param_groups:
            group["lr"] = t.lr * self.lr_multiplier()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, tokens

    def _nonfinite_step(self, loss: float, norm: float) -> None:
        """Stop, or count the skipped step, after a non-finite loss or gradient norm."""
        step = self.state.global_step + 1
        what = f"loss {loss}" if not math.isfinite(loss) else f"gradient norm {norm}"
        if self.cfg.training.on_nonfinite == "stop":
            latest = ckpt.latest_checkpoint(self.run_dir)
            kept = f"the last checkpoint, {latest}, is intact" if latest else "no checkpoint was saved"
            raise TrainingDiverged(
                f"training diverged at global step {step} ({what}); stopped before updating the weights, "
                f"{kept} (lower training.lr, set training.max_grad_norm, or training.on_nonfinite=skip_step)"
            )
        self.state.skipped_steps += 1
        if self.env.is_main:
            logger.warning(
                "global step %d: %s, optimizer step skipped (%d so far)", step, what, self.state.skipped_steps
            )

    def _weights_finite(self) -> bool:
        """Whether every parameter of every process is finite (one reduction, before a save)."""
        bad = torch.zeros((), device=self.env.device)
        for param in self.model.parameters():
            local = param.to_local() if hasattr(param, "to_local") else param
            bad += (~torch.isfinite(local.detach())).any()
        return float(all_reduce_sum(bad, self.env)) == 0

    # -- epochs ---------------------------------------------------------------------------------

    def _start_epoch(self, stage: int) -> None:
        reset = self.cfg.training.reset_optimizer
        if self.optimizer is None or reset == "epoch" or (reset == "stage" and stage != self.state.stage):
            self._new_optimizer()

    def run_epoch(self) -> None:
        t, state = self.cfg.training, self.state
        plan = plan_epoch(self.train, state.epoch, self.cfg, self.bundle.ids, self.max_length, self.env.world_size)
        if state.step_in_epoch == 0:
            self._start_epoch(plan.stage)
        state.stage = plan.stage
        self.wrapped.train()
        progress = EpochProgress(
            len(plan.batches),
            state.step_in_epoch,
            f"epoch {state.epoch + 1}/{t.num_epochs} stage {plan.stage}",
            self.cfg.logging.progress_every_s,
            enabled=self.env.is_main and self.cfg.logging.progress_bar,
        )
        for g in range(state.step_in_epoch, len(plan.batches)):
            start = time.perf_counter()
            loss, tokens = self.train_step(plan.sequences, plan.batches[g])
            tokens_per_s = tokens * self.env.world_size / (time.perf_counter() - start)
            state.step_in_epoch, state.global_step = g + 1, state.global_step + 1
            state.steps_since_reset += 1
            progress.update(loss, tokens_per_s)
            if state.global_step % self.cfg.logging.log_every_steps == 0:
                lr = self.optimizer.param_groups[0]["lr"]
                metrics = {
                    "train/loss": loss,
                    "train/lr": lr,
                    "train/epoch": state.epoch,
                    "train/stage": plan.stage,
                    "train/tokens_per_s": tokens_per_s,
                }
                if state.skipped_steps:
                    metrics["train/skipped_steps"] = state.skipped_steps
                self.tracker.log(metrics, state.global_step)
            if g + 1 < len(plan.batches):  # the epoch's last step ends with validation and a checkpoint
                if t.save_every_steps and state.global_step % t.save_every_steps == 0:
                    self.save_rolling()
                self.stop_if_asked()
        progress.close()
        state.epoch, state.step_in_epoch = state.epoch + 1, 0
        self._end_epoch(plan.stage)

    def _end_epoch(self, stage: int) -> None:
        state, cfg = self.state, self.cfg
        due = state.epoch % cfg.evaluation.every_epochs == 0 or state.epoch == cfg.training.num_epochs
        improved = False
        if self.val is not None and due:
            metrics = self.validate(stage)
            self.tracker.log({**metrics, "train/epoch": state.epoch}, state.global_step)
            accuracy = metrics["eval/accuracy"]
            improved = state.best_accuracy is None or accuracy > state.best_accuracy
            if improved:
                state.best_accuracy = accuracy
        # best/ first: a run killed between the two saves resumes from the previous rolling
        # checkpoint (or from best/ when there is none yet), redoes this epoch and saves best/
        # again; the other order could lose best/ for good.
        if improved and cfg.training.save_best:
            self.save(self.run_dir / ckpt.BEST)
        self.save_rolling()

    # -- validation -----------------------------------------------------------------------------

    @torch.no_grad()
    def validation_loss(self, stage: int) -> float:
        """Mean token loss over the validation set at `stage` (sharded, summed over processes)."""
        model, env, b = self.model, self.env, self.cfg.training.batch_size
        # Validation trains nothing: the scheduled stage for every example (no stage mixing).
        options = dataclasses.replace(self.cfg.curriculum, uniform_prob=0.0, icot_smoothing=0)
        sequences = build_stage_sequences(
            self.val, stage, self.cfg.method, options, self.bundle.ids, None, self.max_length, self.cfg.data.too_long
        )
        kept = [s for s in sequences if s is not None][env.rank :: env.world_size]
        totals = torch.zeros(2, device=env.device, dtype=torch.float64)  # (loss sum, target tokens)
        was_training = model.training
        model.eval()
        with full_params(model):
            for s in range(0, len(kept), b):
                batch = self._to_device(kept[s : s + b])
                with self.autocast():
                    out = model(**batch, reduction="sum")
                totals[0] += out.loss.double()
                totals[1] += sum(count_targets(q) for q in kept[s : s + b])
        model.train(was_training)
        all_reduce_sum(totals, env)
        return float(totals[0] / totals[1].clamp(min=1))

    def generation_eval(self, stage: int) -> EvalResult:
        prompts = eval_prompts(self.val, stage, self.cfg.method, self.cfg.curriculum, self.bundle.ids)
        e = self.cfg.evaluation
        prompts = fit_prompts(prompts, self.val, self.max_length, e.max_new_tokens, self.cfg.data.too_long)
        return evaluate(
            unwrap(self.wrapped),
            self.bundle.tokenizer,
            self.val,
            prompts,
            self.bundle.ids,
            self.env,
            e.max_new_tokens,
            e.batch_size,
        )

    def validate(self, stage: int) -> dict:
        metrics = {"eval/loss": self.validation_loss(stage), "eval/stage": stage}
        result = self.generation_eval(stage)
        metrics.update(result.metrics())
        if self.env.is_main:
            logger.info(
                "epoch %d: val loss %.4f, accuracy %.4f", self.state.epoch, metrics["eval/loss"], result.accuracy
            )
        return metrics

    def fit(self) -> dict:
        """Train to `num_epochs` (or only evaluate); returns the last validation metrics."""
        if self.cfg.evaluation.only_eval:
            metrics = self.validate(self.cfg.method.stage_for_epoch(self.state.epoch, self.cfg.curriculum))
            self.tracker.log(metrics, self.state.global_step)
            return metrics
        if self.train is None:
            raise ConfigError("data.train_path: required for training")
        while self.state.epoch < self.cfg.training.num_epochs:
            self.stop_if_asked()
            self.run_epoch()
        return {"global_step": self.state.global_step, "best_accuracy": self.state.best_accuracy}


def write_run_config(cfg: RunConfig) -> None:
    """The run folder's `config.yaml` (an earlier one that differs is kept); an `only_eval` run
    leaves an existing one alone (it trains nothing, and `train RUN` reads that file)."""
    path = Path(cfg.run_dir) / run_folder.RUN_CONFIG_FILE
    if not (cfg.evaluation.only_eval and os.path.lexists(path)):
        run_folder.write_run_config(cfg.run_dir, cfg.to_yaml())


def configured_model_type(cfg: RunConfig) -> str | None:
    """The model type the config builds, when known without the network."""
    import json

    if cfg.model.from_config is not None:
        return cfg.model.from_config["model_type"]
    config_json = Path(cfg.model.name_or_path or "") / "config.json"
    return json.loads(config_json.read_text())["model_type"] if config_json.is_file() else None


def _check_inputs(cfg: RunConfig) -> None:
    """Fail fast, before loading a model, on data files that cannot be read."""

    if not cfg.evaluation.only_eval and cfg.data.train_path is None:
        raise ConfigError("data.train_path: required for training (or set evaluation.only_eval=true)")
    if cfg.evaluation.only_eval and cfg.data.val_path is None:
        raise ConfigError("data.val_path: required with evaluation.only_eval")
    for key in ("train_path", "val_path"):
        path = getattr(cfg.data, key)
        if path is not None and not Path(path).is_file():
            raise DataError(f"data.{key}: {path}: no such data file")
    run_dir = Path(cfg.run_dir)
    if os.path.lexists(run_dir) and not run_dir.is_dir():
        raise ConfigError(f"run_dir: {run_dir} is a file, not a folder")
    try:
        check_folder_writable(run_dir)
    except InputError as e:
        raise ConfigError(f"run_dir: {e}") from None
    run_folder.check_run_dir(run_dir)


def train(
    cfg: RunConfig, device: str | None = None, resume: run_folder.Resume = "auto", allow_changes: bool = False
) -> dict:
    """Run a whole training (or `only_eval`) run; resumes from the run folder's latest checkpoint.

    `resume`: "auto" (the latest usable checkpoint; a run folder with checkpoints of which none is
    usable is refused, never restarted from scratch), "restart" (begin again; the earlier history
    is moved into `previous-N/`) or "best" (resume from `best/`). `allow_changes`: resume even with
    settings changed in a way that breaks exactness (`run.changes`; else `ConfigError`).
    SIGINT / SIGTERM stop at the next step boundary with a checkpoint (`TrainingStopped`).
    Single process by default; under `torchrun` every process calls this (DDP or FSDP).
    Returns a summary (rank 0's view).
    """

    _check_inputs(cfg)
    env = init_distributed(device)
    seed_everything(cfg.training.seed)
    if env.is_main:
        for key, value in cfg.ignored_settings().items():
            logger.warning("%s: %r is ignored by method %s (it changes nothing)", key, value, cfg.method.value)
    # Rank 0 writes the run folder: it holds it from before reading its checkpoints to the end.
    with StopSignals(cfg.run_dir, announce=env.is_main) as stop, RunLock(cfg.run_dir) if env.is_main else nullcontext():
        if env.is_main:
            run_folder.recover_best(cfg.run_dir)
        barrier(env)
        start = run_folder.resume_point(cfg.run_dir, resume)
        latest = start.checkpoint
        if latest is not None:
            ckpt.check_compatible(latest, cfg.method.value, configured_model_type(cfg))
            if not cfg.evaluation.only_eval:  # evaluating trains nothing: any setting goes
                saved_batch = ckpt.read_trainer_state(latest).global_batch
                saved = ckpt.read_checkpoint_config(latest)
                check_resume(latest, saved, cfg, saved_batch, env.world_size, allow_changes)
        bundle = build_model(cfg, latest)
        train_split = None
        if not cfg.evaluation.only_eval:
            train_split = load_split(cfg.data.train_path, bundle.tokenizer, cfg.data.max_train_examples)
            check_duplicates(train_split, cfg.data.duplicates)
        val = None
        if cfg.data.val_path:
            val = load_split(cfg.data.val_path, bundle.tokenizer, cfg.data.max_val_examples)
        if env.is_main:  # only now: every input was read and validated
            _prepare_run_folder(cfg, start)
        tracker = build_tracker(cfg.logging, cfg.run_dir, env.is_main, cfg.to_dict())
        try:
            return Trainer(cfg, env, bundle, train_split, val, tracker, latest, stop).fit()
        finally:
            tracker.close()


def _prepare_run_folder(cfg: RunConfig, start: run_folder.ResumePoint) -> None:
    """Rank 0, before training: earlier history set aside, leftovers of killed saves removed, the
    rows of the steps to be trained again dropped from `metrics.jsonl`, `config.yaml` written."""
    aside = run_folder.set_aside(cfg.run_dir, start.set_aside)
    run_folder.clean_leftovers(cfg.run_dir)
    metrics = Path(cfg.run_dir) / METRICS_FILE
    if aside is not None and metrics.is_file() and not metrics.is_symlink():
        atomic_write_bytes(aside / METRICS_FILE, metrics.read_bytes())  # --resume-best: the history set aside
    step = ckpt.read_trainer_state(start.checkpoint).global_step if start.checkpoint else 0
    dropped = drop_metrics_after(cfg.run_dir, step)
    if dropped:
        logger.info("%s: %d rows after step %d dropped (those steps are trained again)", metrics, dropped, step)
    write_run_config(cfg)
