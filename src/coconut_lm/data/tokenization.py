"""Tokenisation in the official format, and the special tokens with their embeddings.

An example becomes (docs/method.md §2, as the official `dataset.get_dataset`):

    question + "\\n"   (with the tokenizer's own special tokens, e.g. a BOS)
    step + "\\n"       (each step, no special tokens)
    "### " + answer, then EOS

Tokenising these parts separately must give the tokens of the whole text, or removing steps
(the curriculum) would cut tokens the model never sees in one piece; the official code asserts
it, and so do we, naming the example, the tokenizer family and the tokens that differ.

Every tokenizer family keeps that equality. Byte-level BPE (GPT-2, Llama-3, Qwen2) and Gemma
encode a step on its own as it is inside the whole text, so each part is encoded on its own, as
the official code does. SentencePiece-style tokenizers that prepend `▁` to every text they
encode (Llama-2, Mistral, TinyLlama) would start each step and the answer with a space the text
does not have (`▁Every` where the whole text has `Every`): those parts are encoded after the
line break they follow, whose tokens are then dropped (`encode_after_line_break`). The training
sequences then hold the tokens of the text itself, the tokens an inference prompt, built from
the same parts, holds too.

User text never holds a special token: the text of `<|latent|>` in a question would become a
continuous thought, `<|endoftext|>` in an answer an EOS mid-target. `tokenize_examples` refuses
any (ours and the tokenizer's own, `special_texts`) with one line naming the file, the record
and the field; it is the one door every command's data goes through (train, eval, stop-head,
render, analysis), and `generate` checks its question with `find_special_text`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from coconut_lm.constants import ANSWER_PREFIX, END_LATENT, LATENT, PAUSE, START_LATENT
from coconut_lm.errors import InputError, UserError

log = logging.getLogger(__name__)


class TokenizationMismatchError(UserError, ValueError):
    """Tokenising an example's parts does not give the tokens of its whole text."""


@dataclass(frozen=True)
class SpecialTokenIds:
    """Token ids the curriculum, the collator and the model need."""

    start_latent: int
    """`<|start-latent|>` (`<bot>`)."""
    end_latent: int
    """`<|end-latent|>` (`<eot>`)."""
    latent: int
    """`<|latent|>`, the placeholder of one continuous thought."""
    eos: int
    """End of sequence; closes every training sequence."""
    pad: int
    """Padding (= EOS when the tokenizer has no pad token, as the official code)."""
    pause: int | None = None
    """`<|pause|>` for the pause methods; None when it was not added."""


