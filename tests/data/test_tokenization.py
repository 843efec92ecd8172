"""Tokenisation in the official format, the special tokens and their embedding init."""

from __future__ import annotations

import logging
import re

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from coconut_lm.constants import END_LATENT, LATENT, PAUSE, START_LATENT
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import (
    TokenizationMismatchError,
    TokenizedExample,
    add_special_tokens,
    find_special_text,
    init_new_token_embeddings,
    special_texts,
    tokenize_example,
    tokenize_examples,
)
from coconut_lm.errors import InputError
from tests.paths import DATA, FIXTURES, require

EXAMPLE = {"question": "Is Tom a wumpus?", "steps": ["Tom is a rempus.", "Every rempus is a wumpus."], "answer": "Yes."}


@pytest.fixture(scope="module")
def official_tokenizer():
    return AutoTokenizer.from_pretrained(require(FIXTURES / "tokenizer"))


def word_tokenizer():
    """A tiny tokenizer without the latent tokens and without a pad token."""
    vocab = {w: i for i, w in enumerate(["<eos>", "[UNK]", "a", "b", "<<"])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>")


class MergingTokenizer:
    """Characters as tokens, except that "\\nE" is one token: parts and whole then differ."""

    eos_token_id = 0

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        out, i = [], 0
        while i < len(text):
            if text.startswith("\nE", i):
                out.append(999)
                i += 2
            else:
                out.append(ord(text[i]))
                i += 1
        return out

    def __call__(self, texts: list[str], add_special_tokens: bool = True) -> dict:
        return {"input_ids": [self.encode(t, add_special_tokens) for t in texts]}

    def decode(self, ids: list[int]) -> str:
        return "".join("\nE" if i == 999 else chr(i) for i in ids)


def test_official_format(official_tokenizer):
    tok = official_tokenizer
    ex = tokenize_example(EXAMPLE, tok, idx=7)
    assert ex.idx == 7
    assert ex.question == tok.encode("Is Tom a wumpus?\n")
    assert ex.steps == [tok.encode("Tom is a rempus.\n"), tok.encode("Every rempus is a wumpus.\n")]
    assert ex.answer == tok.encode("### Yes.") + [tok.eos_token_id]
    whole = "Is Tom a wumpus?\nTom is a rempus.\nEvery rempus is a wumpus.\n### Yes."
    assert ex.question + ex.steps[0] + ex.steps[1] + ex.answer == tok.encode(whole) + [0]


def test_batched_equals_one_at_a_time(official_tokenizer):
    examples = load_examples(require(DATA / "prosqa" / "valid.json"))[:25] + [dict(EXAMPLE, steps=[])]
    batched = tokenize_examples(examples, official_tokenizer)
    assert batched == [tokenize_example(e, official_tokenizer, i) for i, e in enumerate(examples)]


def test_mismatch_is_an_error_naming_the_example():
    tok = MergingTokenizer()
    with pytest.raises(TokenizationMismatchError, match=r"example 3: .*first difference at token") as err:
        tokenize_example(EXAMPLE, tok, idx=3)
    assert "merges the line break with the text beside it into '\\nE'" in str(err.value)  # the cause
    assert tokenize_example(EXAMPLE, tok, idx=3, check_concat=False).answer[-1] == 0
    with pytest.raises(TokenizationMismatchError, match=r"example 1:"):
        tokenize_examples([dict(EXAMPLE, steps=[]), EXAMPLE], tok)


def test_mismatch_can_be_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        out = tokenize_examples([dict(EXAMPLE, steps=[]), EXAMPLE, EXAMPLE], MergingTokenizer(), strict=False)
    assert len(out) == 3
    assert "2 example(s) tokenise differently" in caplog.text and "[1, 2]" in caplog.text


def test_add_special_tokens_in_order_with_pad_as_eos():
    tok = word_tokenizer()
    n = len(tok)
    ids = add_special_tokens(tok, with_pause=True)
    assert (ids.start_latent, ids.end_latent, ids.latent, ids.pause) == (n, n + 1, n + 2, n + 3)
    assert ids.pad == ids.eos == tok.eos_token_id == tok.pad_token_id
    assert tok.convert_tokens_to_ids([START_LATENT, END_LATENT, LATENT, PAUSE]) == [n, n + 1, n + 2, n + 3]
    assert tok.encode(f"a {LATENT} b", add_special_tokens=False) == [2, n + 2, 3]
    assert add_special_tokens(tok, with_pause=True) == ids  # idempotent
    assert len(tok) == n + 4


def test_add_special_tokens_keeps_existing_ids_and_pad(official_tokenizer):
    ids = add_special_tokens(official_tokenizer)
    assert (ids.start_latent, ids.end_latent, ids.latent, ids.eos, ids.pad, ids.pause) == (3000, 3001, 3002, 0, 0, None)
    assert len(official_tokenizer) == 3003
    tok = word_tokenizer()
    tok.add_special_tokens({"pad_token": "[UNK]"})
    assert add_special_tokens(tok).pad == 1


def tiny_models(vocab_size: int):
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_layer=1, n_embd=16, n_head=2, n_positions=32))
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            tie_word_embeddings=False,
        )
    )
    return gpt2, llama


