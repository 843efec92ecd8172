"""Probe: how often a blind walk from the root reaches the target, per graph size.

Two walks that write a path node by node, as CoT does, but without reading ahead:
- random: from each node, a uniformly random child;
- look-ahead: a child that is the target or has the target as a child when one exists, else a random
  child (one step of look-ahead).
Each question's score is the walk's exact probability of reaching the target (binary choice: the
walk answers right when it ends on the target).

    python experiments/symbolic/probes/walk_baselines.py --graphs 7,9,3,3 13,17,3,4 21,26,3,6
"""

from __future__ import annotations

import argparse
import statistics

from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits


def reach_probability(children: dict[int, list[int]], node: int, target: int, look_ahead: bool) -> float:
    if node == target:
        return 1.0
    options = children.get(node, [])
    if look_ahead:
        options = [c for c in options if c == target or target in children.get(c, [])] or options
    if not options:
        return 0.0
    return statistics.mean(reach_probability(children, c, target, look_ahead) for c in options)


def walk_baselines(config: ProsQAConfig, questions: int = 400, seed: int = 1) -> tuple[float, float]:
    """Mean probability that the random walk and the look-ahead walk reach the target."""
    random_walk, look_ahead = [], []
    for record in generate_splits([questions], seed=seed, config=config)[0]:
        children: dict[int, list[int]] = {}
        for source, target in record["edges"]:
            children.setdefault(source, []).append(target)
        random_walk.append(reach_probability(children, record["root"], record["target"], look_ahead=False))
        look_ahead.append(reach_probability(children, record["root"], record["target"], look_ahead=True))
    return statistics.mean(random_walk), statistics.mean(look_ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--graphs",
        nargs="+",
        default=["7,9,3,3", "13,17,3,4", "21,26,3,6"],
        help="min_nodes,max_nodes,min_path,max_path of each graph size",
    )
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()
    for graphs in args.graphs:
        min_nodes, max_nodes, min_path, max_path = map(int, graphs.split(","))
        config = ProsQAConfig(min_nodes=min_nodes, max_nodes=max_nodes, min_path=min_path, max_path=max_path)
        random_walk, look_ahead = walk_baselines(config, args.questions)
        print(
            f"nodes {min_nodes}-{max_nodes}, depth {min_path}-{max_path}: "
            f"random walk {random_walk:.2f}, one-step look-ahead {look_ahead:.2f}"
        )


if __name__ == "__main__":
    main()