def add_special_tokens(tokenizer, with_pause: bool = False) -> SpecialTokenIds:
    """Add `<|start-latent|>`, `<|end-latent|>`, `<|latent|>` (then `<|pause|>`) and set pad.

    Tokens already present keep their ids, so calling it twice is harmless. As the official
    code, the tokens are added with `add_tokens` in that order (ids len(vocab), +1, +2).

        >>> ids = add_special_tokens(AutoTokenizer.from_pretrained("gpt2"))
        >>> ids.start_latent, ids.latent, ids.pad
        (50257, 50259, 50256)
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token; every training sequence ends with one")
    names = [START_LATENT, END_LATENT, LATENT] + ([PAUSE] if with_pause else [])
    vocab = tokenizer.get_vocab()
    missing = [name for name in names if name not in vocab]
    if missing:
        tokenizer.add_tokens(missing)
        vocab = tokenizer.get_vocab()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return SpecialTokenIds(
        start_latent=vocab[START_LATENT],
        end_latent=vocab[END_LATENT],
        latent=vocab[LATENT],
        eos=int(tokenizer.eos_token_id),
        pad=int(tokenizer.pad_token_id),
        pause=vocab[PAUSE] if with_pause else None,
    )


def _init_source_row(tokenizer, init_token: str) -> int | None:
    """The id whose embedding new tokens copy: `init_token` if it is one token, else None."""
    token_id = tokenizer.get_vocab().get(init_token)
    if token_id is not None:
        return int(token_id)
    encoded = tokenizer.encode(init_token, add_special_tokens=False)
    return int(encoded[0]) if len(encoded) == 1 else None


@torch.no_grad()
def _copy_rows(weight: torch.Tensor, token_ids: list[int], source: int | None, n_old: int) -> None:
    """Set rows `token_ids` of `weight` (V, D) to row `source`, or to the mean of the old rows."""
    row = weight[source] if source is not None else weight[:n_old].mean(dim=0)  # (D,)
    weight[token_ids] = row.to(weight.dtype).expand(len(token_ids), -1).clone()  # (N, D)


def init_new_token_embeddings(
    model, tokenizer, token_ids: list[int], init_token: str = "<<", quiet: bool = False
) -> None:
    """Grow the model's vocabulary to `len(tokenizer)` and initialise the rows of `token_ids`.

    The rows (input embeddings, and the LM head's when it is not tied to them) are copied from
    `init_token`'s row (official: GPT-2's "<<", which stabilises training; the official code's
    `run.py`). When `init_token` is not a single token of this tokenizer, the mean of the existing
    rows is used and a note is logged (not with `quiet`: a model trained from scratch has no
    trained row to miss). The embeddings are never shrunk (some models pad their vocabulary).
    """
    n_old = model.get_input_embeddings().weight.shape[0]
    if n_old < len(tokenizer):
        # the rows we need are set below; other new rows keep the model's default init
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    source = _init_source_row(tokenizer, init_token)
    if source is not None and source >= n_old:
        source = None  # a newly added token has no trained row to copy
    if source is None and not quiet:
        log.warning(
            "init token %r is not a single token of this tokenizer; new token embeddings "
            "are initialised to the mean of the %d existing embeddings",
            init_token,
            n_old,
        )
    token_ids = [int(t) for t in token_ids]
    input_weight = model.get_input_embeddings().weight
    _copy_rows(input_weight.data, token_ids, source, n_old)
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != input_weight.data_ptr():
        _copy_rows(output.weight.data, token_ids, source, n_old)


@dataclass
class TokenizedExample:
    """One example as token ids, split as the curriculum needs it."""

    idx: int
    """Position of the example in its data file."""
    question: list[int]
    """question + "\\n", with the tokenizer's special tokens (e.g. BOS)."""
    steps: list[list[int]]
    """One list per step: step + "\\n"."""
    answer: list[int]
    """"### " + answer, then EOS."""


def _whole_text(example: dict) -> str:
    """The full text whose tokens must equal the concatenated parts' tokens."""
    steps = "".join(step + "\n" for step in example["steps"])
    return example["question"] + "\n" + steps + ANSWER_PREFIX + example["answer"]


