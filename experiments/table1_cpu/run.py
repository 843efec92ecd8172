"""Every Table-1 method at CPU scale, 3 seeds each, on ProsQA (generated) and ProntoQA.

    python experiments/table1_cpu/run.py                       # ProsQA: all methods x seeds (resumable)
    python experiments/table1_cpu/run.py --dataset prontoqa    # ProntoQA (needs the generator's JSON)
    python experiments/table1_cpu/run.py --methods coconut cot --seeds 0
    python experiments/table1_cpu/run.py --report              # RESULTS_TABLE*.md and the bar chart only

ProsQA: the demo's generated data (seed 0), tokenizer, model size, number of epochs and learning
rate (`TextDemoConfig`). ProntoQA: the released 5-hop generator output (`--prontoqa-source`, default
`../shared/data/prontoqa/5hop_0shot_random.json`) converted and split 9,000 / 200 / 800 as the
paper does, a BPE tokenizer trained on its training split, and the CPU budget in `PRONTOQA`
below. Within a data set every method gets the same model, data, epochs and learning rate; the
seed changes the model initialisation and the training order (not the data).

Each run trains in `<runs>/<method>_s<seed>/` (not committed; `runs/` for ProsQA,
`runs_prontoqa/` for ProntoQA) and is evaluated on the held-out test split; a run whose
`result.json` exists is skipped, and a killed run resumes from its last checkpoint. The checkpoint
evaluated is the last one (the method's final stage), for every method. Several workers can share
the list: start the same command N times (`--threads 1` each on a 2-core machine); each run is
claimed by one worker (a `RUN.claim` file beside it holding its process id; a dead worker's claim is taken over).
`--shard K/N` instead gives a worker every N-th run from the K-th.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from coconut_lm.apps.text_demo import TextDemoConfig, make_data, run_config
from coconut_lm.data.methods import Method
from coconut_lm.io import write_json

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PAPER = {  # docs/method.md §5: accuracy % (± std), new tokens, per data set
    "prosqa": {
        "cot": (77.5, 1.9, 49.4),
        "no_cot": (76.7, 1.0, 8.2),
        "icot": (98.2, 0.3, 8.2),
        "pause": (75.9, 0.7, 8.2),
        "coconut": (97.0, 0.3, 14.2),
        "coconut_no_curriculum": (76.1, 0.2, 14.2),
        "coconut_no_thought": (95.5, 1.1, 8.2),
        "pause_as_thought": (96.6, 0.8, 8.2),
    },
    "prontoqa": {
        "cot": (98.8, 0.8, 92.5),
        "no_cot": (93.8, 0.7, 3.0),
        "icot": (99.8, 0.3, 3.0),
        "pause": (77.7, 21.0, 3.0),
        "coconut": (99.8, 0.2, 9.0),
        "coconut_no_curriculum": (52.4, 0.4, 9.0),
        "coconut_no_thought": (99.9, 0.1, 3.0),
        "pause_as_thought": (100.0, 0.1, 3.0),
    },
}


@dataclass(frozen=True)
class Setting:
    """One data set of the experiment: its budget and where its runs and results live."""

    name: str
    label: str
    title: str
    budget: TextDemoConfig
    """Model size, curriculum and optimisation (the data knobs only matter for ProsQA)."""
    suffix: str = ""
    """Appended to the names of the committed files (results, table, chart, curve)."""
    max_train_examples: int | None = None
    max_new_tokens: int = 48

    @property
    def runs(self) -> Path:
        return HERE / f"runs{self.suffix}"

    def path(self, stem: str, ext: str) -> Path:
        return HERE / f"{stem}{self.suffix}.{ext}"


PROSQA = Setting("prosqa", "ProsQA", "ProsQA-style, built-in generator", TextDemoConfig())
PRONTOQA = Setting(
    "prontoqa",
    "ProntoQA",
    "ProntoQA 5-hop, released generator output",
    # The paper's curriculum shape (c = 1, stages 0..6: stage 6 has all six steps latent) in 14 short
    # epochs of 2,000 questions (125 steps each), the ProsQA model and learning rate; iCoT removes the
    # ~63 chain tokens by epoch 11, pause uses 6 pause tokens (as many as Coconut's thoughts).
    TextDemoConfig(max_latent_stage=6, epochs_per_stage=2, icot_tokens_per_epoch=6),
    suffix="_prontoqa",
    max_train_examples=2000,
    max_new_tokens=96,
)
SETTINGS = {s.name: s for s in (PROSQA, PRONTOQA)}


def load_results(setting: Setting) -> list[dict]:
    """Every finished run's result (each run writes its own `result.json`; workers never race)."""
    rows = [json.loads(p.read_text()) for p in sorted(setting.runs.glob("*_s*/result.json"))]
    order = {m.value: i for i, m in enumerate(Method)}
    return sorted(rows, key=lambda r: (order[r["method"]], r["seed"]))


