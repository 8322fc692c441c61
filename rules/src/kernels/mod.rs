//! Numeric kernels over f32 and f64: `allclose`, `max_abs_diff`, `ulp_distance`, `dot`,
//! `sum`, `mean`, `matmul`. Each runs on a backend chosen per call, and its result says
//! which backend computed it:
//!
//! - `scalar`: plain loops, the definition the others must agree with (`scalar.rs`);
//! - `simd`: the best instruction set detected at run time (AVX-512, AVX2+FMA, SSE2, NEON);
//! - `rayon`: the SIMD kernels over chunks on every core;
//! - `gpu`: wgpu compute shaders (f32, and f64 where the adapter has 64-bit shaders), used by `Select::Auto` only when the cost model's
//!   5× rule says so, never with `BATUTA_DISABLE_GPU=1` or without an adapter.
//!
//! The kernel rules (`kernel: allclose` in a manifest) are in `rule.rs`; the file loaders in
//! `load.rs`.

mod cost;
mod cpu;
mod element;
mod gpu;
pub mod load;
pub(crate) mod rule;
mod scalar;
mod simd;

use std::fmt;

pub use cost::{Choice, CostModel, Estimate, Rates, SIMD_MIN_ELEMENTS, Shape, Work};
pub use element::{Dtype, Element};
pub use gpu::{gpu_disabled, gpu_driver, gpu_info, gpu_roundtrip, gpu_supports};
pub use simd::{SimdElement, SimdLevel};

/// Which backend a call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    /// The cost model decides: the GPU when it pays (and is allowed), else rayon above a
    /// size threshold, else the best SIMD level.
    #[default]
    Auto,
    /// The plain scalar loops.
    Scalar,
    /// The best SIMD level this CPU has, on one thread.
    Simd,
    /// This SIMD level, on one thread (an error if the CPU lacks it).
    Level(SimdLevel),
    /// The best SIMD level on every core.
    Rayon,
    /// The GPU (an error without an adapter or with `BATUTA_DISABLE_GPU=1`).
    Gpu,
}

impl Select {
    /// `auto`, `scalar`, `simd`, `sse2`, `avx2`, `avx512`, `neon`, `rayon`, `gpu`.
    pub fn parse(s: &str) -> Option<Select> {
        match s {
            "auto" => Some(Select::Auto),
            "scalar" => Some(Select::Scalar),
            "simd" => Some(Select::Simd),
            "rayon" | "parallel" => Some(Select::Rayon),
            "gpu" => Some(Select::Gpu),
            other => SimdLevel::parse(other).map(Select::Level),
        }
    }
}

/// The backend that computed a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Scalar,
    Simd(SimdLevel),
    Rayon { level: SimdLevel, threads: usize },
    Gpu { adapter: String },
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Scalar => f.write_str("scalar"),
            Backend::Simd(l) => write!(f, "simd ({l})"),
            Backend::Rayon { level, threads } => write!(f, "rayon ({level} × {threads} threads)"),
            Backend::Gpu { adapter } => write!(f, "gpu ({adapter})"),
        }
    }
}

impl Backend {
    /// A short machine-readable name: `scalar`, `simd`, `rayon`, `gpu`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Simd(_) => "simd",
            Backend::Rayon { .. } => "rayon",
            Backend::Gpu { .. } => "gpu",
        }
    }
}

/// A kernel's result and the backend that computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed<V> {
    pub value: V,
    pub backend: Backend,
    /// Elements read from each input (m·k for matmul's A).
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KernelError {
    /// The two inputs have different lengths.
    Length { a: usize, b: usize },
    /// Shapes that cannot be multiplied, or do not match the data.
    Shape(String),
    /// The requested SIMD level is not on this CPU.
    SimdUnavailable(SimdLevel),
    /// The GPU backend was forced but cannot run: why.
    GpuUnavailable(String),
    /// The GPU ran and failed.
    Gpu(String),
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Length { a, b } => {
                write!(f, "the inputs differ in length: {a} and {b} elements")
            }
            KernelError::Shape(s) => f.write_str(s),
            KernelError::SimdUnavailable(l) => write!(
                f,
                "SIMD level {l} is not available on this CPU (available: {})",
                SimdLevel::available_levels()
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            KernelError::GpuUnavailable(why) => write!(f, "the GPU backend cannot run: {why}"),
            KernelError::Gpu(e) => write!(f, "the GPU failed: {e}"),
        }
    }
}

impl std::error::Error for KernelError {}

/// NumPy's `allclose` options; the defaults are NumPy's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
    pub equal_nan: bool,
}

impl Default for Tolerance {
    fn default() -> Tolerance {
        Tolerance {
            rtol: 1e-5,
            atol: 1e-8,
            equal_nan: false,
        }
    }
}

