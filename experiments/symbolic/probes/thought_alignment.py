"""Probe: how the first thought (the root's last hidden state) compares with step 1's token.

    python thought_alignment.py CHECKPOINT DATA.json      # e.g. runs/h6/cot_s0/checkpoints/step-00004000 runs/p2/data/valid.json

Over the first 100 questions: the mean norm of the hidden state and of the node embeddings, and
its cosine with step 1's input embedding and with step 1's LM-head row.
"""

import json
import statistics
import sys

import torch

from coconut_lm.analysis.checkpoint_io import load_analysis_model

torch.set_num_threads(1)
am = load_analysis_model(sys.argv[1])
base, tok = am.model.base_model, am.tokenizer
records = json.load(open(sys.argv[2]))[:100]
emb, head = base.get_input_embeddings().weight, base.get_output_embeddings().weight
nodes = [tok.convert_tokens_to_ids(f"n{k}") for k in range(32)]
norms, cos_in, cos_out = [], [], []
for r in records:
    ids = tok.encode(r["question"], add_special_tokens=False)
    with torch.no_grad():
        hidden = base(torch.tensor([ids]), output_hidden_states=True).hidden_states[-1][0, -1]
    step1 = tok.convert_tokens_to_ids(r["steps"][0])
    norms.append(hidden.norm().item())
    cos_in.append(torch.cosine_similarity(hidden, emb[step1], 0).item())
    cos_out.append(torch.cosine_similarity(hidden, head[step1], 0).item())
print(
    f"hidden norm {statistics.mean(norms):.2f}, node embedding norm {emb[nodes].norm(dim=1).mean():.2f}, "
    f"cos(hidden, embedding of step 1) {statistics.mean(cos_in):.2f}, cos(hidden, LM-head row) {statistics.mean(cos_out):.2f}"
)