def prepare_data(setting: Setting, prontoqa_source: Path) -> tuple[dict, Path]:
    """The data set's train/valid/test files and tokenizer folder (made once, then reused)."""
    import fcntl

    setting.runs.mkdir(parents=True, exist_ok=True)
    with open(setting.runs / "prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # workers started together: one makes, the others wait
        return _prepare_data(setting, prontoqa_source)


def _prepare_data(setting: Setting, prontoqa_source: Path) -> tuple[dict, Path]:
    data_dir = setting.runs / "data"
    if setting.name == "prosqa":
        data = make_data(setting.budget, data_dir)
    else:
        data = {name: data_dir / f"{name}.json" for name in ("train", "valid", "test")}
        if not all(p.is_file() for p in data.values()):
            if not prontoqa_source.is_file():
                raise SystemExit(
                    f"ProntoQA source {prontoqa_source} not found: pass --prontoqa-source (the official "
                    "generator's 5hop_0shot_random.json)"
                )
            from coconut_lm.data.datasets.prontoqa import build_prontoqa

            data = build_prontoqa(prontoqa_source, data_dir)
    tokenizer_dir = setting.runs / "tokenizer"
    if not (tokenizer_dir / "tokenizer.json").is_file():
        from coconut_lm.data.tokenizer_training import train_tokenizer

        train_tokenizer([data["train"]], setting.budget.vocab_size, tokenizer_dir)
    return data, tokenizer_dir


def claim(run_dir: Path) -> bool:
    """Whether this process may train `run_dir`: no live worker has claimed it."""
    import os

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    path = run_dir.with_name(run_dir.name + ".claim")  # beside the run folder: train writes into folders it made
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text() or 0)
                os.kill(pid, 0)  # raises when no such process
                return pid == os.getpid()
            except (ProcessLookupError, ValueError, FileNotFoundError):
                path.unlink(missing_ok=True)  # a dead worker's claim (or one half-written)
                continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True


def run_config_for(setting: Setting, data: dict, tokenizer_dir: Path, method: str, seed: int):
    run_dir = setting.runs / f"{method}_s{seed}"
    cfg = run_config(replace(setting.budget, seed=seed), data, tokenizer_dir, method=method, run_dir=run_dir)
    cfg.data.max_train_examples = setting.max_train_examples
    cfg.evaluation.max_new_tokens = setting.max_new_tokens
    cfg.training.keep_last = 2
    cfg.logging.progress_bar = False
    return cfg


def run_one(setting: Setting, data: dict, tokenizer_dir: Path, method: str, seed: int) -> dict:
    from coconut_lm.eval.evaluate import evaluate_checkpoint
    from coconut_lm.run.checkpoint import latest_checkpoint
    from coconut_lm.train.trainer import train

    cfg = run_config_for(setting, data, tokenizer_dir, method, seed)
    start = time.time()
    train(cfg, device="cpu")
    train_seconds = time.time() - start
    result = evaluate_checkpoint(str(latest_checkpoint(cfg.run_dir)), str(data["test"]), device="cpu")
    examples = json.loads(Path(data["test"]).read_text())
    write_json(Path(cfg.run_dir) / "diagnosis.json", diagnosis_of(method, seed, result, examples))
    return {
        "dataset": setting.name,
        "method": method,
        "seed": seed,
        "accuracy": result.accuracy,
        "mean_new_tokens": result.mean_new_tokens,
        "seconds_per_question": result.seconds_per_question,
        "train_seconds": train_seconds,
        "num_questions": result.num_questions,
    }


