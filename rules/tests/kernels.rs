//! Every kernel on every backend this machine has (scalar, each SIMD level, rayon, and the
//! GPU through wgpu — lavapipe in CI) agrees with the plain scalar reference below, over
//! random sizes, unaligned slices, NaN, ±Inf, subnormals, f32 and f64.
//!
//! The GPU must be there: these tests fail without an adapter unless BATUTA_DISABLE_GPU=1.

use batuta_rules::kernels::{
    self, Backend, Computed, Element, KernelError, Select, SimdElement, SimdLevel, Tolerance,
};
use proptest::prelude::*;

/// The backends to check, each with what it must report.
fn backends<T: Element>() -> Vec<Select> {
    let mut v = vec![Select::Scalar];
    v.extend(
        SimdLevel::available_levels()
            .into_iter()
            .filter(|l| *l != SimdLevel::Scalar)
            .map(Select::Level),
    );
    v.push(Select::Simd);
    v.push(Select::Rayon);
    v.push(Select::Auto);
    if gpu_expected() && (T::DTYPE == kernels::Dtype::F32 || kernels::gpu_supports(T::DTYPE)) {
        v.push(Select::Gpu);
    }
    v
}

fn gpu_expected() -> bool {
    !kernels::gpu_disabled()
}

/// The backend a result says must be the one asked for.
fn check_backend<V>(c: &Computed<V>, s: Select) {
    match (s, &c.backend) {
        (Select::Scalar, Backend::Scalar) => {}
        (Select::Level(l), Backend::Simd(got)) => assert_eq!(l, *got),
        (Select::Simd, Backend::Simd(got)) => assert_eq!(SimdLevel::best(), *got),
        (Select::Rayon, Backend::Rayon { level, .. }) => assert_eq!(SimdLevel::best(), *level),
        (Select::Gpu, Backend::Gpu { .. }) => {}
        (Select::Auto, _) => {}
        (s, b) => panic!("asked for {s:?}, computed on {b}"),
    }
}

// ---- the reference: written from NumPy's documentation, nothing shared with the crate ----

fn ref_isclose(a: f64, b: f64, rtol: f64, atol: f64, equal_nan: bool, f32: bool) -> bool {
    if a.is_nan() || b.is_nan() {
        return equal_nan && a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    // NumPy computes in the arrays' type.
    if f32 {
        let (a, b, rtol, atol) = (a as f32, b as f32, rtol as f32, atol as f32);
        (a - b).abs() <= atol + rtol * b.abs()
    } else {
        (a - b).abs() <= atol + rtol * b.abs()
    }
}

fn is_f32<T: Element>() -> bool {
    T::DTYPE == kernels::Dtype::F32
}

fn ref_mismatches<T: Element>(a: &[T], b: &[T], t: Tolerance) -> Vec<usize> {
    (0..a.len())
        .filter(|&i| {
            !ref_isclose(
                a[i].to_f64(),
                b[i].to_f64(),
                t.rtol,
                t.atol,
                t.equal_nan,
                is_f32::<T>(),
            )
        })
        .collect()
}

fn ref_max_abs_diff<T: Element>(a: &[T], b: &[T]) -> T {
    let mut m = T::ZERO;
    for i in 0..a.len() {
        let d = (a[i] - b[i]).abs();
        if d.is_nan() {
            return T::NAN;
        }
        if d > m {
            m = d;
        }
    }
    m
}

fn ordinal(x: f64, f32: bool) -> i64 {
    if f32 {
        let bits = (x as f32).to_bits();
        let mag = i64::from(bits & 0x7fff_ffff);
        if bits >> 31 == 1 { -mag } else { mag }
    } else {
        let bits = x.to_bits();
        let mag = (bits & 0x7fff_ffff_ffff_ffff) as i64;
        if bits >> 63 == 1 { -mag } else { mag }
    }
}

fn ref_ulp<T: Element>(a: &[T], b: &[T], equal_nan: bool) -> u64 {
    let mut m = 0u64;
    for i in 0..a.len() {
        let (x, y) = (a[i].to_f64(), b[i].to_f64());
        let d = if x.is_nan() || y.is_nan() {
            if equal_nan && x.is_nan() && y.is_nan() {
                0
            } else {
                u64::MAX
            }
        } else {
            ordinal(x, is_f32::<T>()).abs_diff(ordinal(y, is_f32::<T>()))
        };
        m = m.max(d);
    }
    m
}

/// A sum computed in f64 from exact terms, and the bound any order of summation in `T`
/// stays within: n · ε · Σ|term| (plus the subnormal spacing a flushing GPU loses per term).
fn ref_sum(terms: impl Iterator<Item = f64>, eps: f64, tiny: f64) -> (f64, f64) {
    let (mut s, mut abs, mut n) = (0.0, 0.0, 0.0);
    let mut pos_inf = false;
    let mut neg_inf = false;
    let mut nan = false;
    for t in terms {
        if t.is_nan() {
            nan = true;
        } else if t == f64::INFINITY {
            pos_inf = true;
        } else if t == f64::NEG_INFINITY {
            neg_inf = true;
        } else {
            s += t;
            abs += t.abs();
        }
        n += 1.0;
    }
    let s = if nan || (pos_inf && neg_inf) {
        f64::NAN
    } else if pos_inf {
        f64::INFINITY
    } else if neg_inf {
        f64::NEG_INFINITY
    } else {
        s
    };
    (s, (n + 1.0) * eps * abs + n * tiny)
}

fn agrees(got: f64, want: f64, bound: f64) -> bool {
    if want.is_nan() {
        got.is_nan()
    } else if want.is_infinite() {
        got == want
    } else {
        (got - want).abs() <= bound
    }
}

// ---- data ----

/// Mostly ordinary numbers, with NaN, ±Inf, ±0, subnormals and huge values mixed in.
fn element(special: bool, huge: bool) -> impl Strategy<Value = f64> {
    let ordinary = prop_oneof![
        8 => -1.0e3f64..1.0e3,
        2 => -1.0e-3f64..1.0e-3,
    ];
    let mut specials = vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        // Subnormal in f32 (and tiny in f64); the f64 subnormals follow.
        1.0e-40,
        -3.0e-42,
        f64::MIN_POSITIVE / 4.0,
        -5.0e-324,
    ];
    if huge {
        specials.push(1.0e30);
        specials.push(-3.0e38);
    }
    if special {
        prop_oneof![20 => ordinary, 1 => proptest::sample::select(specials)].boxed()
    } else {
        ordinary.boxed()
    }
}

