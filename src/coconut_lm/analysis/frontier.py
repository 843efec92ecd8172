"""Latent breadth-first search over a whole test set (symbolic graph data, one token per node).

The paper shows on examples that continuous thought k behaves like the frontier of a
breadth-first search: read through the LM head, it spreads its probability over the nodes k steps
from the root, and keeps several branches alive. This measures that over every question. For each
thought k (the vector fed in at thought slot k, i.e. the last hidden state of the position before
it) and the frontier F_k = the nodes at distance k from the root:

- `frontier_mass`: the LM-head probability on F_k; `other_node_mass`: on the graph's other nodes;
- `top1` / `top3`: the share of questions whose correct branch (a node at distance k on a shortest
  path to the target) is the most / among the 3 most probable frontier nodes; `top1_chance`: the
  same for a uniform pick among the frontier (|correct branches in F_k| / |F_k|, averaged);
- `entropy`: of the probability renormalised over F_k (nats), and divided by log |F_k|;
- attention, per layer (heads averaged), from the position that produces thought k (the one right
  before thought slot k) to the edge tokens `s t |` of the question: the mean mass per edge into
  the frontier (distance k-1 to k) against the mean mass per other edge. Both columns are read
  off the prompt's tokens (`thought_columns`, `question_span`), so they hold with or without
  `<bot>`/`<eot>`, a BOS token or a newline token after the question, and any left padding.

Questions whose frontier at k is empty are left out at that k; `top1`/`top3` count only the k up
to the answer's depth. Needs one token per node: data made by `coconut-lm data symbolic`.

    >>> report = analyze_frontier(load_analysis_model("runs/sym/coconut_s0"), load_records("test.json"))
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from coconut_lm.analysis.checkpoint_io import AnalysisModel, batch_ranges, question_ids
from coconut_lm.analysis.plots import plot_frontier
from coconut_lm.data.collate import collate_prompts
from coconut_lm.data.datasets.symbolic import EDGE_END
from coconut_lm.errors import InputError
from coconut_lm.io import write_json
from coconut_lm.model.coconut import positions_from_mask

FRONTIER_JSON = "frontier.json"
FRONTIER_PNG = "frontier_mass.png"
ATTENTION_PNG = "frontier_attention.png"


def distances(edges: list[list[int]], source: int, reverse: bool = False) -> dict[int, int]:
    """BFS distance of every node reachable from `source` (along the edges, or against them)."""
    nxt: dict[int, list[int]] = {}
    for a, b in edges:
        nxt.setdefault(b if reverse else a, []).append(a if reverse else b)
    dist = {source: 0}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for m in nxt.get(node, []):
            if m not in dist:
                dist[m] = dist[node] + 1
                queue.append(m)
    return dist


def correct_branches(edges: list[list[int]], root: int, target: int) -> dict[int, set[int]]:
    """Depth k -> the nodes at distance k from the root that lie on a shortest path to the target."""
    down, up = distances(edges, root), distances(edges, target, reverse=True)
    length = down.get(target)
    out: dict[int, set[int]] = {}
    if length is None:
        return out
    for node, d in down.items():
        if node in up and d + up[node] == length:
            out.setdefault(d, set()).add(node)
    return out


def thought_metrics(node_probs: dict[int, float], depth: dict[int, int], correct: set[int], k: int) -> dict | None:
    """Frontier numbers of one thought: `node_probs` is the LM-head probability of every graph
    node; None when no node is at distance k."""
    frontier = [n for n, d in depth.items() if d == k]
    if not frontier:
        return None
    ranked = sorted(frontier, key=lambda n: -node_probs[n])
    mass = sum(node_probs[n] for n in frontier)
    q = [node_probs[n] / mass for n in frontier] if mass > 0 else [1 / len(frontier)] * len(frontier)
    entropy = -sum(p * math.log(p) for p in q if p > 0)
    out = {
        "frontier_size": len(frontier),
        "frontier_mass": mass,
        "other_node_mass": sum(p for n, p in node_probs.items() if depth.get(n) != k),
        "entropy": entropy,
        "normalised_entropy": entropy / math.log(len(frontier)) if len(frontier) > 1 else 0.0,
    }
    if correct:
        out["top1"] = ranked[0] in correct
        out["top3"] = bool(set(ranked[:3]) & correct)
        out["top1_chance"] = len(set(frontier) & correct) / len(frontier)
    return out


def edge_attention(weights: torch.Tensor, edge_columns: list[list[int]], into_frontier: list[bool]) -> tuple:
    """(mean mass per frontier edge, mean mass per other edge) of one attention row (T,)."""
    mass = [float(weights[cols].sum()) for cols in edge_columns]
    front = [m for m, f in zip(mass, into_frontier) if f]
    other = [m for m, f in zip(mass, into_frontier) if not f]
    return (statistics.mean(front) if front else None, statistics.mean(other) if other else None)


@dataclass
class FrontierReport:
    num_thoughts: int
    num_layers: int
    per_thought: list[dict] = field(default_factory=list)
    """Per k: means over the questions of `thought_metrics`, and `questions` counted."""
    attention: list[list[dict]] = field(default_factory=list)
    """Per k, per layer: {frontier_edge, other_edge, ratio} (means over the questions)."""


def _node_tokens(record: dict, tokenizer) -> list[int]:
    ids = []
    for name in record["idx_to_symbol"]:
        token = tokenizer.encode(name, add_special_tokens=False)
        if len(token) != 1:
            raise InputError(f"node {name!r} is {len(token)} tokens: the frontier analysis needs one token per node")
        ids.append(token[0])
    return ids


def thought_columns(input_ids: torch.Tensor, latent_id: int) -> torch.Tensor:
    """(B, K) columns of the positions that produce thoughts 1..K in (B, T) padded prompts: the
    column right before each `latent_id` slot, whose last hidden state is fed in at the slot.

    >>> thought_columns(torch.tensor([[0, 5, 6, 9, 9]]), latent_id=9)
    tensor([[2, 3]])
    """
    is_slot = input_ids == latent_id  # (B, T)
    counts = is_slot.sum(1)  # (B,)
    if bool((counts != counts[0]).any()):
        raise InputError(f"the prompts of one batch have different thought counts: {counts.tolist()}")
    columns = is_slot.nonzero()[:, 1].view(input_ids.shape[0], int(counts[0])) - 1  # (B, K), row-major order
    if bool((columns < 0).any()):
        raise InputError("a thought slot in column 0 has no position before it")
    return columns


def question_span(prompt: list[int], plain: list[int]) -> range | None:
    """Indices of the question's own tokens `plain` (encoded without special tokens) in `prompt`:
    the last occurrence, so specials or padding before it and a newline, `<bot>` or slots after
    it do not matter; None when `prompt` does not contain them.

    >>> question_span([0, 7, 8, 9, 3], [7, 8, 9])
    range(1, 4)
    """
    n = len(plain)
    starts = range(len(prompt) - n, -1, -1) if n else range(0)
    return next((range(s, s + n) for s in starts if prompt[s : s + n] == plain), None)


def _edge_columns(record: dict, start: int) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Columns of each `s t |` triple of the question (from column `start`) and its graph edge."""
    words = record["question"].split()
    index = {name: n for n, name in enumerate(record["idx_to_symbol"])}
    columns, edges = [], []
    for i in range(0, len(words) - 2, 3):
        if words[i + 2] != EDGE_END:
            break
        columns.append([start + i, start + i + 1, start + i + 2])
        edges.append((index[words[i]], index[words[i + 1]]))
    return columns, edges