def thoughts_curve(setting: Setting, data: dict, seed: int = 0) -> list[dict]:
    """Coconut accuracy with 0..max+1 thoughts at inference, one trained model (docs/method.md §5)."""
    from coconut_lm.eval.evaluate import evaluate_checkpoint
    from coconut_lm.run.checkpoint import latest_checkpoint

    folder = latest_checkpoint(setting.runs / f"coconut_s{seed}")
    rows = []
    for k in range(0, setting.budget.max_latent_stage + 2):
        r = evaluate_checkpoint(str(folder), str(data["test"]), num_thoughts=k, device="cpu")
        rows.append({"num_thoughts": k, "accuracy": r.accuracy, "mean_new_tokens": r.mean_new_tokens})
        print(f"{setting.name}: coconut seed {seed}, {k} thoughts: accuracy {r.accuracy:.3f}", flush=True)
    return rows


def sentences(text: str) -> list[str]:
    """The sentences of a chain ("A is a b. Bs are c." -> two), each ending with its period."""
    return [part.strip() + "." for part in text.replace("\n", " ").split(".") if part.strip()]


def chain_diagnostics(predictions: list[dict], examples: list[dict]) -> dict:
    """How grounded the chains a CoT model writes are (what its accuracy alone cannot tell).

    A rule sentence is one that does not start with the question's entity (the first word of the
    gold chain): "Tumpuses are gorpuses.", "Every wumpus is a yumpus.". Grounded = stated word
    for word in the question. First step = the chain's first line equals the gold first step.
    """
    rules = grounded = first = exact = 0
    for row, example in zip(predictions, examples, strict=True):
        entity = example["steps"][0].split()[0]
        chain = row["output"].split("#")[0]
        lines = [line.strip() for line in chain.strip().split("\n") if line.strip()]
        for sentence in sentences(chain):
            if not sentence.startswith(entity + " "):
                rules += 1
                grounded += sentence in example["question"]
        first += bool(lines) and lines[0] == example["steps"][0]
        exact += lines == example["steps"]
    n = max(len(predictions), 1)
    return {
        "rule_sentences_per_question": rules / n,
        "grounded_rule_fraction": grounded / max(rules, 1),
        "first_step_correct": first / n,
        "chain_exact": exact / n,
    }


def diagnosis_of(method: str, seed: int, result, examples: list[dict]) -> dict:
    """What a run's test predictions show beyond accuracy.

    `answers`: the most common predicted answer and its share of the questions (a model that
    answers the same for every question has learned nothing about them). `cot_chains` (CoT runs):
    `chain_diagnostics`.
    """
    from collections import Counter

    answer, count = Counter(p["prediction"] for p in result.predictions).most_common(1)[0]
    diagnosis = {
        "answers": {
            "method": method,
            "seed": seed,
            "accuracy": result.accuracy,
            "most_common_answer": answer,
            "most_common_answer_share": count / result.num_questions,
        }
    }
    if method == "cot":
        chains = chain_diagnostics(result.predictions, examples)
        diagnosis["cot_chains"] = {"seed": seed, "accuracy": result.accuracy, **chains}
    return diagnosis


