"""Train a small byte-level BPE tokenizer on data sets (`coconut-lm tokenizer train`).

For experiments with small models trained from scratch: a GPT-2-like tokenizer (byte-level
pre-tokenizer and decoder, no prefix space, so decode(encode(text)) == text) whose only special
token is `<|endoftext|>` (id 0, used as eos, bos, unk and pad, like the official fixtures).
The Coconut tokens (`<|latent|>` ...) are added later by the data pipeline, as for any model.
It is saved with `save_pretrained`, so `AutoTokenizer.from_pretrained(out_dir)` loads it.

Example:
    >>> path = train_tokenizer([Path("prosqa_train.json")], vocab_size=3000, out_dir="tok")
    >>> tok = AutoTokenizer.from_pretrained(path)
    >>> tok.decode(tok.encode("Every wumpus is a yumpus."))
    'Every wumpus is a yumpus.'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from coconut_lm.constants import ANSWER_PREFIX
from coconut_lm.io import save_into

EOS_TOKEN = "<|endoftext|>"
"""The one special token: end of text, also bos, unk and pad."""


def record_text(record: dict) -> str:
    """A record as one training text in the official layout: question, steps, `### answer`."""
    lines = [record["question"], *record.get("steps", []), ANSWER_PREFIX + record["answer"]]
    return "\n".join(lines)


def iter_texts(sources: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Texts to train on: `Path`/path-like items are official-format JSON files (one text per
    record, see `record_text`); `str` items are texts used as they are."""
    for source in sources:
        if isinstance(source, str):
            yield source
            continue
        records = json.loads(Path(source).read_text(encoding="utf-8"))
        if not isinstance(records, list):
            raise ValueError(f"{source}: expected a JSON list of records")
        for record in records:
            yield record_text(record)


def train_tokenizer(
    sources: Iterable[str | os.PathLike], vocab_size: int, out_dir: str | os.PathLike, min_frequency: int = 2
) -> Path:
    """Train a byte-level BPE of `vocab_size` tokens (special token and 256 bytes included) on
    `sources` (texts, or data files as `Path`s, see `iter_texts`) and save it to `out_dir`.

    Returns `out_dir`, loadable with `transformers.AutoTokenizer.from_pretrained`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 257:
        raise ValueError(f"vocab_size must be >= 257 (256 bytes + {EOS_TOKEN}), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(iter_texts(sources), trainer=trainer)
    return save_tokenizer(tokenizer, out_dir)


def save_tokenizer(tokenizer, out_dir: str | os.PathLike) -> Path:
    """Save a `tokenizers.Tokenizer` whose only special token is `EOS_TOKEN` (eos, bos, unk and
    pad) as a `transformers` fast tokenizer in `out_dir`; returns `out_dir`."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        clean_up_tokenization_spaces=False,
    )
    return save_into(out_dir, lambda folder: fast.save_pretrained(str(folder)))
