"""Decoded thoughts: the LM head on a thought gives the model's own logits at the position
before it, and the norms are those of the embeddings fed in."""

from __future__ import annotations

import torch

from coconut_lm.analysis.checkpoint_io import load_analysis_model
from coconut_lm.analysis.thoughts import analyze_thoughts, decode_thoughts, thought_vectors
from coconut_lm.data.collate import collate_prompts


@torch.no_grad()
def test_decoded_thoughts_match_model_logits(analysis_model, prosqa_records) -> None:
    am = analysis_model
    k = 3
    prompts = [am.forced_prompt(am.tokenizer.encode(r["question"] + "\n"), k) for r in prosqa_records[:3]]
    thoughts = thought_vectors(am, prompts)  # (B, K, H)
    assert thoughts.shape[:2] == (3, k)
    batch = collate_prompts(prompts, am.ids.pad)
    out = am.model(batch["input_ids"], batch["attention_mask"])
    columns = (batch["input_ids"][0] == am.ids.latent).nonzero().flatten()  # (K,) same in every row
    torch.testing.assert_close(thoughts, out.inputs_embeds[:, columns])
    decoded = decode_thoughts(am.model, thoughts.reshape(-1, thoughts.shape[-1]), top_k=4)
    probs = out.logits[:, columns - 1].softmax(-1).reshape(-1, out.logits.shape[-1])  # (B*K, V)
    top_probs, top_ids = probs.topk(4, dim=-1)
    torch.testing.assert_close(decoded["probs"], top_probs, rtol=1e-4, atol=1e-6)
    assert torch.equal(decoded["token_ids"], top_ids)
    torch.testing.assert_close(decoded["norms"], thoughts.reshape(-1, thoughts.shape[-1]).norm(dim=-1))
    emb = am.model.base_model.get_input_embeddings().weight
    best = torch.nn.functional.cosine_similarity(thoughts[0, 0][None], emb).argmax()
    assert int(decoded["nearest_ids"][0, 0]) == int(best)


def test_analyze_thoughts_report(analysis_model, prosqa_records) -> None:
    report = analyze_thoughts(analysis_model, prosqa_records[:3], num_thoughts=2, top_k=3, batch_size=2)
    assert [q["idx"] for q in report.questions] == [0, 1, 2]
    assert all(len(q["thoughts"]) == 2 and len(q["thoughts"][0]["top_tokens"]) == 3 for q in report.questions)
    assert len(report.norms()) == 2 and report.embedding_norms["mean"] > 0


def test_run_folder_config_is_read(tiny_checkpoint, tmp_path) -> None:
    """A trainer checkpoint (coconut_config.yaml inside) gives the method and its thought count."""
    import shutil

    from coconut_lm.run.config import config_from_dict

    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint["checkpoint"], folder)
    cfg = config_from_dict({"method": "no_cot", "curriculum": {"max_latent_stage": 3, "c_thought": 2}})
    (folder / "coconut_config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    am = load_analysis_model(folder)
    assert (am.method.value, am.markers, am.max_thoughts, am.slot_id) == ("no_cot", False, 0, None)
    cfg = config_from_dict({"method": "coconut", "curriculum": {"max_latent_stage": 3, "c_thought": 2}})
    (folder / "coconut_config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    am = load_analysis_model(folder)
    assert (am.method.value, am.markers, am.max_thoughts) == ("coconut", True, 6)
    assert am.forced_prompt([5, 6], 2) == [5, 6, am.ids.start_latent, am.ids.latent, am.ids.latent, am.ids.end_latent]
