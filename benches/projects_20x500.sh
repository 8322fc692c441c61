#!/usr/bin/env bash
# A workspace of 20 projects × 500 files against one project of 10,000 files: cold build,
# no-op and one-edit build, each the median of RUNS runs (default 7) of the release binary.
# The goal (issue 23): the workspace's no-op and one-edit builds within 10 % of the one
# project's. Each file is copied by a `cp` action; both trees are the same 10,000 files in
# the same 200 folders.
# Build first: cargo build --release
#
#   benches/projects_20x500.sh [RUNS]
set -euo pipefail

runs=${1:-7}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATUTA_BIN:-$here/target/release/batuta}
if [[ ! -x $bin ]]; then
    echo "no $bin; run: cargo build --release" >&2
    exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# $1: folder; $2: projects; $3: files per project.
tree() {
    local dir=$1 projects=$2 files=$3
    for p in $(seq -w 1 "$projects"); do
        for d in $(seq -w 0 9); do
            mkdir -p "$dir/legacy/p$p/d$d"
            for f in $(seq -w 0 $((files / 10 - 1))); do
                echo "x = $p$d$f" >"$dir/legacy/p$p/d$d/m$f.py"
            done
        done
    done
}

stages='stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "**/*.py", out: "src/{dir}/{stem}.rs" }'

mkdir -p "$root/one" "$root/many"
# The same 10,000 files in the same folders: one project over them all, or 20.
tree "$root/one" 20 500
printf 'version: 1\nproject: { name: one, source: legacy, output: rust }\n%s\n' "$stages" >"$root/one/batuta.yaml"
tree "$root/many" 20 500
{
    printf 'version: 1\nprojects:\n'
    for p in $(seq -w 1 20); do
        printf '  p%s: { source: legacy/p%s, output: rust/p%s }\n' "$p" "$p" "$p"
    done
    printf '%s\n' "$stages"
} >"$root/many/batuta.yaml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }

# Runs alternate between the two, so a busy machine weighs on both alike.
declare -A cold noop edit
for ws in one many; do
    cold[$ws]=$(ms env BATUTA_CACHE_DIR="$root/$ws/.cache" "$bin" build -f "$root/$ws/batuta.yaml")
done
for i in $(seq "$runs"); do
    for ws in one many; do
        dir=$root/$ws
        noop[$ws]+="$(ms env BATUTA_CACHE_DIR="$dir/.cache" "$bin" build -f "$dir/batuta.yaml") "
        file=$dir/legacy/p01/d0/m00.py
        echo "y = $i" >>"$file"
        edit[$ws]+="$(ms env BATUTA_CACHE_DIR="$dir/.cache" "$bin" build -f "$dir/batuta.yaml") "
    done
done
for ws in one many; do
    actions=$("$bin" graph -f "$root/$ws/batuta.yaml" --format json | grep -c '"id"')
    n=$(echo ${noop[$ws]} | tr ' ' '\n' | median)
    e=$(echo ${edit[$ws]} | tr ' ' '\n' | median)
    printf '%-5s %6d actions  cold %6d ms  no-op %5d ms  one edit %5d ms\n' "$ws" "$actions" "${cold[$ws]}" "$n" "$e"
done