def _question_edges(record: dict, i: int, prompt: list[int], width: int, tokenizer) -> tuple:
    """`_edge_columns` of record `i` in its prompt, left-padded to `width` columns."""
    plain = tokenizer.encode(record["question"], add_special_tokens=False)
    if len(plain) != len(record["question"].split()):
        raise InputError(f"record {i}: the question is not one token per word (symbolic data needed)")
    span = question_span(prompt, plain)
    if span is None:
        raise InputError(f"record {i}: the question's tokens are not found in its prompt")
    return _edge_columns(record, width - len(prompt) + span.start)


@torch.no_grad()
def _forward(am: AnalysisModel, prompts: list[list[int]]):
    """Thoughts (B, K, H), attentions per layer (B, heads, T, T) and the padded prompts (B, T)."""
    batch = collate_prompts(prompts, am.ids.pad)
    input_ids, mask = batch["input_ids"].to(am.device), batch["attention_mask"].to(am.device)  # (B, T)
    positions = positions_from_mask(mask)
    run = am.model.prefill(input_ids, mask, positions, am.model.new_cache(input_ids.shape[1]), last_logits_only=True)
    base = am.model.base_model
    previous = base.config._attn_implementation
    base.set_attn_implementation("eager")  # the only implementation that returns its weights
    try:  # one pass over the filled-in sequence sees what each thought pass saw (causal)
        out = base(inputs_embeds=run.inputs_embeds, attention_mask=mask, position_ids=positions, output_attentions=True)
    finally:
        base.set_attn_implementation(previous)
    return run.thoughts, out.attentions, input_ids.cpu()


