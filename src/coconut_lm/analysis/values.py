"""Implicit values of the frontier nodes after thought 1 and 2: the latent search tree (docs/method.md §7).

Construction (the paper leaves the exact text position open; this is ours). With the prompt
question + `<bot>` + k thoughts + `<eot>`, a model trained with the curriculum writes the
remaining steps `steps[k:]`, whose first sentence is "Every {u} is a {v}." where u is the node
at depth k of its path. So the position where the model names its depth-k node is right after
the step's first word: the text prefix is "Every" (as in training, the step's tokens follow
`<eot>` directly), and

    value_k(node) = P(" {node}" | prompt, "Every") = prod_j p(token_j of " {node}" | ...)

the product of the probabilities of the name's sub-tokens, teacher-forced. The candidates (the
*frontier*) after thought k are the nodes reached from the root by exactly k edges: the root's
children for k = 1, their children for k = 2. The same prefix serves both k, so no choice of
an earlier node is needed. The name's tokens are those of `prefix + " " + name` after the
prefix's own tokens (checked to be a clean split).

Computation is batched: the prompts of a batch of questions run once (multi-pass prefill into a
`DynamicCache`), the cache is then repeated for each (question, candidate) row, and all
candidates' tokens go through one more forward pass.

Heights (for the value-versus-height plot): a node's distance to a leaf, the shortest by
default (the paper's text) or the longest (its figure caption). A node is *correct* when the
target is reachable from it (itself included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F

from coconut_lm.analysis import plots
from coconut_lm.analysis.categories import ProsQAGraph
from coconut_lm.analysis.checkpoint_io import AnalysisModel, batch_ranges, question_ids
from coconut_lm.data.collate import collate_prompts
from coconut_lm.data.datasets.prosqa_stats import reachable
from coconut_lm.errors import InputError
from coconut_lm.io import write_json
from coconut_lm.model.coconut import positions_from_mask

VALUE_PREFIX = "Every"
"""Text written after `<eot>` before the concept whose value is read (see the module doc)."""
HEIGHT_MODES = ("shortest", "longest")
VALUES_JSON = "values.json"
TREE_PNG = "search_tree.png"
PARALLELISM_PNG = "parallelism.png"
HEIGHT_PNG = "value_vs_height.png"


def frontier(graph: ProsQAGraph, k: int) -> list[int]:
    """Nodes reached from the root by exactly k edges (sorted)."""
    layer = {graph.root}
    for _ in range(k):
        layer = {child for node in layer for child in graph.children[node]}
    return sorted(layer)


def node_heights(graph: ProsQAGraph, mode: str = "shortest") -> list[int]:
    """Each node's shortest (or longest) distance in edges to a leaf (a node with no child)."""
    if mode not in HEIGHT_MODES:
        raise InputError(f"height mode must be one of {HEIGHT_MODES}, got {mode!r}")
    pick = min if mode == "shortest" else max

    @cache
    def height(node: int) -> int:
        kids = graph.children[node]
        return 0 if not kids else 1 + pick(height(c) for c in kids)

    return [height(n) for n in range(len(graph.names))]


def continuation_ids(tokenizer, prefix: str, name: str) -> list[int]:
    """Tokens of " {name}" following `prefix`, as the tokenizer splits `prefix + " " + name`."""
    head = tokenizer.encode(prefix, add_special_tokens=False)
    whole = tokenizer.encode(f"{prefix} {name}", add_special_tokens=False)
    if whole[: len(head)] != head or len(whole) == len(head):
        raise InputError(f"the tokenizer merges {prefix!r} with {name!r}: no clean split for a value")
    return whole[len(head) :]


@torch.no_grad()
def continuation_values(
    model: torch.nn.Module,
    prompts: list[list[int]],
    row_prompt: list[int],
    row_tokens: list[list[int]],
    pad_id: int,
) -> torch.Tensor:
    """(R,) probability of each row's tokens after its prompt: prod_j p(t_j | prompt, t_<j).

    `prompts`: B distinct prompts (thoughts included); row r continues `prompts[row_prompt[r]]`
    with `row_tokens[r]`. The prompts run once; the KV cache is repeated per row.
    """
    from transformers import DynamicCache

    device = next(model.parameters()).device
    batch = collate_prompts(prompts, pad_id)
    input_ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)  # (B, T)
    positions = positions_from_mask(mask)  # (B, T)
    cache = DynamicCache(config=model.config)
    run = model.prefill(input_ids, mask, positions, cache, last_logits_only=True)
    index = torch.tensor(row_prompt, dtype=torch.long, device=device)  # (R,)
    lengths = torch.tensor([len(t) for t in row_tokens], device=device)  # (R,)
    width = int(lengths.max())
    tokens = torch.full((len(row_tokens), width), pad_id, dtype=torch.long, device=device)  # (R, M)
    for r, toks in enumerate(row_tokens):
        tokens[r, : len(toks)] = torch.tensor(toks, dtype=torch.long)
    first = F.log_softmax(run.logits[index, -1].float(), dim=-1)  # (R, V)
    logp = [first.gather(1, tokens[:, :1])]  # (R, 1)
    if width > 1:
        cache.reorder_cache(index)  # (B, ...) -> (R, ...): each row gets its prompt's cache
        row_mask = torch.cat([mask[index], mask.new_ones(len(row_tokens), width - 1)], dim=1)  # (R, T + M - 1)
        row_pos = positions[index, -1:] + 1 + torch.arange(width - 1, device=device)  # (R, M - 1)
        out = model.base_forward(cache, input_ids=tokens[:, :-1], attention_mask=row_mask, position_ids=row_pos)
        rest = F.log_softmax(out.logits.float(), dim=-1)  # (R, M - 1, V)
        logp.append(rest.gather(2, tokens[:, 1:, None]).squeeze(-1))  # (R, M - 1)
    logp = torch.cat(logp, dim=1)  # (R, M)
    valid = torch.arange(width, device=device)[None] < lengths[:, None]  # (R, M)
    return (logp * valid).sum(1).exp().cpu()  # (R,)


