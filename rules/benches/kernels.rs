//! Criterion benches of the kernels on each backend this machine has.
//! `cargo bench -p batuta-rules --bench kernels`

use std::hint::black_box;
use std::time::Duration;

use batuta_rules::kernels::{self, Select, SimdLevel, Tolerance};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn selects(gpu: bool) -> Vec<(String, Select)> {
    let mut v = vec![("scalar".to_owned(), Select::Scalar)];
    for l in SimdLevel::available_levels() {
        if l != SimdLevel::Scalar {
            v.push((l.name().to_owned(), Select::Level(l)));
        }
    }
    v.push(("rayon".to_owned(), Select::Rayon));
    if gpu && kernels::gpu_info().is_ok() {
        v.push(("gpu".to_owned(), Select::Gpu));
    }
    v
}

fn data(n: usize) -> (Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.001 + 1.0).collect();
    let b = a.iter().map(|x| x * (1.0 + 1e-7)).collect();
    (a, b)
}

fn reductions(c: &mut Criterion) {
    for n in [1 << 12, 1 << 20, 1 << 24] {
        let (a, b) = data(n);
        let mut g = c.benchmark_group(format!("f32/{n}"));
        g.throughput(Throughput::Bytes((2 * n * 4) as u64));
        g.measurement_time(Duration::from_secs(2));
        g.warm_up_time(Duration::from_millis(300));
        g.sample_size(10);
        for (name, s) in selects(n <= 1 << 20) {
            g.bench_function(format!("allclose/{name}"), |bch| {
                bch.iter(|| {
                    kernels::allclose(black_box(&a), black_box(&b), Tolerance::default(), s)
                        .unwrap()
                })
            });
            g.bench_function(format!("dot/{name}"), |bch| {
                bch.iter(|| kernels::dot(black_box(&a), black_box(&b), s).unwrap())
            });
        }
        g.finish();
    }
}

fn matmul(c: &mut Criterion) {
    let n = 256;
    let (a, b) = data(n * n);
    let mut g = c.benchmark_group("matmul/256");
    g.throughput(Throughput::Elements((2 * n * n * n) as u64));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(10);
    for (name, s) in selects(true) {
        if name == "scalar" || name == "sse2" {
            continue;
        }
        g.bench_function(&name, |bch| {
            bch.iter(|| kernels::matmul(black_box(&a), black_box(&b), (n, n, n), s).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, reductions, matmul);
criterion_main!(benches);
