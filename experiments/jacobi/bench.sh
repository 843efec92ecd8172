#!/usr/bin/env bash
# Training-step time of sequential vs Jacobi thoughts (T = 1, 2, 3), side by side with plain HF.
#   bash experiments/jacobi/bench.sh > experiments/jacobi/bench_cpu.jsonl
set -euo pipefail
PY=${PY:-.venv/bin/python}
for preset in tiny default; do
  for mode in "--thought-update sequential" "--thought-update jacobi --iterations 1" \
              "--thought-update jacobi --iterations 2" "--thought-update jacobi --iterations 3"; do
    $PY -m coconut_lm bench --preset "$preset" --threads 1 --repeats 7 $mode --json
  done
done
