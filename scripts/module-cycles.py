#!/usr/bin/env python3
"""Module import graph of Rust crate source folders, and its cycles.

    python3 scripts/module-cycles.py [--no-ancestors] [--crate-only] crates/X/src ...

For every module file: the modules of the same crate it uses (`crate::`, `super::`, `self::` and
child paths; comments, strings and `#[cfg(test)] mod` blocks ignored). Prints the graph and every
cycle (strongly connected component of more than one module); exits 1 when there is one.
`--no-ancestors` drops the edges from a module to its ancestors (a child may always use what its
parent defines or re-exports), leaving the cycles between siblings: what `.ci/run` checks.
"""
import os, re, sys

def modules(src):
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'): continue
            p = os.path.join(root, f)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] in ('mod',): rel = rel[:-1]
            if rel in (['lib'], ['main']): rel = []
            mods['::'.join(rel)] = p
    return mods

def strip(text):
    text = re.sub(r'//[^\n]*', '', text)
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text

def cfg_test_cut(text):
    # drop `#[cfg(test)] mod NAME { ... }` blocks: unit tests are not part of the module graph
    while True:
        m = re.search(r'#\[cfg\(test\)\]\s*mod\s+\w+\s*\{', text)
        if not m: return text
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {'{': 1, '}': -1}.get(text[i], 0); i += 1
        text = text[:m.start()] + text[i:]

def resolve(path, me, known):
    parts = path.split('::')
    base = me.split('::') if me else []
    if parts[0] == 'crate': cur, rest = [], parts[1:]
    elif parts[0] == 'self': cur, rest = list(base), parts[1:]
    elif parts[0] == 'super':
        cur, rest = list(base), parts
        while rest and rest[0] == 'super':
            cur = cur[:-1]; rest = rest[1:]
    else:
        # a path starting with a child module name (`logical::take`)
        cur, rest = list(base), parts
        if '::'.join(cur + rest[:1]) not in known: return None
    best = '::'.join(cur)
    for i in range(1, len(rest) + 1):
        cand = '::'.join(cur + rest[:i])
        if cand in known: best = cand
        else: break
    return best

def expand_use(tree):
    # expand `a::{b, c::{d}}` into full paths
    tree = tree.replace(' ', '').replace('\n', '')
    out = []
    def rec(prefix, t):
        depth, start, items = 0, 0, []
        for i, ch in enumerate(t):
            if ch == '{': depth += 1
            elif ch == '}': depth -= 1
            elif ch == ',' and depth == 0:
                items.append(t[start:i]); start = i + 1
        items.append(t[start:])
        for it in items:
            if not it: continue
            m = re.match(r'^([^{]*?)(::)?\{(.*)\}$', it)
            if m:
                rec(prefix + [p for p in m.group(1).split('::') if p], m.group(3))
            else:
                out.append('::'.join(prefix + [it.split(' as ')[0]]))
    rec([], tree)
    return out

def graph(src):
    mods = modules(src)
    known = set(mods)
    g = {m: set() for m in mods}
    for m, p in mods.items():
        text = cfg_test_cut(strip(open(p).read()))
        paths = []
        for u in re.finditer(r'\buse\s+([^;]+);', text):
            for full in expand_use(u.group(1)):
                paths.append(full)
        text_nouse = re.sub(r'\buse\s+[^;]+;', '', text)
        paths += re.findall(r'\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)', text_nouse)
        paths += re.findall(r'\b([a-z_][a-z0-9_]*::[A-Za-z_][A-Za-z0-9_:]*)', text_nouse)
        if CRATE_ONLY: paths = [x for x in paths if x.startswith('crate::')]
        for path in paths:
            t = resolve(path.rstrip(':'), m, known)
            if t is not None and t != m:
                if NO_ANCESTORS and (t == '' or m.startswith(t + '::')):
                    continue  # a module may use what its ancestors define or re-export
                g[m].add(t)
    return g

def sccs(g):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in g[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            out.append(comp)
    for v in g:
        if v not in index: visit(v)
    return [c for c in out if len(c) > 1]

CRATE_ONLY = '--crate-only' in sys.argv
NO_ANCESTORS = '--no-ancestors' in sys.argv
bad = False
for src in [a for a in sys.argv[1:] if not a.startswith('--')]:
    g = graph(src)
    print(f'== {src}')
    for m in sorted(g):
        print(f'  {m or "(root)"} -> {", ".join(sorted(x or "(root)" for x in g[m])) or "-"}')
    cyc = sccs(g)
    for c in cyc:
        bad = True
        print('  CYCLE:', ' <-> '.join(sorted(x or '(root)' for x in c)))
    if not cyc: print('  no cycle')
sys.exit(1 if bad else 0)
