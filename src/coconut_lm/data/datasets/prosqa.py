"""The ProsQA generator (the paper's Algorithm 1, docs/method.md §6) and the `data prosqa` /
`data stats` subcommands.

No official generator was released; this one follows the paper's description and was tuned so
that, with default settings, its statistics match the paper's Table 2 and the released
validation set (`coconut-lm data stats` prints them):

- a graph of `randint(min_nodes, max_nodes)` nodes starts with nodes 0 and 1 (labels 1 and
  2); each new node draws n ~ Poisson(1.5) parents (a zero draw is redrawn, except with
  probability `p_entity`, which makes a new entity: a plain Poisson gives ~5 entities per
  graph, the released data 2.5); with p = 0.35 the candidates are the nodes labelled 0 or 1
  (not below node 1), with p = 0.35 those labelled 0 or 2, otherwise all nodes; parents are
  drawn without replacement with weight depth * 1.5 + 1 (depth = longest distance from a
  parentless node); a node's label is the OR of its parents' labels;
- nodes left without any edge are dropped (the released graphs have almost no isolated
  entities) and the rest renumbered in creation order;
- the question is about node 0 or node 1: for each, the candidate target is the leaf that only
  it reaches with the longest shortest path (the released data always asks about that leaf);
  the entity whose candidate path is longer becomes the root (ties: random), and the graph is
  rejected unless that path has `min_path`..`max_path` edges; the negative target is a random
  leaf that only the other entity reaches;
- parentless nodes get entity names ("Tom"), the others concept names ("wumpus"); one sentence
  per edge ("Tom is a wumpus." / "Every wumpus is a yumpus."), in random order, then
  "Is Tom a X or Y?" with the two targets in random order; steps are the sentences of one
  shortest path (drawn uniformly among them), the answer "Tom is a X.".

Example:
    >>> records = generate_prosqa(100, seed=0)
    >>> records[0]["answer"]
    'Oliver is a sterpus.'
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

from coconut_lm.data.datasets.graph_identity import GraphKey, graph_key
from coconut_lm.data.datasets.prosqa_stats import bfs_counts, children_lists
from coconut_lm.options import Int, doc, settings

ENTITY_NAMES = (
    "Alex", "Bob", "Carol", "Davis", "Eva", "Fae", "Gabriel", "Jack", "Max",
    "Oliver", "Polly", "Rex", "Sally", "Sam", "Stella", "Tom", "Wren",
)  # fmt: skip
"""The 17 entity names of the released ProsQA data."""

CONCEPT_NAMES = (
    "bompus", "boompus", "brimpus", "chorpus", "dumpus", "felpus", "fompus", "gerpus",
    "gorpus", "grimpus", "gwompus", "hilpus", "impus", "jelpus", "jompus", "kerpus",
    "lempus", "lorpus", "numpus", "quimpus", "rempus", "rompus", "rorpus", "scrompus",
    "shumpus", "sterpus", "storpus", "terpus", "timpus", "tumpus", "vumpus", "worpus",
    "wumpus", "yerpus", "yimpus", "yumpus", "zhorpus", "zumpus",
)  # fmt: skip
"""The 38 concept names of the released ProsQA data."""

DEFAULT_SPLITS = (17886, 300, 500)
"""Train / valid / test sizes of the released ProsQA."""

MAX_ATTEMPTS = 100_000
"""Graphs drawn for one example before giving up (the settings then admit no question)."""

MAX_DUPLICATES = 10_000
"""Rejected draws in a row (a graph already held out, or a repeated question) before concluding the settings
admit no more."""


@settings
class ProsQAConfig:
    """Knobs of the ProsQA generator; the defaults reproduce the released data's statistics."""

    min_nodes: Int = doc(21, "Fewest nodes drawn per graph (nodes 0 and 1 included), before isolated ones are dropped.")
    max_nodes: Int = doc(26, "Most nodes drawn per graph, before isolated ones are dropped.")
    parent_rate: float = doc(1.5, "Mean of the Poisson number of parents of each new node.")
    p_root_side: float = doc(0.35, "Probability that a node's parent candidates are the nodes labelled 0 or 1.")
    p_other_side: float = doc(0.35, "Probability that a node's parent candidates are the nodes labelled 0 or 2.")
    depth_weight: float = doc(1.5, "A candidate parent's sampling weight is depth * depth_weight + 1.")
    p_entity: float = doc(
        0.05,
        "Probability that a new node gets no parents (an extra entity); otherwise a zero Poisson draw is "
        "redrawn (the released graphs have 2.5 entities, not the ~5 a plain Poisson gives).",
    )
    min_path: Int = doc(3, "Shortest root→target paths shorter than this are rejected (released data: 3).")
    max_path: Int = doc(6, "Shortest root→target paths longer than this are rejected (released data: 6).")

    def __post_init__(self) -> None:
        if not 3 <= self.min_nodes <= self.max_nodes:
            raise ValueError(f"need 3 <= min_nodes <= max_nodes, got {self.min_nodes}, {self.max_nodes}")
        if self.max_nodes > len(ENTITY_NAMES) + len(CONCEPT_NAMES):
            names = len(ENTITY_NAMES) + len(CONCEPT_NAMES)
            raise ValueError(f"max_nodes={self.max_nodes}: there are only {names} names")
        if self.parent_rate <= 0:
            raise ValueError(f"parent_rate must be > 0, got {self.parent_rate}")
        sides = (self.p_root_side, self.p_other_side)
        if min(sides) < 0 or sum(sides) > 1:
            raise ValueError("p_root_side and p_other_side must be >= 0 and sum to <= 1")
        if not 0 <= self.p_entity <= 1:
            raise ValueError(f"p_entity must be in [0, 1], got {self.p_entity}")
        if self.depth_weight < 0:
            raise ValueError(f"depth_weight must be >= 0, got {self.depth_weight}")
        if not 1 <= self.min_path <= self.max_path:
            raise ValueError(f"need 1 <= min_path <= max_path, got {self.min_path}, {self.max_path}")


