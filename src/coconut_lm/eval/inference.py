"""The Python way in to a trained model: `coconut_lm.load(path)` restores everything a run saved.

A checkpoint (or run) folder holds the weights, the tokenizer with its special tokens, and the
run's configuration: the method, the curriculum (`thought_markers`, `c_thought`, ...), the thought
settings (`thoughts.rescale`, Jacobi) and the stage it was trained at. `load` rebuilds the model
from all of it, so it answers as `coconut-lm generate` and `coconut-lm eval` do:

    >>> import coconut_lm
    >>> model = coconut_lm.load("runs/my_run")                   # its latest checkpoint
    >>> out = model.generate("n4 n9 | n9 n2 | [Q] n2 n7 [R] n4")[0]
    >>> out.answer, out.num_thoughts
    ('n2', 1)
    >>> model.evaluate("data/test.json").accuracy

`generate(..., show_thoughts=3)` also reads every thought through the LM head (its 3 most likely
tokens), as the paper's analysis of what a thought encodes does. Answers are greedy unless a
`temperature` is given; then `num_samples` answers are drawn per question (`seed`: the same ones
every time), as test-time scaling by sampling needs:

    >>> outs = model.generate(question, temperature=0.8, top_p=0.95, num_samples=8, seed=0)
    >>> collections.Counter(o.answer for o in outs).most_common(1)   # majority vote
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from coconut_lm.data.collate import collate_prompts
from coconut_lm.data.curriculum import build_prompt
from coconut_lm.data.tokenization import find_special_text, tokenize_examples
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import (
    EvalResult,
    evaluate_checkpoint,
    extract_answer,
    load_for_inference,
    set_num_thoughts,
)
from coconut_lm.eval.settings import GenerateSettings, check_flags, check_stage
from coconut_lm.run import checkpoint as ckpt
from coconut_lm.run.build import context_size


@dataclass
class Generation:
    """One question's answer."""

    question: str
    text: str
    """What the model wrote after the prompt (its chain, if any, then `### answer`)."""
    answer: str
    """The answer as the evaluation extracts it (after the last `#`)."""
    num_thoughts: int
    thoughts: list[list[str]] = field(default_factory=list)
    """With `show_thoughts=k`: per thought, its k most likely tokens read through the LM head."""
    sample: int = 0
    """Which of the question's `num_samples` answers this is (0 when greedy)."""