/// a, and b near a (equal, a few ULPs off, a little off, far off, or anything).
fn pair(max: usize, special: bool) -> impl Strategy<Value = (Vec<f64>, Vec<f64>, usize)> {
    let size = prop_oneof![
        4 => 0usize..64,
        3 => 64usize..4096,
        2 => 4096usize..max,
    ];
    (size, 0usize..8).prop_flat_map(move |(n, offset)| {
        (
            proptest::collection::vec(
                (
                    element(special, special),
                    prop_oneof![
                        4 => Just(0.0),
                        2 => Just(1.0e-7),
                        2 => Just(-4.0e-6),
                        1 => Just(1.0e-3),
                    ],
                    prop_oneof![20 => Just(None), 1 => element(special, special).prop_map(Some)],
                ),
                n + offset,
            ),
            Just(offset),
        )
            .prop_map(|(v, offset)| {
                let a = v.iter().map(|(x, _, _)| *x).collect();
                let b = v
                    .iter()
                    .map(|(x, d, other)| other.unwrap_or(x * (1.0 + d)))
                    .collect();
                (a, b, offset)
            })
    })
}

fn tolerance() -> impl Strategy<Value = Tolerance> {
    (
        prop_oneof![Just(1e-5), Just(1e-3), Just(0.0), Just(1e-6)],
        prop_oneof![Just(1e-8), Just(1e-3), Just(0.0)],
        any::<bool>(),
    )
        .prop_map(|(rtol, atol, equal_nan)| Tolerance {
            rtol,
            atol,
            equal_nan,
        })
}

fn cast<T: Element>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

fn eps<T: Element>() -> f64 {
    T::EPSILON.to_f64()
}

/// The subnormal range of `T`: what a GPU that flushes subnormals may lose per operation.
fn tiny<T: Element>() -> f64 {
    if is_f32::<T>() {
        f32::MIN_POSITIVE as f64
    } else {
        f64::MIN_POSITIVE
    }
}

// ---- the checks, generic over the element type ----

