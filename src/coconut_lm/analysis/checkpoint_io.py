"""What every analysis reads: a checkpoint as a `CoconutModel` + tokenizer, data, forced prompts.

A checkpoint is either a folder the trainer wrote (`coconut_config.yaml` inside, or a run folder:
loaded with `coconut_lm.eval.evaluate.load_for_inference`, so the method and curriculum are known),
or any folder `transformers` can read (weights + tokenizer, e.g. `save_pretrained` output): then
the method is taken to be Coconut and the special tokens must already be in its tokenizer.

Forced prompts (docs/method.md §7, "forced switching"): the question (+ "\\n", as in training), then
`<bot> <latent>*k <eot>`; k = 0 gives `<bot><eot>`. A Coconut run trained without thought markers
(`curriculum.thought_markers: false`) gets `<latent>*k` alone. CoT, No-CoT and iCoT models are
prompted with the question alone; pause models get k `<|pause|>` tokens and no markers.

    >>> am = load_analysis_model("runs/prosqa/best")
    >>> prompt = am.forced_prompt(question_ids, k=2)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import add_special_tokens, tokenize_examples
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import load_for_inference
from coconut_lm.model.coconut import CoconutModel
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.build import load_pretrained, load_tokenizer

DEFAULT_MAX_THOUGHTS = 6
"""Thought count assumed for a folder without a run configuration (ProsQA: 6 stages, c = 1)."""


@dataclass
class AnalysisModel:
    """A model ready for the analyses, with how its prompts are written."""

    model: torch.nn.Module
    """The `CoconutModel`, in eval mode."""
    tokenizer: object
    """Its tokenizer, special tokens included."""
    ids: object
    """`SpecialTokenIds` of the tokenizer."""
    method: Method
    """Training method (Coconut when the folder has no run configuration)."""
    max_thoughts: int
    """Thoughts of the method's final-stage prompt (k runs 0..max_thoughts by default)."""
    slot_id: int | None
    """The token at each thought slot: `<|latent|>` (Coconut), `<|pause|>`, or None when prompts
    are the question alone (cot, no_cot, icot, ...)."""
    markers: bool
    """Whether `<bot>`/`<eot>` surround the slots."""

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def has_thoughts(self) -> bool:
        """Whether the slots are continuous thoughts."""
        return self.slot_id is not None and self.slot_id == self.ids.latent

    def forced_prompt(self, question: list[int], k: int) -> list[int]:
        """question, then k slots, between `<bot>` and `<eot>` when the model was trained with them."""
        slots = [self.slot_id] * k if self.slot_id is not None else []
        if not self.markers:
            return list(question) + slots
        return list(question) + [self.ids.start_latent] + slots + [self.ids.end_latent]


def _load_plain_folder(folder: Path):
    """(model, tokenizer, ids) of a folder with only `transformers` files."""

    tokenizer = load_tokenizer(str(folder), key="checkpoint")
    base = load_pretrained(folder, key="checkpoint")
    ids = add_special_tokens(tokenizer)
    n_rows = base.get_input_embeddings().weight.shape[0]
    if max(ids.start_latent, ids.end_latent, ids.latent) >= n_rows:
        raise InputError(f"{folder}: the model has {n_rows} embeddings but the special tokens need more")
    return CoconutModel(base, ids.latent, ids.start_latent, ids.end_latent, ids.eos), tokenizer, ids


def is_coconut_folder(path: str | Path) -> bool:
    """A coconut-lm checkpoint or run folder (else, perhaps, a plain `transformers` model folder)."""
    folder = Path(path)
    return any(p.exists() for p in (folder / ckpt.CONFIG_FILE, folder / ckpt.BEST, folder / ckpt.CHECKPOINTS))


def load_analysis_model(path: str | Path, device: str | None = None, question_only: bool = False) -> AnalysisModel:
    """Load a checkpoint (or run) folder for analysis; `question_only` prompts with the question
    alone whatever the method (a CoT model in a plain `transformers` folder).

    The model is put on `device` (default: CPU, the analyses are meant to run anywhere).
    """

    folder = Path(path)
    if is_coconut_folder(folder):
        cfg, bundle, _ = load_for_inference(str(folder), device or "cpu")
        model, tokenizer, ids, method = bundle.model, bundle.tokenizer, bundle.ids, cfg.method
        curriculum = cfg.curriculum
    else:
        if not (folder / "config.json").is_file():
            raise InputError(f"{folder}: neither a checkpoint/run folder nor a transformers model folder")
        model, tokenizer, ids = _load_plain_folder(folder)
        model.to(torch.device(device or "cpu"))
        method, curriculum = Method.COCONUT, CurriculumConfig(max_latent_stage=DEFAULT_MAX_THOUGHTS, c_thought=1)
    model.eval()
    layout = method.prompt_layout(curriculum.max_latent_stage, method.final_stage(curriculum), curriculum)
    if question_only and not method.uses_pause:
        return AnalysisModel(model, tokenizer, ids, method, 0, slot_id=None, markers=False)
    slot_id = method.slot_token(ids) if layout.n_slots else None
    return AnalysisModel(model, tokenizer, ids, method, layout.n_slots, slot_id, layout.markers)


def load_records(path: str | Path, num: int | None = None) -> list[dict]:
    """The first `num` (all if None) validated records of a data file (extra fields kept)."""

    records = load_examples(path)
    return records if num is None else records[:num]


def question_ids(records: list[dict], tokenizer) -> list[list[int]]:
    """Tokens of question + "\\n" of every record, as in training (the tokenizer's BOS etc.)."""

    return [t.question for t in tokenize_examples(records, tokenizer, check_concat=False)]


def batch_ranges(n: int, batch_size: int) -> Iterator[range]:
    """range(0, b), range(b, 2b), ... covering 0..n-1."""
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, n, batch_size):
        yield range(start, min(start + batch_size, n))


def token_text(tokenizer, token_id: int) -> str:
    """How one token reads (special tokens by name)."""
    return tokenizer.decode([int(token_id)], skip_special_tokens=False)
