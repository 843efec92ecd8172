"""The result tables of the READMEs, written from results.json (and the committed frontier reports).

    python experiments/symbolic/tables.py            # rewrite every table block in the READMEs
    python experiments/symbolic/tables.py --check    # exit 1 if a README disagrees (tests run this)

A block in a README reads

    <!-- table:NAME -->
    ...
    <!-- /table:NAME -->

and everything between the markers is `TABLES[NAME]()`; the text around the blocks is the
authors'. `tests/apps/test_symbolic_checkpoints.py` checks both that the blocks agree with
results.json and that the committed checkpoints still score what results.json says.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
READMES = (REPO / "README.md", HERE / "README.md")

METHODS = {
    "coconut": "**Coconut**",
    "cot": "CoT",
    "no_cot": "No-CoT",
    "coconut_no_curriculum": "Coconut w/o curriculum",
    "coconut_no_thought": "Coconut w/o thought",
    "pause_as_thought": "pause as thought",
    "pause": "pause token",
    "icot": "iCoT",
}


def load_results() -> dict:
    return json.loads((HERE / "results.json").read_text())


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _mean_std(values: list[float]) -> str:
    mean = 100 * statistics.mean(values)
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f}%" if len(values) > 1 else f"{mean:.1f}%"


def _runs(results: dict, setting: str, method: str) -> dict[int, dict]:
    found = {}
    for key, run in results.items():
        name, m, seed = key.split("/")
        if name == setting and m == method:
            found[int(seed.removeprefix("s"))] = run
    return dict(sorted(found.items()))


def method_table(setting: str, start: str | None = None) -> Callable[[], str]:
    """Test accuracy by seed, free-form and restricted to the two candidates, new tokens and
    minutes; `start`: the setting the runs started from (its minutes are left out)."""

    def table() -> str:
        results = load_results()
        seeds = sorted({s for m in METHODS for s in _runs(results, setting, m)})
        head = " | ".join(f"seed {s}" for s in seeds)
        lines = [
            f"| method | {head} | mean ± std | restricted to the two candidates | new tokens | minutes by seed, own |",
            "|---|" + "---|" * (len(seeds) + 4),
        ]
        for method, label in METHODS.items():
            runs = _runs(results, setting, method)
            if not runs:
                continue
            cells = [_pct(runs[s]["accuracy"]) if s in runs else "-" for s in seeds]
            accuracy = [r["accuracy"] for r in runs.values()]
            restricted = [r["candidate_accuracy"] for r in runs.values() if "candidate_accuracy" in r]
            tokens = {round(r["mean_new_tokens"], 1) for r in runs.values()}
            own = []
            for seed, run in runs.items():
                start_run = f"{start}/{run.get('start_method', method)}/s{run.get('start_seed', seed)}"
                earlier = results[start_run]["train_minutes"] if start else 0
                own.append(f"{run['train_minutes'] - earlier:.1f}")
            lines.append(
                f"| {label} | {' | '.join(cells)} | {_mean_std(accuracy)} "
                f"| {_mean_std(restricted) if len(restricted) == len(accuracy) else '-'} "
                f"| {'/'.join(f'{t:g}' for t in sorted(tokens))} | {' / '.join(own)} |"
            )
        return "\n".join(lines)

    return table


def frontier_table(folder: str) -> Callable[[], str]:
    """Per thought: the frontier numbers and the last layer's attention ratio (frontier.json)."""

    def table() -> str:
        report = json.loads((HERE / folder / "frontier.json").read_text())
        lines = [
            "| thought k | frontier size | mass on F_k | mass on other nodes | correct branch top-1 (chance) "
            "| entropy over F_k (normalised) | attention ratio, last layer |",
            "|---|---|---|---|---|---|---|",
        ]
        for row, layers in zip(report["per_thought"], report["attention"]):
            ratio = layers[-1]["ratio"]
            lines.append(
                f"| {row['thought']} | {row['frontier_size']:.1f} | {_pct(row['frontier_mass'])} "
                f"| {_pct(row['other_node_mass'])} | {_pct(row['top1'])} ({_pct(row['top1_chance'])}) "
                f"| {row['normalised_entropy']:.2f} | {'-' if ratio is None else f'{ratio:.1f}x'} |"
            )
        return "\n".join(lines)

    return table


TABLES: dict[str, Callable[[], str]] = {
    "m2_heldout": method_table("m2_heldout", start="h16"),
    "demo": method_table("demo"),
    "frontier_m2_heldout": frontier_table("frontier_m2_heldout_coconut_s0"),
    "frontier_demo": frontier_table("frontier_demo_coconut_s0"),
}

BLOCK = re.compile(r"<!-- table:(?P<name>[\w-]+) -->\n.*?<!-- /table:(?P=name) -->", re.DOTALL)


def render(text: str) -> str:
    """`text` with every table block rewritten."""

    def rewrite(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"no table named {name!r} (known: {', '.join(TABLES)})")
        return f"<!-- table:{name} -->\n{TABLES[name]()}\n<!-- /table:{name} -->"

    return BLOCK.sub(rewrite, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report READMEs whose tables disagree")
    args = parser.parse_args()
    stale = []
    for path in READMES:
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    verb = "disagree with results.json" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(REPO)}: tables {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
