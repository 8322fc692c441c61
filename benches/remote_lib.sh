# Shared by the remote benches (sourced): the synthetic sources and loopback ports.

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
