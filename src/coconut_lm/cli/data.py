"""`coconut-lm data ...`: build, convert, inspect and render data sets.

gsm8k     GSM8k (iCoT text or the original JSON Lines) to the project's schema
prontoqa  ProntoQA generator output to train / valid / test
prosqa    generate ProsQA graphs (the paper's procedure); `stats` their Table-2 statistics
overlap   how many records of held-out files have a graph (up to renaming) of a training file
render    a data file's sequences or prompts at one stage, as text
symbolic  ProsQA graphs with one token per node, and their tokenizer
steps     any chain-of-thought data set, its free-text chains cut into steps
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from coconut_lm.data.datasets import symbolic
from coconut_lm.data.datasets.graph_identity import file_graph_keys, graph_key, load_graph_keys
from coconut_lm.data.datasets.gsm8k import CONVERTERS, SPLITS, download
from coconut_lm.data.datasets.prontoqa import build_prontoqa
from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_prosqa, generate_splits
from coconut_lm.data.datasets.prosqa_stats import dataset_stats, format_stats, stats_json
from coconut_lm.data.datasets.symbolic import DEFAULT_SYMBOLS, build_tokenizer, convert_file, vocabulary
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.render import render
from coconut_lm.data.schema import load_graph_records
from coconut_lm.data.steps import convert, format_statistics, hub_records, read_records, statistics_of
from coconut_lm.errors import InputError
from coconut_lm.io import write_json
from coconut_lm.options import add_arguments, from_arguments


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="build, convert, inspect and render data sets")
    data_sub = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    for add in (_add_gsm8k, _add_prontoqa, _add_prosqa, _add_overlap, _add_render, _add_symbolic, _add_steps):
        add(data_sub)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


# -- data gsm8k -------------------------------------------------------------------------------------


def _run_gsm8k(args) -> int:
    """`coconut-lm data gsm8k`: convert `--input` (or a `--download`ed split) to `--out`."""
    if (args.input is None) == (args.download is None):
        raise InputError("give exactly one of --input FILE or --download SPLIT")
    if args.download is not None and args.download not in SPLITS[args.format]:
        raise InputError(f"--format {args.format} has splits {', '.join(SPLITS[args.format])}")
    try:
        if args.input is not None:
            records = CONVERTERS[args.format](args.input)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                raw = download(args.format, args.download, Path(tmp) / "raw", timeout=args.timeout)
                records = CONVERTERS[args.format](raw)
    except (RuntimeError, OSError) as err:  # a download or a file that cannot be read
        raise InputError(str(err)) from None
    write_json(args.out, records)
    print(f"wrote {len(records)} examples to {args.out}")
    return 0


def _add_gsm8k(subparsers) -> None:
    """Register `data gsm8k`."""
    parser = subparsers.add_parser("gsm8k", help="convert GSM8k (iCoT text or original JSONL) to JSON")
    parser.add_argument("--format", choices=sorted(CONVERTERS), required=True, help="source format")
    parser.add_argument("--input", help="source file (iCoT .txt or original .jsonl)")
    parser.add_argument("--download", metavar="SPLIT", help="fetch this split instead (needs network)")
    parser.add_argument("--timeout", type=float, default=30.0, help="download timeout in seconds")
    parser.add_argument("--out", required=True, help="output JSON file")
    parser.set_defaults(func=_run_gsm8k)


# -- data prontoqa ----------------------------------------------------------------------------------


def _run_prontoqa(args) -> int:
    """`coconut-lm data prontoqa`."""
    try:
        sizes = tuple(int(x) for x in args.splits.split(","))
        if len(sizes) != 2:
            raise ValueError(f"--splits wants TRAIN,VALID, got {args.splits!r}")
        paths = build_prontoqa(args.input, args.out_dir, sizes, args.seed)
    except OSError as err:
        raise InputError(f"{args.input}: cannot read it ({err.strerror})") from None
    for path in paths.values():
        print(f"wrote {len(json.loads(path.read_text(encoding='utf-8')))} examples to {path}")
    return 0


def _add_prontoqa(subparsers) -> None:
    """Register `data prontoqa`."""
    parser = subparsers.add_parser("prontoqa", help="convert ProntoQA generator output to JSON splits")
    parser.add_argument("--input", required=True, help="the generator's JSON (e.g. 5hop_0shot_random.json)")
    parser.add_argument("--out-dir", required=True, help="folder for train.json, valid.json, test.json")
    parser.add_argument("--seed", type=int, default=None, help="shuffle before splitting (default: file order)")
    parser.add_argument("--splits", default="9000,200", help="train,valid sizes; test = the rest")
    parser.set_defaults(func=_run_prontoqa)


# -- data prosqa ------------------------------------------------------------------------------------


def _parse_splits(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--splits: expected comma-separated integers, got {text!r}") from None
    if not 1 <= len(sizes) <= 3 or min(sizes) < 0:
        raise InputError(f"--splits: expected 1 to 3 non-negative sizes (train,valid,test), got {text!r}")
    return sizes


def _run_prosqa(args) -> int:
    """`coconut-lm data prosqa`: generate one file (`--num/--out`) or splits (`--splits/--out-dir`)."""
    config = from_arguments(ProsQAConfig, args)
    exclude = load_graph_keys(args.exclude)
    if args.splits is not None:
        if args.out_dir is None:
            raise InputError("--splits needs --out-dir")
        splits = generate_splits(_parse_splits(args.splits), args.seed, config, exclude)
        for name, split in zip(("train", "valid", "test"), splits, strict=False):
            write_json(Path(args.out_dir) / f"{name}.json", split)
            print(f"wrote {len(split)} examples to {Path(args.out_dir) / f'{name}.json'}")
        return 0
    if args.num is None or args.out is None:
        raise InputError("give --num and --out, or --splits and --out-dir")
    write_json(args.out, generate_prosqa(args.num, args.seed, config, exclude))
    print(f"wrote {args.num} examples to {args.out}")
    return 0


def _run_stats(args) -> int:
    """`coconut-lm data stats`: Table-2 statistics of a ProsQA-format file."""
    stats = dataset_stats(load_graph_records(args.file))  # a malformed record: one line naming it
    print(stats_json(stats) if args.json else format_stats(stats))
    return 0


def _add_prosqa(subparsers) -> None:
    """Register `data prosqa` and `data stats`."""
    gen = subparsers.add_parser("prosqa", help="generate ProsQA data (the paper's Algorithm 1)")
    gen.add_argument("--num", type=int, help="number of examples (with --out)")
    gen.add_argument("--out", help="output JSON file (with --num)")
    gen.add_argument("--splits", help="train,valid,test sizes, e.g. 17886,300,500 (with --out-dir)")
    gen.add_argument("--out-dir", help="folder for train.json, valid.json, test.json (with --splits)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gen.add_argument("--exclude", nargs="*", default=[], help="JSON files whose graphs must not recur, under any names")
    add_arguments(gen, ProsQAConfig)
    gen.set_defaults(func=_run_prosqa)
    stats = subparsers.add_parser("stats", help="graph statistics of a ProsQA-format file (Table 2)")
    stats.add_argument("file", help="ProsQA-format JSON file (or JSON Lines, .jsonl)")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(func=_run_stats)


# -- data overlap -----------------------------------------------------------------------------------


def _run_overlap(args) -> int:
    """`coconut-lm data overlap`: held-out records whose graph (up to renaming) a training file holds."""
    seen = {key for path in args.train for key in file_graph_keys(path)}
    report, total = {}, 0
    for path in args.held_out:
        keys = file_graph_keys(path)
        shared = [i for i, key in enumerate(keys) if key in seen]
        report[path] = {"records": len(keys), "seen_graphs": len(shared), "seen_indices": shared}
        total += len(shared)
        if not args.json:
            train = ", ".join(args.train)
            print(f"{path}: {len(shared)} / {len(keys)} records have a graph of {train} (up to renaming)")
    if args.json:
        print(json.dumps(report, indent=2))
    return 1 if args.strict and total else 0


def _add_overlap(subparsers) -> None:
    """Register `data overlap`."""
    p = subparsers.add_parser(
        "overlap", help="held-out records whose graph, up to renaming, occurs in training data (ProsQA, symbolic)"
    )
    p.add_argument("--train", action="append", required=True, help="a training file (repeat for several)")
    p.add_argument("held_out", nargs="+", help="the valid / test file(s) to check")
    p.add_argument("--json", action="store_true", help="print JSON, with the indices of the seen records")
    p.add_argument("--strict", action="store_true", help="exit 1 when any held-out graph occurs in training")
    p.set_defaults(func=_run_overlap)


# -- data render ------------------------------------------------------------------------------------


def _run_render(args: argparse.Namespace) -> int:
    curriculum = from_arguments(CurriculumConfig, args)
    path = render(args.data, args.tokenizer, args.method, args.stage, args.out, curriculum, args.seed, args.prompts)
    print(f"wrote {path}")
    return 0


def _add_render(subparsers) -> None:
    """Register `data render`."""
    p = subparsers.add_parser("render", help="write the sequences or prompts of a data file at one stage")
    p.add_argument("--data", required=True, help="examples: .json (a list) or .jsonl")
    p.add_argument("--tokenizer", required=True, help="a Hugging Face tokenizer folder or name")
    p.add_argument("--method", required=True, type=Method.parse, help=", ".join(m.value for m in Method))
    p.add_argument("--stage", required=True, type=int, help="curriculum stage (iCoT: the epoch)")
    add_arguments(p, CurriculumConfig, skip=("epochs_per_stage",))
    p.add_argument("--seed", type=int, default=0, help="seed of the stage-mixing / smoothing draws")
    p.add_argument("--prompts", action="store_true", help="write evaluation prompts instead")
    p.add_argument("--out", required=True, help="output .jsonl")
    p.set_defaults(func=_run_render)


# -- data symbolic ----------------------------------------------------------------------------------


def _run_symbolic(args) -> int:
    """`coconut-lm data symbolic`."""
    excluded = load_graph_keys(args.exclude)
    for source, target in zip(args.input, args.out, strict=True):
        records = convert_file(source, args.seed, args.symbols)
        kept = [r for r in records if graph_key(r) not in excluded]
        write_json(target, kept, indent=None)
        dropped = f" ({len(records) - len(kept)} left out: their graphs are in --exclude)" if excluded else ""
        print(f"{source}: {len(kept)} records -> {target}{dropped}")
    if args.tokenizer:
        path = build_tokenizer(args.tokenizer, args.symbols, args.newline_tokens)
        print(f"tokenizer ({len(vocabulary(args.symbols))} tokens) -> {path}")
    return 0


def _add_symbolic(subparsers) -> None:
    p = subparsers.add_parser(
        "symbolic",
        help="ProsQA graphs with one token per node (and their tokenizer)",
        description=symbolic.__doc__.split("\n\n")[0],
    )
    p.add_argument("--input", nargs="+", required=True, help="ProsQA JSON files with graph fields")
    p.add_argument("--out", nargs="+", required=True, help="one output file per input")
    p.add_argument("--tokenizer", help="also save the symbolic tokenizer to this folder")
    p.add_argument("--symbols", type=int, default=DEFAULT_SYMBOLS, help="node symbols in the vocabulary")
    p.add_argument(
        "--newline-tokens",
        action="store_true",
        help="keep a token for each newline (steps separated; decodes the text exactly, but small models learn slowly)",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the node symbols and the edge order")
    p.add_argument(
        "--exclude", nargs="*", default=[], help="leave out records whose graph, under any names, is in these files"
    )
    p.set_defaults(func=_run_symbolic_checked)


def _run_symbolic_checked(args) -> int:
    if len(args.input) != len(args.out):
        raise InputError(f"--input has {len(args.input)} files and --out {len(args.out)}: give one output per input")
    return _run_symbolic(args)


# -- data steps -------------------------------------------------------------------------------------


def _run_steps(args) -> int:
    """`coconut-lm data steps`."""
    if (args.input is None) == (args.hub is None):
        raise InputError("give exactly one of --input FILE or --hub DATASET")
    records = read_records(args.input) if args.input else hub_records(args.hub, args.hub_split)
    examples, failed = convert(
        records, args.question_field, args.chain_field, args.answer_field, args.split, args.answer_after
    )
    stats = statistics_of(examples, failed, len(records))
    if not examples:
        reason = failed[0]["reason"] if failed else "the input has no records"
        raise InputError(f"{args.input or args.hub}: no record converted (record 0: {reason}); nothing written")
    out = Path(args.out)
    write_json(out, examples, indent=None)
    write_json(out.with_suffix(".stats.json"), stats)
    print(format_statistics(stats))
    print(f"wrote {out} and {out.with_suffix('.stats.json')}")
    return 0


def _add_steps(subparsers) -> None:
    p = subparsers.add_parser(
        "steps", help="cut free-text chains of thought into curriculum steps (any JSON / JSONL data set)"
    )
    p.add_argument("--input", help="a JSON list or JSON Lines file")
    p.add_argument("--hub", help="a Hugging Face dataset name instead (needs `datasets` and the network)")
    p.add_argument("--hub-split", default="train", help="its split (default: train)")
    p.add_argument("--question-field", default="question")
    p.add_argument("--chain-field", default="chain")
    p.add_argument("--answer-field", help="default: answer; with --answer-after and no --answer-field, the chain field")
    p.add_argument("--answer-after", help="the answer is the text after the last occurrence of this marker")
    p.add_argument(
        "--split",
        required=True,
        help="lines, sentences, equations, regex:PATTERN (cut at its matches) or match:PATTERN (each match a step)",
    )
    p.add_argument("--out", required=True, help="output JSON file (the project's schema)")
    p.set_defaults(func=_run_steps)
