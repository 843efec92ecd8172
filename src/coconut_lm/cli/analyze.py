"""`coconut-lm analyze thoughts|paths|values`: the paper's analyses (docs/method.md §7) of a checkpoint.

coconut-lm analyze thoughts runs/gsm8k/best --data data/gsm8k/test.json --num 20 --out out/thoughts
coconut-lm analyze paths runs/prosqa/best --data data/prosqa/test.json --out out/paths
coconut-lm analyze paths runs/prosqa-cot/best --data test.json --no-thought-markers --out out/cot
coconut-lm analyze values runs/prosqa/best --data data/prosqa/test.json --out out/values
coconut-lm analyze frontier runs/symbolic/best --data data/symbolic/test.json --out out/frontier

Each writes JSON and PNG files into --out and prints a short summary.
"""

from __future__ import annotations

import argparse


def _common(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument("checkpoint", help="checkpoint folder, run folder, or any transformers model folder")
    parser.add_argument("--data", required=True, help="examples (JSON list or JSON Lines)")
    parser.add_argument("--num", type=int, help="only the first N questions")
    parser.add_argument("--batch-size", type=int, default=batch_size, help="questions per forward batch")
    parser.add_argument("--out", required=True, help="output folder for the JSON and PNG files (new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an --out folder that has some")
    parser.add_argument("--device", help="cpu (default), cuda, ...")


def _load(args: argparse.Namespace, question_only: bool = False):
    from coconut_lm.analysis.checkpoint_io import is_coconut_folder, load_analysis_model, load_records
    from coconut_lm.io import check_output_folder
    from coconut_lm.run.checkpoint import checkpoint_line, resolve_checkpoint

    check_output_folder(args.out, overwrite=args.overwrite)  # before the long work
    am = load_analysis_model(args.checkpoint, args.device, question_only=question_only)
    if is_coconut_folder(args.checkpoint):
        print(checkpoint_line(resolve_checkpoint(args.checkpoint)))
    return am, load_records(args.data, args.num)


def _report(paths) -> None:
    for path in paths:
        print(f"wrote {path}")


def run_thoughts(args: argparse.Namespace) -> int:
    from coconut_lm.analysis.thoughts import analyze_thoughts, format_thoughts_summary, write_thoughts_report

    am, records = _load(args)
    report = analyze_thoughts(am, records, args.num_thoughts, args.top_k, args.batch_size)
    print(format_thoughts_summary(report))
    _report(write_thoughts_report(report, args.out))
    return 0


def run_paths(args: argparse.Namespace) -> int:
    from coconut_lm.analysis.paths import analyze_paths, format_paths_table, write_paths_report

    am, records = _load(args, question_only=args.no_thought_markers)
    ks = None if args.max_thoughts is None else list(range(args.max_thoughts + 1))
    report = analyze_paths(am, records, ks, args.max_new_tokens, args.batch_size)
    print(format_paths_table(report))
    _report(write_paths_report(report, args.out))
    return 0


def run_frontier(args: argparse.Namespace) -> int:
    from coconut_lm.analysis.frontier import analyze_frontier, format_frontier_summary, write_frontier_report

    am, records = _load(args)
    report = analyze_frontier(am, records, args.batch_size)
    print(format_frontier_summary(report))
    _report(write_frontier_report(report, args.out))
    return 0


def run_values(args: argparse.Namespace) -> int:
    from coconut_lm.analysis.values import analyze_values, format_values_summary, write_values_report

    am, records = _load(args)
    report = analyze_values(am, records, tuple(args.thoughts), args.prefix, args.height, args.batch_size)
    print(format_values_summary(report))
    _report(write_values_report(report, records, args.out, args.tree_question))
    return 0


def add_parser(subparsers) -> None:
    """Register `analyze` and its subcommands."""
    parser = subparsers.add_parser(
        "analyze",
        help="the paper's analyses: decoded thoughts, path categories, implicit values, frontier",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS")

    t = sub.add_parser("thoughts", help="each thought through the LM head, nearest embeddings, norms")
    _common(t, batch_size=16)
    t.add_argument("--num-thoughts", type=int, help="thoughts per question (default: the final stage's)")
    t.add_argument("--top-k", type=int, default=5, help="tokens listed per thought")
    t.set_defaults(func=run_thoughts)

    p = sub.add_parser("paths", help="forced switching after k thoughts; the six outcome categories")
    _common(p, batch_size=32)
    p.add_argument("--max-thoughts", type=int, help="k runs 0..K (default: the final stage's count)")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument(
        "--no-thought-markers", action="store_true", help="prompt with the question alone (CoT / No-CoT models)"
    )
    p.set_defaults(func=run_paths)

    v = sub.add_parser("values", help="implicit values of frontier nodes after thought 1 and 2")
    _common(v, batch_size=16)
    v.add_argument("--thoughts", type=int, nargs="+", default=[1, 2], help="thought counts k (default: 1 2)")
    v.add_argument(
        "--prefix", default="Every", help='text after <eot> before the concept name; "{root}" = the entity asked about'
    )
    v.add_argument("--height", choices=("shortest", "longest"), default="shortest", help="distance to a leaf")
    v.add_argument("--tree-question", type=int, default=0, help="question drawn as a search tree")
    v.set_defaults(func=run_values)

    f = sub.add_parser("frontier", help="latent BFS over a test set: frontier mass, top-k, entropy, attention")
    _common(f, batch_size=32)
    f.set_defaults(func=run_frontier)

    parser.set_defaults(func=lambda args: parser.print_help() or 2)
