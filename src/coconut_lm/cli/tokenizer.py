"""`coconut-lm tokenizer train`: a tokenizer of a chosen family (byte-level BPE by default) trained on data files."""

from __future__ import annotations

from pathlib import Path

from coconut_lm.data.tokenizer_training import TokenizerFamily, train_tokenizer
from coconut_lm.errors import InputError
from coconut_lm.io import check_output_folder


def run_train(args) -> int:
    """`coconut-lm tokenizer train`."""
    check_output_folder(args.out, overwrite=args.overwrite)  # before the training
    try:
        out = train_tokenizer(
            [Path(p) for p in args.data], args.vocab_size, args.out, args.min_frequency, family=args.family
        )
    except (OSError, ValueError, KeyError) as err:
        raise InputError(str(err)) from None
    print(f"saved a {args.vocab_size}-token {args.family} tokenizer to {out}")
    return 0


def add_parser(subparsers) -> None:
    """Register the top-level `tokenizer` command and its `train` subcommand."""
    parser = subparsers.add_parser("tokenizer", help="train a tokenizer on data sets")
    sub = parser.add_subparsers(dest="tokenizer_command", metavar="TOKENIZER_COMMAND")
    train = sub.add_parser("train", help="train on official-format JSON data files")
    train.add_argument("--data", nargs="+", required=True, help="official-format JSON files")
    train.add_argument("--vocab-size", type=int, required=True, help="tokens, special and bytes included")
    train.add_argument(
        "--family",
        choices=[f.value for f in TokenizerFamily],
        default=TokenizerFamily.BYTE_BPE.value,
        help="byte-bpe: GPT-2, Llama-3, Qwen2; llama: Llama-2, Mistral, TinyLlama; unigram; gemma",
    )
    train.add_argument("--min-frequency", type=int, default=2, help="fewest occurrences of a merged pair")
    train.add_argument("--out", required=True, help="output folder (save_pretrained format; new or empty)")
    train.add_argument("--overwrite", action="store_true", help="replace the files of an --out folder that has some")
    train.set_defaults(func=run_train)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