fn check_allclose<T: SimdElement>(a: &[f64], b: &[f64], off: usize, t: Tolerance) {
    let (va, vb) = (cast::<T>(a), cast::<T>(b));
    // Unaligned: start `off` elements in.
    let (a, b) = (&va[off..], &vb[off..]);
    let want = ref_mismatches(a, b, t);
    for s in backends::<T>() {
        let got = kernels::allclose(a, b, t, s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        check_backend(&got, s);
        let c = &got.value;
        assert_eq!(c.mismatches, want.len(), "{s:?} on {}: {t:?}", got.backend);
        assert_eq!(c.pass, want.is_empty());
        assert_eq!(got.n, a.len());
        if let Some(w) = &c.worst {
            assert!(want.contains(&w.index), "the worst pair is a mismatch");
            assert_eq!(w.a.to_bits(), a[w.index].to_f64().to_bits());
            assert_eq!(w.b.to_bits(), b[w.index].to_f64().to_bits());
        } else {
            assert!(want.is_empty());
        }
    }
}

fn check_max_abs_diff<T: SimdElement>(a: &[f64], b: &[f64], off: usize) {
    let (va, vb) = (cast::<T>(a), cast::<T>(b));
    let (a, b) = (&va[off..], &vb[off..]);
    let want = ref_max_abs_diff(a, b).to_f64();
    for s in backends::<T>() {
        let got = kernels::max_abs_diff(a, b, s).unwrap();
        check_backend(&got, s);
        let slack = if s == Select::Gpu { tiny::<T>() } else { 0.0 };
        assert!(
            agrees(got.value.to_f64(), want, slack),
            "{s:?}: {} != {want}",
            got.value
        );
    }
}

fn check_ulp<T: SimdElement>(a: &[f64], b: &[f64], off: usize, equal_nan: bool) {
    let (va, vb) = (cast::<T>(a), cast::<T>(b));
    let (a, b) = (&va[off..], &vb[off..]);
    let want = ref_ulp(a, b, equal_nan);
    for s in backends::<T>() {
        let got = kernels::ulp_distance(a, b, equal_nan, s).unwrap();
        check_backend(&got, s);
        assert_eq!(got.value, want, "{s:?}");
    }
}

fn check_dot_sum_mean<T: SimdElement>(a: &[f64], b: &[f64], off: usize) {
    let (va, vb) = (cast::<T>(a), cast::<T>(b));
    let (a, b) = (&va[off..], &vb[off..]);
    let (e, t) = (eps::<T>(), tiny::<T>());
    // The products are rounded to T first, as every backend rounds or fuses them.
    let (dot, dot_bound) = ref_sum(a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()), e, t);
    let (sum, sum_bound) = ref_sum(a.iter().map(|x| x.to_f64()), e, t);
    for s in backends::<T>() {
        let got = kernels::dot(a, b, s).unwrap();
        check_backend(&got, s);
        assert!(
            agrees(got.value.to_f64(), dot, dot_bound + e * dot.abs()),
            "dot {s:?}: {} != {dot} ± {dot_bound}",
            got.value
        );
        let got = kernels::sum(a, s).unwrap();
        check_backend(&got, s);
        assert!(
            agrees(got.value.to_f64(), sum, sum_bound + e * sum.abs()),
            "sum {s:?}: {} != {sum} ± {sum_bound}",
            got.value
        );
        let got = kernels::mean(a, s).unwrap();
        if a.is_empty() {
            assert!(got.value.is_nan());
        } else {
            let n = a.len() as f64;
            assert!(
                agrees(
                    got.value.to_f64(),
                    sum / n,
                    (sum_bound + 2.0 * e * sum.abs()) / n
                ),
                "mean {s:?}: {} != {}",
                got.value,
                sum / n
            );
        }
    }
}

fn check_matmul<T: SimdElement>(a: &[f64], b: &[f64], (m, k, n): (usize, usize, usize)) {
    let (a, b) = (cast::<T>(a), cast::<T>(b));
    let (e, t) = (eps::<T>(), tiny::<T>());
    for s in backends::<T>() {
        let got = kernels::matmul(&a, &b, (m, k, n), s).unwrap();
        check_backend(&got, s);
        assert_eq!(got.value.len(), m * n);
        for i in 0..m {
            for j in 0..n {
                let (want, bound) = ref_sum(
                    (0..k).map(|p| a[i * k + p].to_f64() * b[p * n + j].to_f64()),
                    e,
                    t,
                );
                let g = got.value[i * n + j].to_f64();
                assert!(
                    agrees(g, want, bound + e * want.abs()),
                    "{s:?} C[{i},{j}] = {g}, want {want} ± {bound}"
                );
            }
        }
    }
}