def diagnose(setting: Setting, data: dict, seeds: list[int]) -> dict[str, list[dict]]:
    """`diagnosis_of` every finished run, gathered; a run without its `diagnosis.json` (made
    before runs wrote one) is evaluated again on the test split from its last checkpoint."""
    from coconut_lm.eval.evaluate import evaluate_checkpoint
    from coconut_lm.run.checkpoint import latest_checkpoint

    examples = json.loads(Path(data["test"]).read_text())
    out: dict[str, list[dict]] = {"answers": [], "cot_chains": []}
    for row in load_results(setting):
        if row["seed"] not in seeds:
            continue
        run_dir = setting.runs / f"{row['method']}_s{row['seed']}"
        cached = run_dir / "diagnosis.json"
        if cached.is_file():
            diagnosis = json.loads(cached.read_text())
        else:
            result = evaluate_checkpoint(str(latest_checkpoint(run_dir)), str(data["test"]), device="cpu")
            diagnosis = diagnosis_of(row["method"], row["seed"], result, examples)
            write_json(cached, diagnosis)
        for key, value in diagnosis.items():
            out[key].append(value)
        print(f"{setting.name}: {diagnosis}", flush=True)
    return out


def summarise(results: list[dict]) -> dict[str, dict]:
    by_method: dict[str, list[dict]] = {}
    for r in results:
        by_method.setdefault(r["method"], []).append(r)
    out = {}
    for method in [m.value for m in Method]:
        rows = by_method.get(method, [])
        if not rows:
            continue
        acc = [100 * r["accuracy"] for r in rows]
        out[method] = {
            "n": len(rows),
            "mean": statistics.mean(acc),
            "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "tokens": statistics.mean(r["mean_new_tokens"] for r in rows),
            "train_minutes": statistics.mean(r["train_seconds"] for r in rows) / 60,
        }
    return out