/// The pair that misses its tolerance by the most.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    pub index: usize,
    pub a: f64,
    pub b: f64,
    /// `|a - b|`.
    pub diff: f64,
    /// `atol + rtol * |b|`.
    pub tolerance: f64,
}

/// What `allclose` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Closeness {
    pub pass: bool,
    /// Pairs that are not close.
    pub mismatches: usize,
    /// Set when `mismatches > 0`.
    pub worst: Option<Worst>,
}

/// Where a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Cpu(Backend),
    /// The GPU; for `Select::Auto`, the CPU backend to use should the GPU fail (a matrix
    /// larger than a binding, device memory exhausted).
    Gpu {
        fallback: Option<Backend>,
    },
}

fn plan<T: Element>(select: Select, n: usize, work: Work) -> Result<Plan, KernelError> {
    let best = SimdLevel::best();
    let one = |level: SimdLevel| {
        if level == SimdLevel::Scalar {
            Backend::Scalar
        } else {
            Backend::Simd(level)
        }
    };
    let rayon = || Backend::Rayon {
        level: best,
        threads: cpu::threads(),
    };
    Ok(match select {
        Select::Scalar => Plan::Cpu(Backend::Scalar),
        Select::Simd => Plan::Cpu(one(best)),
        Select::Level(l) if !l.available() => return Err(KernelError::SimdUnavailable(l)),
        Select::Level(l) => Plan::Cpu(one(l)),
        Select::Rayon => Plan::Cpu(rayon()),
        Select::Gpu => {
            gpu::require::<T>()?;
            Plan::Gpu { fallback: None }
        }
        Select::Auto => {
            let cpu = if n >= cpu::PARALLEL_THRESHOLD && cpu::threads() > 1 {
                rayon()
            } else {
                one(best)
            };
            if CostModel::default().prefers_gpu(work) && gpu::require::<T>().is_ok() {
                Plan::Gpu {
                    fallback: Some(cpu),
                }
            } else {
                Plan::Cpu(cpu)
            }
        }
    })
}

fn same_length<T>(a: &[T], b: &[T]) -> Result<usize, KernelError> {
    if a.len() == b.len() {
        Ok(a.len())
    } else {
        Err(KernelError::Length {
            a: a.len(),
            b: b.len(),
        })
    }
}

/// Runs a two-input reduction on the planned backend.
fn run2<T: SimdElement, V>(
    select: Select,
    a: &[T],
    b: &[T],
    ops: f64,
    cpu_one: impl Fn(SimdLevel, &[T], &[T]) -> V,
    cpu_par: impl Fn(SimdLevel, &[T], &[T]) -> V,
    on_gpu: impl FnOnce(&gpu::Gpu) -> Result<V, KernelError>,
) -> Result<Computed<V>, KernelError> {
    let n = same_length(a, b)?;
    let work = Work::elementwise(n, 2, size_of::<T>(), ops);
    let cpu = |backend: Backend| {
        let v = match &backend {
            Backend::Scalar => cpu_one(SimdLevel::Scalar, a, b),
            Backend::Simd(l) => cpu_one(*l, a, b),
            Backend::Rayon { level, .. } => cpu_par(*level, a, b),
            Backend::Gpu { .. } => unreachable!("a CPU plan"),
        };
        (v, backend)
    };
    let (value, backend) = match plan::<T>(select, n, work)? {
        Plan::Cpu(backend) => cpu(backend),
        Plan::Gpu { fallback } => {
            let g = gpu::require::<T>()?;
            match (on_gpu(g), fallback) {
                (Ok(v), _) => (v, g.backend()),
                (Err(_), Some(backend)) => cpu(backend),
                (Err(e), None) => return Err(e),
            }
        }
    };
    Ok(Computed { value, backend, n })
}

/// NumPy's `allclose(a, b, rtol, atol, equal_nan)`, with the number of pairs that are not
/// close and the worst of them. Arithmetic is in `T`, as NumPy does for arrays of `T`.
pub fn allclose<T: SimdElement>(
    a: &[T],
    b: &[T],
    tol: Tolerance,
    select: Select,
) -> Result<Computed<Closeness>, KernelError> {
    let (rtol, atol) = (T::from_f64(tol.rtol), T::from_f64(tol.atol));
    let en = tol.equal_nan;
    let counted = run2(
        select,
        a,
        b,
        8.0,
        |l, a, b| simd::allclose_count(l, a, b, rtol, atol, en),
        |l, a, b| cpu::allclose_count(l, a, b, rtol, atol, en),
        |g| g.allclose_count(a, b, tol.rtol, tol.atol, en),
    )?;
    let mismatches = counted.value;
    let worst = (mismatches > 0).then(|| worst(a, b, rtol, atol, en));
    Ok(Computed {
        value: Closeness {
            pass: mismatches == 0,
            mismatches,
            worst: worst.flatten(),
        },
        backend: counted.backend,
        n: counted.n,
    })
}