const MAX: usize = 100_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn allclose_agrees_f32((a, b, off) in pair(MAX, true), t in tolerance()) {
        check_allclose::<f32>(&a, &b, off, t);
    }

    #[test]
    fn allclose_agrees_f64((a, b, off) in pair(MAX, true), t in tolerance()) {
        check_allclose::<f64>(&a, &b, off, t);
    }

    #[test]
    fn max_abs_diff_agrees((a, b, off) in pair(MAX, true)) {
        check_max_abs_diff::<f32>(&a, &b, off);
        check_max_abs_diff::<f64>(&a, &b, off);
    }

    #[test]
    fn ulp_distance_agrees((a, b, off) in pair(MAX, true), equal_nan in any::<bool>()) {
        check_ulp::<f32>(&a, &b, off, equal_nan);
        check_ulp::<f64>(&a, &b, off, equal_nan);
    }

    #[test]
    fn dot_sum_mean_agree_on_finite_data((a, b, off) in pair(MAX, false)) {
        check_dot_sum_mean::<f32>(&a, &b, off);
        check_dot_sum_mean::<f64>(&a, &b, off);
    }

    #[test]
    fn dot_sum_mean_propagate_nan_and_inf((a, b, off) in pair(5_000, true)) {
        // Subnormals, NaN and ±Inf; no huge values, so nothing overflows.
        let a: Vec<f64> = a.into_iter().map(|x| if x.abs() > 1e20 && x.is_finite() { 1.0 } else { x }).collect();
        let b: Vec<f64> = b.into_iter().map(|x| if x.abs() > 1e20 && x.is_finite() { 1.0 } else { x }).collect();
        check_dot_sum_mean::<f32>(&a, &b, off);
        check_dot_sum_mean::<f64>(&a, &b, off);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn matmul_agrees(
        (m, k, n, a, b) in (0usize..40, 0usize..40, 0usize..40).prop_flat_map(|(m, k, n)| (
            Just(m), Just(k), Just(n),
            // Ordinary values with NaN, ±Inf, ±0 and subnormals mixed in.
            proptest::collection::vec(element(true, false), m * k),
            proptest::collection::vec(element(true, false), k * n),
        ))
    ) {
        check_matmul::<f32>(&a, &b, (m, k, n));
        check_matmul::<f64>(&a, &b, (m, k, n));
    }
}

#[test]
fn matmul_larger_than_a_tile_and_a_rayon_task() {
    let (m, k, n) = (67, 301, 45);
    let a: Vec<f64> = (0..m * k)
        .map(|i| ((i * 7919) % 201) as f64 / 20.0 - 5.0)
        .collect();
    let b: Vec<f64> = (0..k * n)
        .map(|i| ((i * 104_729) % 173) as f64 / 17.0 - 5.0)
        .collect();
    check_matmul::<f32>(&a, &b, (m, k, n));
    check_matmul::<f64>(&a, &b, (m, k, n));
}

#[test]
fn numpy_isclose_semantics() {
    let t = Tolerance::default();
    let inf = f64::INFINITY;
    let cases: &[(f64, f64, bool, bool)] = &[
        // (a, b, close, close with equal_nan)
        (1.0, 1.0 + 1e-6, true, true),
        (1.0, 1.1, false, false),
        (inf, inf, true, true),
        (-inf, -inf, true, true),
        (inf, -inf, false, false),
        (1e308, inf, false, false),
        (f64::NAN, f64::NAN, false, true),
        (f64::NAN, 1.0, false, false),
        (0.0, -0.0, true, true),
        (0.0, 1e-9, true, true),
        (0.0, 1e-7, false, false),
    ];
    for s in backends::<f64>() {
        for &(a, b, close, close_nan) in cases {
            let r = kernels::allclose(&[a], &[b], t, s).unwrap();
            assert_eq!(r.value.pass, close, "{a} vs {b} on {s:?}");
            let t2 = Tolerance {
                equal_nan: true,
                ..t
            };
            let r = kernels::allclose(&[a], &[b], t2, s).unwrap();
            assert_eq!(r.value.pass, close_nan, "{a} vs {b} equal_nan on {s:?}");
        }
    }
    // isclose is not symmetric: the tolerance scales with |b|.
    let t = Tolerance {
        rtol: 0.1,
        atol: 0.0,
        equal_nan: false,
    };
    assert!(
        kernels::allclose(&[1.0f64], &[1.1], t, Select::Scalar)
            .unwrap()
            .value
            .pass
    );
    assert!(
        !kernels::allclose(&[1.1f64], &[1.0], t, Select::Scalar)
            .unwrap()
            .value
            .pass
    );
}

