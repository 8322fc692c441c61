#!/usr/bin/env python3
"""Kill a build at a random moment, over and over, and check what it leaves.

Each trial starts `batuta build` on a workspace of N actions (copies through the staging
folder, and a share through a shell with a background child), kills it with SIGKILL or
SIGTERM after a random delay, then:
  - counts the action processes still alive a moment later (none may outlive batuta);
  - runs the build again to the end and counts what it executed (what the killed build
    finished must not run again), and batuta's temporary files left anywhere;
  - compares every output, byte for byte, with a build that was never killed.

usage: benches/kill_trials.py [--trials T] [--files N] [--signal KILL|TERM|both] [--batuta PATH]
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MANIFEST = """version: 1
project: { name: trials, source: src, output: out }
stages:
  transpile:
    tasks:
      copy: { run: [cp, "{in}", "{out}"], each: "**/*.txt", out: "{path}" }
      shell:
        run: [sh, -c, '(sleep 30) & echo $! >> "$3"; tr a-z A-Z < "$1" > "$2"', sh, "{in}", "{out}", pids.txt]
        each: "**/*.up"
        out: "{path}.txt"
"""


def workspace(d, n):
    for i in range(n):
        ext = "up" if i % 20 == 0 else "txt"
        p = os.path.join(d, "src", f"d{i % 50:02d}", f"f{i}.{ext}")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(f"content of file {i}\n" * (1 + i % 7))
    with open(os.path.join(d, "batuta.yaml"), "w") as f:
        f.write(MANIFEST)


def tree(d):
    out = {}
    for base, _, files in os.walk(d):
        for name in files:
            p = os.path.join(base, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, d)] = f.read()
    return out


def build(batuta, d, check=True):
    env = dict(os.environ, BATUTA_CACHE_DIR=os.path.join(d, ".batuta", "cache"))
    p = subprocess.run([batuta, "build", "--format", "json", "-j", "2"], cwd=d, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        sys.exit(f"build failed in {d}: {p.stderr.decode()}")
    return p.stdout.decode().strip().splitlines()[-1]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--signal", choices=["KILL", "TERM", "both"], default="both")
    ap.add_argument("--batuta", default=os.path.join(ROOT, "target", "release", "batuta"))
    args = ap.parse_args()
    batuta = os.path.abspath(args.batuta)
    sigs = {"KILL": [signal.SIGKILL], "TERM": [signal.SIGTERM],
            "both": [signal.SIGKILL, signal.SIGTERM]}[args.signal]
    with tempfile.TemporaryDirectory() as top:
        fresh = os.path.join(top, "fresh")
        workspace(fresh, args.files)
        t = time.perf_counter()
        build(batuta, fresh)
        full = time.perf_counter() - t
        want = tree(os.path.join(fresh, "out"))
        stats = {s.name: {"trials": 0, "same": 0, "survivors": 0, "temp files": 0, "rerun": []}
                 for s in sigs}
        for trial in range(args.trials):
            sig = sigs[trial % len(sigs)]
            d = os.path.join(top, f"t{trial}")
            workspace(d, args.files)
            env = dict(os.environ, BATUTA_CACHE_DIR=os.path.join(d, ".batuta", "cache"))
            p = subprocess.Popen([batuta, "build", "--format", "json", "-j", "2"], cwd=d, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0.05, full * 0.9))
            p.send_signal(sig)
            p.wait()
            time.sleep(0.5)
            pids = []
            if os.path.exists(os.path.join(d, "pids.txt")):
                pids = [int(x) for x in open(os.path.join(d, "pids.txt")).read().split()]
            s = stats[sig.name]
            s["trials"] += 1
            s["survivors"] += sum(alive(pid) for pid in pids)
            for pid in pids:  # leave nothing running behind the trials
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            summary = build(batuta, d)
            s["rerun"].append(int(summary.split('"executed":')[1].split(",")[0]))
            s["temp files"] += sum(1 for base, _, files in os.walk(d) for f in files
                                   if f.startswith(".batuta-tmp-"))
            s["same"] += tree(os.path.join(d, "out")) == want
            shutil.rmtree(d)
    print(f"{args.files} actions, a full build {full:.1f} s; killed at a random moment")
    for name, s in stats.items():
        rerun = s["rerun"]
        print(f"  SIG{name}: {s['trials']} trials; outputs same as a fresh build in {s['same']}; "
              f"action processes alive after batuta: {s['survivors']}; temporary files left "
              f"after the next build: {s['temp files']}; the next build executed "
              f"{min(rerun)}–{max(rerun)} of {args.files} (mean {sum(rerun) / len(rerun):.0f})")


if __name__ == "__main__":
    main()
