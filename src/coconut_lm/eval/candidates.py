"""Candidate-restricted accuracy for binary-choice questions (ProsQA and its symbolic form).

The headline accuracy is the paper's: the generated answer must equal the reference, so an answer
naming neither candidate counts as wrong. Beside it, this keeps the model's own generation up to
its answer (its chain of thought, or its thoughts and nothing else) and then lets it choose only
between the two candidates: the one whose whole answer segment (`### ` + answer, then EOS) the
model gives the higher log-probability after that prefix. The gap between the two accuracies is
the share of questions whose answer named neither candidate, or was malformed, but whose better
candidate the model still ranked first.

A record is binary-choice when it carries ProsQA graph fields: its wrong answer is its answer
with the target's name replaced by the negative candidate's (`idx_to_symbol[neg_target]`).

    >>> candidate_answers({"answer": "Tom is a wumpus.", "idx_to_symbol": ["Tom", "wumpus", "yumpus"],
    ...                    "target": 1, "neg_target": 2})
    ['Tom is a wumpus.', 'Tom is a yumpus.']
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from coconut_lm.constants import ANSWER_PREFIX, IGNORE_INDEX
from coconut_lm.data.collate import collate
from coconut_lm.data.tokenization import encode_after_line_break


def candidate_answers(example: dict) -> list[str] | None:
    """[right answer, wrong answer] of a binary-choice record, else None."""
    try:
        names, target, negative = example["idx_to_symbol"], int(example["target"]), int(example["neg_target"])
        right, wrong = names[target], names[negative]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    answer = example.get("answer")
    if not isinstance(answer, str) or not right or right not in answer or right == wrong:
        return None
    head, _, tail = answer.rpartition(right)
    return [answer, head + wrong + tail]


def _answer_start(new_ids: list[int], marker: int | None, eos_id: int) -> int:
    """Where the generated answer segment begins: the first `marker` token, else the end (before EOS)."""
    if marker is not None and marker in new_ids:
        return new_ids.index(marker)
    return new_ids.index(eos_id) if eos_id in new_ids else len(new_ids)


@torch.no_grad()
def candidate_choices(model, tokenizer, ids, prompts, generations, examples) -> list[bool | None]:
    """Per question, whether the right candidate scores higher after the model's own prefix
    (None for a question that is not binary-choice). `prompts[i]` and `generations[i]` are token
    ids (the prompt, with its thought slots, and the new tokens)."""
    rows, owners = [], []
    for i, (prompt, new_ids, example) in enumerate(zip(prompts, generations, examples)):
        answers = candidate_answers(example)
        if answers is None:
            continue
        # as training encodes the answer segment (a SentencePiece tokenizer's `▁` prefix included)
        segments = [seg + [ids.eos] for seg in encode_after_line_break(tokenizer, [ANSWER_PREFIX + a for a in answers])]
        marker = segments[0][0] if segments[0][0] == segments[1][0] else None  # the answer marker's first token
        prefix = list(prompt) + list(new_ids[: _answer_start(list(new_ids), marker, ids.eos)])
        for segment in segments:
            rows.append({"input_ids": prefix + segment, "labels": [IGNORE_INDEX] * len(prefix) + segment})
        owners.append(i)
    choices: list[bool | None] = [None] * len(examples)
    if not rows:
        return choices
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate(rows, ids.pad, ids.latent).items()}
    logits = model(batch["input_ids"], batch["attention_mask"], position_ids=batch["position_ids"]).logits
    labels = batch["labels"][:, 1:]  # (2N, T-1)
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)  # (2N, T-1, V)
    picked = logp.gather(-1, labels.clamp(min=0)[..., None])[..., 0]  # (2N, T-1)
    scores = (picked * (labels != IGNORE_INDEX)).sum(-1).view(-1, 2)  # (N, 2): right, wrong
    for i, (right, wrong) in zip(owners, scores.tolist()):
        choices[i] = right > wrong
    return choices
