"""Probe: per-position validation losses (step1.., ###, answer) of a CoT checkpoint: step_losses.py CKPT DATA.json"""
import collections
import json
import sys

import torch

torch.set_num_threads(1)
from transformers import AutoModelForCausalLM, AutoTokenizer

ck=sys.argv[1]; data=json.load(open(sys.argv[2]))[:300]
tok=AutoTokenizer.from_pretrained(ck); m=AutoModelForCausalLM.from_pretrained(ck).eval()
agg=collections.defaultdict(list)
for e in data:
    q=tok.encode(e['question']+"\n"); c=[]; names=[]
    for i,s in enumerate(e['steps']):
        t=tok.encode(s+"\n"); c+=t; names+=[f"step{i+1}"]+['nl']*(len(t)-1)
    c+=tok.encode("###")+tok.encode(e['answer']); names+=['###','answer']
    ids=torch.tensor([q+c])
    with torch.no_grad(): lp=m(ids).logits.log_softmax(-1)[0]
    for j,n in enumerate(names):
        if n=='nl': continue
        pos=len(q)+j; agg[n].append(-lp[pos-1, ids[0,pos]].item())
for k,v in sorted(agg.items()): print(k, f"{sum(v)/len(v):.3f}", len(v))
