#!/usr/bin/env python3
"""Figures of the library's shape, as issue 12's closing note reports them: files and
lines in shared/src, the longest file, App's fields and methods, the call edges between
the app's modules and their cycles, and how often the job kinds' stored names are
written. Usage: infra/scripts/room-metrics.py [TREE] (default: this checkout); to
compare with an older commit, `git archive <rev> shared/src | tar -x -C /tmp/old` and
pass /tmp/old. Call edges are found by method names, so names that several modules
define (push, open, …) are left out."""
import collections
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
src = os.path.join(root, "shared/src")
files=[]
for d,_,fs in os.walk(src):
    for f in fs:
        if f.endswith('.rs'): files.append(os.path.join(d,f))
lines={f:sum(1 for _ in open(f)) for f in files}
mx=max(lines,key=lines.get)
print('files',len(files),'lines',sum(lines.values()),'max',lines[mx],os.path.relpath(mx,src), 'over600',sum(1 for v in lines.values() if v>600))
app=[f for f in files if '/app/' in f]
# App fields
txt={f:open(f).read() for f in files}
for f in app:
    m=re.search(r'pub struct App \{(.*?)\n\}',txt[f],re.S)
    if m: print('App fields',len(re.findall(r'^\s*pub \w+:|^\s*\w+:',m.group(1),re.M)))
def impl_blocks(s,pat):
    out=[]
    for m in re.finditer(pat,s):
        i=m.end(); depth=1
        while depth and i<len(s):
            if s[i]=='{':depth+=1
            elif s[i]=='}':depth-=1
            i+=1
        out.append(s[m.end():i])
    return out
methods=0
for f in app:
    for b in impl_blocks(txt[f],r'impl App \{'):
        methods+=len(re.findall(r'^    (?:pub(?:\([^)]*\))? )?(?:async )?fn ',b,re.M))
print('App methods',methods)
# unit = feature folder or file directly under app
def unit(f):
    rel=os.path.relpath(f,os.path.join(src,'app')).split(os.sep)
    return rel[0].replace('.rs','')
defs=collections.defaultdict(set)
for f in app:
    for b in impl_blocks(txt[f],r'impl (?:App|\w+<\'_>|JobRunner|OutboxRelay) \{'):
        for n in re.findall(r'^    (?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)',b,re.M):
            defs[n].add(unit(f))
    for n in re.findall(r'^(?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)',txt[f],re.M):
        defs[n].add(unit(f))
common={'push','job','of','actor','seconds','delivery_id','new_secret','open','new','get','list','run','send','from','fmt','default','events','create','cancel','parse','deref','name'}
edges=collections.defaultdict(set)
for f in app:
    u=unit(f)
    for n in set(re.findall(r'\.(\w+)\(',txt[f]))|set(re.findall(r'\b(\w+)\(',txt[f])):
        if n in common: continue
        for v in defs.get(n,()):
            if v!=u and v!='mod': edges[u].add(v)
# SCCs
idx={};low={};st=[];on=set();sccs=[];c=[0]
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        sccs.append(comp)
for v in list(edges): 
    if v not in idx: sc(v)
cyc=[s for s in sccs if len(s)>1]
print('app units',sorted(set(unit(f) for f in app)))
print('call edges', {k:sorted(v) for k,v in edges.items()})
print('cycles',len(cyc),cyc)
kinds=['approval.expire','approval.remind','timer.set','timer.clear','webhook.fanout','webhook.send','delivery.plan','delivery.send','delivery.update']
occ=sum(t.count('"'+k+'"') for t in txt.values() for k in kinds)
print('job-kind string literals in shared/src',occ)