#[test]
fn the_worst_pair_is_the_one_furthest_out_of_tolerance() {
    let a = vec![1.0f32; 1000];
    let mut b = a.clone();
    b[10] = 1.001;
    b[500] = 1.5;
    b[900] = 1.01;
    for s in backends::<f32>() {
        let r = kernels::allclose(&a, &b, Tolerance::default(), s).unwrap();
        assert_eq!(r.value.mismatches, 3);
        let w = r.value.worst.unwrap();
        assert_eq!((w.index, w.a, w.b), (500, 1.0, 1.5), "{s:?}");
    }
    b[700] = f32::NAN;
    let w = kernels::allclose(&a, &b, Tolerance::default(), Select::Auto)
        .unwrap()
        .value
        .worst
        .unwrap();
    assert_eq!(w.index, 700, "a NaN is worse than any finite miss");
}

#[test]
fn mismatched_lengths_and_shapes_are_errors() {
    let e = kernels::dot(&[1.0f32, 2.0], &[1.0], Select::Auto).unwrap_err();
    assert_eq!(e, KernelError::Length { a: 2, b: 1 });
    let e = kernels::matmul(&[1.0f32; 6], &[1.0; 6], (2, 3, 3), Select::Auto).unwrap_err();
    assert!(matches!(e, KernelError::Shape(_)), "{e}");
}

#[test]
fn a_missing_simd_level_is_a_clear_error() {
    let missing = SimdLevel::ALL.into_iter().find(|l| !l.available());
    if let Some(l) = missing {
        let e = kernels::sum(&[1.0f32], Select::Level(l)).unwrap_err();
        assert_eq!(e, KernelError::SimdUnavailable(l));
        assert!(e.to_string().contains("not available"), "{e}");
    }
}

#[test]
fn auto_uses_the_cpu_for_element_wise_work() {
    let a = vec![1.0f32; 1 << 20];
    let r = kernels::sum(&a, Select::Auto).unwrap();
    assert!(
        matches!(r.backend, Backend::Rayon { .. } | Backend::Simd(_)),
        "{}",
        r.backend
    );
    assert_eq!(r.value, (1 << 20) as f32);
    let r = kernels::sum(&a[..100], Select::Auto).unwrap();
    assert!(
        matches!(r.backend, Backend::Simd(_) | Backend::Scalar),
        "{}",
        r.backend
    );
}

#[test]
fn the_gpu_is_there_unless_disabled() {
    if !gpu_expected() {
        let e = kernels::sum(&[1.0f32], Select::Gpu).unwrap_err();
        assert!(matches!(e, KernelError::GpuUnavailable(_)), "{e}");
        assert!(e.to_string().contains("BATUTA_DISABLE_GPU"), "{e}");
        return;
    }
    let info = kernels::gpu_info().unwrap_or_else(|e| {
        panic!("no GPU adapter: {e}. Install mesa-vulkan-drivers (lavapipe), or set BATUTA_DISABLE_GPU=1 to skip the GPU")
    });
    let r = kernels::sum(&[1.0f32, 2.0, 3.5], Select::Gpu).unwrap();
    assert_eq!(r.value, 6.5);
    assert_eq!(
        r.backend,
        Backend::Gpu {
            adapter: info.clone()
        }
    );
    if kernels::gpu_supports(kernels::Dtype::F64) {
        let r = kernels::sum(&[1.0f64, 2.0, 3.5], Select::Gpu).unwrap();
        assert_eq!((r.value, r.backend.kind()), (6.5, "gpu"));
    } else {
        // Without 64-bit shaders, forcing f64 is an error, never a silent CPU run.
        let e = kernels::sum(&[1.0f64], Select::Gpu).unwrap_err();
        assert!(matches!(e, KernelError::GpuUnavailable(_)), "{e}");
        assert!(e.to_string().contains("SHADER_F64"), "{e}");
    }
    if info.contains("llvmpipe") {
        assert!(
            kernels::gpu_supports(kernels::Dtype::F64),
            "lavapipe runs 64-bit shaders, so CI checks the f64 kernels on the GPU too"
        );
    }
}

#[test]
fn gpu_reductions_span_many_workgroups() {
    if !gpu_expected() {
        return;
    }
    // More elements than 1024 workgroups × 256 invocations cover in one sweep.
    let n = 3 * 1024 * 256 + 17;
    let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let mut b = a.clone();
    b[n - 1] += 1.0;
    let r = kernels::allclose(&a, &b, Tolerance::default(), Select::Gpu).unwrap();
    assert_eq!(r.value.mismatches, 1);
    assert_eq!(r.value.worst.unwrap().index, n - 1);
    let s = kernels::sum(&a, Select::Gpu).unwrap();
    let want: f64 = a.iter().map(|&x| f64::from(x)).sum();
    assert!((f64::from(s.value) - want).abs() <= want * 1e-5);
    assert_eq!(
        kernels::max_abs_diff(&a, &b, Select::Gpu).unwrap().value,
        1.0
    );
}
