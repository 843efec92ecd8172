"""Every tokenizer family through the data pipeline, each trained here on toy data (no download).

Byte-level BPE (GPT-2, Llama-3, Qwen2) encodes a step on its own as inside the whole text; the
SentencePiece-style tokenizers of Llama-2, Mistral and TinyLlama prepend `▁` to each text (the
Metaspace pre-tokenizer with `prepend_scheme` first or always, or the legacy `Prepend` normalizer;
BPE or Unigram); Gemma's write `▁` for a space but prepend none. For each: the parts of an example
are the tokens of its whole text, the training sequences decode to the text, and a tiny Llama
trains, evaluates and generates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from coconut_lm.constants import ANSWER_PREFIX, END_LATENT, START_LATENT
from coconut_lm.data import tokenization
from coconut_lm.data.methods import CurriculumConfig
from coconut_lm.data.render import render_rows
from coconut_lm.data.tokenization import (
    TokenizationMismatchError,
    encode_after_line_break,
    tokenize_examples,
    tokenizer_family,
)
from coconut_lm.data.tokenizer_training import record_text, train_tokenizer
from tests.train.toy import CONCEPTS, NAMES, tiny_config, toy_examples, write_data

PREPENDED_BPE = "SentencePiece-style BPE (▁ for a space, prepended to each text)"
FAMILIES = {  # name: (train_tokenizer arguments, vocabulary size, BOS id, tokenizer_family)
    "byte-bpe": ({"family": "byte-bpe"}, 320, None, "byte-level BPE"),
    "llama": ({"family": "llama"}, 400, 1, PREPENDED_BPE),
    "llama-always": ({"family": "llama", "prepend_scheme": "always"}, 400, 1, PREPENDED_BPE),
    "llama-legacy": ({"family": "llama"}, 400, 1, PREPENDED_BPE),  # then `_legacy_llama`
    "unigram": ({"family": "unigram"}, 400, 1, "SentencePiece-style Unigram (▁ for a space, prepended to each text)"),
    "gemma": ({"family": "gemma"}, 400, 2, "SentencePiece-style BPE (▁ for a space)"),
}
PREPENDING = {"llama", "llama-always", "llama-legacy", "unigram"}
"""The families that prepend `▁` to each text they encode."""

EDGE_CASES = [
    {"question": "Is Tom a wumpus?", "steps": [], "answer": "Yes."},
    {"question": "How many? 12 + 30", "steps": ["12 + 30 = 42", " Tom counts 42."], "answer": "42"},
]


def _legacy_llama(folder: Path) -> None:
    """Llama-2's tokenizer.json as published: a `Prepend("▁")` normalizer, no pre-tokenizer."""
    path = folder / "tokenizer.json"
    spec = json.loads(path.read_text())
    spec["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ],
    }
    spec["pre_tokenizer"] = None
    path.write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def tokenizer_dirs(tmp_path_factory) -> dict[str, Path]:
    texts = [record_text(e) for e in toy_examples(200, 7)] + ["### " + " ".join(NAMES + CONCEPTS)]
    dirs = {}
    for name, (kwargs, vocab_size, _, _) in FAMILIES.items():
        dirs[name] = train_tokenizer(texts, vocab_size, tmp_path_factory.mktemp(name), **kwargs)
        if name == "llama-legacy":
            _legacy_llama(dirs[name])
    return dirs


@pytest.fixture(params=list(FAMILIES))
def family(request, tokenizer_dirs):
    """(name, a freshly loaded tokenizer, its folder)."""
    return request.param, AutoTokenizer.from_pretrained(tokenizer_dirs[request.param]), tokenizer_dirs[request.param]


def whole_text(example: dict) -> str:
    return example["question"] + "\n" + "".join(s + "\n" for s in example["steps"]) + ANSWER_PREFIX + example["answer"]


def test_each_family_is_built_as_its_models(family):
    name, tok, _ = family
    _, _, bos, words = FAMILIES[name]
    assert tokenizer_family(tok) == words
    legacy = tok.backend_tokenizer.pre_tokenizer is None and "Prepend" in str(tok.backend_tokenizer.normalizer)
    assert legacy == (name == "llama-legacy")
    ids = tok.encode("Tom is a wumpus.")
    assert ids[0] == bos if bos is not None else tok.convert_ids_to_tokens(ids[0]) == "Tom"
    first = tok.convert_ids_to_tokens(tok.encode("Tom", add_special_tokens=False))[0]
    assert first.startswith("▁") == (name in PREPENDING)
    text = record_text(EDGE_CASES[1]) + " ünï 🥥"  # bytes outside the vocabulary: byte fallback
    assert tok.decode(tok.encode(text), skip_special_tokens=True) == text


def test_parts_are_the_tokens_of_the_whole(family):
    name, tok, _ = family
    examples = toy_examples(30, 1) + EDGE_CASES
    for ex, example in zip(tokenize_examples(examples, tok), examples):  # checks parts == whole itself
        parts = ex.question + [t for step in ex.steps for t in step] + ex.answer
        assert parts == tok.encode(whole_text(example)) + [tok.eos_token_id]
        alone = [tok.encode(s + "\n", add_special_tokens=False) for s in example["steps"]]
        if name in PREPENDING:  # "Tom ..." after a line break, not "▁Tom ..."
            for step, ids, ids_alone in zip(example["steps"], ex.steps, alone):
                assert tok.convert_ids_to_tokens(ids[0]).startswith("▁") == step.startswith(" ")
                assert ids != ids_alone or step.startswith(" ")  # (with `Prepend`, " Tom" alone is "▁▁Tom")
        else:  # encoded on their own, as the official code does
            assert ex.steps == alone
            assert ex.answer == tok.encode(ANSWER_PREFIX + example["answer"], add_special_tokens=False) + [
                tok.eos_token_id
            ]


