# Shared by the remote benches (sourced): the binaries they need, the synthetic workload,
# loopback ports.

# Sets BATUTA (default target/release/batuta) and BGD (BATUTA_TEST_BGD, else bgd on PATH),
# or stops with how to get them.
find_binaries() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    BATUTA=${BATUTA:-$root/target/release/batuta}
    BGD=${BATUTA_TEST_BGD:-$(command -v bgd || true)}
    [ -x "$BATUTA" ] || { echo "no $BATUTA: cargo build --release (or BATUTA=path)" >&2; exit 1; }
    [ -n "$BGD" ] && [ -x "$BGD" ] || {
        echo "BuildGrid's bgd not found: python3 -m venv DIR && DIR/bin/pip install 'buildgrid[database]'; BATUTA_TEST_BGD=DIR/bin/bgd" >&2
        exit 1
    }
}

# work_run WORK: the `run:` list of one action. python: a new python3 hashes and copies its
# input (~20-30 ms, the order of a transpiler's start-up); none: cp only.
work_run() {
    case $1 in
        none) echo '[cp, "{in}", "{out}"]' ;;
        *) echo '[python3, -c, "import hashlib, shutil, sys; hashlib.sha256(open(sys.argv[1], \"rb\").read()).hexdigest(); shutil.copy(sys.argv[1], sys.argv[2])", "{in}", "{out}"]' ;;
    esac
}

# write_sources DIR N: N small .py files in 20 folders under DIR.
write_sources() {
    python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"pkg{i % 20}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"m{i}.py"), "w") as f:
        f.write(f"def f{i}(x):\n    return x * {i}\n" * 20)
PY
}

# write_checkout DIR REMOTE RUN N: a manifest whose one transpile task runs RUN (a YAML
# list) per .py file, with the line REMOTE unless it is empty, and N sources.
write_checkout() {
    local dir=$1 remote=$2 run=$3
    mkdir -p "$dir/src"
    {
        echo "version: 1"
        echo "project: { name: bench, source: src, output: out }"
        [ -n "$remote" ] && echo "$remote"
        echo "stages:"
        echo "  transpile:"
        echo "    tasks:"
        echo "      port: { run: $run, each: \"**/*.py\", out: \"{dir}/{stem}.txt\" }"
    } >"$dir/batuta.yaml"
    write_sources "$dir/src" "$4"
}

# A loopback port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens on it (a minute at most).
wait_port() {
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    exit 1
}

# bgd_config PORT [TOP] [SERVICES]: a BuildGrid configuration serving a cache (CAS, action
# cache, ByteStream) on PORT, insecure, to an instance named "". TOP is more top-level YAML
# (a database, a scheduler: it may name the storage *cas and the cache *ac), SERVICES more
# services of the instance.
bgd_config() {
    cat <<EOF
server:
  - !channel
    address: "127.0.0.1:$1"
    insecure-mode: true
authorization:
  method: none
storages:
  - !lru-storage &cas
    size: 2GB
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
${2:-}
instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
${3:-}
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
EOF
}
