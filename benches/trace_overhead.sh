#!/usr/bin/env bash
# The shape tracer's cost: the original program run plain and under trace-shapes' shim
# (the same sitecustomize.py, the same sites), medians of N runs each, of the wall time and
# of the CPU time (user + system: on a busy machine the steadier of the two). The goal is
# under 2×.
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
    sites = [{"line": c["line"], "anchor": c["anchor"], "operation": c["operation"],
              "via": (list(c["via"])[0] if isinstance(c.get("via"), dict) else c.get("via", "function")),
              "axis": c.get("axis", False)}
             for c in r.get("ml_calls", []) if c.get("anchor")]
    if sites:
        files[r["path"]] = sites
json.dump({"files": files}, open(os.path.join(work, "sites.json"), "w"))
PY
# One run: "wall cpu" in milliseconds (bash's own `time`, so no other program is needed).
time_one() {
    local TIMEFORMAT='%R %U %S'
    { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cd "$work/legacy"
: >"$work/plain"
: >"$work/traced"
# Interleaved, so a change in the machine's load falls on both.
for _ in $(seq "$N"); do
    time_one "$PYTHON" track.py 3 2000 >>"$work/plain"
    PYTHONPATH="$shim" BATUTA_TRACE_SITES="$work/sites.json" BATUTA_TRACE_ROOT="$work/legacy" \
        BATUTA_TRACE_OUT="$work/out" time_one "$PYTHON" track.py 3 2000 >>"$work/traced"
done
ls "$work/out"/trace-*.json >/dev/null 2>&1 || { echo "the traced runs wrote no trace" >&2; exit 1; }
echo "track.py 3 2000 (filterpy Kalman filter, 2000 steps), median of $N:"
for col in 1 2; do
    what=$([ "$col" = 1 ] && echo "wall" || echo "CPU ")
    plain=$(cut -d' ' -f"$col" "$work/plain" | median)
    traced=$(cut -d' ' -f"$col" "$work/traced" | median)
    awk -v w="$what" -v p="$plain" -v t="$traced" \
        'BEGIN { printf "  %s  plain %5d ms, traced %5d ms: %.2f× (goal: under 2×)\n", w, p, t, t / p }'
done
