"""`coconut-lm bench`: the cost of continuous thoughts, measured side by side in one process.

Three comparisons on the same random model and the same token sequences:
- training step (forward + backward): `CoconutModel` against one plain forward + backward of the
  base model over the same tokens (the thoughts read as ordinary tokens); the floor is ~1.0x,
  since thoughts add no positions, only k extra one-position passes on the KV cache;
- batched greedy generation throughput: `CoconutModel.generate` against plain `transformers`
  `generate` of the base model on prompts of the same lengths (thoughts replaced by ordinary
  tokens), and against the official code's way (batch 1, the whole sequence recomputed for
  every new token) on one prompt;
- activation memory of the training step (bytes saved for backward; on CUDA, peak allocated).
Timings are medians over repeats with the two sides interleaved, so machine noise hits both.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from typing import Literal

import torch

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.collate import collate, collate_prompts
from coconut_lm.data.curriculum import Sequence
from coconut_lm.model.coconut import CoconutModel, next_token_loss
from coconut_lm.options import Int, doc, settings

# Token ids of the synthetic vocabulary: 0 pads; the last three are <bot>, <eot>, <latent>.
PAD = 0

PRESETS = {
    "default": {},
    # GPT-2 small (124M): where a real run's compute dominates.
    "gpt2": {"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50257, "batch_size": 32},
    # Overhead-bound: every pass costs its per-call overhead and almost no compute.
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 32, "batch_size": 4, "min_question": 40, "max_question": 60},
}
"""Named shapes (`--preset`); flags given explicitly override them."""


@settings
class BenchConfig:
    """The benchmark's shape (defaults: the `default` preset)."""

    n_layer: Int = doc(4, "Transformer layers of the random GPT-2.")
    n_head: Int = doc(4, "Attention heads.")
    n_embd: Int = doc(256, "Width.")
    vocab_size: Int = doc(1000, "Vocabulary (the last three ids are `<bot>`, `<eot>`, `<latent>`).")
    batch_size: Int = doc(16, "Sequences per batch (training and generation).")
    min_question: Int = doc(250, "Shortest question, in tokens.")
    max_question: Int = doc(330, "Longest question, in tokens.")
    num_thoughts: Int = doc(6, "Continuous thoughts per sequence.")
    answer_tokens: Int = doc(10, "Answer tokens after `<eot>` in a training sequence.")
    new_tokens: Int = doc(16, "Tokens generated per prompt.")
    repeats: Int = doc(5, "Timed repeats of each measurement (after one warm-up).")
    threads: Int = doc(2, "`torch.set_num_threads`.")
    seed: Int = doc(0, "Seed of the model and the token sequences.")
    device: str = doc("cpu", "Where to run ('cpu' or 'cuda').")
    thought_update: Literal["sequential", "jacobi"] = doc(
        "sequential", "How thoughts are computed (`thoughts.update`)."
    )
    iterations: Int = doc(3, "Jacobi iterations (`thoughts.iterations`, with thought_update jacobi).")
    preset: str = doc("default", "The shape's name (see `PRESETS`), recorded with the results.")


def random_model(cfg: BenchConfig):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(cfg.seed)
    config = GPT2Config(
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        vocab_size=cfg.vocab_size,
        n_positions=1024,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=PAD,
        eos_token_id=PAD,
    )
    base = GPT2LMHeadModel(config).to(cfg.device)
    bot, eot, latent = cfg.vocab_size - 3, cfg.vocab_size - 2, cfg.vocab_size - 1
    # EOS = -1 never matches: every row decodes exactly `new_tokens` tokens on both sides.
    model = CoconutModel(base, latent, bot, eot, eos_token_id=-1)
    model.thought_update, model.jacobi_iterations = cfg.thought_update, cfg.iterations
    return model


def make_sequences(cfg: BenchConfig, model, with_answer: bool) -> list[list[int]]:
    g = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for _ in range(cfg.batch_size):
        n = int(torch.randint(cfg.min_question, cfg.max_question + 1, (1,), generator=g))
        question = torch.randint(1, cfg.vocab_size - 3, (n,), generator=g).tolist()
        thoughts = [model.start_latent_id] + [model.latent_token_id] * cfg.num_thoughts + [model.end_latent_id]
        answer = torch.randint(1, cfg.vocab_size - 3, (cfg.answer_tokens,), generator=g).tolist() if with_answer else []
        rows.append(question + thoughts + answer)
    return rows


def training_batch(rows: list[list[int]], model, device: str) -> dict[str, torch.Tensor]:
    """The official layout (first thoughts aligned), labels on the answer after `<eot>`."""

    sequences = []
    for r in rows:
        answer_start = r.index(model.end_latent_id) + 1
        sequences.append(Sequence(r, [IGNORE_INDEX] * answer_start + r[answer_start:]))
    return {k: v.to(device) for k, v in collate(sequences, PAD, model.latent_token_id).items()}


