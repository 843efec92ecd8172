"""Our forward and generate reproduce the official implementation's outputs (fp32, CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.paths import FIXTURES, require

FORWARD_CASES = sorted(p.name for p in (FIXTURES / "forward").iterdir()) if FIXTURES.exists() else ["absent"]


def load_model(model_dir: Path, expected: dict):
    from transformers import AutoModelForCausalLM

    from coconut_lm.model.coconut import CoconutModel

    base = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    return CoconutModel(
        base, expected["latent_id"], expected["start_latent_id"], expected["end_latent_id"], expected["eos_token_id"]
    )


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_forward_matches_official(case):
    from safetensors.torch import load_file

    case_dir = require(FIXTURES / "forward" / case)
    expected = json.loads((case_dir / "expected.json").read_text())
    batch = load_file(case_dir / "batch.safetensors")
    tensors = load_file(case_dir / "expected.safetensors")
    model = load_model(FIXTURES / expected["model_dir"], expected)
    with torch.no_grad():
        out = model(
            batch["input_ids"], batch["attention_mask"], labels=batch["labels"], position_ids=batch["position_ids"]
        )
    assert abs(out.loss.item() - expected["loss"]) < 1e-5
    assert out.num_forward_passes == max(expected["thoughts_per_row"]) + 1
    torch.testing.assert_close(out.inputs_embeds, tensors["inputs_embeds"], atol=1e-4, rtol=0)
    # Padding positions attend to nothing; their logits are implementation-defined and unused.
    keep = batch["attention_mask"].bool()
    torch.testing.assert_close(out.logits[..., :32][keep], tensors["logits_first32"][keep], atol=1e-4, rtol=0)
    torch.testing.assert_close(out.logits.logsumexp(-1)[keep], tensors["logsumexp"][keep], atol=1e-4, rtol=0)


def test_generate_matches_official():
    fixture = json.loads(require(FIXTURES / "generate" / "gpt2.json").read_text())
    ids = {"latent_id": 3002, "start_latent_id": 3000, "end_latent_id": 3001, "eos_token_id": 0}
    model = load_model(FIXTURES / fixture["model_dir"], ids)
    prompts = [r["prompt"] for r in fixture["results"]]
    width = max(map(len, prompts))
    input_ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    batched = model.generate(input_ids, mask, max_new_tokens=fixture["max_new_tokens"])
    for i, r in enumerate(fixture["results"]):
        want = r["output"][len(r["prompt"]) :]
        want = want[: want.index(0) + 1] if 0 in want else want
        single = model.generate(torch.tensor([r["prompt"]]), max_new_tokens=fixture["max_new_tokens"])
        assert single[0, len(r["prompt"]) :].tolist()[: len(want)] == want
        assert batched[i, width:].tolist()[: len(want)] == want
