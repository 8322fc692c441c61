#!/usr/bin/env bash
# Remote execution throughput: a build whose actions run on two `batuta worker`s of a real
# BuildGrid (Execution + Bots, scheduler in PostgreSQL, all on loopback) against the same
# build run here with -j 2.
#
#   benches/remote_exec.sh [FILES] [WORK]
#
# FILES .py files (default 500) in 20 folders, one transpile action each; WORK as in
# remote_cache.sh (python: a python3 that hashes and copies, ~20-30 ms; none: cp only).
# WORKER_JOBS sets each worker's -j (default 1, so two workers hold two actions at once,
# like local -j 2); CLIENT_JOBS the client's -j (default 8: remote runs are mostly waiting).
# Each build is in a fresh checkout with an empty local cache; the server starts empty.
# Needs bgd with the [database] extra (BATUTA_TEST_BGD), PostgreSQL's programs
# (/usr/lib/postgresql/*/bin, or PG_BIN), and a batuta binary (BATUTA, default
# target/release/batuta). Everything runs on this machine: the workers share its cores with
# BuildGrid, PostgreSQL and the client, so this measures the protocol's overhead per action,
# not a cluster's speed.
set -euo pipefail
. "$(dirname "$0")/remote_lib.sh"

FILES=${1:-500}
WORK=${2:-python}
find_binaries
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/postgres" ] || { echo "PostgreSQL not found: apt-get install postgresql (or PG_BIN)" >&2; exit 1; }

TMP=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
as_db() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# PostgreSQL for the scheduler.
mkdir -p "$TMP/pg"
# As root, PostgreSQL runs as its own user, which must reach its folder.
[ "$(id -u)" = 0 ] && chmod 755 "$TMP" && chown postgres:postgres "$TMP/pg"
as_db "$PG_BIN/initdb" -D "$TMP/pg/data" -U bgd --auth=trust -E UTF8 --no-sync >/dev/null
PGPORT=$(free_port)
setsid $([ "$(id -u)" = 0 ] && echo runuser -u postgres --) "$PG_BIN/postgres" -D "$TMP/pg/data" -p "$PGPORT" -k "$TMP/pg" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200 >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
wait_port "$PGPORT"
# psycopg2 by name: BuildGrid listens for its notifications through it.
DB="postgresql+psycopg2://bgd@127.0.0.1:$PGPORT/postgres"
"$BGD" migrate apply "$DB" >/dev/null

PORT=$(free_port)
# With a database, a scheduler on it, and the execution service (the bots' comes with it).
bgd_config "$PORT" "thread-pool-size: 64
connections:
  - !sql-connection &sql
    connection-string: $DB
    pool-size: 20
    max-overflow: 40
schedulers:
  - !sql-scheduler &state
    sql: *sql
    storage: *cas
    action-cache: *ac
    bot-session-keepalive-timeout: 30
    poll-interval: 0.05
    bot-poll-interval: 0.05
    assigners:
      - !priority-age-assigner
        count: 1
        interval: 0.02
        jitter-factor: 0.1" "      - !execution
        scheduler: *state" >"$TMP/bgd.yml"
setsid "$BGD" server start "$TMP/bgd.yml" >"$TMP/bgd.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT"
for w in w1 w2; do
    setsid "$BATUTA" worker --server "grpc://127.0.0.1:$PORT" --id "$w" -j "${WORKER_JOBS:-1}" --work-dir "$TMP/$w" >"$TMP/$w.log" 2>&1 &
    PIDS+=($!)
done
for w in w1 w2; do
    for _ in $(seq 300); do grep -q serving "$TMP/$w.log" && break; sleep 0.1; done
done

RUN=$(work_run "$WORK")

checkout() {
    write_checkout "$1" "${2:+remote: { execute: \"grpc://127.0.0.1:$PORT\" \}}" "$RUN" "$FILES"
}

# One build: "wall_ms executed remote_executed".
build() {
    local dir=$1 jobs=$2 start end
    start=$(date +%s%N)
    (cd "$dir" && BATUTA_CACHE_DIR="$dir/.batuta/cache" "$BATUTA" build --format json -j "$jobs" >"$dir.events")
    end=$(date +%s%N)
    grep '"event":"warning"' "$dir.events" >&2 || true
    echo "$(((end - start) / 1000000)) $(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(ev[-1]["executed"], sum(1 for e in ev if e.get("event") == "action" and e.get("worker")))' "$dir.events")"
}

echo "workload: $FILES actions ($WORK), $(nproc) cores, two workers with -j ${WORKER_JOBS:-1}"
checkout "$TMP/local" ""
checkout "$TMP/remote" remote
read -r l_ms l_ex _ < <(build "$TMP/local" 2)
read -r r_ms r_ex r_rem < <(build "$TMP/remote" "${CLIENT_JOBS:-8}")
python3 - "$FILES" "$l_ms" "$l_ex" "$r_ms" "$r_ex" "$r_rem" <<'PY'
import sys
n, l_ms, l_ex, r_ms, r_ex, r_rem = map(int, sys.argv[1:])
print(f"local -j 2:           {l_ms:6d} ms  ({l_ex} executed)  {n / l_ms * 1000:7.1f} actions/s")
print(f"two remote workers:   {r_ms:6d} ms  ({r_ex} executed, {r_rem} on workers)  {n / r_ms * 1000:7.1f} actions/s")
print(f"remote / local throughput: {l_ms / r_ms:.2f}x")
PY