@torch.no_grad()
def analyze_frontier(am: AnalysisModel, records: list[dict], batch_size: int = 32) -> FrontierReport:
    """See the module docstring."""
    if not am.has_thoughts:
        raise InputError(f"method {am.method.value!r} has no continuous thoughts")
    k_max = am.max_thoughts
    head = am.model.base_model.get_output_embeddings()
    questions = question_ids(records, am.tokenizer)
    rows: dict[int, list[dict]] = {k: [] for k in range(1, k_max + 1)}
    attention: dict[tuple[int, int], list[tuple]] = {}
    num_layers = 0
    for group in batch_ranges(len(records), batch_size):
        prompts = [am.forced_prompt(questions[i], k_max) for i in group]
        thoughts, attentions, input_ids = _forward(am, prompts)
        num_layers = len(attentions)
        producers = thought_columns(input_ids, am.slot_id).tolist()  # (B, K)
        probs = F.softmax(head(thoughts).float(), dim=-1)  # (B, K, V)
        for b, i in enumerate(group):
            record = records[i]
            if any(key not in record for key in ("idx_to_symbol", "edges", "root", "target")):
                raise InputError(f"record {i}: no graph fields (symbolic data needed: coconut-lm data symbolic)")
            tokens = _node_tokens(record, am.tokenizer)
            depth = distances(record["edges"], record["root"])
            correct = correct_branches(record["edges"], record["root"], record["target"])
            columns, edges = _question_edges(record, i, prompts[b], input_ids.shape[1], am.tokenizer)
            per_node = probs[b][:, tokens].tolist()  # (K, nodes)
            for k in range(1, k_max + 1):
                node_probs = dict(enumerate(per_node[k - 1]))
                metrics = thought_metrics(node_probs, depth, correct.get(k, set()), k)
                if metrics is None:
                    continue
                rows[k].append(metrics)
                into = [depth.get(s) == k - 1 and depth.get(t) == k for s, t in edges]
                for layer, weights in enumerate(attentions):
                    row = weights[b, :, producers[b][k - 1]].float().mean(0)  # (T,): heads averaged
                    attention.setdefault((k, layer), []).append(edge_attention(row, columns, into))
    report = FrontierReport(k_max, num_layers)
    for k in range(1, k_max + 1):
        report.per_thought.append(_summarise(k, rows[k]))
        report.attention.append([_attention_summary(attention.get((k, layer), [])) for layer in range(num_layers)])
    return report


def _mean(values: list) -> float | None:
    values = [float(v) for v in values if v is not None]
    return statistics.mean(values) if values else None


def _summarise(k: int, rows: list[dict]) -> dict:
    out = {"thought": k, "questions": len(rows)}
    for key in ("frontier_size", "frontier_mass", "other_node_mass", "entropy", "normalised_entropy"):
        out[key] = _mean([r[key] for r in rows])
    ranked = [r for r in rows if "top1" in r]
    out["questions_with_a_correct_branch"] = len(ranked)
    out["top1"] = _mean([r["top1"] for r in ranked])
    out["top3"] = _mean([r["top3"] for r in ranked])
    out["top1_chance"] = _mean([r["top1_chance"] for r in ranked])
    return out


def _attention_summary(pairs: list[tuple]) -> dict:
    front, other = _mean([p[0] for p in pairs]), _mean([p[1] for p in pairs])
    ratio = front / other if front is not None and other else None
    return {"frontier_edge": front, "other_edge": other, "ratio": ratio}


def format_frontier_summary(report: FrontierReport) -> str:
    lines = [
        "| thought | questions | frontier mass | other nodes | top-1 correct | top-3 correct | entropy (norm.) "
        "| attention ratio, last layer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, layers in zip(report.per_thought, report.attention):
        if not row["questions"]:
            continue
        ratio = layers[-1]["ratio"] if layers else None

        def pct(x):
            return "-" if x is None else f"{100 * x:.1f}%"

        lines.append(
            f"| {row['thought']} | {row['questions']} | {pct(row['frontier_mass'])} | {pct(row['other_node_mass'])} "
            f"| {pct(row['top1'])} | {pct(row['top3'])} | {row['normalised_entropy']:.2f} "
            f"| {'-' if ratio is None else f'{ratio:.2f}x'} |"
        )
    return "\n".join(lines)


def write_frontier_report(report: FrontierReport, out_dir: str | Path) -> list[Path]:
    """`frontier.json`, `frontier_mass.png` (mass and top-k per thought) and `frontier_attention.png`
    (frontier-edge / other-edge attention per layer and thought)."""

    out_dir = Path(out_dir)
    json_path = write_json(out_dir / FRONTIER_JSON, asdict(report))
    return [
        json_path,
        *plot_frontier(report.per_thought, report.attention, out_dir / FRONTIER_PNG, out_dir / ATTENTION_PNG),
    ]
