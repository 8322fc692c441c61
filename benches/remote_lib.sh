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
