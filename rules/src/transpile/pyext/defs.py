# batuta's reader of Python modules for the Python extension: for each file named on the
# command line, its top-level functions (name, lines, parameters, and what keeps a native
# counterpart from standing in for one) and its code lines, as JSON on stdout. It reads
# the files with the interpreter's own parser, the one the import hook rewrites them with.
#
# Code lines are lines holding a token that is neither a comment nor part of a docstring
# (a module's, class's or function's first statement when it is a string), as tokei counts
# them for the analysis.

import ast
import io
import json
import sys
import tokenize


def docstring_lines(tree):
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    return skip


def code_lines(source, skip):
    lines = set()
    quiet = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in quiet:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in skip:
                lines.add(line)
    return lines


def yields(fn):
    """Whether `fn` is a generator: a yield of its own, not of a function inside it."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return False


def read(path):
    try:
        # In the encoding the file declares (PEP 263), as Python imports it.
        with tokenize.open(path) as f:
            source = f.read()
        tree = ast.parse(source, filename=path)
        code = code_lines(source, docstring_lines(tree))
    except (SyntaxError, ValueError, UnicodeDecodeError, tokenize.TokenError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    functions = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        a = node.args
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        functions.append({
            "name": node.name,
            "line": node.lineno,
            "end_line": node.end_lineno,
            "code_lines": sum(1 for line in code if first <= line <= node.end_lineno),
            "params": len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs),
            "varargs": a.vararg is not None or a.kwarg is not None,
            "decorated": bool(node.decorator_list),
            "is_async": isinstance(node, ast.AsyncFunctionDef),
            "generator": yields(node),
        })
    return {"code_lines": len(code), "functions": functions}


def main():
    out = {}
    for path in sys.argv[1:]:
        try:
            out[path] = read(path)
        except OSError as e:
            out[path] = {"error": str(e)}
    json.dump(out, sys.stdout)


main()