@dataclass
class ValuesReport:
    """Frontier values of every question after each thought count."""

    ks: list[int]
    prefix: str
    height_mode: str
    questions: list[dict] = field(default_factory=list)
    """Per question: idx, root, target, and `frontier`: k -> [{node, name, value, correct, height}]."""

    def frontier_rows(self, k: int) -> list[list[dict]]:
        return [q["frontier"][k] for q in self.questions]


def _question_rows(graph: ProsQAGraph, k: int, heights: list[int], correct: set[int]) -> list[dict]:
    return [
        {"node": n, "name": graph.names[n], "correct": n in correct, "height": heights[n]} for n in frontier(graph, k)
    ]


def analyze_values(
    am: AnalysisModel,
    records: list[dict],
    ks: tuple[int, ...] = (1, 2),
    prefix: str = VALUE_PREFIX,
    height_mode: str = "shortest",
    batch_size: int = 16,
) -> ValuesReport:
    """Values of the frontier after each k in `ks` for every record (see the module docstring).

    `prefix` may name the question's entity as "{root}" (e.g. "{root} is a" for the first
    sentence of a chain that starts at the root).
    """
    graphs = [ProsQAGraph.from_record(r) for r in records]
    prefixes = [prefix.replace("{root}", g.names[g.root]) for g in graphs]
    questions = question_ids(records, am.tokenizer)
    report = ValuesReport(list(ks), prefix, height_mode)
    for i, graph in enumerate(graphs):
        heights = node_heights(graph, height_mode)
        correct = {n for n in range(len(graph.names)) if graph.target in reachable(graph.children, n)}
        rows = {k: _question_rows(graph, k, heights, correct) for k in ks}
        report.questions.append({"idx": i, "root": graph.root, "target": graph.target, "frontier": rows})
    for k in ks:
        for group in batch_ranges(len(records), batch_size):
            cells = [(j, i, row) for j, i in enumerate(group) for row in report.questions[i]["frontier"][k]]
            if not cells:
                continue
            prompts = [
                am.forced_prompt(questions[i], k) + am.tokenizer.encode(prefixes[i], add_special_tokens=False)
                for i in group
            ]
            tokens = [continuation_ids(am.tokenizer, prefixes[i], row["name"]) for _, i, row in cells]
            values = continuation_values(am.model, prompts, [j for j, _, _ in cells], tokens, am.ids.pad)
            for (_, _, row), value in zip(cells, values.tolist()):
                row["value"] = value
    return report


def cumulative_top(values: list[float], n: int = 3) -> list[float]:
    """Cumulative sum of the n largest values (padded with the total when fewer)."""
    top = sorted(values, reverse=True)
    out, total = [], 0.0
    for j in range(n):
        total += top[j] if j < len(top) else 0.0
        out.append(total)
    return out


def parallelism(report: ValuesReport, n: int = 3) -> dict[int, list[list[float]]]:
    """k -> per question, the cumulative value of its top-1..top-n frontier nodes."""
    return {k: [cumulative_top([r["value"] for r in rows], n) for rows in report.frontier_rows(k)] for k in report.ks}


def format_values_summary(report: ValuesReport) -> str:
    """Per k: mean frontier size, mean top-1 / top-3 cumulative value, mean correct / incorrect value."""
    lines = [f"implicit values after '{report.prefix}' ({len(report.questions)} questions)"]
    tops = parallelism(report)
    for k in report.ks:
        flat = [r for rows in report.frontier_rows(k) for r in rows]
        good = [r["value"] for r in flat if r["correct"]]
        bad = [r["value"] for r in flat if not r["correct"]]

        def mean(xs: list[float]) -> float:
            return sum(xs) / len(xs) if xs else float("nan")

        lines.append(
            f"thought {k}: {len(flat) / max(len(report.questions), 1):.2f} frontier nodes, "
            f"top-1 {mean([t[0] for t in tops[k]]):.3f}, top-3 {mean([t[2] for t in tops[k]]):.3f}, "
            f"correct nodes {mean(good):.3f} (n={len(good)}), incorrect {mean(bad):.3f} (n={len(bad)})"
        )
    return "\n".join(lines)


def write_values_report(report: ValuesReport, records: list[dict], out_dir: str | Path, tree_question: int = 0):
    """`values.json` and the three plots: search tree of one question, parallelism, value vs height."""

    out = Path(out_dir)
    data = asdict(report)
    data["parallelism"] = {str(k): v for k, v in parallelism(report).items()}
    paths = [write_json(out / VALUES_JSON, data)]
    if not 0 <= tree_question < len(records):
        raise InputError(f"tree question {tree_question} is not among the {len(records)} questions")
    graph = ProsQAGraph.from_record(records[tree_question])
    node_values = {
        k: {r["node"]: r["value"] for r in report.questions[tree_question]["frontier"][k]} for k in report.ks
    }
    title = f"question {tree_question}: "
    paths.append(plots.plot_search_tree(graph, node_values, out / TREE_PNG, title))
    paths.append(plots.plot_parallelism(parallelism(report), out / PARALLELISM_PNG))
    points = {
        k: [(r["height"], r["value"], r["correct"]) for rows in report.frontier_rows(k) for r in rows]
        for k in report.ks
    }
    paths.append(plots.plot_value_vs_height(points, report.height_mode, out / HEIGHT_PNG))
    return paths
