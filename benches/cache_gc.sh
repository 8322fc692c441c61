#!/usr/bin/env bash
# `cache gc` on the scenario of issue 21: 1,500 actions whose records (their 10 KiB outputs
# inline) make a 15 MB pack, and 73 MB of blobs that no record names (as a pack evicted
# whole by the old gc left them), written after the build. `gc --max-size 70M` must remove
# those blobs first and keep every hit: a clean checkout's build then restores all 1,500
# actions and executes none.
#
#   benches/cache_gc.sh [ACTIONS] [ORPHAN_MB] [MAX]
#
# Needs a batuta binary (BATUTA, default target/release/batuta; cargo build --release).
set -euo pipefail
ACTIONS=${1:-1500}
ORPHAN_MB=${2:-73}
MAX=${3:-70M}
BATUTA=${BATUTA:-$(cd "$(dirname "$0")/.." && pwd)/target/release/batuta}

TMP=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
mkdir src
python3 - "$ACTIONS" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    head = f"file {i}\n".encode()
    open(f"src/f{i:05}.bin", "wb").write(head + bytes(j % 251 for j in range(10 * 1024 - len(head))))
PY
cat >batuta.yaml <<'YAML'
version: 1
project: { name: gc, source: src, output: out }
stages:
  transpile:
    run: [cp, "{in}", "{out}"]
    each: "*.bin"
    out: "{stem}.copy"
YAML
summary() { "$BATUTA" build --format json | tail -1; }
echo "first build:      $(summary)"
# The orphans: 100 KiB blobs under 64-hex names. gc reads no blob's content, so to it they
# are what they stand for, blobs no record names.
python3 - "$ORPHAN_MB" <<'PY'
import hashlib, os, sys
for i in range(int(sys.argv[1]) * 10):
    data = bytes([i % 256]) * 100 * 1024
    name = hashlib.sha256(data + str(i).encode()).hexdigest()
    os.makedirs(f".batuta/cache/cas/{name[:2]}", exist_ok=True)
    open(f".batuta/cache/cas/{name[:2]}/{name}", "wb").write(data)
PY
echo "cache before gc:  $(du -sb .batuta/cache | cut -f1) bytes"
echo "gc --max-size $MAX: $("$BATUTA" cache gc --max-size "$MAX")"
rm -rf out
echo "clean checkout:   $(summary)"
