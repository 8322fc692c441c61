#!/usr/bin/env python3
"""The no-op build of examples/hand-port: a real migration's manifest (analyze, assemble,
optimize with its calibration, cargo-build twice, compare-outputs, cargo-test), whose
own work on a no-op is a few milliseconds. Measures, for each batuta binary given, the
median and best wall time of the no-op and how many processes it starts (counted with
strace -f when it is installed: every execve but batuta's own).

Each binary gets its own copy of the example, built once (that build runs cargo; a minute
or two), then timed; the timed runs are interleaved.

usage: benches/hand_port_noop.py [--runs R] [--batuta NAME=PATH ...]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, cwd):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr.decode()}")
    return time.perf_counter() - t, p


def processes(cmd, cwd):
    """How many programs the command starts besides itself, or None without strace."""
    if not shutil.which("strace"):
        return None
    with tempfile.NamedTemporaryFile() as log:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", log.name, *cmd],
                       cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        calls = [l for l in open(log.name) if "execve(" in l and "resumed" not in l]
    return len(calls) - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--batuta", action="append",
                    help="PATH or NAME=PATH; repeat to compare binaries (default target/release/batuta)")
    args = ap.parse_args()
    tools = []
    for spec in args.batuta or [os.path.join(ROOT, "target", "release", "batuta")]:
        name, _, path = spec.rpartition("=")
        tools.append((name or "batuta", os.path.abspath(path)))
    with tempfile.TemporaryDirectory() as top:
        spaces = {}
        for name, path in tools:
            ws = os.path.join(top, name)
            shutil.copytree(os.path.join(ROOT, "examples", "hand-port"), ws,
                            ignore=shutil.ignore_patterns(".batuta", "dist", "target", "validation",
                                                          ".batuta-state.json"))
            spaces[name] = ws
            run([path, "build"], ws)
            run([path, "build"], ws)  # settle: the first no-op may store what it derived
        times = {n: [] for n, _ in tools}
        for _ in range(args.runs):
            for name, path in tools:
                t, p = run([path, "build"], spaces[name])
                if "nothing to do" not in p.stdout.decode():
                    sys.exit(f"{name}: not a no-op:\n{p.stdout.decode()}")
                times[name].append(t)
        spawned = {n: processes([p, "build"], spaces[n]) for n, p in tools}
    print(f"examples/hand-port no-op, {args.runs} interleaved runs")
    for name, _ in tools:
        ts = times[name]
        print(f"  {name:<8} median {statistics.median(ts) * 1000:7.1f} ms, best {min(ts) * 1000:7.1f} ms, "
              f"processes started: {spawned[name] if spawned[name] is not None else 'n/a (no strace)'}")


if __name__ == "__main__":
    main()
