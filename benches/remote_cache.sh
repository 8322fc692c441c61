#!/usr/bin/env bash
# A clean checkout's build restored from a warm remote cache (a real BuildGrid on loopback)
# against the same build executed locally.
#
#   benches/remote_cache.sh [FILES] [WORK]
#
# FILES .py files (default 2000) in 20 folders, one transpile action each. WORK is what an
# action does besides copying its input (default: a python3 that hashes it, ~20-30 ms, the
# order of a real transpiler's start-up; WORK=none copies only, to see the per-action
# overhead of the remote round trips). Steps, each in a fresh checkout with an empty local
# cache:
#   1. local:  build without a remote (every action executes);
#   2. upload: build with the remote (every action executes and uploads);
#   3. remote: build with the remote (every action is restored from it, none executes).
# JOBS sets -j (default: the number of cores).
# Needs BuildGrid's bgd (BATUTA_TEST_BGD, as .ci/run sets it) and a batuta binary
# (BATUTA, default target/release/batuta; cargo build --release).
set -euo pipefail
. "$(dirname "$0")/remote_lib.sh"

FILES=${1:-2000}
WORK=${2:-python}
find_binaries

TMP=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill -- "-$SERVER" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(free_port)
bgd_config "$PORT" >"$TMP/bgd.yml"
setsid "$BGD" server start "$TMP/bgd.yml" >"$TMP/bgd.log" 2>&1 &
SERVER=$!
wait_port "$PORT"

RUN=$(work_run "$WORK")

# A checkout: the manifest (with or without the remote) and FILES sources.
checkout() {
    write_checkout "$1" "${2:+remote: { cache: \"grpc://127.0.0.1:$PORT\" \}}" "$RUN" "$FILES"
}

# One build: "wall_ms executed cached".
build() {
    local dir=$1 start end summary
    start=$(date +%s%N)
    (cd "$dir" && BATUTA_CACHE_DIR="$dir/.batuta/cache" "$BATUTA" build --format json -j "${JOBS:-$(nproc)}" >"$dir.events")
    grep '"event":"warning"' "$dir.events" >&2 || true
    summary=$(tail -1 "$dir.events")
    end=$(date +%s%N)
    echo "$(((end - start) / 1000000)) $(echo "$summary" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["executed"], s["cached"])')"
}

echo "workload: $FILES actions ($WORK), $(nproc) cores, BuildGrid $("$(dirname "$BGD")/pip" show buildgrid 2>/dev/null | awk '/^Version/ { print $2 }')"
checkout "$TMP/local" ""
checkout "$TMP/a" remote
checkout "$TMP/b" remote
read -r l_ms l_ex _ < <(build "$TMP/local")
read -r u_ms u_ex _ < <(build "$TMP/a")
read -r r_ms r_ex r_ca < <(build "$TMP/b")
echo "local build (executed $l_ex):                 ${l_ms} ms"
echo "build that fills the remote (executed $u_ex):  ${u_ms} ms"
echo "clean checkout from the remote (executed $r_ex, restored $r_ca): ${r_ms} ms"
python3 -c "print(f'speed-up of the remote restore over local execution: {$l_ms / max($r_ms, 1):.2f}x')"