def prompt_batch(rows: list[list[int]], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompts (ends aligned), as `generate` takes them."""

    batch = collate_prompts(rows, PAD)
    return batch["input_ids"].to(device), batch["attention_mask"].to(device)


def timed(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def side_by_side(fns: dict, repeats: int, device: str) -> dict[str, float]:
    """Median seconds of each function, after a warm-up, the functions interleaved."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, device))
    return {name: statistics.median(t) for name, t in times.items()}


def saved_activation_bytes(fn) -> int:
    """Bytes of the distinct tensors autograd saves for backward during `fn()`."""
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def peak_memory(fn, device: str) -> int:
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        fn()
        return torch.cuda.max_memory_allocated()
    return saved_activation_bytes(fn)


def bench_training(cfg: BenchConfig, model) -> dict:
    batch = training_batch(make_sequences(cfg, model, with_answer=True), model, cfg.device)
    base = model.base_model

    def coconut_step():
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()

    def plain_step():
        base.zero_grad(set_to_none=True)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        next_token_loss(base(**inputs).logits, batch["labels"]).backward()

    model.train()
    seconds = side_by_side({"coconut": coconut_step, "plain": plain_step}, cfg.repeats, cfg.device)
    memory = {"coconut": peak_memory(coconut_step, cfg.device), "plain": peak_memory(plain_step, cfg.device)}
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        passes = model(**batch).num_forward_passes
    return {
        "tokens": int(batch["attention_mask"].sum()),
        "passes": passes,
        "coconut_s": seconds["coconut"],
        "plain_s": seconds["plain"],
        "ratio": seconds["coconut"] / seconds["plain"],
        # What each thought pass adds to a step that has the same tokens without thoughts.
        "thought_pass_ms": 1000 * (seconds["coconut"] - seconds["plain"]) / max(passes - 1, 1),
        "coconut_bytes": memory["coconut"],
        "plain_bytes": memory["plain"],
        "memory_ratio": memory["coconut"] / memory["plain"],
    }


def bench_generation(cfg: BenchConfig, model) -> dict:
    model.eval()
    rows = make_sequences(cfg, model, with_answer=False)
    ids, mask = prompt_batch(rows, cfg.device)
    # Plain: the same lengths, thoughts replaced by ordinary tokens.
    plain_ids = torch.where(ids >= cfg.vocab_size - 3, torch.full_like(ids, 7), ids)
    n = cfg.new_tokens
    base = model.base_model

    def ours():
        model.generate(ids, mask, max_new_tokens=n)

    def plain():
        base.generate(
            input_ids=plain_ids,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=PAD,
        )

    def official_style():
        # The official generate: batch 1, the whole multi-pass forward again for every token.
        seq = torch.tensor([rows[0]], device=cfg.device)
        for _ in range(n):
            token = model(seq).logits[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, token], dim=1)

    with torch.no_grad():
        seconds = side_by_side({"coconut": ours, "plain": plain}, cfg.repeats, cfg.device)
        official = side_by_side({"official": official_style}, max(1, cfg.repeats // 2), cfg.device)["official"]
    tokens = cfg.batch_size * n
    return {
        "new_tokens": tokens,
        "coconut_tok_s": tokens / seconds["coconut"],
        "plain_tok_s": tokens / seconds["plain"],
        "ratio": seconds["plain"] / seconds["coconut"],
        "official_style_tok_s": n / official,
    }


def run_bench(cfg: BenchConfig) -> dict:
    """Run every measurement; returns one JSON-serialisable dict."""
    torch.set_num_threads(cfg.threads)
    model = random_model(cfg)
    return {
        "config": asdict(cfg),
        "torch": torch.__version__,
        "training": bench_training(cfg, model),
        "generation": bench_generation(cfg, model),
    }


def format_table(result: dict) -> str:
    t, g, c = result["training"], result["generation"], result["config"]
    mib = 2**20
    shape = (
        f"preset {c['preset']}: "
        f"GPT-2 {c['n_layer']}L/{c['n_head']}H/{c['n_embd']}d, vocab {c['vocab_size']}, batch {c['batch_size']}, "
        f"questions {c['min_question']}-{c['max_question']} tokens, {c['num_thoughts']} thoughts "
        f"({c['thought_update']}{', T=' + str(c['iterations']) if c['thought_update'] == 'jacobi' else ''}), "
        f"{c['threads']} threads, {c['device']}"
    )
    lines = [
        shape,
        "",
        "| measurement | Coconut | plain HF | ratio |",
        "|---|---|---|---|",
        f"| training step, fwd+bwd (s) | {t['coconut_s']:.4f} | {t['plain_s']:.4f} | {t['ratio']:.2f}x |",
        f"| added per thought pass (ms) | {t['thought_pass_ms']:.2f} | | |",
        f"| training step memory (MiB) | {t['coconut_bytes'] / mib:.0f} | {t['plain_bytes'] / mib:.0f} "
        f"| {t['memory_ratio']:.2f}x |",
        f"| batched generate (new tok/s) | {g['coconut_tok_s']:.0f} | {g['plain_tok_s']:.0f} | {g['ratio']:.2f}x |",
        f"| official-style generate, batch 1 (tok/s) | {g['official_style_tok_s']:.0f} | | |",
    ]
    return "\n".join(lines)
