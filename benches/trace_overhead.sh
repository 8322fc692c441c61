#!/usr/bin/env bash
# The shape tracer's cost: the original program run plain and under trace-shapes' shim
# (the same sitecustomize.py, the same sites), medians of N runs each. The goal is under 2×.
#
#   PYTHON=venv/bin/python FILTERPY=path/to/filterpy-2.0.0 benches/trace_overhead.sh [N]
#
# PYTHON needs numpy and scipy; FILTERPY is the unpacked sdist (.ci/run fetches both, see
# BATUTA_TEST_NUMERIC_PYTHON and BATUTA_TEST_FILTERPY there). It builds batuta, runs the
# trace once through `batuta build` (BATUTA=path skips the build) to get the sites file,
# then times both runs directly.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-7}"
: "${PYTHON:?set PYTHON to a python with numpy and scipy}"
: "${FILTERPY:?set FILTERPY to the unpacked filterpy 2.0.0 sdist}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/legacy"
cp -r "$FILTERPY/filterpy" "$work/legacy/"
cp tests/numeric/track.py "$work/legacy/"
shim="$work/shim"
mkdir -p "$shim" "$work/out"
cp rules/src/optimize/trace/shim.py "$shim/sitecustomize.py"
BATUTA="${BATUTA:-}"
if [ -z "$BATUTA" ]; then cargo build -q --release; BATUTA=target/release/batuta; fi
cat > "$work/batuta.yaml" <<YAML
version: 1
project: { name: track, source: legacy, output: rust }
stages:
  analyze: { builtin: analyze }
  optimize:
    needs: [analyze]
    tasks:
      shapes: { builtin: trace-shapes, inputs: ["legacy/**/*.py"], with: { original: ["$PYTHON", "legacy/track.py", "3", "2000"] } }
YAML
"$BATUTA" build -q -f "$work/batuta.yaml" >/dev/null
# The sites the rule writes, rebuilt the same way for the direct runs.
python3 - "$work" <<'PY'
import json, sys, glob, os
work = sys.argv[1]
files = {}
for p in glob.glob(os.path.join(work, ".batuta/analysis/files/**/*.json"), recursive=True):
    r = json.load(open(p))
    sites = [{"line": c["line"], "operation": c["operation"],
              "via": (list(c["via"])[0] if isinstance(c.get("via"), dict) else c.get("via", "function")),
              "names": [o.get("name") for o in c.get("operands", [])], "axis": c.get("axis", False)}
             for c in r.get("ml_calls", [])]
    if sites:
        files[r["path"]] = sites
json.dump({"files": files}, open(os.path.join(work, "sites.json"), "w"))
PY
time_one() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cd "$work/legacy"
plain=$(for _ in $(seq "$N"); do time_one "$PYTHON" track.py 3 2000; done | median)
traced=$(for _ in $(seq "$N"); do
    PYTHONPATH="$shim" BATUTA_TRACE_SITES="$work/sites.json" BATUTA_TRACE_ROOT="$work/legacy" \
        BATUTA_TRACE_OUT="$work/out" time_one "$PYTHON" track.py 3 2000
done | median)
echo "track.py 3 2000 (filterpy Kalman filter, 2000 steps), median of $N:"
echo "  plain  ${plain} ms"
echo "  traced ${traced} ms"
awk -v p="$plain" -v t="$traced" 'BEGIN { printf "  ratio  %.2f× (goal: under 2×)\n", t / p }'
