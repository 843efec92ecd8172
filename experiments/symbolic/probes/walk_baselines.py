"""Probe: share of questions a random-child walk (and a one-step look-ahead walk) from the root solves."""
import statistics as st

from coconut_lm.data.datasets.prosqa import ProsQAConfig, generate_splits


def reach(ch, a):
    seen={a}; st_=[a]
    while st_:
        x=st_.pop()
        for y in ch.get(x,[]):
            if y not in seen: seen.add(y); st_.append(y)
    return seen
for (a,b,p,q) in [(6,8,2,3),(7,9,3,3),(8,10,2,3),(8,10,3,4),(9,12,2,3),(10,14,3,4),(13,16,3,4),(16,20,3,5),(21,26,3,6)]:
    recs=generate_splits([400],seed=1,config=ProsQAConfig(min_nodes=a,max_nodes=b,min_path=p,max_path=q))[0]
    rw=[];la=[]
    for r in recs:
        ch={}
        for s,t in r['edges']: ch.setdefault(s,[]).append(t)
        # random walk probability to reach target (stops at leaf)
        def prw(x):
            if x==r['target']: return 1.0
            c=ch.get(x,[])
            if not c: return 0.0
            return sum(prw(y) for y in c)/len(c)
        rw.append(prw(r['root']))
        # one-step lookahead: choose uniformly among children that are target or have a child that... (depth-1 lookahead: children whose children include target)
        def pla(x):
            if x==r['target']: return 1.0
            c=ch.get(x,[])
            if not c: return 0.0
            good=[y for y in c if y==r['target'] or r['target'] in ch.get(y,[])]
            if good: return sum(pla(y) for y in good)/len(good)
            return sum(pla(y) for y in c)/len(c)
        la.append(pla(r['root']))
    print(a,b,p,q, f"random-walk {st.mean(rw):.2f}  1-lookahead {st.mean(la):.2f}")
