#!/usr/bin/env bash
# End-to-end wall time of `batuta graph --format json` on a 10,000-file workspace.
#
# Generates the workspace of benches/graph_expand.rs (10,000 .py files in 100 folders,
# 100 .csv files, a manifest with `each: "**/*.py"`) in a temporary folder, runs the
# release binary RUNS times (default 11) after one warm-up run, and prints every run and
# the median in milliseconds. Build first: cargo build --release
#
#   benches/graph_10k.sh [RUNS]
set -euo pipefail

runs=${1:-11}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATUTA_BIN:-$here/target/release/batuta}
if [[ ! -x $bin ]]; then
    echo "no $bin; run: cargo build --release" >&2
    exit 1
fi

ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT

cat >"$ws/batuta.yaml" <<'EOF'
version: 1
project:
  name: bench-10k
  source: legacy
  output: rust
  exclude: ["**/__pycache__/**"]
tools:
  depyler: { command: depyler, version: ["--version"] }
rules:
  py-to-rust:
    tool: depyler
    run: ["{tool}", "transpile", "{in}", "-o", "{out}"]
stages:
  analyze:
    builtin: analyze
  transpile:
    needs: [analyze]
    tasks:
      python: { rule: py-to-rust, each: "**/*.py", out: "src/{dir}/{stem}.rs" }
  validate:
    needs: [transpile]
    tasks:
      numerics:
        kernel: allclose
        inputs: [golden/expected.f32, rust/src/pkg00/sub00/mod000.rs, rust/src/pkg05/sub05/mod050.rs, rust/src/pkg09/sub09/mod099.rs]
      same-output:
        builtin: compare-outputs
        inputs: [rust/src/pkg00/sub00/mod001.rs, rust/src/pkg01/sub02/mod003.rs]
        with: { original: [python3, legacy/pkg00/sub00/mod001.py], migrated: [rust/target/release/bench-10k] }
  build:
    needs: [validate]
    builtin: cargo-build
EOF
mkdir -p "$ws/golden"
: >"$ws/golden/expected.f32"
for p in $(seq -w 0 9); do
    for s in $(seq -w 0 9); do
        d="$ws/legacy/pkg0$p/sub0$s"
        mkdir -p "$d"
        : >"$d/data.csv"
        for f in $(seq -w 0 99); do
            echo 'print(1)' >"$d/mod0$f.py"
        done
    done
done

count=$(find "$ws/legacy" -name '*.py' | wc -l)
actions=$("$bin" graph -f "$ws/batuta.yaml" --format json | grep -c '"id":' || true)
echo "workspace: $count .py files, $actions actions in the graph"

now_ns() { date +%s%N; }
"$bin" graph -f "$ws/batuta.yaml" --format json >/dev/null # warm-up: page cache, dentries
times=()
for _ in $(seq "$runs"); do
    t0=$(now_ns)
    "$bin" graph -f "$ws/batuta.yaml" --format json >/dev/null
    t1=$(now_ns)
    times+=($(((t1 - t0) / 1000)))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
fmt() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
line="runs (ms):"
for t in "${times[@]}"; do line+=" $(fmt "$t")"; done
echo "$line"
echo "median: $(fmt "${sorted[$((runs / 2))]}") ms  (min $(fmt "${sorted[0]}"), max $(fmt "${sorted[$((runs - 1))]}"), $runs runs, $(nproc) cores)"
