# batuta's shape tracer. batuta's trace-shapes rule puts this file first on the traced
# program's import path as sitecustomize.py; Python imports it at start-up. It records, for
# every call site the analysis planned, the shapes and dtypes of the operands, and writes
# them when the program exits. It never edits the program's files.
#
# How: the program's own modules that hold sites are compiled from a rewritten parse, in
# memory, where each site's call `f(x)` becomes `__batuta_call__(SITE, f, x)` and each
# `a @ b` becomes `__batuta_matmul__(SITE, a, b)`: the helper notes its operands as they
# are at that moment (for a method, `f.__self__` is the receiver, whatever expression gave
# it) and makes the call. Only the sites pay; nothing traces the program's other calls,
# which is what a sys.settrace or sys.setprofile hook costs (1.5× on its own here).
# Sites are told apart by their anchor, the line and column of the call's `(` or the `@`,
# so several calls of one operation on one line are measured apart.
#
# The imported modules go through a finder placed before Python's own path finder. The
# main script is compiled by Python itself, before any import hook can see it; it is
# rewritten too: a one-shot trace hook catches the first event of its module frame, runs
# the rewritten script in that frame's namespace, and raises SystemExit (or the script's
# own exception) into the original frame, which thus ends without running a line of its
# own. The script then runs inside that trace function: a sys.settrace of its own would
# not fire (CPython does not trace from within a trace function).
#
# Environment: BATUTA_TRACE_SITES (the sites, JSON), BATUTA_TRACE_ROOT (the folder the
# sites' paths are relative to), BATUTA_TRACE_OUT (the folder to write trace-PID.json in).

import os
import sys

FORMAT = 2


