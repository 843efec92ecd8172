"""Train the stop head of a Coconut checkpoint: when to stop thinking (docs/method.md §9).

The model stays frozen. For each training example, its question is run with `<bot>` and the
most thoughts the run's final stage gives (max_latent_stage * c); the state after thought i is a
feature, labelled "stop" when i has reached the example's last needed thought, min(steps,
max_latent_stage) * c (what its final-stage sequence had). A logistic loss (classes balanced)
fits the head; at inference a row stops at its first positive logit.

    >>> report = train_stop_head("runs/symbolic/best", "data/train.json", val_path="data/valid.json")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from coconut_lm.data.batching import load_split
from coconut_lm.data.collate import collate_prompts
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import load_for_inference
from coconut_lm.io import check_target
from coconut_lm.model.coconut import positions_from_mask
from coconut_lm.model.stop_head import META, WEIGHTS, StopHead
from coconut_lm.run import checkpoint as ckpt

logger = logging.getLogger(__name__)


@dataclass
class StopFeatures:
    states: torch.Tensor  # (N, K, H): the state after thought 1..K
    needed: torch.Tensor  # (N,): each example's last needed thought (1..K)

    def labels(self) -> torch.Tensor:
        steps = torch.arange(1, self.states.shape[1] + 1)[None]  # (1, K)
        return (steps >= self.needed[:, None]).float()  # (N, K)


def needed_thoughts(num_steps: int, curriculum) -> int:
    """Thoughts an example's final-stage sequence holds (without padding to the maximum)."""
    return min(num_steps, curriculum.max_latent_stage) * curriculum.c_thought


@torch.no_grad()
def thought_states(model, split, ids, curriculum, max_thoughts: int, batch_size: int = 64) -> StopFeatures:
    """The frozen model's state after each of `max_thoughts` thoughts, for every example."""
    model.eval()
    device = next(model.parameters()).device
    states, needed = [], []
    examples = [(t, e) for t, e in zip(split.tokenized, split.examples) if len(e["steps"]) > 0]
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        # one slot more: the state fed to slot i+1 is the state after thought i
        prompts = [list(t.question) + [ids.start_latent] + [ids.latent] * (max_thoughts + 1) for t, _ in chunk]
        batch = collate_prompts(prompts, ids.pad)
        input_ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        run = model.prefill(input_ids, mask, positions_from_mask(mask), model.new_cache(input_ids.shape[1]), True)
        states.append(run.thoughts[:, 1:].float().cpu())
        needed += [needed_thoughts(len(e["steps"]), curriculum) for _, e in chunk]
    return StopFeatures(torch.cat(states), torch.tensor(needed))


def exact_stop_rate(head: StopHead, features: StopFeatures) -> tuple[float, float]:
    """(share of examples whose first stop is their last needed thought, mean thoughts used)."""
    with torch.no_grad():
        stops = head(features.states) > 0  # (N, K)
    stops[:, -1] = True  # the most thoughts: a row stops there at the latest
    first = stops.float().argmax(1) + 1
    return float((first == features.needed).float().mean()), float(first.float().mean())


def fit(features: StopFeatures, mlp_width: int = 0, epochs: int = 300, lr: float = 1e-2, seed: int = 0) -> StopHead:
    """Full-batch AdamW on the logistic loss, positives and negatives weighted equally."""
    torch.manual_seed(seed)
    head = StopHead(features.states.shape[-1], mlp_width)
    x, y = features.states.reshape(-1, features.states.shape[-1]), features.labels().reshape(-1)
    positive = float(y.mean())
    if positive in (0.0, 1.0):
        raise InputError("the stop head needs examples that stop at different thoughts (all labels are equal)")
    weight = torch.where(y > 0, 0.5 / positive, 0.5 / (1 - positive))
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(head(x), y, weight=weight)
        loss.backward()
        optimizer.step()
    return head.eval()


def train_stop_head(
    checkpoint: str,
    data_path: str,
    val_path: str | None = None,
    mlp_width: int = 0,
    epochs: int = 300,
    device: str | None = None,
    limit: int | None = None,
) -> dict:
    """Fit and save the stop head beside the checkpoint; returns its figures."""
    folder = ckpt.resolve_checkpoint(checkpoint)
    for name in (WEIGHTS, META):  # before the long work: the head is saved there
        check_target(folder / name)
    cfg, bundle, _ = load_for_inference(str(folder), device or "cpu")
    if problem := cfg.method.why_no_adaptive_thoughts(cfg.curriculum):
        raise InputError(f"{folder}: {problem}")
    max_thoughts = cfg.curriculum.max_latent_stage * cfg.curriculum.c_thought

    def features(path: str) -> StopFeatures:
        split = load_split(path, bundle.tokenizer, limit)
        return thought_states(bundle.model, split, bundle.ids, cfg.curriculum, max_thoughts)

    train_features = features(data_path)
    head = fit(train_features, mlp_width, epochs)
    report = {"max_thoughts": max_thoughts, "train_examples": len(train_features.needed)}
    report["train_exact_stop"], report["train_mean_thoughts"] = exact_stop_rate(head, train_features)
    if val_path:
        val_features = features(val_path)
        report["val_exact_stop"], report["val_mean_thoughts"] = exact_stop_rate(head, val_features)
        report["val_needed_mean"] = float(val_features.needed.float().mean())
    head.save(folder, report)
    logger.info("stop head saved in %s", folder)
    return {"checkpoint": str(folder), **report}
