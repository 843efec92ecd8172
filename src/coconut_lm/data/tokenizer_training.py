"""Train a small tokenizer on data sets (`coconut-lm tokenizer train`), of any tokenizer family.

For experiments with small models trained from scratch, and for testing that every family of
pretrained tokenizer goes through the data pipeline (`TokenizerFamily`):

- byte-level BPE (the default; GPT-2, Llama-3, Qwen2): byte-level pre-tokenizer and decoder, no
  prefix space, so decode(encode(text)) == text; its only special token is `<|endoftext|>` (id 0,
  used as eos, bos, unk and pad, like the official fixtures);
- SentencePiece-style (Llama-2, Mistral, TinyLlama; a Unigram variant; Gemma): `▁` stands for a
  space, pieces are learnt within words and lines (as SentencePiece learns them), a byte missing
  from the vocabulary is spelt `<0x0A>`-style (byte fallback), and the special tokens, their ids
  and the BOS each encode starts with are those of the family.

The Coconut tokens (`<|latent|>` ...) are added later by the data pipeline, as for any model.
It is saved with `save_pretrained`, so `AutoTokenizer.from_pretrained(out_dir)` loads it.

Example:
    >>> path = train_tokenizer([Path("prosqa_train.json")], vocab_size=3000, out_dir="tok")
    >>> tok = AutoTokenizer.from_pretrained(path)
    >>> tok.decode(tok.encode("Every wumpus is a yumpus."))
    'Every wumpus is a yumpus.'
    >>> path = train_tokenizer([Path("prosqa_train.json")], 400, "tok_llama", family="llama")
    >>> llama = AutoTokenizer.from_pretrained(path)
    >>> llama.tokenize("Every wumpus is a yumpus."), llama.encode("Tom")[0] == llama.bos_token_id
    (['▁Every', '▁wumpus', '▁is', '▁a', '▁yumpus.'], True)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path

from coconut_lm.constants import ANSWER_PREFIX
from coconut_lm.io import save_into

EOS_TOKEN = "<|endoftext|>"
"""The one special token of the byte-level BPE: end of text, also bos, unk and pad."""

SPACE = "▁"
"""SentencePiece's mark for a space (U+2581)."""


class TokenizerFamily(str, Enum):
    """How a tokenizer cuts text; each value builds one as its models' tokenizers are built."""

    BYTE_BPE = "byte-bpe"
    """GPT-2, Llama-3, Qwen2: byte-level BPE, no prefix space; `<|endoftext|>` is every special token."""
    LLAMA = "llama"
    """Llama-2, Mistral, TinyLlama: SentencePiece BPE with a `▁` prepended to each encoded text
    (Metaspace, `prepend_scheme="first"`); `<unk>` 0, `<s>` 1 (BOS, starts each encode), `</s>` 2."""
    UNIGRAM = "unigram"
    """SentencePiece Unigram with a `▁` prepended to every text (`prepend_scheme="always"`, split
    at spaces, as tokenizers converted with `add_prefix_space=True`); Llama's special tokens."""
    GEMMA = "gemma"
    """Gemma: SentencePiece BPE, `▁` for a space but none prepended, `\\n` a token of its own;
    `<pad>` 0, `<eos>` 1, `<bos>` 2 (starts each encode), `<unk>` 3."""

    @classmethod
    def parse(cls, value: TokenizerFamily | str) -> TokenizerFamily:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise ValueError(f"family must be one of {names}, got {value!r}") from None


_SPECIALS = {  # role -> token, in id order
    TokenizerFamily.LLAMA: {"unk": "<unk>", "bos": "<s>", "eos": "</s>"},
    TokenizerFamily.UNIGRAM: {"unk": "<unk>", "bos": "<s>", "eos": "</s>"},
    TokenizerFamily.GEMMA: {"pad": "<pad>", "eos": "<eos>", "bos": "<bos>", "unk": "<unk>"},
}
_BYTES = [f"<0x{b:02X}>" for b in range(256)]
"""The byte-fallback tokens, after the special tokens as in Llama-2's vocabulary."""


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
    sources: Iterable[str | os.PathLike],
    vocab_size: int,
    out_dir: str | os.PathLike,
    min_frequency: int = 2,
    family: TokenizerFamily | str = TokenizerFamily.BYTE_BPE,
    prepend_scheme: str | None = None,
) -> Path:
    """Train a tokenizer of `family` with `vocab_size` tokens (special tokens and the 256 bytes
    included) on `sources` (texts, or data files as `Path`s, see `iter_texts`); save it to `out_dir`.

    `prepend_scheme` ("first", "always") overrides the family's for `llama` and `unigram`.
    `min_frequency` does not apply to `unigram`. Returns `out_dir`, loadable with
    `transformers.AutoTokenizer.from_pretrained`.
    """
    family = TokenizerFamily.parse(family)
    if prepend_scheme is not None and (
        family not in (TokenizerFamily.LLAMA, TokenizerFamily.UNIGRAM) or prepend_scheme not in ("first", "always")
    ):
        raise ValueError(f"prepend_scheme must be first or always, for llama and unigram only; got {prepend_scheme!r}")
    if family is TokenizerFamily.BYTE_BPE:
        return save_tokenizer(_byte_bpe(sources, vocab_size, min_frequency), out_dir)
    tokenizer = _sentencepiece_style(sources, vocab_size, min_frequency, family, prepend_scheme)
    return save_tokenizer(tokenizer, out_dir, **{"pad": None, **_SPECIALS[family]})  # Llama-2 has no pad


