#!/usr/bin/env bash
# The headline runs of setting h14 in two lanes, one thread each (2026-11-29 session):
#   lane A: seed 0 CoT baseline, seed 2 Coconut, seed 2 CoT;  lane B: seed 1 Coconut, seed 1 CoT, seed 0 No-CoT
# (seed 0 Coconut ran first on its own). Each line appends to results.json; logs in logs/.
cd "$(dirname "$0")/../.."
run() { .venv/bin/python experiments/symbolic/run.py --setting h14 --methods "$1" --seeds "$2" --threads 1 \
          > "experiments/symbolic/logs/h14_$1_s$2.log" 2>&1; }
case "$1" in
  A) while pgrep -f "setting h14 --methods coconut --seeds 0" > /dev/null; do sleep 20; done
     run cot 0; run coconut 2; run cot 2 ;;
  B) run coconut 1; run cot 1; run no_cot 0 ;;
esac
