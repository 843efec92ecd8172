"""Forced switching to language after k thoughts, and the outcome categories (docs/method.md §7).

For each k (default 0..the model's final thought count) every question is prompted with
question + `<bot>` + k thoughts + `<eot>` and decoded greedily with the same model; each output
is classified into the six categories of `coconut_lm.analysis.categories`. CoT / No-CoT models
(no thought markers) are run once, k = 0, on the question alone.

    >>> report = analyze_paths(load_analysis_model("runs/prosqa/best"), load_records("test.json"))
    >>> print(format_paths_table(report))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from coconut_lm.analysis.categories import Category, ProsQAGraph, classify_output
from coconut_lm.analysis.checkpoint_io import AnalysisModel, batch_ranges, question_ids
from coconut_lm.analysis.plots import plot_path_categories
from coconut_lm.data.collate import collate_prompts
from coconut_lm.errors import InputError
from coconut_lm.eval.evaluate import count_new_tokens
from coconut_lm.io import write_json

PATHS_JSON = "paths.json"
PATHS_PNG = "path_categories.png"


@dataclass
class PathsReport:
    """Category counts and accuracy per number of thoughts k, and every classified output."""

    ks: list[int]
    """The thought counts tried, in order."""
    num_questions: int
    counts: dict[int, dict[str, int]]
    """k -> category value -> number of questions (the six counts add up to num_questions)."""
    accuracy: dict[int, float]
    """k -> fraction of correct answers (official extraction)."""
    outputs: list[dict] = field(default_factory=list)
    """One row per (k, question): idx, k, text, category, reason, path (names), answer_correct."""

    def fractions(self, k: int) -> dict[str, float]:
        n = max(self.num_questions, 1)
        return {c: v / n for c, v in self.counts[k].items()}


@torch.no_grad()
def generate_texts(am: AnalysisModel, prompts: list[list[int]], max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy continuation of every prompt (batched, left-padded), up to its first EOS, decoded."""

    texts: list[str] = []
    for rows in batch_ranges(len(prompts), batch_size):
        batch = collate_prompts([prompts[i] for i in rows], am.ids.pad)
        input_ids = batch["input_ids"].to(am.device)  # (B, T)
        out = am.model.generate(input_ids, batch["attention_mask"].to(am.device), max_new_tokens=max_new_tokens)
        new = out[:, input_ids.shape[1] :]  # (B, n)
        n_new = count_new_tokens(new, am.ids.eos)
        texts += [am.tokenizer.decode(new[b, : n_new[b]], skip_special_tokens=True) for b in range(len(rows))]
    return texts


def default_ks(am: AnalysisModel) -> list[int]:
    """0..max_thoughts for models with thought slots; [0] for question-only prompts."""
    return list(range(am.max_thoughts + 1)) if am.slot_id is not None else [0]


def analyze_paths(
    am: AnalysisModel,
    records: list[dict],
    ks: list[int] | None = None,
    max_new_tokens: int = 128,
    batch_size: int = 32,
) -> PathsReport:
    """Forced switching after k thoughts for each k in `ks`, each output classified."""
    graphs = [ProsQAGraph.from_record(r) for r in records]  # fails early without graph fields
    ks = default_ks(am) if ks is None else list(ks)
    if am.slot_id is None and any(k > 0 for k in ks):
        raise InputError(f"prompts without thought markers hold no thoughts: k must be 0, got {ks}")
    questions = question_ids(records, am.tokenizer)
    counts: dict[int, dict[str, int]] = {}
    accuracy: dict[int, float] = {}
    outputs: list[dict] = []
    for k in ks:
        texts = generate_texts(am, [am.forced_prompt(q, k) for q in questions], max_new_tokens, batch_size)
        counts[k] = {c.value: 0 for c in Category}
        correct = 0
        for i, (graph, text) in enumerate(zip(graphs, texts)):
            verdict = classify_output(graph, text, answer=records[i]["answer"], num_thoughts=k)
            counts[k][verdict.category.value] += 1
            correct += verdict.answer_correct
            outputs.append(
                {
                    "idx": i,
                    "k": k,
                    "text": text,
                    "category": verdict.category.value,
                    "reason": verdict.reason,
                    "path": [graph.names[n] for n in verdict.nodes],
                    "prefix_length": verdict.prefix_length,
                    "answer_correct": verdict.answer_correct,
                }
            )
        accuracy[k] = correct / max(len(records), 1)
    return PathsReport(ks, len(records), counts, accuracy, outputs)


def format_paths_table(report: PathsReport) -> str:
    """One row per k: the six category counts and the accuracy."""
    labels = [c.label for c in Category]
    header = ["k", *labels, "accuracy"]
    rows = [
        [str(k), *(str(report.counts[k][c.value]) for c in Category), f"{report.accuracy[k]:.3f}"] for k in report.ks
    ]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
    return "\n".join(lines) + f"\n({report.num_questions} questions)"


def write_paths_report(report: PathsReport, out_dir: str | Path) -> list[Path]:
    """`paths.json` (counts, accuracy, every output) and the stacked-bar `path_categories.png`."""

    out = Path(out_dir)
    data = asdict(report)
    data["counts"] = {str(k): v for k, v in report.counts.items()}
    data["accuracy"] = {str(k): v for k, v in report.accuracy.items()}
    json_path = write_json(out / PATHS_JSON, data)
    fractions = {k: report.fractions(k) for k in report.ks}
    png = plot_path_categories(fractions, [c.value for c in Category], [c.label for c in Category], out / PATHS_PNG)
    return [json_path, png]
