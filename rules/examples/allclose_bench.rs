//! Times `allclose` over two raw f32 files already in memory, and the machine's read
//! bandwidth over the same bytes, in one run; prints one JSON line. Used by
//! `benches/allclose_vs_numpy.py`.
//!
//! `cargo run --release -p batuta-rules --example allclose_bench -- A.f32 B.f32 [RUNS]`

use std::hint::black_box;
use std::time::Instant;

use batuta_rules::kernels::{self, Dtype, Select, SimdLevel, Tolerance, load};
use rayon::prelude::*;

/// Adds up every word of `a` and `b` in eight independent lanes, on every core or on one:
/// plain streaming reads.
fn read_words(a: &[u64], b: &[u64], parallel: bool) -> u64 {
    let chunk = |c: &[u64]| {
        let mut acc = [0u64; 8];
        let mut it = c.chunks_exact(8);
        for w in &mut it {
            for i in 0..8 {
                acc[i] = acc[i].wrapping_add(w[i]);
            }
        }
        acc.iter()
            .chain(it.remainder())
            .fold(0u64, |s, &x| s.wrapping_add(x))
    };
    let part = |x: &[u64]| {
        if parallel {
            x.par_chunks(1 << 16)
                .map(chunk)
                .reduce(|| 0, u64::wrapping_add)
        } else {
            chunk(x)
        }
    };
    part(a).wrapping_add(part(b))
}

fn best<R>(runs: usize, mut f: impl FnMut() -> R) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: allclose_bench A.f32 B.f32 [RUNS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(3).map_or(5, |r| r.parse().expect("RUNS"));
    let read = |p: &str| -> Vec<f32> {
        let a = load::raw(p.as_ref(), Dtype::F32).unwrap_or_else(|e| panic!("{e}"));
        // A copy in ordinary memory, as NumPy holds its arrays.
        a.into_type::<f32>().as_slice().to_vec()
    };
    let (a, b) = (read(&args[1]), read(&args[2]));
    let bytes = (a.len() + b.len()) * 4;
    let (ua, ub): (Vec<u64>, Vec<u64>) = (
        a.chunks_exact(2)
            .map(|p| u64::from(p[0].to_bits()) | u64::from(p[1].to_bits()) << 32)
            .collect(),
        b.chunks_exact(2)
            .map(|p| u64::from(p[0].to_bits()) | u64::from(p[1].to_bits()) << 32)
            .collect(),
    );
    let tol = Tolerance::default();
    let result = kernels::allclose(&a, &b, tol, Select::Auto).expect("allclose");
    // Rounds of every measurement in turn, keeping each one's best, so that a quiet or busy
    // moment of a shared machine favours none of them.
    let sum2 = |s: Select| kernels::sum(&a, s).unwrap().value + kernels::sum(&b, s).unwrap().value;
    let mut t = [f64::INFINITY; 6];
    for _ in 0..runs {
        let times = [
            best(1, || kernels::allclose(&a, &b, tol, Select::Auto).unwrap()),
            best(1, || kernels::allclose(&a, &b, tol, Select::Simd).unwrap()),
            best(1, || read_words(&ua, &ub, true)),
            best(1, || read_words(&ua, &ub, false)),
            best(1, || sum2(Select::Rayon)),
            best(1, || sum2(Select::Simd)),
        ];
        for (t, x) in t.iter_mut().zip(times) {
            *t = t.min(x);
        }
    }
    let (t_auto, t_simd) = (t[0], t[1]);
    // The machine's read bandwidth: the fastest plain streaming read of the same bytes
    // (integer words on all cores and on one; the SIMD `sum` kernel, which only loads and
    // adds, on all cores and on one).
    let t_read = t[2..].iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "read timings (s): words×all {:.4}, words×1 {:.4}, sum×all {:.4}, sum×1 {:.4}",
        t[2], t[3], t[4], t[5]
    );
    let gb = |t: f64| bytes as f64 / t / 1e9;
    println!(
        "{{\"n\":{},\"pass\":{},\"mismatches\":{},\"backend\":\"{}\",\"simd_level\":\"{}\",\"threads\":{},\"allclose_s\":{},\"allclose_one_thread_s\":{},\"read_s\":{},\"allclose_gbs\":{},\"allclose_one_thread_gbs\":{},\"read_gbs\":{}}}",
        a.len(),
        result.value.pass,
        result.value.mismatches,
        result.backend,
        SimdLevel::best(),
        rayon::current_num_threads(),
        t_auto,
        t_simd,
        t_read,
        gb(t_auto),
        gb(t_simd),
        gb(t_read)
    );
}
