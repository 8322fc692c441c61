# Run by batuta as `python3 -c <this> FILE [QUERY]`: whether python3 itself accepts FILE
# (compile(), as the interpreter would), and where the first construct QUERY describes is.
# Prints one JSON object: {"syntax": null | {"line", "col", "msg"}, "found": null | {"line", "col", "what"}}.
import ast, json, sys

path = sys.argv[1]
query = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
src = open(path, "rb").read()
out = {"syntax": None, "found": None}
try:
    compile(src, path, "exec", dont_inherit=True)
except SyntaxError as e:
    out["syntax"] = {"line": e.lineno, "col": e.offset, "msg": e.msg}
except ValueError as e:  # source with a NUL byte
    out["syntax"] = {"line": None, "col": None, "msg": str(e)}
if out["syntax"] is None and query:
    tree = ast.parse(src, path)
    lines = src.decode("utf-8", "replace").splitlines()

    def name_of(func):
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
        return None

    def count(call):
        return len(call.args) + len(call.keywords)

    def matches(node):
        kind = query["kind"]
        if kind == "call" and isinstance(node, ast.Call) and name_of(node.func) == query["name"]:
            n = count(node)
            if "not_in" in query and n in query["not_in"]:
                return None
            if "over" in query and n <= query["over"]:
                return None
            if "exactly" in query and n != query["exactly"]:
                return None
            if "dynamic_arg" in query:
                i = query["dynamic_arg"]
                if len(node.args) <= i or (isinstance(node.args[i], ast.Constant) and isinstance(node.args[i].value, str)):
                    return None
            return "%s() call with %d argument%s" % (query["name"], n, "" if n == 1 else "s")
        if kind == "attr" and isinstance(node, ast.Attribute) and node.attr == query["attr"] \
                and isinstance(node.value, ast.Name) and node.value.id == query["base"]:
            return "%s.%s" % (query["base"], query["attr"])
        if kind == "node" and type(node).__name__ == query["name"]:
            return query["what"]
        if kind == "dict_unpack" and isinstance(node, ast.Dict) and any(k is None for k in node.keys):
            return "dict display with ** unpacking"
        return None

    best = None
    for node in ast.walk(tree):
        what = matches(node)
        if what and hasattr(node, "lineno"):
            key = (node.lineno, node.col_offset)
            if best is None or key < best[0]:
                best = (key, what)
    if best:
        (line, offset), what = best
        text = lines[line - 1].encode("utf-8") if line - 1 < len(lines) else b""
        col = len(text[:offset].decode("utf-8", "replace")) + 1
        out["found"] = {"line": line, "col": col, "what": what}
print(json.dumps(out))