def _poisson(rng: random.Random, rate: float) -> int:
    """One Poisson(rate) draw (Knuth's method; fine for small rates)."""
    limit, k, prod = math.exp(-rate), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def _num_parents(rng: random.Random, config: ProsQAConfig) -> int:
    """How many parents a new node draws: 0 with probability p_entity, else Poisson(rate) >= 1."""
    if rng.random() < config.p_entity:
        return 0
    while (k := _poisson(rng, config.parent_rate)) == 0:
        pass
    return k


def _weighted_sample(rng: random.Random, items: list[int], weights: list[float], k: int) -> list[int]:
    """`k` distinct items drawn one at a time with probability proportional to weight."""
    items, weights, chosen = list(items), list(weights), []
    for _ in range(min(k, len(items))):
        i = rng.choices(range(len(items)), weights=weights)[0]
        chosen.append(items.pop(i))
        weights.pop(i)
    return chosen


def sample_graph(rng: random.Random, config: ProsQAConfig) -> tuple[int, list[tuple[int, int]]]:
    """Draw one graph with Algorithm 1; returns `(num_nodes, edges)` after dropping isolated nodes.

    Edges are `(parent, child)` in creation order of the child; node indices follow creation
    order, so every edge goes from a lower to a higher index.
    """
    total = rng.randint(config.min_nodes, config.max_nodes)
    labels, depth, edges = [1, 2], [0, 0], []
    for node in range(2, total):
        draw = rng.random()
        if draw < config.p_root_side:
            candidates = [i for i in range(node) if labels[i] in (0, 1)]
        elif draw < config.p_root_side + config.p_other_side:
            candidates = [i for i in range(node) if labels[i] in (0, 2)]
        else:
            candidates = list(range(node))
        weights = [depth[i] * config.depth_weight + 1 for i in candidates]
        parents = _weighted_sample(rng, candidates, weights, _num_parents(rng, config))
        label = 0
        for parent in parents:
            label |= labels[parent]
            edges.append((parent, node))
        labels.append(label)
        depth.append(max((depth[p] + 1 for p in parents), default=0))
    used = sorted({0, 1} | {n for edge in edges for n in edge})
    renumber = {old: new for new, old in enumerate(used)}
    return len(used), [(renumber[a], renumber[b]) for a, b in edges]


def _pick_targets(
    rng: random.Random, num_nodes: int, edges: list[tuple[int, int]], config: ProsQAConfig
) -> tuple[int, int, int] | None:
    """`(root, target, neg_target)` for a graph, or None when it admits no valid question.

    For each of nodes 0 and 1 as root, the candidate target is the leaf reached from it alone
    whose shortest path is longest (the released data always asks about that one); the root
    whose candidate path is longer wins (ties: random).
    """
    children = children_lists(num_nodes, edges)
    dists = [bfs_counts(children, entity)[0] for entity in (0, 1)]
    options = []
    for root in rng.sample((0, 1), 2):
        dist, other = dists[root], dists[1 - root]
        leaves = [n for n in dist if not children[n] and n not in other]
        negatives = [n for n in other if not children[n] and n not in dist and n != 1 - root]
        if leaves and negatives:
            longest = max(dist[n] for n in leaves)
            if config.min_path <= longest <= config.max_path:
                options.append((longest, root, [n for n in leaves if dist[n] == longest], negatives))
    if not options:
        return None
    _, root, targets, negatives = max(options, key=lambda option: option[0])
    return root, rng.choice(targets), rng.choice(negatives)


def _sample_shortest_path(rng: random.Random, edges: list[tuple[int, int]], root: int, target: int) -> list[int]:
    """One root→target shortest path, uniform over all of them."""
    num_nodes = 1 + max(max(e) for e in edges)
    dist, count = bfs_counts(children_lists(num_nodes, edges), root)
    parents: dict[int, list[int]] = {}
    for a, b in edges:
        if a in dist and b in dist and dist[a] + 1 == dist[b]:
            parents.setdefault(b, []).append(a)
    path = [target]
    while path[-1] != root:
        options = parents[path[-1]]
        path.append(rng.choices(options, weights=[count[p] for p in options])[0])
    return path[::-1]