def _encode_batch(tokenizer, texts: list[str], add_special_tokens: bool) -> list[list[int]]:
    if not texts:
        return []
    return list(tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"])


_PROBES = ("a", "#")
"""Texts that SentencePiece-style tokenizers encode as `▁a` on their own, `a` after a line break."""


def _prefixes_each_text(tokenizer) -> bool:
    """Whether `tokenizer` starts a text encoded on its own differently from the same text after
    a line break (Llama-2's `▁` prepended to each text); not byte-level BPE, nor Gemma."""
    newline = _encode_batch(tokenizer, ["\n"], False)[0]
    for probe in _PROBES:
        alone, after = _encode_batch(tokenizer, [probe, "\n" + probe], False)
        if after[: len(newline)] == newline and after[len(newline) :] != alone:
            return True
    return False


def encode_after_line_break(tokenizer, texts: list[str], before: list[str] | None = None) -> list[list[int]]:
    """Token ids (no special tokens) of texts that follow a line break in an example, a step +
    "\\n" or "### " + the answer, as they are inside the text. `before[i]` is what precedes
    `texts[i]`, up to and with its line break: the line before it (default: "\\n").

    Each is encoded on its own, the official way, unless the tokenizer prepends `▁` to every
    text it encodes (Llama-2, Mistral): then it is encoded after `before[i]`, whose tokens are
    dropped, so a step starts with `Every` as in the text, not `▁Every`.

        >>> tok = AutoTokenizer.from_pretrained(train_tokenizer([data], 400, "tok", family="llama"))
        >>> tok.convert_ids_to_tokens(encode_after_line_break(tok, ["Every wumpus is a yumpus.\\n"])[0])
        ['Ev', 'e', 'ry', '▁wumpus', '▁is', '▁a', '▁yumpus.', '<0x0A>']
        >>> tok.tokenize("Every wumpus is a yumpus.\\n")   # on its own: a space the text lacks
        ['▁Every', '▁wumpus', '▁is', '▁a', '▁yumpus.', '<0x0A>']
    """
    if not _prefixes_each_text(tokenizer):
        return _encode_batch(tokenizer, texts, False)
    before = ["\n"] * len(texts) if before is None else before
    contexts = _encode_batch(tokenizer, before, False)
    joined = _encode_batch(tokenizer, [b + t for b, t in zip(before, texts)], False)
    out = []
    for context, ids, text in zip(contexts, joined, texts):
        # a text whose start merges with the line before it is encoded alone: the check names it
        out.append(
            ids[len(context) :] if ids[: len(context)] == context else _encode_batch(tokenizer, [text], False)[0]
        )
    return out


def tokenizer_family(tokenizer) -> str:
    """How `tokenizer` cuts text, in words for messages, e.g. "byte-level BPE" or
    "SentencePiece-style BPE (▁ for a space, prepended to each text)"; else its class name."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return type(tokenizer).__name__
    steps = [c for part in (backend.normalizer, backend.pre_tokenizer) for c in _components(part)]
    model = type(backend.model).__name__
    if any(c["type"] == "ByteLevel" for c in steps):
        return f"byte-level {model}"
    metaspace = [c for c in steps if c["type"] == "Metaspace"]
    prepends = any(c["type"] == "Prepend" for c in steps) or any(
        c.get("prepend_scheme", "always") != "never" for c in metaspace
    )
    if metaspace or any(c["type"] == "Replace" and c.get("content") == "\u2581" for c in steps):
        return f"SentencePiece-style {model} (▁ for a space{', prepended to each text' if prepends else ''})"
    return model


def _components(part) -> list[dict]:
    """A normalizer's or pre-tokenizer's steps as in `tokenizer.json`, sequences flattened."""
    return [] if part is None else _flatten(json.loads(part.__getstate__()))


def _flatten(spec: dict) -> list[dict]:
    if spec["type"] != "Sequence":
        return [spec]
    return [c for inner in spec.get("normalizers") or spec.get("pretokenizers") for c in _flatten(inner)]


def _token_texts(tokenizer, ids: list[int]) -> list[str]:
    convert = getattr(tokenizer, "convert_ids_to_tokens", None)
    return [str(t) for t in convert(ids)] if convert else [str(i) for i in ids]


def _mismatch_cause(tokenizer, parts: list[int], whole: list[int], at: int) -> str:
    """Why the parts' tokens differ from the whole's at token `at`, in words."""
    family = tokenizer_family(tokenizer)
    decode = getattr(tokenizer, "decode", None)
    for token in whole[at : at + 3] if decode else []:
        text = decode([token])
        if "\n" in text and text.strip("\n"):
            return f"this {family} tokenizer merges the line break with the text beside it into {text!r}"
    mine, theirs = (_token_texts(tokenizer, ids[at : at + 1]) for ids in (parts, whole))
    if mine and theirs and mine[0][:1] in _SPACE_MARKS and theirs[0][:1] not in _SPACE_MARKS:
        return f"this {family} tokenizer starts a text encoded on its own with a space ({mine[0]!r}) the text lacks"
    return f"this {family} tokenizer cuts a step or the answer differently on its own than inside the text"


_SPACE_MARKS = ("\u2581", "\u0120", " ")
"""How tokens spell a leading space: SentencePiece's `▁`, byte-level BPE's `Ġ`, a space."""


def _check_concat(tokenized: TokenizedExample, whole: list[int], tokenizer) -> None:
    parts = tokenized.question + [t for step in tokenized.steps for t in step] + tokenized.answer
    if parts != whole:
        at = next((i for i, (a, b) in enumerate(zip(parts, whole)) if a != b), min(len(parts), len(whole)))
        raise TokenizationMismatchError(
            f"example {tokenized.idx}: tokenising question, steps and answer separately gives "
            f"{len(parts)} tokens but the whole text gives {len(whole)} (first difference at token {at}: "
            f"{_token_texts(tokenizer, parts[at : at + 3])} where the whole has "
            f"{_token_texts(tokenizer, whole[at : at + 3])}); {_mismatch_cause(tokenizer, parts, whole, at)}, "
            "so removing steps would change the tokens of the rest"
        )


def _tokenize(examples: Sequence[dict], tokenizer) -> list[TokenizedExample]:
    """The parts of every example, batched; `idx` is the position in `examples`."""
    lines = [[e["question"] + "\n"] + [s + "\n" for s in e["steps"]] for e in examples]
    questions = _encode_batch(tokenizer, [line[0] for line in lines], True)
    flat_steps = encode_after_line_break(
        tokenizer, [s for line in lines for s in line[1:]], [b for line in lines for b in line[:-1]]
    )
    answers = encode_after_line_break(
        tokenizer, [ANSWER_PREFIX + e["answer"] for e in examples], [line[-1] for line in lines]
    )
    eos = tokenizer.eos_token_id
    out, start = [], 0
    for i, example in enumerate(examples):
        n = len(example["steps"])
        out.append(TokenizedExample(i, questions[i], flat_steps[start : start + n], answers[i] + [eos]))
        start += n
    return out


def tokenize_example(example: dict, tokenizer, idx: int, check_concat: bool = True) -> TokenizedExample:
    """Tokenise one validated example; with `check_concat`, raise `TokenizationMismatchError`
    if its parts do not tokenise like its whole text."""
    tokenized = _tokenize([example], tokenizer)[0]
    tokenized.idx = idx
    if check_concat:
        whole = tokenizer.encode(_whole_text(example), add_special_tokens=True) + [tokenizer.eos_token_id]
        _check_concat(tokenized, whole, tokenizer)
    return tokenized


def special_texts(tokenizer) -> list[str]:
    """The text of every special token: ours (`<|latent|>`, ...) and the tokenizer's own (EOS,
    BOS, pad, unk, additional and added special tokens), longest first.

        >>> special_texts(AutoTokenizer.from_pretrained("gpt2"))
        ['<|start-latent|>', '<|end-latent|>', '<|endoftext|>', '<|latent|>', '<|pause|>']
    """
    texts = {START_LATENT, END_LATENT, LATENT, PAUSE, *getattr(tokenizer, "all_special_tokens", ())}
    added = getattr(tokenizer, "added_tokens_decoder", {}).values()  # e.g. a chat template's markers
    texts.update(t.content for t in added if t.special)
    return sorted((t for t in texts if t.strip()), key=lambda t: (-len(t), t))


def find_special_text(text: str, tokenizer) -> str | None:
    """The first special token (`special_texts`) written in `text`, or None."""
    match = _special_pattern(tokenizer).search(text)
    return match.group() if match else None


def _special_pattern(tokenizer) -> re.Pattern:
    return re.compile("|".join(re.escape(t) for t in special_texts(tokenizer)))


def _text_fields(example: dict) -> Iterator[tuple[str, str]]:
    """(field name, text) of every field that is tokenised: question, steps[j], answer."""
    yield "question", example["question"]
    for j, step in enumerate(example["steps"]):
        yield f"steps[{j}]", step
    yield "answer", example["answer"]


def check_no_special_text(examples: Sequence[dict], tokenizer, source: str) -> None:
    """Raise `InputError` naming `source`, the record and the field when a question, a step or
    an answer holds the text of a special token.

    One regular-expression search over all the text first (big files stay fast); the record
    is looked for only when there is a hit.
    """
    pattern = _special_pattern(tokenizer)
    # "\0" joins the fields: no special token holds it, so no match spans two fields.
    if not pattern.search("\0".join(text for e in examples for _, text in _text_fields(e))):
        return
    for i, example in enumerate(examples):
        for name, text in _text_fields(example):
            match = pattern.search(text)
            if match:
                raise InputError(
                    f"{source}: record {i}: field {name!r} holds {match.group()!r}, a special token of the "
                    "tokenizer; coconut-lm writes these itself, so data must not (remove or reword it)"
                )


def tokenize_examples(
    examples: Sequence[dict], tokenizer, check_concat: bool = True, strict: bool = True, source: str = "examples"
) -> list[TokenizedExample]:
    """Tokenise validated examples (batched); `idx` is the position in `examples`.

    A question, step or answer holding a special token's text is refused (`InputError` naming
    `source`, usually the file, the record and the field: `check_no_special_text`). With
    `check_concat`, every example is checked as in `tokenize_example`; a mismatch raises
    (`strict`) or logs one warning listing the offending examples.
    """
    check_no_special_text(examples, tokenizer, source)
    out = _tokenize(examples, tokenizer)
    eos = tokenizer.eos_token_id
    if check_concat:
        wholes = _encode_batch(tokenizer, [_whole_text(e) for e in examples], True)
        broken = []
        for tokenized, whole in zip(out, wholes):
            try:
                _check_concat(tokenized, whole + [eos], tokenizer)
            except TokenizationMismatchError as e:
                if strict:
                    raise
                broken.append((tokenized.idx, str(e)))
        if broken:
            log.warning(
                "%d example(s) tokenise differently in parts and whole (examples %s); first: %s",
                len(broken),
                [b[0] for b in broken[:20]],
                broken[0][1],
            )
    return out
