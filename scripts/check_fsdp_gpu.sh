#!/usr/bin/env bash
# GPU check of training (a few minutes on one node): DDP and FSDP over NCCL with bf16 autocast,
# each compared with a single-process run of the same global batch; then kill-and-resume on FSDP.
# Needs >= 2 GPUs for the multi-process parts (NCCL refuses two ranks on one GPU); with one GPU it
# runs the single-process bf16 training and evaluation only. CPU (gloo) versions of these checks
# run in the test suite (tests/training/test_distributed.py, test_resume.py).
#   usage: scripts/check_fsdp_gpu.sh [NPROC]        (default: every visible GPU, at most 2)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
TORCHRUN=${TORCHRUN:-$(dirname "$PY")/torchrun}
NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())")
NPROC=${1:-$(( NGPU < 2 ? NGPU : 2 ))}
[ "$NGPU" -ge 1 ] || { echo "no GPU visible"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$PY" - "$WORK" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from training.helpers import NO_DROPOUT
from training.toy import tiny_config, write_config, write_data, write_tokenizer
work = Path(sys.argv[1])
tok = write_tokenizer(work / "tok")
train, val = write_data(work / "data", n_train=64, n_val=16)
for name, batch, fsdp in [("one", 8, False), ("ddp", 4, False), ("fsdp", 4, True), ("fsdp_kill", 4, True)]:
    cfg = tiny_config(work, tok, train, val, run_dir=str(work / name),
                      training={"batch_size": batch, "fsdp": fsdp, "bf16": True, "save_every_steps": 3},
                      model={"from_config": {"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 2,
                                             "n_positions": 96, **NO_DROPOUT}})
    write_config(work / f"{name}.yaml", cfg)
PYEOF

"$PY" -m coconut_lm train "$WORK/one.yaml" training.batch_size=$((4 * NPROC))
"$PY" -m coconut_lm eval "$WORK/one" --data "$WORK/data/valid.json"
if [ "$NPROC" -lt 2 ]; then echo "one GPU: multi-process checks skipped"; exit 0; fi

"$TORCHRUN" --standalone --nproc_per_node "$NPROC" -m coconut_lm train "$WORK/ddp.yaml"
"$TORCHRUN" --standalone --nproc_per_node "$NPROC" -m coconut_lm train "$WORK/fsdp.yaml"
COCONUT_LM_TEST_KILL_AFTER_STEP=5 \
  "$TORCHRUN" --standalone --nproc_per_node "$NPROC" -m coconut_lm train "$WORK/fsdp_kill.yaml" || true
"$TORCHRUN" --standalone --nproc_per_node "$NPROC" -m coconut_lm train "$WORK/fsdp_kill"

"$PY" - "$WORK" <<'PYEOF'
import json, sys
from pathlib import Path
from safetensors.torch import load_file
work = Path(sys.argv[1])
def losses(name):
    rows = [json.loads(l) for l in (work / name / "metrics.jsonl").read_text().splitlines()]
    return [r.get("train/loss", r.get("eval/loss")) for r in rows]
one = losses("one")
for name in ("ddp", "fsdp"):
    gap = max(abs(a - b) for a, b in zip(one, losses(name)))
    print(f"{name}: max loss gap vs one process {gap:.2e} (bf16: expect < 1e-2)")
    assert gap < 1e-2, name
final = sorted((work / "fsdp" / "checkpoints").iterdir())[-1].name
a = load_file(work / "fsdp" / "checkpoints" / final / "model.safetensors")
b = load_file(work / "fsdp_kill" / "checkpoints" / final / "model.safetensors")
gap = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
print(f"fsdp killed+resumed vs uninterrupted: max weight gap {gap:.2e}")
assert gap < 1e-3
print("GPU checks passed")
PYEOF
