//! Runtime-dispatched SIMD: the best instruction set the CPU has is detected once
//! (`is_x86_feature_detected!` on x86-64, NEON always on aarch64), and each kernel is
//! compiled once per instruction set inside a `#[target_feature]` function.

mod generic;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;
use std::sync::OnceLock;

use super::element::Element;
use super::scalar;
use generic::Vector;

/// An instruction set the kernels are compiled for, from the weakest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// No SIMD: the plain scalar loops.
    Scalar,
    /// x86-64 SSE2: 128-bit registers (part of every x86-64 CPU).
    Sse2,
    /// x86-64 AVX2 with FMA (and POPCNT, which every AVX2 CPU has): 256-bit registers.
    Avx2,
    /// x86-64 AVX-512F (with POPCNT, which every AVX-512 CPU has): 512-bit registers.
    Avx512,
    /// aarch64 NEON: 128-bit registers.
    Neon,
}

impl SimdLevel {
    pub const ALL: [SimdLevel; 5] = [
        SimdLevel::Scalar,
        SimdLevel::Sse2,
        SimdLevel::Avx2,
        SimdLevel::Avx512,
        SimdLevel::Neon,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Sse2 => "sse2",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Neon => "neon",
        }
    }

    pub fn parse(s: &str) -> Option<SimdLevel> {
        SimdLevel::ALL.into_iter().find(|l| l.name() == s)
    }

    /// Whether this CPU can run the level.
    pub fn available(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Sse2 => is_x86_feature_detected!("sse2"),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every level this CPU can run, weakest first.
    pub fn available_levels() -> Vec<SimdLevel> {
        SimdLevel::ALL
            .into_iter()
            .filter(|l| l.available())
            .collect()
    }

    /// The best level this CPU can run (detected once).
    pub fn best() -> SimdLevel {
        static BEST: OnceLock<SimdLevel> = OnceLock::new();
        *BEST.get_or_init(|| {
            [
                SimdLevel::Avx512,
                SimdLevel::Avx2,
                SimdLevel::Neon,
                SimdLevel::Sse2,
            ]
            .into_iter()
            .find(|l| l.available())
            .unwrap_or(SimdLevel::Scalar)
        })
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One module of entry points per instruction set: the generic kernels compiled with the
/// level's target features.
macro_rules! level {
    ($m:ident, $feat:literal) => {
        mod $m {
            use super::Vector;
            use super::generic;

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn allclose<V: Vector>(
                a: &[V::T],
                b: &[V::T],
                rtol: V::T,
                atol: V::T,
                equal_nan: bool,
            ) -> usize {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::allclose::<V>(a, b, rtol, atol, equal_nan) }
            }

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn max_abs_diff<V: Vector>(a: &[V::T], b: &[V::T]) -> V::T {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::max_abs_diff::<V>(a, b) }
            }

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn ulp_max<V: Vector>(
                a: &[V::T],
                b: &[V::T],
                equal_nan: bool,
            ) -> u64 {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::ulp_max::<V>(a, b, equal_nan) }
            }

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn dot<V: Vector>(a: &[V::T], b: &[V::T]) -> V::T {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::dot::<V>(a, b) }
            }

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn sum<V: Vector>(a: &[V::T]) -> V::T {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::sum::<V>(a) }
            }

            #[target_feature(enable = $feat)]
            pub(super) unsafe fn matmul_rows<V: Vector>(
                a: &[V::T],
                b: &[V::T],
                c: &mut [V::T],
                k: usize,
                n: usize,
                first: usize,
            ) {
                // SAFETY: the caller checked the CPU has the features this is compiled for.
                unsafe { generic::matmul_rows::<V>(a, b, c, k, n, first) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
level!(sse2, "sse2");
#[cfg(target_arch = "x86_64")]
level!(avx2, "avx2,fma,popcnt");
#[cfg(target_arch = "x86_64")]
level!(avx512, "avx512f,popcnt");
#[cfg(target_arch = "aarch64")]
level!(neon_level, "neon");

/// An element type with a vector type for each instruction set.
pub trait SimdElement: Element {
    #[cfg(target_arch = "x86_64")]
    #[doc(hidden)]
    type Sse2: Vector<T = Self>;
    #[cfg(target_arch = "x86_64")]
    #[doc(hidden)]
    type Avx2: Vector<T = Self>;
    #[cfg(target_arch = "x86_64")]
    #[doc(hidden)]
    type Avx512: Vector<T = Self>;
    #[cfg(target_arch = "aarch64")]
    #[doc(hidden)]
    type Neon: Vector<T = Self>;
}

impl SimdElement for f32 {
    #[cfg(target_arch = "x86_64")]
    type Sse2 = x86::Sse2F32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = x86::Avx2F32;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = x86::Avx512F32;
    #[cfg(target_arch = "aarch64")]
    type Neon = neon::NeonF32;
}

impl SimdElement for f64 {
    #[cfg(target_arch = "x86_64")]
    type Sse2 = x86::Sse2F64;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = x86::Avx2F64;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = x86::Avx512F64;
    #[cfg(target_arch = "aarch64")]
    type Neon = neon::NeonF64;
}

/// Calls the kernel `$f` compiled for `$level`, or the scalar one. Panics on a level this
/// CPU lacks: the public API checks availability before it gets here.
macro_rules! dispatch {
    ($level:expr, $t:ty, $f:ident ( $($arg:expr),* ), scalar: $scalar:expr) => {{
        let level: SimdLevel = $level;
        assert!(level.available(), "SIMD level {level} is not available on this CPU");
        match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `available` checked SSE2 at run time.
            SimdLevel::Sse2 => unsafe { sse2::$f::<<$t>::Sse2>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `available` checked AVX2 and FMA at run time.
            SimdLevel::Avx2 => unsafe { avx2::$f::<<$t>::Avx2>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `available` checked AVX-512F at run time.
            SimdLevel::Avx512 => unsafe { avx512::$f::<<$t>::Avx512>($($arg),*) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: NEON is part of every aarch64 CPU.
            SimdLevel::Neon => unsafe { neon_level::$f::<<$t>::Neon>($($arg),*) },
            _ => $scalar,
        }
    }};
}

/// How many pairs of `a`, `b` are not close (NumPy's `isclose`).
pub fn allclose_count<T: SimdElement>(
    level: SimdLevel,
    a: &[T],
    b: &[T],
    rtol: T,
    atol: T,
    equal_nan: bool,
) -> usize {
    dispatch!(level, T, allclose(a, b, rtol, atol, equal_nan),
        scalar: scalar::allclose_count(a, b, rtol, atol, equal_nan))
}

pub fn max_abs_diff<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T]) -> T {
    dispatch!(level, T, max_abs_diff(a, b), scalar: scalar::max_abs_diff(a, b))
}

pub fn ulp_max<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T], equal_nan: bool) -> u64 {
    dispatch!(level, T, ulp_max(a, b, equal_nan), scalar: scalar::ulp_max(a, b, equal_nan))
}

pub fn dot<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T]) -> T {
    dispatch!(level, T, dot(a, b), scalar: scalar::dot(a, b))
}

pub fn sum<T: SimdElement>(level: SimdLevel, a: &[T]) -> T {
    dispatch!(level, T, sum(a), scalar: scalar::sum(a))
}

/// Rows `first..first + c.len() / n` of `C = A·B`.
pub fn matmul_rows<T: SimdElement>(
    level: SimdLevel,
    a: &[T],
    b: &[T],
    c: &mut [T],
    k: usize,
    n: usize,
    first: usize,
) {
    dispatch!(level, T, matmul_rows(a, b, c, k, n, first),
        scalar: scalar::matmul_rows(a, b, c, k, n, first))
}
