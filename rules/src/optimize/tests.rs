//! The plan for a known workload against hand-computed choices, with fixed calibration
//! tables (the numbers below, not this machine's).

use super::calibrate::{Calibration, GpuAdapter};
use super::plan::{Mode, Options, PlanError, Size, plan};
use crate::analyze::{FileReport, MlCall};
use crate::kernels::{Choice, CostModel, Rates};

fn call(operation: &str, line: usize) -> MlCall {
    MlCall::new(operation.to_owned(), line)
}

/// `main.py`: a small element-wise add, a dot product, a sum, a large matmul, a KMeans fit,
/// a model load.
fn workload() -> Vec<FileReport> {
    vec![FileReport {
        path: "main.py".to_owned(),
        ml_calls: vec![
            call("numpy.add", 3),
            call("numpy.dot", 4),
            call("numpy.sum", 5),
            call("numpy.matmul", 6),
            call("sklearn.cluster.KMeans.fit", 7),
            call("torch.load", 8),
            call("numpy.array", 9),
        ],
        ..FileReport::default()
    }]
}

/// A machine with a fast discrete GPU: 10 TFLOP/s, 25 GB/s, 10 µs per call; a CPU at
/// 1 / 8 / 32 GFLOP/s (scalar, SIMD stream, SIMD matmul).
fn fast_gpu() -> Calibration {
    Calibration {
        format: 1,
        fingerprint: "test machine".to_owned(),
        simd: "avx2".to_owned(),
        threads: 8,
        gpu: Some(GpuAdapter {
            adapter: "Test GPU, DiscreteGpu, Vulkan".to_owned(),
            driver: "test 1.0".to_owned(),
        }),
        gpu_error: None,
        model: CostModel {
            transfer_bytes_per_s: 25e9,
            gpu_latency_s: 10e-6,
            stream: Rates {
                scalar: 1e9,
                simd: 8e9,
                gpu: 1e12,
            },
            matmul: Rates {
                scalar: 1e9,
                simd: 32e9,
                gpu: 10e12,
            },
            factor: 5.0,
        },
        samples: Vec::new(),
        seconds: 0.5,
    }
}

/// The same CPU with a software rasteriser for a GPU: 2 GFLOP/s, 5 GB/s, 200 µs per call.
fn slow_gpu() -> Calibration {
    let mut c = fast_gpu();
    c.model.transfer_bytes_per_s = 5e9;
    c.model.gpu_latency_s = 200e-6;
    c.model.stream.gpu = 1e9;
    c.model.matmul.gpu = 2e9;
    c
}

fn sizes() -> Options {
    Options {
        sizes: vec![
            ("np.add".to_owned(), Size::Elements(4_000)),
            ("numpy.dot".to_owned(), Size::Elements(1_000_000)),
            ("main.py:5".to_owned(), Size::Elements(500)),
            ("np.matmul".to_owned(), Size::Matmul(4096, 4096, 4096)),
            (
                "sklearn.cluster.KMeans.fit".to_owned(),
                Size::Elements(100_000),
            ),
        ],
        ..Options::default()
    }
}

fn choices(c: &Calibration, opts: &Options) -> Vec<(String, Choice)> {
    plan(&workload(), c, opts, None)
        .unwrap()
        .operations
        .into_iter()
        .map(|e| (e.operation, e.backend))
        .collect()
}

fn expect(list: &[(&str, Choice)]) -> Vec<(String, Choice)> {
    list.iter().map(|(o, c)| ((*o).to_owned(), *c)).collect()
}

#[test]
fn a_fast_gpu_gets_the_large_matmul_and_nothing_else() {
    // matmul 4096³: 137 GFLOP → 13.7 ms on the GPU, 201 MB → 8.1 ms of transfer:
    // ratio 1.7, under 5: the 5× rule keeps it on the CPU even though the GPU is fast.
    // At 16384³ (8.8 TFLOP, 3.2 GB): ratio 6.8 → GPU.
    assert_eq!(
        choices(&fast_gpu(), &sizes()),
        expect(&[
            ("numpy.add", Choice::Simd),
            ("numpy.dot", Choice::Simd),
            ("numpy.sum", Choice::Scalar),
            ("numpy.matmul", Choice::Simd),
            ("sklearn.cluster.KMeans.fit", Choice::Simd),
        ])
    );
    let mut big = sizes();
    big.sizes[3].1 = Size::Matmul(16384, 16384, 16384);
    let p = plan(&workload(), &fast_gpu(), &big, None).unwrap();
    let mm = &p.operations[3];
    assert_eq!(
        (mm.operation.as_str(), mm.backend),
        ("numpy.matmul", Choice::Gpu)
    );
    let ratio = mm.estimate.gpu_ratio.unwrap();
    assert!((ratio - 6.83).abs() < 0.01, "{ratio}");
    assert!(mm.reason.contains("5× rule holds"), "{}", mm.reason);
    assert_eq!(mm.call.as_deref(), Some("trueno::Matrix::<f32>::matmul"));
}

#[test]
fn a_slow_gpu_passes_the_rule_but_loses_to_simd() {
    let mut big = sizes();
    big.sizes[3].1 = Size::Matmul(16384, 16384, 16384);
    let p = plan(&workload(), &slow_gpu(), &big, None).unwrap();
    let mm = &p.operations[3];
    assert_eq!(mm.backend, Choice::Simd);
    assert!(mm.reason.contains("slower"), "{}", mm.reason);
}