def test_training_sequences_and_prompts_are_the_text(family):
    _, tok, _ = family
    examples = toy_examples(12, 3) + EDGE_CASES[1:]
    options = CurriculumConfig(c_thought=1, max_latent_stage=2)
    for ex, row in zip(examples, render_rows(examples, tok, "cot", 0, options)):
        assert row["input_ids"] == tok.encode(whole_text(ex)) + [tok.eos_token_id]
        assert tok.decode(row["input_ids"], skip_special_tokens=True) == whole_text(ex)
    sequences = render_rows(examples, tok, "coconut", 1, options)
    prompts = render_rows(examples, tok, "coconut", 1, options, prompts=True)
    start, end = tok.convert_tokens_to_ids([START_LATENT, END_LATENT])
    for ex, row, prompt in zip(examples, sequences, prompts):
        ids = row["input_ids"]
        cut = ids.index(end) + 1
        assert prompt["input_ids"] == ids[:cut]  # inference is prompted as training saw it
        rest = "".join(s + "\n" for s in ex["steps"][1:]) + ANSWER_PREFIX + ex["answer"]
        text = tok.decode(ids[: ids.index(start)] + ids[cut:], skip_special_tokens=True)
        assert text == ex["question"] + "\n" + rest  # the thoughts aside, the text: no space before a step


def merging_metaspace_tokenizer() -> PreTrainedTokenizerFast:
    """Llama-2-like (a `▁` prepended), but "\\nE" is one token: it spans a step boundary."""
    chars = sorted(set("▁\n?.#" + "".join(record_text(e) for e in toy_examples(20, 0))) - {" "})
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{c: i + 3 for i, c in enumerate(chars)}, "\nE": len(chars) + 3}
    backend = Tokenizer(models.BPE(vocab, [("\n", "E")], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace("▁", prepend_scheme="first", split=False)
    backend.decoder = decoders.Metaspace("▁", prepend_scheme="first", split=False)
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


def test_a_real_merge_is_named():
    example = {"question": "Is Tom a wumpus?", "steps": ["Every rempus is a wumpus."], "answer": "Yes."}
    expected = "SentencePiece-style BPE (▁ for a space, prepended to each text) tokenizer merges the line break"
    with pytest.raises(TokenizationMismatchError, match=re.escape(expected) + r" with the text beside it into '\\nE'"):
        tokenize_examples([example], merging_metaspace_tokenizer())


def test_a_prefix_is_named_as_such(monkeypatch, tokenizer_dirs):
    """Encoded the official way (each part on its own), a Llama-2-like tokenizer starts every
    step with a `▁` the text lacks: the error says so (it once said "merges across '\\n'")."""
    tok = AutoTokenizer.from_pretrained(tokenizer_dirs["llama"])
    monkeypatch.setattr(tokenization, "_prefixes_each_text", lambda tokenizer: False)
    with pytest.raises(TokenizationMismatchError) as err:
        tokenize_examples(toy_examples(3, 0), tok)
    assert re.search(r"starts a text encoded on its own with a space \('▁\w+'\) the text lacks", str(err.value))
    assert "merges" not in str(err.value)


def test_encode_after_line_break_is_the_official_encoding_for_byte_level(tokenizer_dirs):
    tok = AutoTokenizer.from_pretrained(tokenizer_dirs["byte-bpe"])
    texts = ["Every wumpus is a yumpus.\n", "\n", " Tom\n", ANSWER_PREFIX + "42"]
    assert encode_after_line_break(tok, texts) == [tok.encode(t, add_special_tokens=False) for t in texts]


def test_train_eval_generate_with_a_tiny_llama(family, tmp_path):
    """2 stages x 1 epoch of Coconut on a 2-layer Llama, then `load(run)`: evaluate and generate."""
    import coconut_lm
    from coconut_lm.run.config import config_from_dict
    from coconut_lm.train.trainer import train

    name, _, folder = family
    train_path, val_path = write_data(tmp_path / "data", n_train=8, n_val=4)
    llama = {
        "model_type": "llama",
        "num_hidden_layers": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
    }
    cfg = tiny_config(tmp_path, folder, train_path, val_path, evaluation={"max_new_tokens": 6})
    cfg["model"]["from_config"] = llama
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the model is tiny
    try:
        train(config_from_dict(cfg))
        rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
        losses = [r["train/loss"] for r in rows if "train/loss" in r]
        assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
        model = coconut_lm.load(str(tmp_path / "run"), device="cpu")
        assert tokenizer_family(model.tokenizer) == FAMILIES[name][3]  # the checkpoint keeps the family
        result = model.evaluate(str(val_path))
        assert result.num_questions == 4 and 0.0 <= result.accuracy <= 1.0
        assert len(result.predictions) == 4
        question = json.loads(val_path.read_text())[0]["question"]
        out = model.generate(question, max_new_tokens=4)[0]
        assert out.num_thoughts == 1 and isinstance(out.text, str)
        prompt = model.prompt(question)
        assert prompt[: len(model.tokenizer.encode(question + "\n"))] == model.tokenizer.encode(question + "\n")
        assert model.tokenizer.decode(prompt, skip_special_tokens=True).startswith(question + "\n")
    finally:
        torch.set_num_threads(threads)
