"""Count lines of code, comments and blanks of Python files; write them as JSON.

usage: loc.py -o OUT.json FILE...
"""
import json
import sys


def count(path):
    code = comment = blank = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s:
                blank += 1
            elif s.startswith("#"):
                comment += 1
            else:
                code += 1
    return {"file": path, "code": code, "comment": comment, "blank": blank}


def main(argv):
    if len(argv) < 4 or argv[1] != "-o":
        print(__doc__, file=sys.stderr)
        return 2
    files = [count(p) for p in argv[3:]]
    total = {k: sum(f[k] for f in files) for k in ("code", "comment", "blank")}
    with open(argv[2], "w", encoding="utf-8") as out:
        json.dump({"files": files, "total": total}, out, indent=2)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
