#!/usr/bin/env bash
# Runs of the study in two lanes, one thread each (the machine has 2 cores); each line appends to
# results.json, logs in logs/.
#   h14 (2026-11-29, first session):  A: seed 0 CoT, seed 2 Coconut, seed 2 CoT;  B: seed 1 Coconut, seed 1 CoT
#   h16 (2026-11-29, second session): each lane extends Coconut or CoT (seeds 1-2; seed 0 ran first, one lane
#     each), then the other methods.  A: w/o curriculum, pause as thought, pause token (seed 0);
#     B: No-CoT (seeds 0-2), w/o thought, iCoT (seed 0)
#   h16 (2026-11-29, fourth session): C: seed 2 of four ablations, then seeds 1-2 of w/o curriculum
#   g1, g2 (paper-size graphs, same session): Coconut then CoT, seed 0, then both extended (g2)
#   m1, g3 (2026-11-29, fifth session): a graph-size curriculum, one lane per method, seed 0; then
#     m1C: Coconut seeds 1-2;  m1D: CoT seeds 1-2, No-CoT seeds 0-2
#   m0 (2026-11-29, sixth session): all 8 methods x 3 seeds, Coconut and CoT first; A: the latent methods
#   m2 (2026-11-29, seventh session): the same for m2 (its Coconut and CoT seed 0 ran first as a pilot);
#     pause as thought seed 2 ran by hand on the core m2B left free, m2B stopped before it
cd "$(dirname "$0")/../.."
run() { .venv/bin/python experiments/symbolic/run.py --setting "$1" --methods "$2" --seeds "$3" --threads 1 \
          > "experiments/symbolic/logs/$1_$2_s$3.log" 2>&1; }
after() { while pgrep -f "$1" > /dev/null; do sleep 20; done; }
case "$1" in
  A) after "setting h14 --methods coconut --seeds 0"; run h14 cot 0; run h14 coconut 2; run h14 cot 2 ;;
  B) run h14 coconut 1; run h14 cot 1 ;;
  h16A) run h16 coconut 1; run h16 coconut 2
        run h16 coconut_no_curriculum 0; run h16 pause_as_thought 0; run h16 pause 0 ;;
  h16B) run h16 cot 1; run h16 cot 2
        run h16 no_cot 0; run h16 no_cot 1; run h16 no_cot 2; run h16 coconut_no_thought 0; run h16 icot 0 ;;
  h16C) for m in coconut_no_thought pause_as_thought pause icot; do run h16 "$m" 2; done
        run h16 coconut_no_curriculum 1; run h16 coconut_no_curriculum 2 ;;
  g1) after "setting g1 --methods coconut --seeds 0"; run g1 coconut 0; run g1 cot 0; run g2 coconut 0; run g2 cot 0 ;;
  m1A) run m1 coconut 0; run g3 coconut 0 ;;
  m1B) run m1 cot 0; run g3 cot 0 ;;
  m1C) after "setting g3 --methods coconut"; run m1 coconut 1; run m1 coconut 2 ;;
  m1D) after "setting g3 --methods cot"; run m1 cot 1; run m1 cot 2; for s in 0 1 2; do run m1 no_cot "$s"; done ;;
  m0A) for m in coconut coconut_no_curriculum coconut_no_thought; do for s in 0 1 2; do run m0 "$m" "$s"; done; done
       run m0 pause_as_thought 0 ;;
  m0B) for m in cot no_cot pause icot; do for s in 0 1 2; do run m0 "$m" "$s"; done; done
       run m0 pause_as_thought 1; run m0 pause_as_thought 2 ;;
  m2A) for m in coconut coconut_no_curriculum coconut_no_thought; do for s in 0 1 2; do run m2 "$m" "$s"; done; done
       run m2 pause_as_thought 0 ;;
  m2B) for m in cot no_cot pause icot; do for s in 0 1 2; do run m2 "$m" "$s"; done; done
       run m2 pause_as_thought 1; run m2 pause_as_thought 2 ;;
esac