def write_report(setting: Setting, results: list[dict], curve: list[dict] | None, diagnostics: dict | None) -> None:
    summary = summarise(results)
    paper = PAPER[setting.name]
    results_file = setting.path("results", "json").name
    lines = [
        f"# Table 1 at CPU scale ({setting.title})",
        "",
        f"Generated by `python experiments/table1_cpu/run.py --dataset {setting.name}` (see its docstring for",
        f"the setup); every figure below comes from `{results_file}` in this folder. Accuracy in % on the",
        "held-out test split, mean ± std over seeds; tokens = mean newly generated tokens per question",
        "(thoughts included).",
        "",
        f"| method | ours: accuracy | ours: tokens | seeds | train min/run | paper (GPT-2, {setting.label}) |",
        "|---|---|---|---|---|---|",
    ]
    for method, s in summary.items():
        p = paper[method]
        lines.append(
            f"| {method} | {s['mean']:.1f} ± {s['std']:.1f} | {s['tokens']:.1f} | {s['n']} | "
            f"{s['train_minutes']:.1f} | {p[0]} ± {p[1]} ({p[2]}) |"
        )
    if curve:
        lines += ["", "Coconut (seed 0) with k thoughts at inference:", "", "| thoughts | accuracy |", "|---|---|"]
        lines += [f"| {r['num_thoughts']} | {100 * r['accuracy']:.1f} |" for r in curve]
    chains = (diagnostics or {}).get("cot_chains")
    if chains:
        lines += [
            "",
            "What the CoT models write (test split, last checkpoint; `--diagnose`): rule sentences per",
            "question, the share of them stated in the question, first step right, whole chain right:",
            "",
            "| seed | accuracy % | rule sentences | grounded % | first step % | chain exact % |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['seed']} | {100 * r['accuracy']:.1f} | {r['rule_sentences_per_question']:.1f} | "
            f"{100 * r['grounded_rule_fraction']:.1f} | {100 * r['first_step_correct']:.1f} | "
            f"{100 * r['chain_exact']:.1f} |"
            for r in chains
        ]
    share = {(a["method"], a["seed"]): a for a in (diagnostics or {}).get("answers", [])}
    lines += ["", "Every run (most common answer: its share of the test predictions, from `--diagnose`):", ""]
    lines += [
        "| method | seed | accuracy % | new tokens | train minutes | most common answer |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        a = share.get((r["method"], r["seed"]))
        common = f"{a['most_common_answer']!r} {100 * a['most_common_answer_share']:.1f}%" if a else ""
        lines.append(
            f"| {r['method']} | {r['seed']} | {100 * r['accuracy']:.1f} | {r['mean_new_tokens']:.1f} | "
            f"{r['train_seconds'] / 60:.1f} | {common} |"
        )
    setting.path("RESULTS_TABLE", "md").write_text("\n".join(lines) + "\n")
    if summary:
        plot(setting, summary)
    if curve:
        plot_curve(setting, curve)


def plot(setting: Setting, summary: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paper = PAPER[setting.name]
    methods = list(summary)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = range(len(methods))
    ax.bar(
        [i - 0.2 for i in x],
        [summary[m]["mean"] for m in methods],
        0.4,
        yerr=[summary[m]["std"] for m in methods],
        label="ours (CPU scale)",
    )
    ax.bar([i + 0.2 for i in x], [paper[m][0] for m in methods], 0.4, label="paper (GPT-2)", alpha=0.6)
    ax.set_xticks(list(x), methods, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=f"{setting.label} accuracy (%)", ylim=(0, 100), title=setting.title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(setting.path("table1_cpu", "png"), dpi=120)
    plt.close(fig)


def plot_curve(setting: Setting, curve: list[dict]) -> None:
    """Accuracy by number of thoughts at inference; the count trained with is marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.plot([r["num_thoughts"] for r in curve], [100 * r["accuracy"] for r in curve], marker="o")
    trained = setting.budget.max_latent_stage
    ax.axvline(trained, color="gray", linestyle="--", linewidth=0.8)
    ax.text(trained + 0.05, 2, "trained with", fontsize=8, color="gray")
    ax.set_xticks([r["num_thoughts"] for r in curve])
    ax.set(xlabel="continuous thoughts at inference", ylabel="accuracy (%)", ylim=(0, 100))
    ax.set_title(f"Coconut seed 0, {setting.label}", fontsize=9)
    fig.tight_layout()
    fig.savefig(setting.path("thoughts_curve", "png"), dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=list(SETTINGS), default="prosqa")
    parser.add_argument("--methods", nargs="*", default=[m.value for m in Method])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the runs' results")
    parser.add_argument("--curve", action="store_true", help="also the accuracy-vs-thoughts curve")
    parser.add_argument(
        "--diagnose", action="store_true", help="re-evaluate finished runs: answer spread, CoT chain grounding"
    )
    parser.add_argument("--shard", default="0/1", help="K/N: only every N-th run from the K-th")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    parser.add_argument(
        "--prontoqa-source",
        type=Path,
        default=REPO.parent / "shared" / "data" / "prontoqa" / "5hop_0shot_random.json",
        help="the ProntoQA generator's JSON (converted and split 9,000 / 200 / 800)",
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    setting = SETTINGS[args.dataset]
    shard, shards = map(int, args.shard.split("/"))
    curve_path = setting.path("thoughts_curve", "json")
    diagnostics_path = setting.path("diagnostics", "json")
    if not args.report:
        data, tokenizer_dir = prepare_data(setting, args.prontoqa_source)
        todo = [(seed, method) for seed in args.seeds for method in args.methods]
        for seed, method in todo[shard::shards]:
            run_dir = setting.runs / f"{method}_s{seed}"
            if (run_dir / "result.json").is_file() or not claim(run_dir):
                continue
            row = run_one(setting, data, tokenizer_dir, method, seed)
            print(json.dumps(row), flush=True)
            write_json(run_dir / "result.json", row)
        if args.curve and not curve_path.is_file():
            if not (setting.runs / "coconut_s0" / "result.json").is_file():
                print("no thoughts curve yet: coconut seed 0 is not finished (rerun with --curve when it is)")
            elif claim(setting.runs / "thoughts_curve"):  # one worker computes it
                write_json(curve_path, thoughts_curve(setting, data))
    if args.diagnose:
        data, _ = prepare_data(setting, args.prontoqa_source)
        write_json(diagnostics_path, diagnose(setting, data, args.seeds))
    results = load_results(setting)
    write_json(setting.path("results", "json"), results)
    curve = json.loads(curve_path.read_text()) if curve_path.is_file() else None
    diagnostics = json.loads(diagnostics_path.read_text()) if diagnostics_path.is_file() else None
    write_report(setting, results, curve, diagnostics)


if __name__ == "__main__":
    main()