def _install():
    sites_path = os.environ.get("BATUTA_TRACE_SITES")
    root = os.environ.get("BATUTA_TRACE_ROOT")
    out = os.environ.get("BATUTA_TRACE_OUT")
    if not (sites_path and root and out):
        return
    import builtins
    import json

    with open(sites_path) as f:
        spec = json.load(f)
    root = os.path.realpath(root) + os.sep

    def rel(filename):
        full = os.path.realpath(filename)
        return full[len(root):] if full.startswith(root) else ""

    # Every site by number; by file, line → [(column, number)] for the rewriter.
    sites = []
    anchors = {}
    for file, entries in spec["files"].items():
        by_line = anchors.setdefault(file, {})
        for s in entries:
            line, col = s["anchor"]
            by_line.setdefault(line, []).append((col, len(sites)))
            sites.append((file, s["line"], s["anchor"], s["operation"], s["via"] == "method", s["axis"]))

    counts = {}
    dtype_names = {}

    def describe(v):
        np = sys.modules.get("numpy")
        if np is not None:
            if isinstance(v, np.ndarray):
                d = v.dtype
                name = dtype_names.get(d)
                if name is None:
                    name = dtype_names[d] = str(d)
                return ("array", v.shape, name)
            if isinstance(v, np.generic):
                return ("scalar", (), str(v.dtype))
        if isinstance(v, (bool, int, float, complex)):
            return ("scalar", (), type(v).__name__)
        sparse = sys.modules.get("scipy.sparse")
        if sparse is not None and sparse.issparse(v):
            return ("sparse", tuple(v.shape), str(v.dtype))
        if isinstance(v, (list, tuple)):
            return ("list", (len(v),), "")
        return ("other", (), type(v).__name__)

    def note(site, operands, kwargs):
        try:
            key = (site, tuple(describe(v) for v in operands), "axis" in kwargs)
            counts[key] = counts.get(key, 0) + 1
        except Exception:  # noqa: BLE001 - measuring must never break the program
            pass

    def call(site, fn, *args, **kwargs):
        if sites[site][4]:
            receiver = getattr(fn, "__self__", None)
            if receiver is not None:
                note(site, (receiver,) + args, kwargs)
        else:
            note(site, args, kwargs)
        return fn(*args, **kwargs)

    def matmul(site, a, b):
        note(site, (a, b), ())
        return a @ b

    builtins.__batuta_call__ = call
    builtins.__batuta_matmul__ = matmul

    import ast

    class Rewriter(ast.NodeTransformer):
        """Wraps the calls and `@`s whose anchor is a site's."""

        def __init__(self, by_line):
            self.by_line = by_line

        def site_between(self, start, stop):
            """The site anchored in [start, stop] (line, column pairs)."""
            for line in range(start[0], stop[0] + 1):
                for col, site in self.by_line.get(line, ()):
                    if start <= (line, col) <= stop:
                        return site
            return None

        def visit_Call(self, node):
            self.generic_visit(node)
            f = node.func
            # The `(` stands after the callee and before the first argument.
            firsts = [(a.lineno, a.col_offset) for a in node.args]
            firsts += [(k.lineno, k.col_offset) for k in node.keywords]
            stop = min(firsts) if firsts else (node.end_lineno, node.end_col_offset)
            site = self.site_between((f.end_lineno, f.end_col_offset), stop)
            if site is None:
                return node
            wrapped = ast.Call(
                func=ast.Name("__batuta_call__", ast.Load()),
                args=[ast.Constant(site), f] + node.args,
                keywords=node.keywords,
            )
            return ast.copy_location(wrapped, node)

        def visit_BinOp(self, node):
            self.generic_visit(node)
            if not isinstance(node.op, ast.MatMult):
                return node
            site = self.site_between(
                (node.left.end_lineno, node.left.end_col_offset),
                (node.right.lineno, node.right.col_offset),
            )
            if site is None:
                return node
            wrapped = ast.Call(
                func=ast.Name("__batuta_matmul__", ast.Load()),
                args=[ast.Constant(site), node.left, node.right],
                keywords=[],
            )
            return ast.copy_location(wrapped, node)

    def compile_rewritten(source, path, by_line):
        try:
            tree = Rewriter(by_line).visit(ast.parse(source, path))
            return compile(ast.fix_missing_locations(tree), path, "exec", dont_inherit=True)
        except SyntaxError:
            raise
        except Exception:  # noqa: BLE001 - a rewrite that fails leaves the module as it is
            return compile(source, path, "exec", dont_inherit=True)

    import importlib.machinery

    class Loader(importlib.machinery.SourceFileLoader):
        """Compiles from the rewritten parse, never from or into a cached .pyc."""

        def __init__(self, fullname, path, by_line):
            super().__init__(fullname, path)
            self.by_line = by_line

        def get_code(self, fullname):
            path = self.get_filename(fullname)
            return compile_rewritten(self.get_data(path), path, self.by_line)

    class Finder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
            if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
                by_line = anchors.get(rel(spec.origin))
                if by_line:
                    spec.loader = Loader(fullname, spec.origin, by_line)
            return spec

        @staticmethod
        def invalidate_caches():
            pass

    # Just before the path finder, so finders placed ahead of it still come first, and what
    # it finds is what Python would have found.
    at = next(
        (i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder),
        len(sys.meta_path),
    )
    sys.meta_path.insert(at, Finder)

    main = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    main_lines = anchors.get(rel(main)) if main else None
    if main_lines:
        main_path = os.path.realpath(main)

        def first_event(frame, event, arg):
            code = frame.f_code
            if code.co_name != "<module>" or os.path.realpath(code.co_filename) != main_path:
                return None
            sys.settrace(None)
            with open(code.co_filename, "rb") as f:
                rewritten = compile_rewritten(f.read(), code.co_filename, main_lines)
            exec(rewritten, frame.f_globals)
            raise SystemExit

        sys.settrace(first_event)

    def clear_in_child():
        counts.clear()

    os.register_at_fork(after_in_child=clear_in_child)

    def write():
        entries = [
            {
                "file": sites[site][0],
                "line": sites[site][1],
                "anchor": sites[site][2],
                "operation": sites[site][3],
                "operands": [[kind, list(shape), dtype] for kind, shape, dtype in operands],
                "axis": axis or sites[site][5],
                "count": n,
            }
            for (site, operands, axis), n in counts.items()
        ]
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "trace-%d.json" % os.getpid())
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"format": FORMAT, "calls": entries}, f)
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
