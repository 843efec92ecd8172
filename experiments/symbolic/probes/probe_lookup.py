"""Probe (2026-11-29): CoT training/validation step-1 loss of a from-scratch model on symbolic ProsQA.

    WRAP=0 PYTHONPATH=src python probe_lookup.py 8000 llama:64:2:4:16:5e-4:3000:1   # n_train type:width:layers:heads:batch:lr:steps:seed

Reads runs/h1/data/{train,valid}.json (run.py --setting h1 prepares them); WRAP=1 uses the library model.
"""
import random
import sys
import time

import torch

torch.set_num_threads(1)
from transformers import AutoConfig, AutoModelForCausalLM

from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits
from coconut_lm.data.datasets.symbolic import symbolic_example, vocabulary

NL=False
import os; WRAP=os.environ.get('WRAP')=='1'
V={t:i for i,t in enumerate(vocabulary())}
def make(a,b,p,q,n=8000):
    recs=generate_splits([n],seed=0,config=ProsQAConfig(min_nodes=a,max_nodes=b,min_path=p,max_path=q))[0]
    out=[]
    for i,r in enumerate(recs):
        e=symbolic_example(r,random.Random(i))
        qi=[V[t] for t in e['question'].split()]+([V['\n']] if NL else [])
        ci=[]
        for s in e['steps']: ci+= [V[s]]+([V['\n']] if NL else [])
        ci+=[V['###'],V[e['answer']],0]
        out.append((qi,ci))
    return out
def batch(ex):
    L=max(len(q)+len(c) for q,c in ex)
    ids=torch.zeros(len(ex),L,dtype=torch.long); lab=torch.full((len(ex),L),-100); am=torch.zeros(len(ex),L,dtype=torch.long); first=[]
    for i,(q,c) in enumerate(ex):
        s=q+c; ids[i,:len(s)]=torch.tensor(s); am[i,:len(s)]=1; lab[i,len(q):len(s)]=torch.tensor(c); first.append(len(q))
    return ids,am,lab,first
def run(name,data,w,L,H,B,lr,steps,mt,seed=0):
    torch.manual_seed(seed)
    if mt=='llama': cfg=AutoConfig.for_model('llama',vocab_size=41,num_hidden_layers=L,hidden_size=w,intermediate_size=4*w,num_attention_heads=H,num_key_value_heads=H,max_position_embeddings=256)
    else: cfg=AutoConfig.for_model('gpt2',vocab_size=41,n_layer=L,n_embd=w,n_head=H,n_positions=256,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0,activation_function='gelu')
    if WRAP:
        import yaml

        from coconut_lm.run.build import build_model
        from coconut_lm.run.config import config_from_dict
        d=yaml.safe_load(open('/work/exp/experiments/symbolic/runs/p1/cot_s1/config.yaml'))
        cm=build_model(config_from_dict(d),None).model
        class W(torch.nn.Module):
            def __init__(s,cm): super().__init__(); s.cm=cm
            def forward(s,input_ids,attention_mask,labels): return s.cm(input_ids=input_ids,attention_mask=attention_mask,labels=labels)
        m=W(cm)
    else: m=AutoModelForCausalLM.from_config(cfg)
    opt=torch.optim.AdamW(m.parameters(),lr=lr,weight_decay=0.01)
    rng=random.Random(seed); t=time.time(); l1=[]; la=[]
    for s in range(steps):
        for g in opt.param_groups: g['lr']=lr*min(1,(s+1)/50)
        ids,am,lab,first=batch(rng.sample(data,B))
        out=m(input_ids=ids,attention_mask=am,labels=lab); out.loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step(); opt.zero_grad()
        lp=out.logits.detach().log_softmax(-1)
        l1.append(sum(-lp[i,f-1,ids[i,f]].item() for i,f in enumerate(first))/B); la.append(out.loss.item())
        if (s+1)%1000==0:
            m.eval()
            with torch.no_grad():
                ids,am,lab,first=batch(VALID)
                o=m(input_ids=ids,attention_mask=am,labels=lab); lpv=o.logits.log_softmax(-1)
                print('   VALID step1', round(sum(-lpv[i,f-1,ids[i,f]].item() for i,f in enumerate(first))/len(first),3), 'all', round(o.loss.item(),3), flush=True)
            m.train()
        if (s+1)%500==0: print(name, s+1, f"step1 {sum(l1[-50:])/50:.3f} all {sum(la[-50:])/50:.3f}", f"{time.time()-t:.0f}s", flush=True)
import json


def load(path,n):
    out=[]
    for e in json.load(open(path))[:n]:
        qi=[V[t] for t in e['question'].split()]
        ci=[V[x] for x in e['steps']]+[V['###'],V[e['answer']],0]
        out.append((qi,ci))
    return out
data=load('/work/exp/experiments/symbolic/runs/h1/data/train.json', int(sys.argv[1])); VALID=load('/work/exp/experiments/symbolic/runs/h1/data/valid.json',200); sys.argv=sys.argv[1:]
for spec in sys.argv[1:]:
    mt,w,L,H,B,lr,steps,seed=spec.split(':'); run(spec,data,int(w),int(L),int(H),int(B),float(lr),int(steps),mt,int(seed))
