#!/usr/bin/env python3
"""allclose over two arrays of 10^8 f32, batuta's kernel against numpy.allclose.

Creates a venv (target/bench-venv) with numpy from pip, writes the two arrays as raw f32
files, times numpy.allclose on them, then runs batuta's `allclose_bench` example on the
same files: it times the kernel (Auto: rayon over the best SIMD level, and SIMD on one
thread) and the machine's read bandwidth over the same bytes in the same run.

Goals (issue 6): allclose >= 70 % of the measured read bandwidth, and >= 3x numpy.

    python3 benches/allclose_vs_numpy.py [--n 100000000] [--runs 5]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "bench-venv")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        print(f"creating {VENV} and installing numpy ...", flush=True)
        venv.create(VENV, with_pip=True)
    check = subprocess.run([py, "-c", "import numpy"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", "numpy"], check=True)
    return py


def numpy_part(args):
    """Runs inside the venv: writes the data, times numpy.allclose, prints JSON."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal(args.n, dtype=np.float32)
    b = (a * np.float32(1 + 1e-7)).astype(np.float32)
    a.tofile(os.path.join(args.dir, "a.f32"))
    b.tofile(os.path.join(args.dir, "b.f32"))
    result = bool(np.allclose(a, b))
    best = float("inf")
    for _ in range(args.runs):
        t = time.perf_counter()
        np.allclose(a, b)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"numpy": np.__version__, "pass": result, "seconds": best}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--numpy-part", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.numpy_part:
        return numpy_part(args)

    py = ensure_venv()
    print("building the allclose_bench example (release) ...", flush=True)
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "batuta-rules", "--example", "allclose_bench"],
        cwd=ROOT,
        check=True,
    )
    exe = os.path.join(ROOT, "target", "release", "examples", "allclose_bench")
    with tempfile.TemporaryDirectory() as d:
        print(f"numpy.allclose on 2 x {args.n:,} f32 ...", flush=True)
        out = subprocess.run(
            [py, __file__, "--numpy-part", "--dir", d, "--n", str(args.n), "--runs", str(args.runs)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        np_res = json.loads(out.strip().splitlines()[-1])
        print("batuta allclose and read bandwidth on the same data ...", flush=True)
        out = subprocess.run(
            [exe, os.path.join(d, "a.f32"), os.path.join(d, "b.f32"), str(args.runs)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        rs = json.loads(out.strip().splitlines()[-1])

    assert rs["pass"] == np_res["pass"], f"results differ: batuta {rs['pass']}, numpy {np_res['pass']}"
    gb = 2 * args.n * 4 / 1e9
    frac = rs["read_s"] / rs["allclose_s"]
    speedup = np_res["seconds"] / rs["allclose_s"]
    print()
    print(f"data                  2 x {args.n:,} f32 = {gb:.1f} GB, all close: {rs['pass']}")
    print(f"SIMD level            {rs['simd_level']}, {rs['threads']} threads; backend {rs['backend']}")
    print(f"numpy {np_res['numpy']:<15} {np_res['seconds'] * 1e3:8.1f} ms  ({gb / np_res['seconds']:.2f} GB/s)")
    print(f"batuta allclose       {rs['allclose_s'] * 1e3:8.1f} ms  ({rs['allclose_gbs']:.2f} GB/s)")
    print(f"  one thread          {rs['allclose_one_thread_s'] * 1e3:8.1f} ms  ({rs['allclose_one_thread_gbs']:.2f} GB/s)")
    print(f"read bandwidth        {rs['read_s'] * 1e3:8.1f} ms  ({rs['read_gbs']:.2f} GB/s)")
    print(f"allclose / bandwidth  {frac * 100:.0f} %   (goal >= 70 %)")
    print(f"speedup over numpy    {speedup:.1f} x  (goal >= 3 x)")
    ok = frac >= 0.70 and speedup >= 3.0
    print("goals met" if ok else "goals NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