/// The worst pair, found on every core once `allclose` knows some pair is not close.
fn worst<T: SimdElement>(a: &[T], b: &[T], rtol: T, atol: T, en: bool) -> Option<Worst> {
    use rayon::prelude::*;
    let found = a
        .par_chunks(cpu::CHUNK)
        .zip(b.par_chunks(cpu::CHUNK))
        .enumerate()
        .filter_map(|(c, (x, y))| scalar::worst(x, y, rtol, atol, en, c * cpu::CHUNK))
        .reduce_with(|p, q| {
            if q.1 > p.1 || (q.1 == p.1 && q.0 < p.0) {
                q
            } else {
                p
            }
        })?;
    let (x, y) = (a[found.0], b[found.0]);
    Some(Worst {
        index: found.0,
        a: x.to_f64(),
        b: y.to_f64(),
        diff: (x - y).abs().to_f64(),
        tolerance: (atol + rtol * y.abs()).to_f64(),
    })
}

/// The largest `|a - b|`; NaN when any difference is NaN; 0 for empty inputs.
pub fn max_abs_diff<T: SimdElement>(
    a: &[T],
    b: &[T],
    select: Select,
) -> Result<Computed<T>, KernelError> {
    run2(
        select,
        a,
        b,
        3.0,
        |l, a, b| simd::max_abs_diff(l, a, b),
        |l, a, b| cpu::max_abs_diff(l, a, b),
        |g| g.max_abs_diff(a, b),
    )
}

/// The largest distance in units in the last place between `a[i]` and `b[i]` (`+0` and
/// `-0` are 0 apart). NaN on one side is `u64::MAX`; two NaNs are 0 apart with `equal_nan`.
pub fn ulp_distance<T: SimdElement>(
    a: &[T],
    b: &[T],
    equal_nan: bool,
    select: Select,
) -> Result<Computed<u64>, KernelError> {
    run2(
        select,
        a,
        b,
        6.0,
        |l, a, b| simd::ulp_max(l, a, b, equal_nan),
        |l, a, b| cpu::ulp_max(l, a, b, equal_nan),
        |g| g.ulp_max(a, b, equal_nan),
    )
}

/// `Σ a[i]·b[i]`.
pub fn dot<T: SimdElement>(a: &[T], b: &[T], select: Select) -> Result<Computed<T>, KernelError> {
    run2(
        select,
        a,
        b,
        2.0,
        |l, a, b| simd::dot(l, a, b),
        |l, a, b| cpu::dot(l, a, b),
        |g| g.dot(a, b),
    )
}

/// `Σ a[i]`.
pub fn sum<T: SimdElement>(a: &[T], select: Select) -> Result<Computed<T>, KernelError> {
    run2(
        select,
        a,
        a,
        0.5,
        |l, a, _| simd::sum(l, a),
        |l, a, _| cpu::sum(l, a),
        |g| g.sum(a),
    )
}

/// `Σ a[i] / n`; NaN for empty input (as NumPy).
pub fn mean<T: SimdElement>(a: &[T], select: Select) -> Result<Computed<T>, KernelError> {
    let s = sum(a, select)?;
    Ok(Computed {
        value: if a.is_empty() {
            T::NAN
        } else {
            s.value / T::from_usize(a.len())
        },
        ..s
    })
}

/// `C = A·B` for row-major `A` (m×k) and `B` (k×n); C is row-major m×n.
pub fn matmul<T: SimdElement>(
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    select: Select,
) -> Result<Computed<Vec<T>>, KernelError> {
    if a.len() != m * k || b.len() != k * n {
        return Err(KernelError::Shape(format!(
            "matmul of ({m}×{k}) by ({k}×{n}) needs {} and {} elements, the inputs have {} and {}",
            m * k,
            k * n,
            a.len(),
            b.len()
        )));
    }
    let work = Work::matmul(m, k, n, size_of::<T>());
    let mut c = vec![T::ZERO; m * n];
    let cpu = |backend: Backend, c: &mut [T]| {
        match &backend {
            Backend::Scalar => scalar::matmul_rows(a, b, c, k, n, 0),
            Backend::Simd(l) => simd::matmul_rows(*l, a, b, c, k, n, 0),
            Backend::Rayon { level, .. } => cpu::matmul(*level, a, b, c, k, n),
            Backend::Gpu { .. } => unreachable!("a CPU plan"),
        }
        backend
    };
    let backend = match plan::<T>(select, m * k * n, work)? {
        Plan::Cpu(backend) => cpu(backend, &mut c),
        Plan::Gpu { fallback } => {
            let g = gpu::require::<T>()?;
            match (g.matmul(a, b, m, k, n), fallback) {
                (Ok(product), _) => {
                    c = product;
                    g.backend()
                }
                (Err(_), Some(backend)) => cpu(backend, &mut c),
                (Err(e), None) => return Err(e),
            }
        }
    };
    Ok(Computed {
        value: c,
        backend,
        n: m * k,
    })
}
