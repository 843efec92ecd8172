"""The analyses' figures (PNG, matplotlib imported lazily with the non-interactive Agg backend).

Each function takes plain data (no model), draws one figure, writes it and returns its path.
matplotlib is an optional extra (`pip install 'coconut-lm[plot]'`): `require_matplotlib` says so
in one line before any work.
"""

from __future__ import annotations

from pathlib import Path

from coconut_lm.errors import UserError
from coconut_lm.io import atomic_write

CATEGORY_COLORS = {
    "correct_label": "#7fbf7f",
    "incorrect_label": "#bfbfbf",
    "correct_path": "#2e8b57",
    "longer_path": "#87ceeb",
    "hallucination": "#d9534f",
    "wrong_target": "#f0ad4e",
}


class PlottingUnavailable(UserError, RuntimeError):
    """A figure was asked for but matplotlib is not installed."""


def require_matplotlib() -> None:
    """Raise `PlottingUnavailable` (one line: what to install) unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlottingUnavailable("matplotlib is not installed: pip install 'coconut-lm[plot]'") from None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, dpi=120, format=path.suffix.lstrip(".") or "png"))
    _pyplot().close(fig)
    return path


def plot_path_categories(
    fractions: dict[int, dict[str, float]], order: list[str], labels: list[str], path: str | Path
) -> Path:
    """Stacked bars: per k (thoughts before the switch), the fraction of each category."""
    plt = _pyplot()
    ks = list(fractions)
    fig, ax = plt.subplots(figsize=(1.2 * len(ks) + 3, 4))
    bottom = [0.0] * len(ks)
    for key, label in zip(order, labels):
        heights = [fractions[k].get(key, 0.0) for k in ks]
        ax.bar([str(k) for k in ks], heights, bottom=bottom, label=label, color=CATEGORY_COLORS.get(key))
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xlabel("# thoughts before switching to language (k)")
    ax.set_ylabel("fraction of questions")
    ax.set_ylim(0, 1)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    return _save(fig, path)


def plot_thought_norms(norms: list[list[float]], embedding_mean: float, path: str | Path) -> Path:
    """Box plot of the norm of each thought index; the mean token-embedding norm as a line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(norms) + 2), 3.5))
    ax.boxplot(norms, tick_labels=[str(j + 1) for j in range(len(norms))])
    ax.axhline(embedding_mean, color="gray", linestyle="--", label="mean token embedding norm")
    ax.set_xlabel("thought")
    ax.set_ylabel("L2 norm")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _layers(graph) -> dict[int, list[int]]:
    """depth -> nodes (shortest distance from the root) of the nodes the root reaches."""
    layers: dict[int, list[int]] = {}
    for node, depth in sorted(graph.distances(graph.root).items()):
        layers.setdefault(depth, []).append(node)
    return layers


def plot_search_tree(graph, node_values: dict[int, dict[int, float]], path: str | Path, title: str = "") -> Path:
    """The part of the graph the root reaches, in layers by depth; frontier nodes show their value
    after thought k (`node_values[k][node]`); target green, negative target red."""
    plt = _pyplot()
    layers = _layers(graph)
    xy = {}
    for depth, nodes in layers.items():
        for j, node in enumerate(nodes):
            xy[node] = ((j + 1) / (len(nodes) + 1), -depth)
    width = max(len(n) for n in layers.values())
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * width), 1.3 * len(layers) + 1))
    for a, b in sorted(graph.edges):
        if a in xy and b in xy:
            bend = 0.0 if xy[b][1] == xy[a][1] - 1 else 0.3  # edges within or up a layer curve
            style = {"arrowstyle": "->", "color": "#888888", "lw": 0.8, "shrinkA": 14, "shrinkB": 14}
            ax.annotate("", xy=xy[b], xytext=xy[a], arrowprops={**style, "connectionstyle": f"arc3,rad={bend}"})
    for node, (x, y) in xy.items():
        text = graph.names[node]
        for k, values in sorted(node_values.items()):
            if node in values:
                text += f"\nv{k}={values[node]:.2f}"
        color = "#c8e6c9" if node == graph.target else "#ffcdd2" if node == graph.neg_target else "white"
        ax.text(x, y, text, ha="center", va="center", fontsize=8, bbox={"boxstyle": "round", "fc": color, "ec": "k"})
    ax.set_xlim(0, 1)
    ax.set_ylim(-len(layers) + 0.5, 0.5)
    ax.axis("off")
    ax.set_title(f"{title}latent search tree: value vk of frontier nodes after thought k", fontsize=9)
    return _save(fig, path)


