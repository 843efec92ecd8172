"""Decoded continuous thoughts (docs/method.md §7): each thought through the LM head, its nearest token
embeddings, and its norm. Works on any data set.

A thought is the last-layer hidden state fed back as the next input embedding (final norm
included, as `transformers` returns it), so the LM head applied to it gives the distribution the
model would have decoded there in language mode (the paper's GSM8k example: "180", " 180", "9").
Its nearest token embeddings (cosine similarity with the input embedding matrix) say which
tokens it resembles as an *input*; its norm, compared with the token embeddings' norms, shows
the scale mismatch users report.

Every question is prompted with question + `<bot>` + k thoughts + `<eot>`, k = `num_thoughts`
(default: the model's final-stage count).

    >>> report = analyze_thoughts(load_analysis_model("runs/gsm8k/best"), load_records("test.json"))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from coconut_lm.analysis.checkpoint_io import AnalysisModel, batch_ranges, question_ids, token_text
from coconut_lm.analysis.plots import plot_thought_norms
from coconut_lm.data.collate import collate_prompts
from coconut_lm.errors import InputError
from coconut_lm.io import write_json
from coconut_lm.model.coconut import positions_from_mask

THOUGHTS_JSON = "thoughts.json"
NORMS_PNG = "thought_norms.png"


@dataclass
class ThoughtsReport:
    """Decoded thoughts of every question, and the token-embedding norms for scale."""

    num_thoughts: int
    top_k: int
    embedding_norms: dict[str, float]
    """mean / median / max L2 norm of the input token embeddings."""
    questions: list[dict] = field(default_factory=list)
    """Per question: idx, and `thoughts`: [{index, norm, top_tokens, nearest_embeddings}]."""

    def norms(self) -> list[list[float]]:
        """Per thought index, the norms over the questions."""
        return [[q["thoughts"][j]["norm"] for q in self.questions] for j in range(self.num_thoughts)]


@torch.no_grad()
def thought_vectors(am: AnalysisModel, prompts: list[list[int]]) -> torch.Tensor:
    """(B, K, H) thoughts of B prompts that all hold K thought slots (left-padded, end-aligned)."""
    batch = collate_prompts(prompts, am.ids.pad)
    input_ids, mask = batch["input_ids"].to(am.device), batch["attention_mask"].to(am.device)  # (B, T)
    cache = am.model.new_cache(input_ids.shape[1])
    run = am.model.prefill(input_ids, mask, positions_from_mask(mask), cache, last_logits_only=True)
    return run.thoughts  # (B, K, H): every row's thoughts sit in the same K columns


@torch.no_grad()
def decode_thoughts(model: torch.nn.Module, thoughts: torch.Tensor, top_k: int) -> dict[str, torch.Tensor]:
    """For (N, H) thoughts: LM-head top-k (`probs`, `token_ids`), nearest input embeddings by
    cosine (`cosines`, `nearest_ids`), each (N, top_k), and `norms` (N,)."""
    head = model.base_model.get_output_embeddings()
    embeddings = model.base_model.get_input_embeddings().weight  # (V, H)
    probs = F.softmax(head(thoughts.to(embeddings.dtype)).float(), dim=-1)  # (N, V)
    top_probs, top_ids = probs.topk(top_k, dim=-1)  # (N, k)
    cos = F.normalize(thoughts.float(), dim=-1) @ F.normalize(embeddings.float(), dim=-1).T  # (N, V)
    top_cos, near_ids = cos.topk(top_k, dim=-1)  # (N, k)
    return {
        "probs": top_probs,
        "token_ids": top_ids,
        "cosines": top_cos,
        "nearest_ids": near_ids,
        "norms": thoughts.float().norm(dim=-1),  # (N,)
    }


def _embedding_norms(model: torch.nn.Module) -> dict[str, float]:
    norms = model.base_model.get_input_embeddings().weight.detach().float().norm(dim=-1)  # (V,)
    return {"mean": float(norms.mean()), "median": float(norms.median()), "max": float(norms.max())}


def _scored_tokens(tokenizer, ids: list[int], scores: list[float], key: str) -> list[dict]:
    return [{"id": int(t), "token": token_text(tokenizer, int(t)), key: float(s)} for t, s in zip(ids, scores)]


def _rows(tokenizer, decoded: dict[str, torch.Tensor], start: int, k: int) -> list[dict]:
    """The per-thought rows of one question (thoughts start..start+k-1 of the flat batch)."""
    return [
        {
            "index": j + 1,
            "norm": float(decoded["norms"][start + j]),
            "top_tokens": _scored_tokens(
                tokenizer, decoded["token_ids"][start + j].tolist(), decoded["probs"][start + j].tolist(), "prob"
            ),
            "nearest_embeddings": _scored_tokens(
                tokenizer, decoded["nearest_ids"][start + j].tolist(), decoded["cosines"][start + j].tolist(), "cosine"
            ),
        }
        for j in range(k)
    ]


def analyze_thoughts(
    am: AnalysisModel, records: list[dict], num_thoughts: int | None = None, top_k: int = 5, batch_size: int = 16
) -> ThoughtsReport:
    """Decode every continuous thought of every question (see the module docstring)."""
    if not am.has_thoughts:
        raise InputError(f"method {am.method.value!r} has no continuous thoughts to decode")
    k = am.max_thoughts if num_thoughts is None else num_thoughts
    if k < 1:
        raise InputError(f"num_thoughts must be >= 1, got {k}")
    questions = question_ids(records, am.tokenizer)
    report = ThoughtsReport(k, top_k, _embedding_norms(am.model))
    for group in batch_ranges(len(records), batch_size):
        thoughts = thought_vectors(am, [am.forced_prompt(questions[i], k) for i in group])  # (B, K, H)
        decoded = decode_thoughts(am.model, thoughts.reshape(-1, thoughts.shape[-1]), top_k)
        for j, i in enumerate(group):
            report.questions.append({"idx": i, "thoughts": _rows(am.tokenizer, decoded, j * k, k)})
    return report


def format_thoughts_summary(report: ThoughtsReport, show: int = 1) -> str:
    """Norms per thought index against the embeddings', and the first `show` questions decoded."""
    emb = report.embedding_norms
    lines = [f"token embedding norm: mean {emb['mean']:.2f}, max {emb['max']:.2f}"]
    for j, norms in enumerate(report.norms()):
        mean = sum(norms) / max(len(norms), 1)
        lines.append(
            f"thought {j + 1}: norm mean {mean:.2f} (x{mean / max(emb['mean'], 1e-12):.1f}), max {max(norms):.2f}"
        )
    for q in report.questions[:show]:
        lines.append(f"question {q['idx']}:")
        for t in q["thoughts"]:
            top = ", ".join(f"{x['token']!r} {x['prob']:.3g}" for x in t["top_tokens"])
            near = ", ".join(f"{x['token']!r} {x['cosine']:.2f}" for x in t["nearest_embeddings"][:3])
            lines.append(f"  thought {t['index']}: LM head [{top}]; nearest embeddings [{near}]")
    return "\n".join(lines)


def write_thoughts_report(report: ThoughtsReport, out_dir: str | Path) -> list[Path]:
    """`thoughts.json` and `thought_norms.png` (norm per thought index vs. the embeddings')."""

    out = Path(out_dir)
    json_path = write_json(out / THOUGHTS_JSON, asdict(report))
    png = plot_thought_norms(report.norms(), report.embedding_norms["mean"], out / NORMS_PNG)
    return [json_path, png]