class InferenceModel:
    """A trained checkpoint with its tokenizer and run configuration (`load`)."""

    def __init__(self, path: str, device: str | None = None):
        self.folder = ckpt.resolve_checkpoint(path)
        self.config, bundle, self.stage = load_for_inference(str(self.folder), device)
        self.model, self.tokenizer, self.ids = bundle.model.eval(), bundle.tokenizer, bundle.ids
        self.checkpoint = ckpt.describe_checkpoint(self.folder)
        """Which checkpoint this is: path, step, epoch, stage."""

    @property
    def method(self):
        return self.config.method

    def prompt(self, question: str, num_thoughts: int | None = None, stage: int | None = None) -> list[int]:
        """The token ids the model is prompted with: the question and, for the methods that
        think, the thoughts of `stage` (default: the one it was trained at) or `num_thoughts`."""
        special = find_special_text(question, self.tokenizer)
        if special is not None:
            raise InputError(f"question: holds {special!r}, a special token; coconut-lm places the thoughts itself")
        if stage is not None:
            check_stage(stage, self.method, self.config.curriculum)
        record = {"question": question, "steps": [], "answer": ""}
        example = tokenize_examples([record], self.tokenizer, check_concat=False)[0]
        # the question's number of steps is unknown: the stage's full thought count
        options = dataclasses.replace(self.config.curriculum, pad_latent_to_max=True)
        prompt = build_prompt(example, self.stage if stage is None else stage, self.method, options, self.ids)
        if num_thoughts is not None:
            prompt = set_num_thoughts(prompt, len(example.question), num_thoughts, self.method, self.ids)
        return prompt

    @torch.no_grad()
    def generate(
        self,
        questions: str | list[str],
        num_thoughts: int | None = None,
        stage: int | None = None,
        max_new_tokens: int | None = None,
        show_thoughts: int = 0,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        num_samples: int = 1,
        seed: int | None = None,
    ) -> list[Generation]:
        """Answers to one question or a list of them, batched (see `prompt` for the thoughts).

        Greedy at `temperature` 0 (the default); otherwise each question is asked `num_samples`
        times and each answer sampled within the `top_p` nucleus (`seed`: reproducible draws).
        Returns the answers question by question, a question's samples together
        (`len(questions) * num_samples` of them, `Generation.sample` numbering them).
        """
        questions = [questions] if isinstance(questions, str) else list(questions)
        given = dict(num_thoughts=num_thoughts, stage=stage, max_new_tokens=max_new_tokens, seed=seed)
        check_flags(  # the ranges `coconut-lm generate` checks, each once (errors name the flag)
            GenerateSettings,
            {k: v for k, v in given.items() if v is not None}
            | dict(show_thoughts=show_thoughts, temperature=temperature, top_p=top_p, num_samples=num_samples),
        )
        if not questions:
            return []
        max_new_tokens = self.config.evaluation.max_new_tokens if max_new_tokens is None else max_new_tokens
        prompts = [self.prompt(q, num_thoughts, stage) for q in questions]
        prompts = [p for p in prompts for _ in range(num_samples)]  # a question's samples side by side
        context = context_size(self.model, self.config.model)
        longest = max(len(p) for p in prompts)
        if context is not None and longest + max_new_tokens > context:
            raise InputError(
                f"a prompt has {longest} tokens; with {max_new_tokens} new tokens that exceeds the model's context of "
                f"{context} (shorter questions or fewer new tokens)"
            )
        batch = collate_prompts(prompts, self.ids.pad)
        device = next(self.model.parameters()).device
        generator = None if seed is None else torch.Generator(device=device).manual_seed(seed)
        out = self.model.generate(
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            max_new_tokens,
            return_dict=True,
            temperature=temperature,
            top_p=top_p,
            generator=generator,
        )
        new = out.sequences[:, batch["input_ids"].shape[1] :]  # (B * num_samples, n)
        top = self._thought_tokens(out, show_thoughts) if show_thoughts else [[] for _ in prompts]
        results = []
        for row in range(len(prompts)):
            question, sample = questions[row // num_samples], row % num_samples
            text = self.tokenizer.decode(new[row], skip_special_tokens=True).strip()
            thoughts = int(out.num_thoughts[row])
            results.append(Generation(question, text, extract_answer(text), thoughts, top[row], sample))
        return results

    def _thought_tokens(self, out, k: int) -> list[list[list[str]]]:
        """Per row, per thought, its k most likely tokens (the LM head over the thought)."""
        head = self.model.base_model.get_output_embeddings()
        logits = head(out.thoughts).float()  # (B, K, V)
        ranked = logits.topk(min(k, logits.shape[-1]), dim=-1).indices  # (B, K, k)
        rows = []
        for b in range(ranked.shape[0]):
            kept = [ranked[b, j].tolist() for j in range(ranked.shape[1]) if bool(out.thought_mask[b, j])]
            rows.append([self.tokenizer.convert_ids_to_tokens(ids) for ids in kept])
        return rows

    def evaluate(self, data: str, **options) -> EvalResult:
        """Accuracy and the rest on a data file, as `coconut-lm eval` (options: its flags)."""
        return evaluate_checkpoint(str(self.folder), data, **options)


def load(path: str, device: str | None = None) -> InferenceModel:
    """A checkpoint folder, or a run folder's latest checkpoint, ready to answer (see the module docstring)."""
    return InferenceModel(path, device)


__all__ = ["Generation", "InferenceModel", "load"]
