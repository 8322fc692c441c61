# batuta's shape tracer. batuta's trace-shapes rule puts this file first on the traced
# program's import path as sitecustomize.py; Python imports it at start-up. It records, for
# every call site the analysis planned, the shapes and dtypes of the operands, and writes
# them when the program exits. It never edits the program: NumPy's functions are wrapped in
# their modules (so `from numpy import dot` gets the wrapper too), and method calls and
# operators (`a.dot(b)`, `a @ b`), which no wrapper can reach, are read by a line tracer
# that looks the operands' names up in the frame when the site's line starts.
#
# Environment: BATUTA_TRACE_SITES (the sites, JSON), BATUTA_TRACE_ROOT (the folder the
# sites' paths are relative to), BATUTA_TRACE_OUT (the folder to write trace-PID.json in).

import json
import os
import sys


def _install():
    sites_path = os.environ.get("BATUTA_TRACE_SITES")
    root = os.environ.get("BATUTA_TRACE_ROOT")
    out = os.environ.get("BATUTA_TRACE_OUT")
    if not (sites_path and root and out):
        return
    with open(sites_path) as f:
        spec = json.load(f)
    root = os.path.realpath(root) + os.sep
    rel_cache = {}

    def rel(filename):
        r = rel_cache.get(filename)
        if r is None:
            full = os.path.realpath(filename)
            r = full[len(root):] if full.startswith(root) else ""
            rel_cache[filename] = r
        return r

    seen = {}
    np = None
    sparse = None

    def describe(v):
        if np is not None and isinstance(v, np.ndarray):
            return ["array", list(v.shape), str(v.dtype)]
        if sparse is not None and sparse.issparse(v):
            return ["sparse", list(v.shape), str(v.dtype)]
        if np is not None and isinstance(v, np.generic):
            return ["scalar", [], str(v.dtype)]
        if isinstance(v, (bool, int, float, complex)):
            return ["scalar", [], type(v).__name__]
        if isinstance(v, (list, tuple)):
            return ["list", [len(v)], ""]
        return ["other", [], type(v).__name__]

    def record(file, line, op, operands, axis):
        key = (file, line, op, json.dumps([describe(v) for v in operands]), axis)
        seen[key] = seen.get(key, 0) + 1

    # Function sites: the line each site starts on, by file and operation; a call's frame
    # may stand on a later line of a call written over several.
    functions = {}
    by_line = {}
    for file, sites in spec["files"].items():
        for s in sites:
            if s["via"] == "function":
                functions.setdefault((file, s["operation"]), []).append(s["line"])
            elif s["names"]:
                by_line.setdefault(file, {}).setdefault(s["line"], []).append(s)
    for lines in functions.values():
        lines.sort()

    def site_line(file, op, lineno):
        best = None
        for line in functions.get((file, op), ()):
            if line <= lineno:
                best = line
        return best if best is not None and lineno - best <= 50 else None

    def seen_at(op, args, kwargs):
        frame = sys._getframe(2)
        file = rel(frame.f_code.co_filename)
        if file:
            line = site_line(file, op, frame.f_lineno)
            if line is not None:
                record(file, line, op, args, "axis" in kwargs)

    class TracedUfunc:
        """A ufunc that records its calls; its methods (`reduce`, `outer`…) are the ufunc's."""

        def __init__(self, orig, op):
            self._orig, self._op = orig, op

        def __call__(self, *args, **kwargs):
            seen_at(self._op, args, kwargs)
            return self._orig(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._orig, name)

    def wrap(module, attr, op):
        orig = getattr(module, attr, None)
        # Classes stay themselves: isinstance() and subclasses must keep working.
        if orig is None or not callable(orig) or isinstance(orig, type):
            return
        if np is not None and isinstance(orig, np.ufunc):
            setattr(module, attr, TracedUfunc(orig, op))
            return

        def traced(*args, **kwargs):
            seen_at(op, args, kwargs)
            return orig(*args, **kwargs)

        traced.__name__ = getattr(orig, "__name__", attr)
        traced.__qualname__ = getattr(orig, "__qualname__", attr)
        traced.__doc__ = getattr(orig, "__doc__", None)
        traced.__wrapped__ = orig
        setattr(module, attr, traced)

    wanted = sorted({op for (_, op) in functions if op.startswith("numpy.")})
    if any(op.startswith("numpy.") for op in wanted) or by_line:
        try:
            import numpy as np  # noqa: F811
        except ImportError:
            np = None
    if any(op.startswith("scipy.sparse") for op in wanted) or by_line:
        try:
            import scipy.sparse as sparse  # noqa: F811
        except ImportError:
            sparse = None
    import importlib

    for op in wanted:
        module_name, _, attr = op.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        wrap(module, attr, op)

    missing = object()

    def lookup(frame, name):
        parts = name.split(".")
        v = frame.f_locals.get(parts[0], missing)
        if v is missing:
            v = frame.f_globals.get(parts[0], missing)
        for p in parts[1:]:
            if v is missing:
                return missing
            if p == "T" and np is not None and isinstance(v, np.ndarray):
                v = v.T
                continue
            # Only what an object stores: reading a property could run code.
            d = getattr(v, "__dict__", None)
            v = d.get(p, missing) if isinstance(d, dict) else missing
        return v

    def local(frame, event, arg):
        if event == "line":
            sites = by_line.get(rel(frame.f_code.co_filename), {}).get(frame.f_lineno)
            if sites:
                for s in sites:
                    values = [lookup(frame, n) if n else missing for n in s["names"]]
                    if all(v is not missing for v in values):
                        record(rel(frame.f_code.co_filename), s["line"], s["operation"], values, s["axis"])
        return local

    traced_files = set(by_line)

    def call(frame, event, arg):
        if rel(frame.f_code.co_filename) in traced_files:
            return local
        return None

    if by_line:
        import threading

        sys.settrace(call)
        threading.settrace(call)

    def write():
        sys.settrace(None)
        entries = [
            {"file": f, "line": l, "operation": op, "operands": json.loads(ops), "axis": axis, "count": n}
            for (f, l, op, ops, axis), n in seen.items()
        ]
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "trace-%d.json" % os.getpid())
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"format": 1, "calls": entries}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    import atexit

    atexit.register(write)


_install()
del _install

# A sitecustomize of the environment's own still runs.
_here = os.path.dirname(os.path.abspath(__file__))
_path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
if _path != sys.path:
    import importlib.util

    _saved, sys.path[:] = list(sys.path), _path
    try:
        _spec = importlib.util.find_spec("sitecustomize")
    finally:
        sys.path[:] = _saved
    if _spec is not None and _spec.origin and os.path.dirname(_spec.origin) != _here:
        _module = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_module)
