#!/usr/bin/env bash
# One-command GPU check (about 7 minutes on one H200). Needs only this repository and no network
# (torch, transformers and the package's other dependencies already installed, or a .venv here).
# Writes JSON and logs to OUT and prints a summary; on a machine without a GPU it says so and
# stops.
#   usage: scripts/check_gpu.sh [OUT]          (default OUT: /tmp/gpu_check)
#   SMOKE=1 scripts/check_gpu.sh OUT           every part at toy size on the CPU (checks the script)
# Parts, each time-boxed:
#   1. coconut-lm bench on the GPU at the three presets (default, gpt2, tiny);
#   2. ProsQA stage 6 from scratch (GPT-2 6L/512d, batch 64, lr 5e-4), fp32 then bf16, the loss
#      of every step (no NaN; bf16 within a few percent of fp32 after 30 steps), then
#      `coconut-lm eval` of the bf16 checkpoint;
#   3. the bf16 gradient probe on that data (relative error per attention kernel and cache layout);
#   4. the test suite.
set -u
cd "$(dirname "$0")/.."
OUT=$(mkdir -p "${1:-/tmp/gpu_check}" && cd "${1:-/tmp/gpu_check}" && pwd)
if [ -x .venv/bin/python ]; then PY=${PY:-.venv/bin/python}; else PY=${PY:-python3}; fi
export PYTHONUNBUFFERED=1
step() { echo; echo "=== $* ($(date +%T))"; }

DEVICE=cuda SPLITS=1920,32,32 LAYERS=6 WIDTH=512 HEADS=8 BATCH=64 BENCH=() TESTS=tests
if [ "${SMOKE:-0}" = 1 ]; then
  DEVICE=cpu SPLITS=128,16,16 LAYERS=2 WIDTH=32 HEADS=2 BATCH=16 TESTS=tests/apps/test_bench.py
  BENCH=(--n-layer 1 --n-embd 32 --n-head 2 --batch-size 2 --min-question 8 --max-question 12 --repeats 1)
elif ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "no GPU: torch sees no CUDA device on this machine; nothing was measured."
  echo '{"gpu": false}' > "$OUT/summary.json"
  exit 0
fi
if ! "$PY" -c "import coconut_lm" 2>/dev/null; then
  "$PY" -m pip install -q --no-deps --no-build-isolation -e . > "$OUT/pip.log" 2>&1 || tail -5 "$OUT/pip.log"
fi

step env
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
else
  echo "smoke run on the CPU" | tee "$OUT/gpu.txt"
fi
"$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
  | tee -a "$OUT/gpu.txt"

for preset in default gpt2 tiny; do
  step "bench, preset $preset"
  timeout 120 "$PY" -m coconut_lm bench --device "$DEVICE" --preset "$preset" "${BENCH[@]}" --json > "$OUT/bench_$preset.json" \
    2> "$OUT/bench_$preset.log" || echo "bench $preset failed or timed out (see $OUT/bench_$preset.log)"
done

step "ProsQA stage 6 from scratch, fp32 vs bf16, the loss of every step"
W=$OUT/prosqa
mkdir -p "$W"
"$PY" -m coconut_lm data prosqa --splits "$SPLITS" --out-dir "$W/data" --seed 0 > /dev/null
"$PY" -m coconut_lm tokenizer train --data "$W/data/train.json" --vocab-size 1000 --out "$W/tok" > /dev/null
for bf in false true; do
  cat > "$W/bf16_$bf.yaml" <<EOC
method: coconut
run_dir: $W/run_bf16_$bf
model:
  from_config: {model_type: gpt2, n_layer: $LAYERS, n_embd: $WIDTH, n_head: $HEADS, n_positions: 1024}
  tokenizer: $W/tok
data: {train_path: $W/data/train.json, val_path: $W/data/valid.json}
curriculum: {c_thought: 1, max_latent_stage: 6, epochs_per_stage: 1, pad_latent_to_max: true}
training: {num_epochs: 7, start_epoch: 6, batch_size: $BATCH, lr: 5.0e-4, bf16: $bf, seed: 0}
evaluation: {max_new_tokens: 64, batch_size: 32}
logging: {progress_bar: false, log_every_steps: 1}
EOC
  rm -rf "$W/run_bf16_$bf"
  timeout 120 "$PY" -m coconut_lm train "$W/bf16_$bf.yaml" --device "$DEVICE" > "$W/train_bf16_$bf.log" 2>&1 \
    || echo "training (bf16: $bf) failed or timed out (see $W/train_bf16_$bf.log)"
  tail -2 "$W/train_bf16_$bf.log"
  cp "$W/run_bf16_$bf/metrics.jsonl" "$OUT/metrics_bf16_$bf.jsonl" 2> /dev/null