def test_init_new_token_embeddings_copies_init_token(official_tokenizer):
    torch.manual_seed(0)
    source = official_tokenizer.convert_tokens_to_ids("<<")
    new = [3000, 3001, 3002]
    for model in tiny_models(3000):
        head_before = model.get_output_embeddings().weight[:3000].clone()
        init_new_token_embeddings(model, official_tokenizer, new)
        emb, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
        assert emb.shape[0] == head.shape[0] == 3003
        assert torch.equal(emb[new], emb[source].expand(3, -1))
        assert torch.equal(head[new], head[source].expand(3, -1))
        assert torch.equal(head[:3000], head_before)  # old rows untouched


def test_init_falls_back_to_the_mean_with_a_note(caplog):
    tok = word_tokenizer()
    ids = add_special_tokens(tok)
    _, llama = tiny_models(len(tok) - 3)
    old_emb = llama.get_input_embeddings().weight[:5].clone()
    old_head = llama.get_output_embeddings().weight[:5].clone()
    with caplog.at_level(logging.WARNING):
        init_new_token_embeddings(llama, tok, [ids.latent], init_token="@@ not a token")
    assert "mean" in caplog.text
    torch.testing.assert_close(llama.get_input_embeddings().weight[ids.latent], old_emb.mean(0))
    torch.testing.assert_close(llama.get_output_embeddings().weight[ids.latent], old_head.mean(0))


def test_init_never_shrinks_a_padded_vocabulary():
    tok = word_tokenizer()
    ids = add_special_tokens(tok)
    gpt2, _ = tiny_models(64)
    init_new_token_embeddings(gpt2, tok, [ids.start_latent, ids.end_latent, ids.latent])
    weight = gpt2.get_input_embeddings().weight
    assert weight.shape[0] == 64
    assert torch.equal(weight[ids.latent], weight[tok.convert_tokens_to_ids("<<")])


def test_tokenized_example_fields():
    ex = TokenizedExample(idx=0, question=[1], steps=[[2]], answer=[3, 0])
    assert (ex.idx, ex.question, ex.steps, ex.answer) == (0, [1], [[2]], [3, 0])


def test_special_texts_are_ours_and_the_tokenizers():
    tok = word_tokenizer()
    tok.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<tool>"]})
    assert set(special_texts(tok)) == {START_LATENT, END_LATENT, LATENT, PAUSE, "<eos>", "<pad>", "<tool>"}
    assert find_special_text("a <tool> b", tok) == "<tool>" and find_special_text("a tool b", tok) is None


@pytest.mark.parametrize(
    "field, text, token",
    [
        ("question", f"{LATENT}Is Tom a wumpus?", LATENT),  # at the start: once a traceback in training
        ("question", f"Is Tom {LATENT} a wumpus {LATENT}?", LATENT),
        ("steps[1]", f"Every rempus is a {START_LATENT}.", START_LATENT),
        ("answer", "Tom is a <|endoftext|> wumpus.", "<|endoftext|>"),  # the EOS text, once an EOS mid-target
        ("answer", f"Yes.{PAUSE}", PAUSE),
    ],
)
def test_special_token_text_in_a_record_is_refused(official_tokenizer, field, text, token):
    bad = dict(EXAMPLE, steps=list(EXAMPLE["steps"]))
    if field.startswith("steps"):
        bad["steps"][1] = text
    else:
        bad[field] = text
    expected = f"data.json: record 2: field '{field}' holds '{token}', a special token of the tokenizer"
    with pytest.raises(InputError, match=re.escape(expected)):
        tokenize_examples([EXAMPLE, EXAMPLE, bad, EXAMPLE], official_tokenizer, source="data.json")


def test_special_texts_split_across_fields_are_not_a_hit(official_tokenizer):
    # The fast path searches all fields at once: a token's halves in two fields must not match.
    example = {"question": "Is Tom <|end", "steps": ["oftext|> a wumpus?"], "answer": "Yes."}
    assert len(tokenize_examples([example], official_tokenizer, check_concat=False)) == 1
