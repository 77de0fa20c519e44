#!/usr/bin/python3
"""fuzz/tools/api_seeds.py: writes the api harness's seed corpus (fuzz/corpus/api).

Each seed is one request as fuzz/api.c reads it: byte 0 the route (its
place among the table's /api/, /webhooks/, /, /healthz and /metrics rows of
core/daemon/routes.c, in order), byte 1 the caller, byte 2 the path
parameters, byte 3 the flags, then QUERY \\n IDEMPOTENCY-KEY \\n BODY.  The
bodies are the JSON objects written out in the integration tests that name
the route's path (tests/integration/*.py), a few per route.
"""
import ast
import glob
import hashlib
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def routes():
    text = open(os.path.join(ROOT, "core/daemon/routes.c")).read()
    out = []
    for m in re.finditer(r'\{ RD_(\w+), "([^"]+)",|CRUD\("(\w+)"\)', text):
        if m.group(3):
            n = "/api/v1/" + m.group(3)
            out += [("GET", n), ("POST", n), ("GET", n + "/{id}"), ("PATCH", n + "/{id}"), ("DELETE", n + "/{id}")]
        else:
            out.append((m.group(1), m.group(2)))
    keep = [r for r in out if r[1].startswith(("/api/", "/webhooks/")) or r[1] in ("/", "/healthz", "/metrics")]
    return keep


def bodies_by_file():
    found = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "tests/integration/*.py"))):
        try:
            tree = ast.parse(open(f).read())
        except SyntaxError:
            continue
        dicts, paths = [], set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                try:
                    v = ast.literal_eval(node)
                    s = json.dumps(v)
                except Exception:
                    continue
                if v and all(isinstance(k, str) for k in v) and len(s) < 4000:
                    dicts.append(s)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/api/"):
                paths.add(node.value.split("?")[0])
            elif isinstance(node, ast.JoinedStr):
                parts = "".join(p.value if isinstance(p, ast.Constant) else "1" for p in node.values)
                if parts.startswith("/api/"):
                    paths.add(parts.split("?")[0])
        found[f] = (dicts, paths)
    return found


def main():
    rs = routes()
    files = bodies_by_file()
    out = os.path.join(ROOT, "fuzz/corpus/api")
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*")):
        os.remove(old)
    n = 0
    for i, (method, pattern) in enumerate(rs):
        rx = re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(pattern)) + "$")
        bodies = []
        for dicts, paths in files.values():
            if any(rx.match(p) for p in paths):
                bodies += dicts[:40]
        bodies = sorted(set(bodies), key=lambda s: hashlib.sha1((pattern + s).encode()).hexdigest())
        picks = [""] + (bodies[:4] if method in ("POST", "PATCH") else [])
        for j, body in enumerate(picks):
            for who in ((0, 3) if j == 0 else (0,)):
                seed = bytes([i, who, j % 16, 0x07]) + b"\n" + b"key-%d-%d" % (i, j) + b"\n" + body.encode()
                name = hashlib.sha1(seed).hexdigest()[:16]
                open(os.path.join(out, name), "wb").write(seed)
                n += 1
    print(f"{n} seeds for {len(rs)} routes")


if __name__ == "__main__":
    main()
