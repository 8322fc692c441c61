#!/usr/bin/env python3
"""batuta side by side with ninja on the same workload.

N input files, one `cp {in} {out}` action each; ninja gets the equivalent build.ninja.
Measures, as the engine issue asks, the median wall time of several runs of:
  - the cold build at -j 1 and at -j (cores), for batuta (cold = empty cache and no outputs);
  - the no-op build;
  - the build after touching one input (exactly one action must run);
and the peak RSS of batuta's no-op build (from /usr/bin/time when present, else getrusage).

usage: benches/vs_ninja.py [--files N] [--runs R] [--batuta PATH]
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


def run(cmd, cwd, env=None, check=True):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr.decode()}")
    return elapsed, p


def make_workspace(root, n):
    src = os.path.join(root, "src")
    for i in range(n):
        d = os.path.join(src, f"d{i % 100:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}.txt"), "w") as f:
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
            rel = f"d{i % 100:02d}/f{i}.txt"
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
    ap.add_argument("--batuta", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "batuta"))
    ap.add_argument("--skip-cold", action="store_true", help="only no-op and touch-one")
    args = ap.parse_args()
    batuta = os.path.abspath(args.batuta)
    if not os.path.exists(batuta):
        sys.exit(f"{batuta} not found: run cargo build --release first")
    if not shutil.which("ninja"):
        sys.exit("ninja not found: apt-get install ninja-build")
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as root:
        make_workspace(root, args.files)
        env = dict(os.environ, BATUTA_CACHE_DIR=os.path.join(root, ".batuta", "cache"), NO_COLOR="1")
        b = [batuta, "build", "-q"]
        results = {}

        if not args.skip_cold:
            for label, cmd in (
                ("batuta cold -j1", b + ["-j", "1"]),
                (f"batuta cold -j{cores}", b + ["-j", str(cores)]),
                (f"ninja cold -j{cores}", ["ninja", "-j", str(cores)]),
            ):
                times = []
                for _ in range(max(1, args.runs // 2)):
                    clean(root)
                    times.append(run(cmd, root, env)[0])
                results[label] = median(times)

        clean(root)
        run(b, root, env)
        run(["ninja"], root, env)
        for label, cmd in (("batuta no-op", b), ("ninja no-op", ["ninja"])):
            run(cmd, root, env)  # warm the page cache
            results[label] = median([run(cmd, root, env)[0] for _ in range(args.runs)])

        touched = os.path.join(root, "src", "d07", "f7.txt")
        for label, cmd in (("batuta touch-one", b), ("ninja touch-one", ["ninja"])):
            times = []
            for r in range(args.runs):
                with open(touched, "a") as f:
                    f.write(f"{label} {r}\n")
                t, p = run(cmd, root, env)
                times.append(t)
                if cmd[0] == batuta and "ok: 1 executed," not in p.stdout.decode():
                    sys.exit(f"touch-one did not run exactly one action:\n{p.stdout.decode()}")
            results[label] = median(times)

        rss = peak_rss_mb(b, root, env)

    print(f"workload: {args.files} files, one cp action each; median of {args.runs} runs; {cores} cores")
    for k, v in results.items():
        print(f"  {k:<22} {v * 1000:9.1f} ms")
    print(f"  {'batuta no-op peak RSS':<22} {rss:9.1f} MB")
    print("ratios (batuta / ninja; lower is better):")
    print(f"  no-op      {results['batuta no-op'] / results['ninja no-op']:.2f}x   (goal <= 1.0)")
    print(f"  touch-one  {results['batuta touch-one'] / results['ninja touch-one']:.2f}x   (goal <= 1.5)")
    if not args.skip_cold:
        speedup = results["batuta cold -j1"] / results[f"batuta cold -j{cores}"]
        print(f"  cold -j1 / -j{cores}: {speedup:.2f}x faster in parallel   (goal >= 1.8)")
        print(f"  cold vs ninja: {results[f'batuta cold -j{cores}'] / results[f'ninja cold -j{cores}']:.2f}x")


if __name__ == "__main__":
    main()
