//! The multithreaded CPU backend: the input is cut into chunks that rayon's workers run
//! through the SIMD kernels, and the partial results are combined in chunk order (so a
//! result does not depend on how the chunks were scheduled).

use rayon::prelude::*;

use super::simd::{self, SimdElement, SimdLevel};

/// Elements per chunk: large enough that a chunk costs far more than handing it out, small
/// enough that two cores share the work evenly.
pub const CHUNK: usize = 1 << 16;

/// Below this many elements one thread is faster than splitting the work (measured: at
/// 2^20 f32, in cache, two threads were slower than one).
pub const PARALLEL_THRESHOLD: usize = 1 << 21;

pub fn threads() -> usize {
    rayon::current_num_threads()
}

pub fn allclose_count<T: SimdElement>(
    level: SimdLevel,
    a: &[T],
    b: &[T],
    rtol: T,
    atol: T,
    equal_nan: bool,
) -> usize {
    a.par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| simd::allclose_count(level, x, y, rtol, atol, equal_nan))
        .sum()
}

pub fn max_abs_diff<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T]) -> T {
    let parts: Vec<T> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| simd::max_abs_diff(level, x, y))
        .collect();
    let mut m = T::ZERO;
    for p in parts {
        if p.is_nan() {
            return T::NAN;
        }
        if p > m {
            m = p;
        }
    }
    m
}

pub fn ulp_max<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T], equal_nan: bool) -> u64 {
    a.par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| simd::ulp_max(level, x, y, equal_nan))
        .max()
        .unwrap_or(0)
}

pub fn dot<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T]) -> T {
    let parts: Vec<T> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(x, y)| simd::dot(level, x, y))
        .collect();
    parts.into_iter().fold(T::ZERO, |s, p| s + p)
}

pub fn sum<T: SimdElement>(level: SimdLevel, a: &[T]) -> T {
    let parts: Vec<T> = a.par_chunks(CHUNK).map(|x| simd::sum(level, x)).collect();
    parts.into_iter().fold(T::ZERO, |s, p| s + p)
}

/// `C = A·B`, rows spread over the workers.
pub fn matmul<T: SimdElement>(level: SimdLevel, a: &[T], b: &[T], c: &mut [T], k: usize, n: usize) {
    if n == 0 {
        return;
    }
    // About CHUNK multiply-adds per task.
    let rows = (CHUNK / (k * n).max(1)).max(1);
    c.par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(t, block)| simd::matmul_rows(level, a, b, block, k, n, t * rows));
}
