"""Tiny random causal LMs of several families, and a naive Coconut reference (test helpers)."""

from __future__ import annotations

import torch
import transformers as tf

from coconut_lm.model.coconut import CoconutModel, positions_from_mask

VOCAB = 64
BOT, EOT, LATENT, EOS = 60, 61, 62, 0

FAMILIES = {
    "gpt2": lambda: tf.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, bos_token_id=1, eos_token_id=EOS),
    # Eager attention: the additive-mask format of our prepared masks.
    "gpt2_eager": lambda: tf.GPT2Config(
        n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, bos_token_id=1, eos_token_id=EOS, attn_implementation="eager"
    ),
    "llama": lambda: tf.LlamaConfig(
        num_hidden_layers=2,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
        bos_token_id=1,
        eos_token_id=EOS,
        pad_token_id=EOS,
    ),
    "qwen2": lambda: tf.Qwen2Config(
        num_hidden_layers=2,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
        bos_token_id=1,
        eos_token_id=EOS,
        pad_token_id=EOS,
    ),
    # Mistral: sliding-window attention (a different mask and cache layout); a window shorter
    # than the test sequences so that it matters.
    "mistral": lambda: tf.MistralConfig(
        num_hidden_layers=2,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=1,
        vocab_size=VOCAB,
        sliding_window=12,
        bos_token_id=1,
        eos_token_id=EOS,
        pad_token_id=EOS,
    ),
}


def make_model(family: str = "gpt2", seed: int = 0) -> CoconutModel:
    torch.manual_seed(seed)
    base = tf.AutoModelForCausalLM.from_config(FAMILIES[family]()).eval()
    return CoconutModel(base, LATENT, BOT, EOT, EOS)


def left_pad(rows: list[list[int]], pad: int = EOS, align: list[int] | None = None):
    """Left-pad rows to one length; `align[i]` extra pads put row i's column `align` in place."""
    shift = align or [0] * len(rows)
    width = max(len(r) + s for r, s in zip(rows, shift))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r) - shift[i] : width - shift[i]] = torch.tensor(r)
        mask[i, width - len(r) - shift[i] : width - shift[i]] = 1
    return ids, mask


def naive_forward(model: CoconutModel, input_ids, attention_mask, detach_thoughts: bool = False):
    """Reference: recompute the whole sequence without a cache for every thought column."""
    position_ids = positions_from_mask(attention_mask)
    embeds = model.embed(input_ids)
    is_latent = input_ids == model.latent_token_id
    for col in is_latent.any(0).nonzero().flatten().tolist():
        out = model.base_model(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids, output_hidden_states=True
        )
        hidden = out.hidden_states[-1][:, col - 1]
        if model.rescale_thoughts:  # to the mean norm of the embedding rows
            mean_norm = model.base_model.get_input_embeddings().weight.detach().norm(dim=-1).mean()
            hidden = hidden * mean_norm / hidden.norm(dim=-1, keepdim=True)
        if detach_thoughts:
            hidden = hidden.detach()
        filled = torch.where(is_latent[:, col, None], hidden, embeds[:, col])
        embeds = torch.cat([embeds[:, :col], filled[:, None], embeds[:, col + 1 :]], dim=1)
    out = model.base_model(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids)
    return out.logits, embeds
