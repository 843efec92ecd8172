"""On a GPU: the Coconut path's bf16-autocast gradient is fp32's up to bf16 rounding.

The attention kernels that CUDA picks for bf16 differ from fp32's and from the CPU's; this is
where a kernel that mishandles the multi-pass layout (the KV cache, one-position passes, left
padding) would corrupt training. Real-model head size (64), lengths that vary across batches.
"""

from __future__ import annotations

import pytest
import torch
import transformers as tf
from torch.nn.attention import SDPBackend, sdpa_kernel

from coconut_lm.data.collate import collate
from coconut_lm.data.curriculum import Sequence
from coconut_lm.model.coconut import CoconutModel

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

VOCAB, BOT, EOT, LATENT, PAD = 512, 509, 510, 511, 0


def batch_of(lengths: list[int], thoughts: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    rows = []
    for n in lengths:
        question = torch.randint(1, BOT, (n,), generator=g).tolist()
        answer = torch.randint(1, BOT, (8,), generator=g).tolist()
        ids = question + [BOT] + [LATENT] * thoughts + [EOT] + answer
        rows.append(Sequence(ids, [-100] * (len(ids) - len(answer)) + answer))
    return {k: v.cuda() for k, v in collate(rows, PAD, LATENT).items()}


def gradient(model, batch, bf16: bool) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    if bf16:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
    else:
        with sdpa_kernel(SDPBackend.MATH):
            loss = model(**batch).loss
    loss.backward()
    return torch.cat([p.grad.flatten().float() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("seed", range(4))
def test_bf16_gradient_matches_fp32(seed):
    torch.manual_seed(0)
    config = tf.GPT2Config(n_layer=4, n_embd=256, n_head=4, vocab_size=VOCAB, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
    model = CoconutModel(tf.GPT2LMHeadModel(config), LATENT, BOT, EOT, PAD).cuda()
    lengths = torch.randint(150, 330, (16,), generator=torch.Generator().manual_seed(seed)).tolist()
    batch = batch_of(lengths, thoughts=6, seed=seed)
    reference, ours = gradient(model, batch, bf16=False), gradient(model, batch, bf16=True)
    assert torch.isfinite(ours).all()
    assert float((ours - reference).norm() / reference.norm()) < 0.05
