#!/usr/bin/env bash
# Transpiling 200 Python files with the real depyler: batuta with -j 2 against a sequential
# shell loop calling depyler on the same files, then batuta's no-op re-run.
#
# Generates 200 small typed Python modules in 10 folders in a temporary folder, runs
#   1. a shell loop: `depyler transpile F -o OUT` for each file, one after the other;
#   2. `batuta transpile -j 2` with an empty cache (every action runs);
#   3. `batuta transpile -j 2` again, RUNS times (default 11): the no-op re-run;
# and prints each wall time in milliseconds, the ratio batuta/loop and the median no-op.
# Targets (issue 5): ratio <= 0.6, no-op <= 50 ms. Build first: cargo build --release
#
#   benches/transpile_depyler.sh [RUNS]
set -euo pipefail

runs=${1:-11}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATUTA_BIN:-$here/target/release/batuta}
if [[ ! -x $bin ]]; then
    echo "no $bin; run: cargo build --release" >&2
    exit 1
fi
depyler=$(command -v depyler) || { echo "depyler is not on PATH: cargo install --locked depyler" >&2; exit 1; }

ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT

cat >"$ws/batuta.yaml" <<'YAML'
version: 1
project: { name: bench-depyler, source: legacy, output: rust }
stages:
  transpile:
    tasks:
      python: { rule: depyler, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
YAML

for d in $(seq 0 9); do
    mkdir -p "$ws/legacy/pkg$d"
    for f in $(seq 0 19); do
        cat >"$ws/legacy/pkg$d/mod$f.py" <<PY
from typing import List


def scale_$f(values: List[int], factor: int) -> List[int]:
    result: List[int] = []
    for v in values:
        result.append(v * factor + $d)
    return result


def total_$f(values: List[int]) -> int:
    s: int = 0
    for v in values:
        s = s + v
    return s


def clamp_$f(x: int, lo: int, hi: int) -> int:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
PY
    done
done

ms() { date +%s%N; }

# 1. The sequential loop.
mkdir -p "$ws/loop"
start=$(ms)
for f in "$ws"/legacy/pkg*/*.py; do
    rel=${f#"$ws/legacy/"}
    mkdir -p "$ws/loop/$(dirname "$rel")"
    "$depyler" transpile "$f" -o "$ws/loop/${rel%.py}.rs" >/dev/null 2>&1
done
loop_ms=$(( ($(ms) - start) / 1000000 ))

# 2. batuta, cold (nothing cached).
export BATUTA_CACHE_DIR="$ws/.batuta/cache"
start=$(ms)
(cd "$ws" && "$bin" transpile -j 2 --format json >"$ws/cold.json")
cold_ms=$(( ($(ms) - start) / 1000000 ))
tail -1 "$ws/cold.json"

# 3. The no-op re-run.
noops=()
for _ in $(seq 1 "$runs"); do
    start=$(ns=$(date +%s%N); echo "$ns")
    (cd "$ws" && "$bin" transpile -j 2 --format json >"$ws/noop.json")
    noops+=($(( ($(date +%s%N) - start) / 1000000 )))
done
tail -1 "$ws/noop.json"
median=$(printf '%s\n' "${noops[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")

echo "files: 200"
echo "sequential loop: ${loop_ms} ms"
echo "batuta -j 2 (cold): ${cold_ms} ms"
awk -v b="$cold_ms" -v l="$loop_ms" 'BEGIN { printf "ratio batuta/loop: %.2f (target <= 0.60)\n", b / l }'
echo "no-op re-runs (ms): ${noops[*]}"
echo "no-op median: ${median} ms (target <= 50)"
