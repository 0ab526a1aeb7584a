#!/usr/bin/python3
"""The shape of src/ that HACKING promises, checked (TAP):

 1. no file includes a header of a higher layer (the order is LAYERS, as
    HACKING's map gives it; main.c may include anything);
 2. no two modules include each other's headers (a module is a file name
    without its extension: foo.c and foo.h; a private foo_int.h shared by
    foo.c and foo_*.c is a module of its own, which includes neither);
 3. no function is longer than MAX_FUNC lines (KNF: the body opens with
    "{" and closes with "}" in column 0);
 4. every row of tests/mutate.py still points at exactly one place.

    tests/control/check_tree.py [TOP]
"""
import os
import re
import sys

LAYERS = ["util", "wire", "data", "engine", "xfr", "sync", "runtime", "verbs"]
MAX_FUNC = 120
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
src = os.path.join(top, "src")


def sources():
    for d, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), src)


def includes(rel):
    with open(os.path.join(src, rel), errors="replace") as f:
        for i, line in enumerate(f, 1):
            m = INC.match(line)
            if m:
                yield i, m.group(1)


def layer(rel):
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else None


def module(rel):
    stem = os.path.splitext(os.path.basename(rel))[0]
    return stem


results = []


def check(ok, name, problems):
    results.append((ok, name, problems))


files = list(sources())
known = {}
for rel in files:
    known[rel] = rel
    known.setdefault(os.path.basename(rel), rel)

# 1. layers
bad = []
for rel in files:
    lay = layer(rel)
    if lay is None or lay not in LAYERS:
        if rel != "main.c":
            bad.append("%s: not in a layer folder" % rel)
        continue
    for line, name in includes(rel):
        target = known.get(name)
        tl = layer(target) if target else None
        if tl in LAYERS and LAYERS.index(tl) > LAYERS.index(lay):
            bad.append("src/%s:%d: %s includes %s (%s is above %s)"
                       % (rel, line, lay, name, tl, lay))
check(not bad, "no header of a higher layer is included", bad)

# 2. mutual includes between modules
edges = {}
for rel in files:
    for line, name in includes(rel):
        target = known.get(name)
        a, b = module(rel), module(target) if target else None
        # A module and its own private header go together.
        if target and a != b and a + "_int" != b and b + "_int" != a:
            edges.setdefault((module(rel), module(target)), "src/%s:%d" % (rel, line))
bad = sorted("%s and %s include each other (%s, %s)" % (a, b, w, edges[(b, a)])
             for (a, b), w in edges.items() if (b, a) in edges and a < b)
check(not bad, "no two modules include each other", bad)

# 3. function length
bad = []
for rel in files:
    if not rel.endswith(".c"):
        continue
    with open(os.path.join(src, rel), errors="replace") as f:
        lines = f.read().split("\n")
    start = name = None
    for i, line in enumerate(lines):
        if line == "{":
            start, name = i, "?"
            for j in range(i - 1, max(i - 8, -1), -1):
                m = re.match(r"^([A-Za-z_]\w*)\(", lines[j])
                if m:
                    name = m.group(1)
                    break
        elif line == "}" and start is not None:
            n = i - start + 1
            if n > MAX_FUNC:
                bad.append("src/%s:%d: %s is %d lines (at most %d)"
                           % (rel, start + 1, name, n, MAX_FUNC))
            start = None
check(not bad, "no function over %d lines" % MAX_FUNC, bad)

# 4. the mutation table
sys.path.insert(0, os.path.join(top, "tests"))
sys.dont_write_bytecode = True
import mutate  # noqa: E402
bad = mutate.check_table(top, mutate.MUTANTS)
check(not bad, "every row of tests/mutate.py fits the code", bad)

print("1..%d" % len(results))
failed = 0
for n, (ok, name, problems) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    for p in problems:
        print("# " + p)
    failed += not ok
sys.exit(1 if failed else 0)
