#!/usr/bin/env python3
"""The include graph between core's folders, checked against the "may include"
column of docs/architecture.md's table.

Each #include "folder/file.h" in core/FOLDER/*.{c,h} is an edge FOLDER -> folder.
The check fails when:
  - an edge is not allowed by the table (a wrong-way include),
  - the table allows an edge the code does not have (the table must describe
    the real code, not a wish),
  - the graph has a cycle (listed with one include line per edge),
  - a core file names a shipped plugin (plugins/NAME): core reaches plugins
    through their kind and options, never by name.

usage: check.py ROOT        (prints the graph; exit status 1 on a failure)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def graph(core):
    folders = sorted(f for f in os.listdir(core) if os.path.isdir(os.path.join(core, f)))
    edges = {}  # (from, to) -> first "file:line: #include" seen
    for f in folders:
        for name in sorted(os.listdir(os.path.join(core, f))):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(core, f, name)
            with open(path, encoding='utf-8') as fh:
                text = fh.read()
            for m in INCLUDE.finditer(text):
                target = m.group(1).split('/')
                if len(target) < 2 or target[0] not in folders or target[0] == f:
                    continue
                line = text.count('\n', 0, m.start()) + 1
                edges.setdefault((f, target[0]), f'core/{f}/{name}:{line}: #include "{m.group(1)}"')
    return folders, edges


def table(doc, folders):
    """{folder: set of folders it may include} from the rows `core/X` of the
    table whose last column is "may include"."""
    allowed = {}
    header = None
    with open(doc, encoding='utf-8') as fh:
        for line in fh:
            if not line.startswith('|'):
                header = None
                continue
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if header is None:
                header = cells
                continue
            if header[-1] != 'may include':
                continue
            m = re.fullmatch(r'`core/([a-z_]+)`', cells[0])
            if not m:
                continue
            names = set(re.findall(r'`?\b([a-z_]+)\b`?', cells[-1]))
            allowed[m.group(1)] = {n for n in names if n in folders and n != m.group(1)}
    return allowed


def cycles(folders, edges):
    """Strongly connected components with more than one folder (Tarjan)."""
    succ = {f: sorted(t for (s, t) in edges if s == f) for f in folders}
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for f in folders:
        if f not in index:
            visit(f)
    return out


def plugin_names(root):
    plugins = os.path.join(root, 'plugins')
    names = sorted(n for n in os.listdir(plugins) if os.path.isdir(os.path.join(plugins, n)))
    found = []
    for dirpath, _, files in os.walk(os.path.join(root, 'core')):
        for name in sorted(files):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding='utf-8') as fh:
                for n, line in enumerate(fh, 1):
                    for p in names:
                        if re.search(r'(?<![\w-])' + re.escape(p) + r'(?![\w-])', line):
                            found.append(f'{os.path.relpath(path, root)}:{n}: names the plugin {p}')
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
    core = os.path.join(root, 'core')
    folders, edges = graph(core)
    allowed = table(os.path.join(root, 'docs', 'architecture.md'), folders)
    problems = []
    for f in folders:
        if f not in allowed:
            problems.append(f'core/{f} has no row in the "may include" table of docs/architecture.md')
    for (s, t), where in sorted(edges.items()):
        print(f'{s} -> {t}')
        if s in allowed and t not in allowed[s]:
            problems.append(f'forbidden direction {s} -> {t} (the table does not allow it): {where}')
    for s, ts in sorted(allowed.items()):
        for t in sorted(ts - {b for (a, b) in edges if a == s}):
            problems.append(f'the table lets core/{s} include {t}, but no file of core/{s} does: '
                            'make the table describe the code')
    for comp in cycles(folders, edges):
        lines = [edges[(s, t)] for s in comp for t in comp if (s, t) in edges]
        problems.append('include cycle among ' + ', '.join(comp) + ':\n    ' + '\n    '.join(lines))
    problems += plugin_names(root)
    for p in problems:
        print('FAIL', p)
    print(f'{len(folders)} folders, {len(edges)} edges, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
