"""How far bf16-autocast gradients of the Coconut path are from fp32, per attention kernel and
KV-cache layout, on real stage-k batches (a diagnosis for `scripts/check_gpu.sh`).

    python scripts/bf16_gradient_probe.py CONFIG.yaml [--device cuda] [--batches 4] [--json OUT]

For each of a few training batches of the config's last stage it computes the gradient of the
loss in fp32 with the math attention kernel (the reference), then in bf16 autocast with each
attention kernel the device offers (default choice, math, memory-efficient, flash, cuDNN) and
with each KV-cache layout (`whole`: attention sees the whole preallocated buffer, the default on
CUDA; `prefix`: the columns written so far). It prints the relative
error of the whole gradient. Honest bf16 rounding gives about 1e-2; a kernel that mishandles a
layout shows up as a much larger error in one row of the table. Dropout is off.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from coconut_lm.data.batching import load_split, plan_epoch
from coconut_lm.data.collate import collate
from coconut_lm.run.build import build_model
from coconut_lm.run.config import load_config

KERNELS = {
    "default": None,
    "math": SDPBackend.MATH,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
}


def gradient(model, batch, bf16: bool, kernel, device: str) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    precision = torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    chosen = sdpa_kernel(kernel) if kernel is not None else contextlib.nullcontext()
    with precision, chosen:
        loss = model(**batch).loss
    loss.backward()
    return torch.cat([p.grad.flatten().float() for p in model.parameters() if p.grad is not None])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--json", help="also write the table here")
    args = parser.parse_args()

    cfg = load_config(args.config)
    torch.manual_seed(cfg.training.seed)
    bundle = build_model(cfg)
    model = bundle.model.to(args.device).eval()  # eval: no dropout, so runs are comparable
    split = load_split(cfg.data.train_path, bundle.tokenizer)
    plan = plan_epoch(split, cfg.training.num_epochs - 1, cfg, bundle.ids, None, 1)
    layouts = ("whole", "prefix")
    rows = []
    for b, chunk in enumerate(plan.batches[: args.batches]):
        batch = collate([plan.sequences[i] for i in chunk], bundle.ids.pad, bundle.ids.latent)
        batch = {k: v.to(args.device) for k, v in batch.items()}
        model.kv_layout = "whole"
        reference = gradient(model, batch, False, SDPBackend.MATH, args.device)
        for layout in layouts:
            model.kv_layout = layout
            for name, kernel in KERNELS.items():
                try:
                    grad = gradient(model, batch, True, kernel, args.device)
                except RuntimeError as e:  # this kernel does not take these inputs here
                    rows.append({"batch": b, "layout": layout, "kernel": name, "error": str(e).splitlines()[0][:80]})
                    continue
                rel = float((grad - reference).norm() / reference.norm())
                finite = bool(torch.isfinite(grad).all())
                rows.append({"batch": b, "layout": layout, "kernel": name, "rel_error": rel, "finite": finite})
        model.kv_layout = "auto"
    print(f"stage {plan.stage}, columns {batch['input_ids'].shape[1]} (last batch), device {args.device}")
    print("| batch | cache layout | kernel | relative error of the bf16 gradient | finite |")
    print("|---|---|---|---|---|")
    for r in rows:
        value = f"{r['rel_error']:.2e}" if "rel_error" in r else f"n/a ({r['error']})"
        print(f"| {r['batch']} | {r['layout']} | {r['kernel']} | {value} | {r.get('finite', '')} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