def plot_parallelism(cumulative: dict[int, list[list[float]]], path: str | Path) -> Path:
    """Per thought k, the cumulative value of the top-1/2/3 frontier nodes, each curve sorted
    over the questions (x: percentile of questions)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(cumulative), figsize=(4 * len(cumulative), 3.5), squeeze=False)
    for ax, (k, rows) in zip(axes[0], cumulative.items()):
        n = len(rows)
        for j in range(len(rows[0]) if rows else 0):
            ys = sorted((r[j] for r in rows), reverse=True)
            ax.plot([100 * (i + 0.5) / n for i in range(n)], ys, label=f"top-{j + 1}")
        ax.set_title(f"after thought {k}")
        ax.set_xlabel("percentile of questions")
        ax.set_ylabel("cumulative value")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_value_vs_height(points: dict[int, list[tuple[int, float, bool]]], mode: str, path: str | Path) -> Path:
    """Per thought k, each frontier node's value against its height; correct nodes (that reach the
    target) and incorrect ones in two colours, with the mean per height."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(points), figsize=(4 * len(points), 3.5), squeeze=False)
    for ax, (k, rows) in zip(axes[0], points.items()):
        for correct, color, label in ((True, "#2e8b57", "correct"), (False, "#d9534f", "incorrect")):
            sel = [(h, v) for h, v, c in rows if c == correct]
            if not sel:
                continue
            offset = -0.1 if correct else 0.1
            ax.scatter([h + offset for h, _ in sel], [v for _, v in sel], s=8, alpha=0.4, color=color)
            heights = sorted({h for h, _ in sel})
            means = [sum(v for h2, v in sel if h2 == h) / sum(1 for h2, _ in sel if h2 == h) for h in heights]
            ax.plot(heights, means, marker="o", color=color, label=f"{label} nodes (mean)")
        ax.set_title(f"after thought {k}")
        ax.set_xlabel(f"height ({mode} distance to a leaf)")
        ax.set_ylabel("value")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_frontier(per_thought: list[dict], attention: list[list[dict]], mass_path, attention_path) -> list[Path]:
    """Frontier mass, other-node mass and top-1/top-3 per thought; attention ratio per layer."""
    plt = _pyplot()
    rows = [r for r in per_thought if r["questions"]]
    ks = [r["thought"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, label, style in (
        ("frontier_mass", "mass on the frontier", "-o"),
        ("other_node_mass", "mass on other nodes", "-s"),
        ("top1", "correct branch is top-1", "--^"),
        ("top3", "correct branch in top-3", "--v"),
    ):
        ax.plot(ks, [r[key] if r[key] is not None else float("nan") for r in rows], style, label=label)
    ax.set_xlabel("continuous thought k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ks)
    ax.legend(fontsize=8)
    ax.set_title("thought k read through the LM head (frontier = nodes k steps from the root)", fontsize=9)
    first = _save(fig, mass_path)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for row, layers in zip(per_thought, attention):
        if row["questions"]:
            ratios = [x["ratio"] if x["ratio"] is not None else float("nan") for x in layers]
            ax.plot(range(len(layers)), ratios, "-o", label=f"thought {row['thought']}")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("layer")
    ax.set_ylabel("attention per frontier edge / per other edge")
    ax.legend(fontsize=8)
    second = _save(fig, attention_path)
    return [first, second]


def plot_validation_curve(curve: list[dict], path: str | Path, title: str) -> Path:
    """Validation accuracy by epoch (`curve`: rows of epoch, stage, accuracy), stage boundaries dashed."""
    return plot_validation_curves({"": curve}, path, title)


def plot_validation_curves(curves: dict[str, list[dict]], path: str | Path, title: str) -> Path:
    """Validation accuracy by epoch of one or more runs (name -> rows of epoch, stage, accuracy);
    the stage boundaries of the last run with more than one stage dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, curve in curves.items():
        ax.plot([r["epoch"] for r in curve], [r["accuracy"] for r in curve], marker="o", label=name or None)
    staged = [c for c in curves.values() if len({r["stage"] for r in c}) > 1]
    for prev, row in zip(staged[-1], staged[-1][1:]) if staged else ():
        if row["stage"] != prev["stage"]:
            ax.axvline(prev["epoch"] + 0.5, color="gray", linestyle="--", linewidth=0.8)
            ax.text(prev["epoch"] + 0.55, 0.02, f"stage {row['stage']}", fontsize=8, color="gray")
    if staged:
        first = staged[-1][0]
        ax.text(first["epoch"], 0.02, f"stage {first['stage']}", fontsize=8, color="gray")
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole
    ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1), title=title)
    if any(curves):
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_accuracy_bars(groups: dict[str, dict[str, tuple[float, float]]], path: str | Path, title: str) -> Path:
    """Grouped bars: for each group (e.g. a setting), each method's (mean, std) accuracy in %."""
    plt = _pyplot()
    methods = sorted({m for values in groups.values() for m in values})
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(groups), 0.3 * len(methods) * len(groups) + 1.5), 4))
    for j, method in enumerate(methods):
        xs = [i + j * width for i, values in enumerate(groups.values()) if method in values]
        stats = [values[method] for values in groups.values() if method in values]
        ax.bar(xs, [m for m, _ in stats], width, yerr=[s for _, s in stats], label=method, capsize=3)
    ax.set_xticks([i + width * (len(methods) - 1) / 2 for i in range(len(groups))], list(groups))
    ax.axhline(50, color="gray", linestyle="--", linewidth=0.8)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 100), title=title)
    ax.legend(fontsize=8, ncol=min(len(methods), 4), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return _save(fig, path)


def _running_mean(values: list[float], window: int) -> list[float]:
    """The mean of each value and the `window - 1` before it (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def _shade_stages(axes, steps: list[int], stages: list[int]) -> None:
    """Shade each curriculum stage's span of steps (alternating), its name on the first axis."""
    starts = [i for i in range(len(stages)) if i == 0 or stages[i] != stages[i - 1]]
    for n, i in enumerate(starts):
        end = steps[starts[n + 1]] if n + 1 < len(starts) else steps[-1]
        for ax in axes:
            ax.axvspan(steps[i], end, color="#4c72b0" if n % 2 else "#dd8452", alpha=0.08, lw=0)
        axes[0].text(
            steps[i],
            1.0,
            f" stage {stages[i]}",
            transform=axes[0].get_xaxis_transform(),
            fontsize=8,
            va="top",
            color="gray",
        )


def plot_training_curves(
    train: list[dict], validation_loss: list[tuple[int, float]], path: str | Path, title: str
) -> Path:
    """Training loss (raw and a running mean) and learning rate by step, each curriculum stage shaded.

    `train`: rows of step, loss, lr, stage (by step); `validation_loss`: (step, loss) points drawn
    on the loss panel."""
    plt = _pyplot()
    steps = [r["step"] for r in train]
    losses = [r["loss"] for r in train]
    fig, (loss_ax, lr_ax) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(2, 1))
    loss_ax.plot(steps, losses, color="#4c72b0", alpha=0.3, lw=0.8, label="training loss")
    window = max(1, len(losses) // 50)
    if window > 1:
        loss_ax.plot(steps, _running_mean(losses, window), color="#4c72b0", lw=1.5, label=f"mean of {window} logs")
    if validation_loss:
        xs, ys = zip(*validation_loss)
        loss_ax.plot(xs, ys, "o-", color="#c44e52", ms=4, label="validation loss")
    if all(v > 0 for v in losses + [y for _, y in validation_loss]):
        loss_ax.set_yscale("log")
    loss_ax.set(ylabel="loss", title=title)
    loss_ax.legend(fontsize=8)
    lr_ax.plot(steps, [r["lr"] for r in train], color="#55a868")
    lr_ax.set(xlabel="step", ylabel="learning rate")
    lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    _shade_stages([loss_ax, lr_ax], steps, [r["stage"] for r in train])
    return _save(fig, path)
