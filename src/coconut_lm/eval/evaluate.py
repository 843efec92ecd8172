"""Generation accuracy, CoT exact match, generated tokens, time and forward passes per question.

Extraction follows the official code (facebookresearch/coconut `run.py`), applied to
the decoded prompt + generation with special tokens skipped:

    answer = text.split("#")[-1].replace(",", "").strip()        # exact match with the answer
    cot    = "\\n".join(text.split("\\n")[1:]).split("#")[0].strip()  # vs "\\n".join(steps)

    >>> extract_answer("Is Tom a wumpus?\\n### Tom is a wumpus.")
    'Tom is a wumpus.'

For binary-choice data (ProsQA and its symbolic form) the result also has the accuracy with the
answer restricted to the two candidates after the model's own chain (`eval.candidates`).

Generated tokens per question count the continuous thoughts too (as the paper's Table 1): the
thoughts of the prompt plus the new tokens up to and including the first EOS. Forward passes
are those of the generation batch the question was in (with batch size 1: its own). Questions
are sharded over processes (rank r takes r, r + world, ...) and the results gathered.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from coconut_lm.data.batching import describe_example, load_split
from coconut_lm.data.collate import collate_prompts
from coconut_lm.data.curriculum import build_prompt
from coconut_lm.data.methods import Method
from coconut_lm.data.tokenization import SpecialTokenIds
from coconut_lm.errors import InputError
from coconut_lm.eval.candidates import candidate_choices
from coconut_lm.eval.settings import EvalSettings, check_flags, check_stage
from coconut_lm.model.stop_head import WEIGHTS as STOP_HEAD_FILE
from coconut_lm.model.stop_head import StopHead
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.build import build_model, context_size
from coconut_lm.run.config import config_from_dict
from coconut_lm.run.distributed import DistEnv, gather_objects, init_distributed, resolve_device

log = logging.getLogger(__name__)


def extract_answer(text: str) -> str:
    """The official answer extraction: after the last '#', commas removed, stripped."""
    return text.split("#")[-1].replace(",", "").strip()


def extract_cot(text: str) -> str:
    """The official CoT extraction: the lines after the question, up to the first '#'."""
    return "\n".join(text.split("\n")[1:]).split("#")[0].strip()


def normalise_answer(answer: str) -> str:
    return answer.replace(",", "").strip()


@dataclass
class EvalResult:
    """Aggregate metrics and one prediction per question (in data order)."""

    accuracy: float
    cot_exact_match: float
    mean_new_tokens: float
    seconds_per_question: float
    forward_passes_per_question: float
    num_questions: int
    predictions: list[dict] = field(default_factory=list)
    mean_thoughts: float = 0.0
    candidate_accuracy: float | None = None
    """Binary-choice data only: the answer restricted to the two candidates (`eval.candidates`)."""
    checkpoint: dict = field(default_factory=dict)
    """Which checkpoint was evaluated: `run.checkpoint.describe_checkpoint` (path, step, epoch, stage)."""

    def metrics(self, prefix: str = "eval/") -> dict:
        restricted = {} if self.candidate_accuracy is None else {f"{prefix}candidate_accuracy": self.candidate_accuracy}
        return {
            f"{prefix}accuracy": self.accuracy,
            f"{prefix}cot_exact_match": self.cot_exact_match,
            f"{prefix}mean_new_tokens": self.mean_new_tokens,
            f"{prefix}seconds_per_question": self.seconds_per_question,
            f"{prefix}forward_passes_per_question": self.forward_passes_per_question,
            f"{prefix}mean_thoughts": self.mean_thoughts,
            f"{prefix}num_questions": self.num_questions,
            **restricted,
        }


def set_num_thoughts(prompt: list[int], n_question: int, k: int, method: Method, ids: SpecialTokenIds) -> list[int]:
    """`prompt` (from `build_prompt`) with k thought slots in place of those the builder put after
    its first `n_question` tokens, the question, which are kept as they are (k may be 0).

    The rest of the prompt must be the builder's: `<bot>`, slots, `<eot>`, or the slots alone (no
    markers); anything else is a `ValueError`, so no token of the question is ever touched.

        >>> set_num_thoughts(q + [bot, lat, eot], len(q), 3, Method.COCONUT, ids)  # q + [bot, lat, lat, lat, eot]
    """
    slot = method.slot_token(ids)
    if slot is None:
        raise InputError(f"--num-thoughts: method {method.value} uses no thoughts")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InputError(f"--num-thoughts: must be >= 0, got {k!r}")
    question, tail = prompt[:n_question], prompt[n_question:]
    marked = tail[:1] == [ids.start_latent]
    slots = tail[1:-1] if marked else tail
    if (marked and tail[-1] != ids.end_latent) or any(t != slot for t in slots):
        raise ValueError(
            f"the prompt after its {n_question} question tokens is {tail}, not the prompt builder's "
            f"[<bot>,] {slot} x n [, <eot>]"
        )
    new = [slot] * k
    return question + ([ids.start_latent, *new, ids.end_latent] if marked else new)


def count_new_tokens(new_tokens: torch.Tensor, eos_id: int) -> list[int]:
    """(B, n) generated ids -> tokens per row up to and including the first EOS."""
    if new_tokens.shape[1] == 0:
        return [0] * new_tokens.shape[0]
    is_eos = new_tokens == eos_id  # (B, n)
    first = torch.where(
        is_eos.any(1), is_eos.int().argmax(1) + 1, torch.full_like(is_eos[:, 0], new_tokens.shape[1], dtype=torch.long)
    )
    return first.tolist()


@contextmanager
def full_params(model: torch.nn.Module):
    """Parameters gathered for generation: FSDP2 modules are unsharded once, so the
    data-dependent number of forward passes of each process needs no collective."""
    from torch.distributed.fsdp import FSDPModule

    sharded = [m for m in model.modules() if isinstance(m, FSDPModule)]
    for m in sharded:
        m.unshard()
        m.set_reshard_after_forward(False)
    try:
        yield
    finally:
        for m in sharded:
            m.reshard()
            m.set_reshard_after_forward(True)


def fit_prompts(
    prompts: list[list[int]], split, context: int | None, max_new_tokens: int, policy: str = "error"
) -> list[list[int] | None]:
    """The prompts, each leaving room for `max_new_tokens` within the model's `context`.

    A prompt that does not fit is, by `policy` (`data.too_long`): an `InputError` naming the
    example and its length ("error"), left out of the evaluation (None, "skip"), or cut to its
    last tokens, which keeps the thoughts and the question's end ("truncate").
    """
    if context is None:
        return list(prompts)
    room = context - max_new_tokens
    if room < 1:
        raise InputError(f"max_new_tokens {max_new_tokens} leaves no room for a prompt in the context of {context}")
    out: list[list[int] | None] = []
    cut: list[int] = []
    for i, prompt in enumerate(prompts):
        if len(prompt) <= room:
            out.append(prompt)
            continue
        if policy == "error":
            raise InputError(
                f"{describe_example(split, i)}: prompt of {len(prompt)} tokens + {max_new_tokens} new tokens "
                f"exceeds the model's context of {context}; use --too-long skip or truncate "
                "(data.too_long), or fewer new tokens"
            )
        cut.append(i)
        out.append(None if policy == "skip" else prompt[-room:])
    if cut:
        action = "left out" if policy == "skip" else "cut to their last tokens"
        shown = ", ".join(map(str, cut[:5])) + (", ..." if len(cut) > 5 else "")
        log.warning("%d prompts of %s longer than %d tokens %s: %s", len(cut), split.path, room, action, shown)
    return out


def _score(text: str, output: str, example: dict) -> tuple[str, bool, bool]:
    """The prediction, whether it is right, and whether the written chain is the reference one.

    `text` is the prompt and the generation decoded, `output` the generation alone. Text without
    a line break (symbolic data whose tokenizer has no newline token) has its chain in `output`,
    before the '#': compared token by token with the steps.
    """
    prediction = extract_answer(text)
    correct = prediction == normalise_answer(example["answer"])
    if "\n" in text:
        cot_match = extract_cot(text) == "\n".join(example["steps"])
    else:
        cot_match = output.split("#")[0].split() == " ".join(example["steps"]).split()
    return prediction, correct, cot_match


@dataclass
class AdaptiveThoughts:
    """Evaluate with the model deciding when to stop thinking (`CoconutModel.generate_adaptive`)."""

    stop_head: torch.nn.Module
    max_thoughts: int


def _generate_batch(
    model, tokenizer, prompts, ids, max_new_tokens: int, device, adaptive: AdaptiveThoughts | None = None
) -> tuple[list[dict], float, int]:

    batch = collate_prompts(prompts, ids.pad)
    input_ids = batch["input_ids"].to(device)  # (B, T)
    attention_mask = batch["attention_mask"].to(device)  # (B, T)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    if adaptive is None:
        out = model.generate(input_ids, attention_mask, max_new_tokens=max_new_tokens, return_dict=True)
    else:
        head = adaptive.stop_head.to(device)
        out = model.generate_adaptive(input_ids, attention_mask, head, adaptive.max_thoughts, max_new_tokens)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    new = out.sequences[:, input_ids.shape[1] :]  # (B, n)
    n_new = count_new_tokens(new, ids.eos)
    if adaptive is not None:  # the new columns hold the thoughts and `<eot>` too: count the answer
        n_new = [n - int(k) - 1 for n, k in zip(n_new, out.num_thoughts.tolist())]
    rows = []
    for b in range(input_ids.shape[0]):
        rows.append(
            {
                "text": tokenizer.decode(out.sequences[b], skip_special_tokens=True),
                "output": tokenizer.decode(new[b, : n_new[b]], skip_special_tokens=True),
                "num_thoughts": int(out.num_thoughts[b]),
                "new_tokens": int(out.num_thoughts[b]) + n_new[b],
                "forward_passes": int(out.num_forward_passes),
                "new_ids": new[b].tolist(),
            }
        )
    return rows, seconds, input_ids.shape[0]


def evaluate(
    model: torch.nn.Module,
    tokenizer,
    split,
    prompts: list[list[int]],
    ids,
    env: DistEnv,
    max_new_tokens: int = 128,
    batch_size: int = 16,
    adaptive: AdaptiveThoughts | None = None,
) -> EvalResult:
    """Generate for every prompt (`prompts[i]` belongs to `split.examples[i]`; None: left out)
    and score.

    `model`: the `CoconutModel` (unwrapped from DDP; FSDP2-sharded models are unsharded for the
    call). Every process calls this; each returns the gathered result.
    """
    mine = [i for i in range(env.rank, len(prompts), env.world_size) if prompts[i] is not None]
    rows, seconds = [], 0.0
    was_training = model.training
    model.eval()
    with torch.no_grad(), full_params(model):
        for s in range(0, len(mine), batch_size):
            idx = mine[s : s + batch_size]
            batch_rows, secs, _ = _generate_batch(
                model, tokenizer, [prompts[i] for i in idx], ids, max_new_tokens, env.device, adaptive
            )
            seconds += secs
            examples = [split.examples[i] for i in idx]
            generations = [row.pop("new_ids") for row in batch_rows]
            choices = candidate_choices(model, tokenizer, ids, [prompts[i] for i in idx], generations, examples)
            for i, row, choice in zip(idx, batch_rows, choices):
                example = split.examples[i]
                prediction, correct, cot_match = _score(row.pop("text"), row["output"], example)
                rows.append(
                    {
                        "idx": i,
                        "question": example["question"],
                        "answer": example["answer"],
                        "prediction": prediction,
                        "correct": correct,
                        "cot_match": cot_match,
                        "candidate_correct": choice,
                        **row,
                    }
                )
    model.train(was_training)
    gathered = gather_objects((rows, seconds), env)
    rows = sorted((r for part, _ in gathered for r in part), key=lambda r: r["idx"])
    total_seconds = sum(s for _, s in gathered)
    n = max(len(rows), 1)
    binary = [r["candidate_correct"] for r in rows if r["candidate_correct"] is not None]
    return EvalResult(
        accuracy=sum(r["correct"] for r in rows) / n,
        cot_exact_match=sum(r["cot_match"] for r in rows) / n,
        mean_new_tokens=sum(r["new_tokens"] for r in rows) / n,
        seconds_per_question=total_seconds / n,
        forward_passes_per_question=sum(r["forward_passes"] for r in rows) / n,
        num_questions=len(rows),
        predictions=rows,
        mean_thoughts=sum(r["num_thoughts"] for r in rows) / n,
        candidate_accuracy=sum(binary) / len(binary) if binary else None,
    )


def eval_prompts(split, stage: int, method, options, ids, num_thoughts: int | None = None) -> list[list[int]]:
    """The generation prompt of every example at `stage`, optionally with k thoughts."""

    prompts = [build_prompt(t, stage, method, options, ids) for t in split.tokenized]
    if num_thoughts is not None:
        questions = [len(t.question) for t in split.tokenized]
        prompts = [set_num_thoughts(p, n, num_thoughts, method, ids) for p, n in zip(prompts, questions)]
    return prompts


def load_for_inference(path: str, device: str | None = None):
    """(run config, `ModelBundle`, stage) of a checkpoint folder, or of a run folder's latest
    checkpoint (`run.checkpoint.resolve_checkpoint`); the stage is the one it was trained at."""
    folder = ckpt.resolve_checkpoint(path)
    ckpt.verify_checkpoint(folder)
    cfg = config_from_dict(ckpt.read_checkpoint_config(folder))
    bundle = build_model(cfg, folder)
    bundle.model.to(resolve_device(device))
    stage = ckpt.read_trainer_state(folder).stage if (folder / ckpt.STATE_FILE).is_file() else 0
    return cfg, bundle, stage


def evaluate_checkpoint(
    path: str,
    data_path: str,
    num_thoughts: int | None = None,
    stage: int | None = None,
    max_new_tokens: int | None = None,
    batch_size: int | None = None,
    limit: int | None = None,
    device: str | None = None,
    too_long: str | None = None,
    thoughts: str = "fixed",
    jacobi_iterations: int | None = None,
) -> EvalResult:
    """Accuracy etc. of a checkpoint on a data file (see the module docstring).

    `max_new_tokens`, `batch_size`, `too_long`: default the run's (None); 0 new tokens means 0.
    `thoughts`: "fixed" (the stage's prompts, or `num_thoughts`) or "adaptive" (the stop head
    saved beside the checkpoint decides, row by row; `coconut-lm stop-head` trains it).
    `jacobi_iterations`: compute the thoughts by that many Jacobi iterations instead of the run's
    `thoughts` setting.
    """

    flags = dict(num_thoughts=num_thoughts, thoughts=thoughts, jacobi_iterations=jacobi_iterations, stage=stage)
    flags.update(max_new_tokens=max_new_tokens, too_long=too_long, batch_size=batch_size, limit=limit)
    check_flags(EvalSettings, flags)  # the CLI's checks, before anything is loaded
    env = init_distributed(device)
    cfg, bundle, trained_stage = load_for_inference(path, str(env.device))
    if stage is not None:
        check_stage(stage, cfg.method, cfg.curriculum)
    if jacobi_iterations is not None:
        bundle.model.thought_update, bundle.model.jacobi_iterations = "jacobi", jacobi_iterations
    split = load_split(data_path, bundle.tokenizer, limit)
    stage = trained_stage if stage is None else stage
    if max_new_tokens is None:
        max_new_tokens = cfg.evaluation.max_new_tokens
    adaptive = None
    if thoughts == "adaptive":
        adaptive = load_adaptive(ckpt.resolve_checkpoint(path), cfg.method, cfg.curriculum)
    if adaptive is None:
        prompts = eval_prompts(split, stage, cfg.method, cfg.curriculum, bundle.ids, num_thoughts)
    else:  # the question and `<bot>`: the model adds its thoughts and `<eot>`
        prompts = [list(t.question) + [bundle.ids.start_latent] for t in split.tokenized]
    context = context_size(bundle.model, cfg.model)
    budget = max_new_tokens + (adaptive.max_thoughts + 1 if adaptive else 0)
    prompts = fit_prompts(prompts, split, context, budget, too_long or cfg.data.too_long)
    result = evaluate(
        bundle.model,
        bundle.tokenizer,
        split,
        prompts,
        bundle.ids,
        env,
        max_new_tokens,
        batch_size or cfg.evaluation.batch_size,
        adaptive,
    )
    result.checkpoint = ckpt.describe_checkpoint(ckpt.resolve_checkpoint(path))
    return result


def load_adaptive(folder, method, curriculum) -> AdaptiveThoughts:
    """The stop head saved in a checkpoint folder, for adaptive evaluation."""
    if problem := method.why_no_adaptive_thoughts(curriculum):
        raise InputError(f"--thoughts adaptive: {problem}")
    if not (folder / STOP_HEAD_FILE).is_file():
        raise InputError(
            f"{folder}: no stop head ({STOP_HEAD_FILE}); train one: coconut-lm stop-head {folder} --data ..."
        )
    head, meta = StopHead.load(folder)
    return AdaptiveThoughts(head, int(meta["max_thoughts"]))
