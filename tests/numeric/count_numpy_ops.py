"""Counts NumPy operations in a tree with Python's own parser, for tests/numeric_trace.rs.

usage: count_numpy_ops.py ROOT  -> JSON [[file, line, name], ...] on stdout

Counted, in each non-test .py file that imports numpy: calls of a function reached through
a numpy import (np.dot, dot after `from numpy import dot`, linalg.inv after
`import numpy.linalg as linalg`), calls of array methods (a.dot(b), x.T.dot(w), a.sum()),
and `@`. Test files (test folders, test_*.py) are left out, as batuta leaves them out.
"""
import ast
import json
import os
import sys

METHODS = {"dot", "reshape", "ravel", "flatten", "transpose", "astype", "cumsum", "cumprod",
           "argmax", "argmin", "diagonal", "sum", "mean", "std", "var", "max", "min", "prod",
           "clip"}


def is_test(rel):
    parts = rel.split("/")
    name = parts[-1]
    return (any(p in ("test", "tests", "testing") for p in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def count(path, rel, out):
    tree = ast.parse(open(path, encoding="utf-8").read())
    aliases = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.name == "numpy" or a.name.startswith("numpy."):
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "numpy"
        elif isinstance(n, ast.ImportFrom) and n.module and (
                n.module == "numpy" or n.module.startswith("numpy.")):
            for a in n.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = n.module + "." + a.name
    if not aliases:
        return

    def dotted(e):
        if isinstance(e, ast.Name):
            return e.id
        if isinstance(e, ast.Attribute):
            d = dotted(e.value)
            return d and d + "." + e.attr
        return None

    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            d = dotted(n.func)
            head = d.split(".")[0] if d else None
            if head in aliases:
                out.append([rel, n.lineno, d.rsplit(".", 1)[-1]])
            elif isinstance(n.func, ast.Attribute) and n.func.attr in METHODS:
                recv = dotted(n.func.value)
                if recv is None or (recv.split(".")[0] not in aliases and recv != "self"):
                    out.append([rel, n.lineno, n.func.attr])
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult):
            out.append([rel, n.lineno, "matmul"])


def main():
    root = sys.argv[1]
    out = []
    for d, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(".py"):
                p = os.path.join(d, f)
                rel = os.path.relpath(p, root).replace(os.sep, "/")
                if not is_test(rel):
                    count(p, rel, out)
    json.dump(out, sys.stdout)


main()