def _sentence(names: Sequence[str], parent: int, child: int, entities: set[int]) -> str:
    if parent in entities:
        return f"{names[parent]} is a {names[child]}."
    return f"Every {names[parent]} is a {names[child]}."


def render_example(
    rng: random.Random, num_nodes: int, edges: list[tuple[int, int]], root: int, target: int, neg_target: int
) -> dict:
    """Name the nodes and write the question, steps and answer of one graph (released format)."""
    has_parent = {b for _, b in edges}
    entities = {n for n in range(num_nodes) if n not in has_parent}
    entity_names = iter(rng.sample(ENTITY_NAMES, len(entities)))
    concept_names = iter(rng.sample(CONCEPT_NAMES, num_nodes - len(entities)))
    names = [next(entity_names) if n in entities else next(concept_names) for n in range(num_nodes)]
    sentences = [_sentence(names, a, b, entities) for a, b in edges]
    rng.shuffle(sentences)
    options = [names[target], names[neg_target]]
    rng.shuffle(options)
    path = _sample_shortest_path(rng, edges, root, target)
    return {
        "question": " ".join(sentences) + f" Is {names[root]} a {options[0]} or {options[1]}?",
        "answer": f"{names[root]} is a {names[target]}.",
        "steps": [_sentence(names, a, b, entities) for a, b in zip(path, path[1:], strict=False)],
        "idx_to_symbol": names,
        "edges": [list(e) for e in edges],
        "root": root,
        "target": target,
        "neg_target": neg_target,
    }


def generate_example(rng: random.Random, config: ProsQAConfig) -> dict:
    """Draw graphs until one admits a question; return that example."""
    for _ in range(MAX_ATTEMPTS):
        num_nodes, edges = sample_graph(rng, config)
        if num_nodes - len({b for _, b in edges}) > len(ENTITY_NAMES):
            continue
        if len({b for _, b in edges}) > len(CONCEPT_NAMES):
            continue
        picked = _pick_targets(rng, num_nodes, edges, config)
        if picked is not None:
            return render_example(rng, num_nodes, edges, *picked)
    raise RuntimeError(f"no valid ProsQA graph in {MAX_ATTEMPTS} draws; loosen {config}")


def question_key(question: str) -> tuple:
    """What makes two questions the same: the set of sentences and the set of the two options.

    The same graph with its sentences shuffled differently counts as a duplicate.
    """
    facts, _, query = question.rpartition(" Is ")
    subject, _, options = query.removesuffix("?").partition(" a ")
    sentences = sorted(s.strip() for s in facts.split(".") if s.strip())
    return tuple(sentences), subject, tuple(sorted(options.split(" or ")))


def generate_splits(
    sizes: Sequence[int], seed: int, config: ProsQAConfig | None = None, exclude: Iterable[GraphKey] = ()
) -> list[list[dict]]:
    """Generate a training split (`sizes[0]`) and held-out splits (`sizes[1:]`) that share no graph.

    Held out means unseen up to renaming (`graph_key`): no graph of a held-out split appears in
    the training split or in another held-out split, under any names. The held-out splits are
    drawn first, straight from the generator, so they follow its distribution; the training
    split is drawn after them and skips their graphs. Within the training split a graph may recur
    under other names (the generator's own distribution), but no question repeats
    (`question_key`). `exclude` holds graphs that no split may contain (those of existing files:
    `load_graph_keys`).
    """
    config = config or ProsQAConfig()
    rng = random.Random(seed)
    taken = set(exclude)  # graphs that no later draw may use
    held_out = [_draw(rng, config, size, taken) for size in sizes[1:]]
    return [_draw(rng, config, sizes[0], taken, questions=set()), *held_out] if sizes else []


def _draw(
    rng: random.Random, config: ProsQAConfig, size: int, taken: set[GraphKey], questions: set[tuple] | None = None
) -> list[dict]:
    """`size` examples whose graphs are not in `taken`. A held-out split (`questions` None) adds its
    graphs to `taken`; a training split only refuses to repeat a question (`questions` collects them)."""
    split: list[dict] = []
    rejected = 0
    while len(split) < size:
        example = generate_example(rng, config)
        key = graph_key(example)
        question = question_key(example["question"])
        if key in taken or (questions is not None and question in questions):
            rejected += 1
            if rejected > MAX_DUPLICATES:
                raise RuntimeError(f"{MAX_DUPLICATES} draws in a row repeated a graph or a question with {config}")
            continue
        if questions is None:
            taken.add(key)
        else:
            questions.add(question)
        split.append(example)
        rejected = 0
    return split


def generate_prosqa(
    num: int, seed: int, config: ProsQAConfig | None = None, exclude: Iterable[GraphKey] = ()
) -> list[dict]:
    """`num` ProsQA examples (distinct questions, none of the graphs in `exclude`), deterministic for a given
    seed and config."""
    return generate_splits([num], seed, config, exclude)[0]
