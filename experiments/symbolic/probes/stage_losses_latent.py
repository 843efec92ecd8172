"""Probe: per-position validation losses of a checkpoint at a given stage (no stage mixing).

    python stage_losses_latent.py CHECKPOINT DATA.json STAGE     # e.g. runs/h9/coconut_s0/checkpoints/step-00004000 runs/p2/data/valid.json 1

Prints {target position: mean loss} over the first 200 questions: at stage 1 of a 3-step chain,
0 = step 2 (read at the thought), 1 = step 3, 2 = `###`, 3 = the answer, 4 = EOS.
"""

import collections
import dataclasses
import sys

import torch
import torch.nn.functional as F

from coconut_lm.data.batching import load_split
from coconut_lm.data.curriculum import build_sequence
from coconut_lm.eval.evaluate import load_for_inference

torch.set_num_threads(1)
checkpoint, data, stage = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg, bundle, _ = load_for_inference(checkpoint, "cpu")
curriculum = dataclasses.replace(cfg.curriculum, uniform_prob=0.0)
split = load_split(data, bundle.tokenizer, 200)
model = bundle.model.eval()
losses = collections.defaultdict(list)
for example in split.tokenized:
    seq = build_sequence(example, stage, cfg.method, curriculum, bundle.ids)
    with torch.no_grad():
        logits = model(torch.tensor([seq.input_ids])).logits[0, :-1]
    labels = torch.tensor(seq.labels[1:])
    for j, i in enumerate(i for i, label in enumerate(labels.tolist()) if label != -100):
        losses[j].append(F.cross_entropy(logits[i : i + 1], labels[i : i + 1]).item())
print({j: round(sum(v) / len(v), 3) for j, v in losses.items()})
