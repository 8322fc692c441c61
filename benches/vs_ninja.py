#!/usr/bin/env python3
"""batuta side by side with ninja on the same workload.

N input files, one `cp {in} {out}` action each; ninja gets the equivalent build.ninja.
Measures, as the engine issues ask, the median wall time of several runs of:
  - the cold build at -j 1 and at -j (cores), for batuta (cold = empty cache and no outputs);
  - the no-op build;
  - the build after touching one input (exactly one action must run);
and the peak RSS of batuta's no-op build (from /usr/bin/time when present, else getrusage).

Several batuta binaries can be measured in one run (`--batuta NAME=PATH`, repeated): each
gets its own copy of the workspace, and the timed runs are interleaved (one run of each
tool in turn), so a machine that gets busier half-way weighs on all of them alike.

Workloads (`--workload`):
  flat    N files in 100 folders (`src/dNN/fI.txt`), as before;
  nested  N files in 1,000 folders three levels deep (`src/aN/bN/cN/fI.txt`), with longer
          names: ten times the folders to stat and list, the same number of actions.

usage: benches/vs_ninja.py [--files N] [--runs R] [--workload flat|nested]
                           [--batuta PATH | --batuta NAME=PATH ...] [--skip-cold]
Build batuta first: cargo build --release. Needs ninja (apt-get install ninja-build).
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def executed_last(ws):
    """How many actions the last build of `ws` executed, from its history (`build -q`
    prints no summary)."""
    import json
    with open(os.path.join(ws, ".batuta", "history.jsonl")) as f:
        return json.loads(f.readlines()[-1])["executed"]


def run(cmd, cwd, env=None, check=True):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr.decode()}")
    return elapsed, p


def rel_of(i, workload):
    if workload == "nested":
        return f"area{i % 10}/block{i // 10 % 10}/cell{i // 100 % 10}/source_file_{i:06d}.txt"
    return f"d{i % 100:02d}/f{i}.txt"


def make_workspace(root, n, workload):
    src = os.path.join(root, "src")
    for i in range(n):
        p = os.path.join(src, rel_of(i, workload))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(f"file {i}\n")
    with open(os.path.join(root, "batuta.yaml"), "w") as f:
        f.write(
            "version: 1\n"
            "project: { name: bench, source: src, output: out }\n"
            "stages:\n"
            "  transpile:\n"
            "    tasks:\n"
            '      copy: { run: [cp, "{in}", "{out}"], each: "**/*.txt", out: "{path}" }\n'
        )
    with open(os.path.join(root, "build.ninja"), "w") as f:
        f.write("rule cp\n  command = cp $in $out\n")
        for i in range(n):
            rel = rel_of(i, workload)
            f.write(f"build out/{rel}: cp src/{rel}\n")


def clean(root):
    for p in ("out", ".batuta", ".ninja_log", ".ninja_deps", ".batuta-state.json"):
        path = os.path.join(root, p)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def median(xs):
    return statistics.median(xs)


def peak_rss_mb(cmd, cwd, env):
    if shutil.which("time") or os.path.exists("/usr/bin/time"):
        _, p = run(["/usr/bin/time", "-f", "%M"] + cmd, cwd, env)
        return int(p.stderr.decode().strip().splitlines()[-1]) / 1024
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run(cmd, cwd, env)
    return max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workload", choices=["flat", "nested"], default="flat")
    ap.add_argument("--batuta", action="append",
                    help="PATH or NAME=PATH; repeat to compare binaries (default target/release/batuta)")
    ap.add_argument("--skip-cold", action="store_true", help="only no-op and touch-one")
    args = ap.parse_args()
    default = os.path.join(os.path.dirname(__file__), "..", "target", "release", "batuta")
    tools = []
    for spec in args.batuta or [default]:
        name, _, path = spec.rpartition("=")
        path = os.path.abspath(path)
        if not os.path.exists(path):
            sys.exit(f"{path} not found: run cargo build --release first")
        tools.append((name or "batuta", path))
    if not shutil.which("ninja"):
        sys.exit("ninja not found: apt-get install ninja-build")
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as top:
        # One workspace per tool, all alike: each binary keeps its own state.
        spaces = {}
        for name in [n for n, _ in tools] + ["ninja"]:
            spaces[name] = os.path.join(top, name)
            os.makedirs(spaces[name])
            make_workspace(spaces[name], args.files, args.workload)

        def env_of(name):
            return dict(os.environ, BATUTA_CACHE_DIR=os.path.join(spaces[name], ".batuta", "cache"),
                        NO_COLOR="1")

        def cmd_of(name, extra=()):
            if name == "ninja":
                return ["ninja", *extra]
            path = dict(tools)[name]
            return [path, "build", "-q", *extra]

        names = list(spaces)
        results = {}

        if not args.skip_cold:
            for jobs in ("1", str(cores)):
                for name in names:
                    if name == "ninja" and jobs == "1":
                        continue
                    times = []
                    for _ in range(max(1, args.runs // 2)):
                        clean(spaces[name])
                        times.append(run(cmd_of(name, ["-j", jobs]), spaces[name], env_of(name))[0])
                    results[f"{name} cold -j{jobs}"] = median(times)

        for name in names:
            clean(spaces[name])
            run(cmd_of(name), spaces[name], env_of(name))
            # batuta records a build settled only when its files are older than a clock
            # tick (see engine/src/db/settled.rs); a user's next build comes later than that.
            time.sleep(0.2)
            run(cmd_of(name), spaces[name], env_of(name))  # settle state, warm the page cache

        noop = {n: [] for n in names}
        for _ in range(args.runs):
            for name in names:
                noop[name].append(run(cmd_of(name), spaces[name], env_of(name))[0])
        for name in names:
            results[f"{name} no-op"] = median(noop[name])

        touch = {n: [] for n in names}
        for r in range(args.runs):
            for name in names:
                touched = os.path.join(spaces[name], "src", rel_of(707, args.workload))
                with open(touched, "a") as f:
                    f.write(f"{name} {r}\n")
                t, p = run(cmd_of(name), spaces[name], env_of(name))
                touch[name].append(t)
                if name != "ninja" and executed_last(spaces[name]) != 1:
                    sys.exit(f"{name}: touch-one did not run exactly one action:\n{p.stdout.decode()}")
        for name in names:
            results[f"{name} touch-one"] = median(touch[name])

        # The last touch-one build wrote within a clock tick of its end: let it settle.
        time.sleep(0.2)
        for n, _ in tools:
            run(cmd_of(n), spaces[n], env_of(n))
        rss = {n: peak_rss_mb(cmd_of(n), spaces[n], env_of(n)) for n, _ in tools}

    print(f"workload: {args.workload}, {args.files} files, one cp action each; "
          f"median of {args.runs} interleaved runs; {cores} cores")
    for k, v in results.items():
        print(f"  {k:<30} {v * 1000:9.1f} ms")
    for n, v in rss.items():
        print(f"  {n + ' no-op peak RSS':<30} {v:9.1f} MB")
    print("ratios (batuta / ninja; lower is better):")
    for n, _ in tools:
        print(f"  {n}: no-op {results[f'{n} no-op'] / results['ninja no-op']:.2f}x, "
              f"touch-one {results[f'{n} touch-one'] / results['ninja touch-one']:.2f}x")
        if not args.skip_cold:
            speedup = results[f"{n} cold -j1"] / results[f"{n} cold -j{cores}"]
            print(f"    cold -j1 / -j{cores}: {speedup:.2f}x; cold vs ninja: "
                  f"{results[f'{n} cold -j{cores}'] / results[f'ninja cold -j{cores}']:.2f}x")


if __name__ == "__main__":
    main()