def _byte_bpe(sources, vocab_size: int, min_frequency: int):
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
    return tokenizer


def _learn_pieces(sources, vocab_size: int, min_frequency: int, family: TokenizerFamily, specials: list[str]) -> dict:
    """The model (vocabulary, merges or scores) learnt as SentencePiece learns it: from lines,
    within words (`▁` + word) and with digits apart, so no piece holds a line break, spans two
    words or two digits."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    learner = Tokenizer(models.Unigram() if family is TokenizerFamily.UNIGRAM else models.BPE())
    prepend = "never" if family is TokenizerFamily.GEMMA else "always"
    learner.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(SPACE, prepend_scheme=prepend, split=True), pre_tokenizers.Digits(True)]
    )
    size = vocab_size - len(_BYTES)  # the bytes come after the learnt model
    if family is TokenizerFamily.UNIGRAM:
        trainer = trainers.UnigramTrainer(
            vocab_size=size, special_tokens=specials, unk_token="<unk>", show_progress=False
        )
    else:  # Gemma spells a line break "\n"; Llama-2 falls back to the byte <0x0A>
        alphabet = ["\n"] if family is TokenizerFamily.GEMMA else []
        trainer = trainers.BpeTrainer(
            vocab_size=size,
            min_frequency=min_frequency,
            special_tokens=specials,
            initial_alphabet=alphabet,
            show_progress=False,
        )
    learner.train_from_iterator((line for text in iter_texts(sources) for line in text.split("\n")), trainer)
    return json.loads(learner.to_str())["model"]


def _sentencepiece_style(sources, vocab_size: int, min_frequency: int, family: TokenizerFamily, prepend_scheme):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = list(_SPECIALS[family].values())
    if vocab_size < len(specials) + len(_BYTES) + 1:
        raise ValueError(
            f"vocab_size must be > {len(specials) + len(_BYTES)} ({len(specials)} special tokens + 256 bytes) "
            f"for the {family.value} family, got {vocab_size}"
        )
    learnt = _learn_pieces(sources, vocab_size, min_frequency, family, specials)
    unk = specials.index("<unk>")
    if family is TokenizerFamily.UNIGRAM:
        pieces = [(p, s) for p, s in learnt["vocab"] if p not in specials]
        vocab = [(t, 0.0) for t in specials + _BYTES] + pieces
        tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=True))
    else:
        order = sorted(learnt["vocab"], key=learnt["vocab"].get)
        tokens = specials + _BYTES + [t for t in order if t not in specials]
        merges = [tuple(m) for m in learnt["merges"]]
        vocab = {t: i for i, t in enumerate(tokens)}
        tokenizer = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tokenizer.add_special_tokens(specials)
    decode = [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if family is TokenizerFamily.GEMMA:
        tokenizer.normalizer = normalizers.Replace(" ", SPACE)
        tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    else:
        default = "always" if family is TokenizerFamily.UNIGRAM else "first"
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            SPACE, prepend_scheme=prepend_scheme or default, split=family is TokenizerFamily.UNIGRAM
        )
        decode.append(decoders.Strip(" ", 1, 0))  # the prepended space
    tokenizer.decoder = decoders.Sequence(decode)
    bos = _SPECIALS[family]["bos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, specials.index(bos))]
    )
    return tokenizer


def save_tokenizer(
    tokenizer,
    out_dir: str | os.PathLike,
    eos: str = EOS_TOKEN,
    bos: str | None = EOS_TOKEN,
    unk: str | None = EOS_TOKEN,
    pad: str | None = EOS_TOKEN,
) -> Path:
    """Save a `tokenizers.Tokenizer` as a `transformers` fast tokenizer in `out_dir` with these
    special tokens (by default `EOS_TOKEN` for all four); returns `out_dir`."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        unk_token=unk,
        pad_token=pad,
        clean_up_tokenization_spaces=False,
    )
    return save_into(out_dir, lambda folder: fast.save_pretrained(str(folder)))