#[test]
fn gpu_off_never_and_gpu_force_always_where_the_library_can() {
    let mut big = sizes();
    big.sizes[3].1 = Size::Matmul(16384, 16384, 16384);
    big.gpu = Mode::Off;
    let p = plan(&workload(), &fast_gpu(), &big, None).unwrap();
    assert!(p.operations.iter().all(|e| e.backend != Choice::Gpu));
    assert!(p.operations[3].reason.contains("gpu: off"));

    big.gpu = Mode::Force;
    let forced = choices(&fast_gpu(), &big);
    assert_eq!(
        forced,
        expect(&[
            // trueno's Vector operations and sums run with SIMD only; aprender fits on
            // the CPU; a matrix product has trueno's GPU path.
            ("numpy.add", Choice::Simd),
            ("numpy.dot", Choice::Simd),
            ("numpy.sum", Choice::Scalar),
            ("numpy.matmul", Choice::Gpu),
            ("sklearn.cluster.KMeans.fit", Choice::Simd),
        ])
    );
}

#[test]
fn simd_force_vectorises_even_small_work() {
    let opts = Options {
        simd: Mode::Force,
        ..sizes()
    };
    let p = plan(&workload(), &fast_gpu(), &opts, None).unwrap();
    let sum = &p.operations[2];
    assert_eq!(
        (sum.operation.as_str(), sum.backend),
        ("numpy.sum", Choice::Simd)
    );
    assert_eq!(sum.reason, "simd: force");
}

#[test]
fn no_gpu_and_no_simd() {
    let mut c = fast_gpu();
    c.gpu = None;
    let p = plan(&workload(), &c, &sizes(), None).unwrap();
    assert!(p.operations.iter().all(|e| e.backend != Choice::Gpu));
    assert!(p.operations.iter().all(|e| e.estimate.gpu_s.is_none()));
    let force = Options {
        gpu: Mode::Force,
        ..sizes()
    };
    assert!(matches!(
        plan(&workload(), &c, &force, None),
        Err(PlanError::NoGpu(_))
    ));

    c.simd = "scalar".to_owned();
    let p = plan(&workload(), &c, &sizes(), None).unwrap();
    assert!(p.operations.iter().all(|e| e.backend == Choice::Scalar));
    assert!(
        p.operations[0].reason.starts_with("no SIMD"),
        "{}",
        p.operations[0].reason
    );
    let force = Options {
        simd: Mode::Force,
        ..Options::default()
    };
    assert_eq!(plan(&workload(), &c, &force, None), Err(PlanError::NoSimd));
}

#[test]
fn undeclared_sizes_are_guesses_planned_scalar_and_unused_keys_reported() {
    let opts = Options {
        sizes: vec![("np.dott".to_owned(), Size::Elements(10))],
        ..Options::default()
    };
    let p = plan(&workload(), &fast_gpu(), &opts, None).unwrap();
    assert!(p.operations.iter().all(|e| e.size == "guess"));
    assert!(p.operations.iter().all(|e| e.backend == Choice::Scalar));
    assert_eq!((p.operations[3].elements, p.operations[3].shape), (0, None));
    // With default_size, every unsized operation is declared that size.
    let opts = Options {
        default_elements: Some(1_000_000),
        ..Options::default()
    };
    let p = plan(&workload(), &fast_gpu(), &opts, None).unwrap();
    assert_eq!(p.operations[3].shape, Some([1000, 1000, 1000]));
    let opts = Options {
        sizes: vec![("np.dott".to_owned(), Size::Elements(10))],
        ..Options::default()
    };
    let p = plan(&workload(), &fast_gpu(), &opts, None).unwrap();
    assert_eq!(p.unused_sizes, ["np.dott"]);
    let unplanned: Vec<&str> = p.unplanned.iter().map(|u| u.operation.as_str()).collect();
    assert_eq!(unplanned, ["torch.load", "numpy.array"]);
}

#[test]
fn the_table_names_every_operation_its_place_and_call() {
    let c = fast_gpu();
    let opts = sizes();
    let p = plan(&workload(), &c, &opts, None).unwrap();
    let text = super::table::render(&p, &c, super::profile::Profile::Balanced, &opts);
    let header = text.lines().find(|l| l.starts_with("operation")).unwrap();
    for col in [
        "location", "size", "backend", "scalar", "SIMD", "GPU", "call",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let dot = text.lines().find(|l| l.starts_with("numpy.dot ")).unwrap();
    assert!(dot.contains("main.py:4"), "{dot}");
    assert!(dot.contains("1.0 M"), "{dot}");
    assert!(dot.contains("SIMD"), "{dot}");
    assert!(dot.ends_with("trueno::Vector::<f32>::dot"), "{dot}");
    // 2 M operations at 8 GFLOP/s.
    assert!(dot.contains("250.0 µs"), "{dot}");
    assert!(
        text.contains("not planned: torch.load at main.py:8"),
        "{text}"
    );
}

#[test]
fn the_table_people_read() {
    let c = fast_gpu();
    let mut opts = sizes();
    opts.sizes[3].1 = Size::Matmul(16384, 16384, 16384);
    opts.sizes.push(("np.dott".to_owned(), Size::Elements(1)));
    let mut reports = workload();
    reports[0].ml_calls.push(call("numpy.mean", 10));
    let p = plan(&reports, &c, &opts, None).unwrap();
    insta::assert_snapshot!(super::table::render(
        &p,
        &c,
        super::profile::Profile::Aggressive,
        &opts
    ));
}