done
step "coconut-lm eval of the bf16 checkpoint"
timeout 60 "$PY" -m coconut_lm eval "$W/run_bf16_true" --data "$W/data/test.json" --device "$DEVICE" \
  > "$OUT/eval_bf16.txt" 2>&1 || echo "eval failed or timed out"
tail -3 "$OUT/eval_bf16.txt"

step "bf16 gradient probe (relative error per attention kernel and cache layout)"
timeout 90 "$PY" scripts/bf16_gradient_probe.py "$W/bf16_false.yaml" --batches 2 --json "$OUT/bf16_probe.json" \
  2> "$OUT/bf16_probe.log" | tee "$OUT/bf16_probe.md" || echo "probe failed or timed out"

step tests
timeout 200 "$PY" -m pytest -q -p no:cacheprovider "$TESTS" > "$OUT/tests.log" 2>&1
tail -4 "$OUT/tests.log"

step summary
"$PY" - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import json, math, sys
from pathlib import Path

out = Path(sys.argv[1])
summary = {"gpu": (out / "gpu.txt").read_text().splitlines()}
for preset in ("default", "gpt2", "tiny"):
    try:
        r = json.loads((out / f"bench_{preset}.json").read_text())
    except (OSError, ValueError):
        print(f"bench {preset}: no result")
        continue
    t, g = r["training"], r["generation"]
    summary[f"bench_{preset}"] = {"train_ratio": t["ratio"], "thought_pass_ms": t["thought_pass_ms"],
                                  "generate_ratio": g["ratio"]}
    print(f"bench {preset}: training step {t['coconut_s'] * 1e3:.1f} ms vs {t['plain_s'] * 1e3:.1f} ms = "
          f"{t['ratio']:.2f}x, {t['thought_pass_ms']:.2f} ms per thought pass; generate "
          f"{g['coconut_tok_s']:.0f} vs {g['plain_tok_s']:.0f} tok/s = {g['ratio']:.2f}x")
losses = {}
for bf in ("false", "true"):
    try:
        rows = [json.loads(line) for line in (out / f"metrics_bf16_{bf}.jsonl").read_text().splitlines()]
    except OSError:
        rows = []
    losses[bf] = [r["train/loss"] for r in rows if "train/loss" in r]
    val = [r["eval/loss"] for r in rows if "eval/loss" in r]
    print(f"bf16 {bf}: {len(losses[bf])} steps, losses " + " ".join(f"{x:.3g}" for x in losses[bf])
          + (f"; val loss {val[-1]:.3g}" if val else ""))
fp32, bf16 = losses["false"], losses["true"]
nan = any(not math.isfinite(x) for x in bf16 + fp32)
n = min(len(fp32), len(bf16))
gap = abs(bf16[n - 1] - fp32[n - 1]) / fp32[n - 1] if n else float("nan")
summary["bf16"] = {"steps": n, "nan": nan, "final_fp32": fp32[n - 1] if n else None,
                   "final_bf16": bf16[n - 1] if n else None, "relative_gap": gap}
print(f"bf16 vs fp32 after {n} steps: {gap:.1%} apart; NaN: {'yes' if nan else 'no'}")
try:
    probe = json.loads((out / "bf16_probe.json").read_text())
    worst = max((r for r in probe if "rel_error" in r), key=lambda r: r["rel_error"])
    summary["bf16_probe_worst"] = worst
    print(f"bf16 gradient probe: worst {worst['rel_error']:.2e} ({worst['layout']} cache, {worst['kernel']} kernel)")
except (OSError, ValueError):
    print("bf16 gradient probe: no result")
tests = (out / "tests.log").read_text().strip().splitlines()
summary["tests"] = tests[-1] if tests else "no result"
print("tests:", summary["tests"])
(out / "summary.json").write_text(json.dumps(summary, indent=1))
PY
