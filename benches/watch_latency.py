#!/usr/bin/env python3
"""`batuta watch` on a large workspace: edit-to-rebuild latency, idle CPU, memory over edits.

N input files (default 10,000) in 100 folders, one `cp {in} {out}` action each. The script
builds once, starts `batuta watch` (text output: the JSON stream has a line per up-to-date
action, 10,000 per build, and parsing them would time this script, not batuta), then:

- latency: writes one input and waits for the build's `ok:` line, 20 times; the median is
  compared with the goal (debounce + 20 ms), and each build must run exactly one action;
- idle CPU: the watcher's CPU time over 10 quiet seconds, as a share of one core;
- memory: peak RSS (VmHWM) after edit 1 and after edit `--edits` (default 1,000).

Linux only (reads /proc). Usage: cargo build --release && benches/watch_latency.py
"""

import argparse
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def workspace(dir: Path, files: int) -> None:
    src = dir / "src"
    for i in range(files):
        d = src / f"pkg{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i:05d}.py").write_text(f"x = {i}\n")
    (dir / "batuta.yaml").write_text(
        "version: 1\n"
        "project: { name: bench, source: src, output: out }\n"
        "stages:\n"
        "  transpile:\n"
        "    tasks:\n"
        '      copy: { run: [cp, "{in}", "{out}"], each: "**/*.py", out: "{dir}/{stem}.txt" }\n'
    )


def proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    raise KeyError(key)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--edits", type=int, default=1_000)
    ap.add_argument("--debounce", type=int, default=50, help="milliseconds")
    ap.add_argument("--bin", default=os.environ.get("BATUTA_BIN", ROOT / "target/release/batuta"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="batuta-watch-") as tmp:
        dir = Path(tmp)
        workspace(dir, args.files)
        env = dict(os.environ, BATUTA_CACHE_DIR=str(dir / "cache"), NO_COLOR="1",
                   RUST_LOG="batuta_engine::watch=debug,batuta_engine::exec=debug")
        subprocess.run([args.bin, "build", "--format", "json"], cwd=dir, env=env,
                       stdout=subprocess.DEVNULL, check=True)
        log = open(dir / "watch.log", "w+")
        watch = subprocess.Popen(
            [args.bin, "watch", "--debounce", str(args.debounce)],
            cwd=dir, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        lines: "queue.Queue[str]" = queue.Queue()

        def read() -> None:
            for line in watch.stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()

        def next_summary() -> str:
            """The build's last line: `ok: N executed, ... in Xs` or `ok: nothing to do`."""
            while True:
                line = lines.get(timeout=60)
                if line.startswith(("ok:", "error:")):
                    return line.strip()

        try:
            first = next_summary()
            print(f"watching {args.files} files; first build: {first}")
            target = dir / "src/pkg07/m00007.py"
            latencies = []
            rss_first = None
            for i in range(max(args.edits, 20)):
                t0 = time.perf_counter()
                target.write_text(f"x = {i} edited\n")
                s = next_summary()
                dt = (time.perf_counter() - t0) * 1000
                if not s.startswith("ok: 1 executed"):
                    print(f"edit {i}: expected one action to run, got {s}", file=sys.stderr)
                    return 1
                if i < 20:
                    latencies.append(dt)
                if i == 0:
                    rss_first = proc_status(watch.pid, "VmHWM")
            rss_last = proc_status(watch.pid, "VmHWM")
            time.sleep(1)
            c0 = cpu_seconds(watch.pid)
            time.sleep(10)
            idle = (cpu_seconds(watch.pid) - c0) / 10 * 100
        finally:
            watch.terminate()
            watch.wait()
        # The round's planning and the build, as batuta's debug log times them (the
        # summary line's "in 0.01s" has 10 ms steps).
        log.seek(0)
        text = log.read()
        def ms(what: str) -> "list[float]":
            out = []
            for m in re.finditer(what + r" elapsed=([0-9.]+)(µs|ms|s)", text):
                scale = {"µs": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
                out.append(float(m.group(1)) * scale)
            return out[1:21]  # the edits' rounds, not the first build
        planned, built = ms("round planned"), ms("build done")

    med = statistics.median(latencies)
    goal = args.debounce + 20
    print(f"edit -> rebuilt, median of 20: {med:.1f} ms (min {min(latencies):.1f}, "
          f"max {max(latencies):.1f}); goal <= {goal} ms: {'met' if med <= goal else 'MISSED'}")
    print(f"  of which the round's planning, median: {statistics.median(planned):.2f} ms; "
          f"the build, median: {statistics.median(built):.2f} ms (goal <= 5 ms: "
          f"{'met' if statistics.median(built) <= 5 else 'MISSED'})")
    print(f"idle CPU over 10 s: {idle:.2f} % of a core; goal < 1 %: {'met' if idle < 1 else 'MISSED'}")
    n = max(args.edits, 20)
    print(f"peak RSS: {rss_first / 1024:.1f} MB after edit 1, {rss_last / 1024:.1f} MB after edit {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
