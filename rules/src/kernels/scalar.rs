//! The plain scalar kernels: the `scalar` backend, the tails of the SIMD loops, and the
//! definition every other backend must agree with.

use super::element::Element;

/// NumPy's `isclose` for one pair: finite values are close when
/// `|a - b| <= atol + rtol * |b|`; infinities only when equal; NaN only with `equal_nan` and
/// both NaN.
#[inline(always)]
pub fn isclose<T: Element>(a: T, b: T, rtol: T, atol: T, equal_nan: bool) -> bool {
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= atol + rtol * b.abs()
    } else if a.is_nan() || b.is_nan() {
        equal_nan && a.is_nan() && b.is_nan()
    } else {
        a == b
    }
}

/// How many pairs are not close.
#[inline(always)]
pub fn allclose_count<T: Element>(a: &[T], b: &[T], rtol: T, atol: T, equal_nan: bool) -> usize {
    a.iter()
        .zip(b)
        .filter(|&(&x, &y)| !isclose(x, y, rtol, atol, equal_nan))
        .count()
}

/// By how much a pair misses its tolerance: `|a - b| - (atol + rtol * |b|)` for finite
/// pairs, infinity for a NaN or infinity that does not match. `None` when the pair is close.
#[inline(always)]
pub fn excess<T: Element>(a: T, b: T, rtol: T, atol: T, equal_nan: bool) -> Option<f64> {
    if isclose(a, b, rtol, atol, equal_nan) {
        None
    } else if a.is_finite() && b.is_finite() {
        Some(((a - b).abs() - (atol + rtol * b.abs())).to_f64())
    } else {
        Some(f64::INFINITY)
    }
}

/// The pair that misses its tolerance by the most (the first one on a tie), with the excess;
/// `offset` is added to the index.
pub fn worst<T: Element>(
    a: &[T],
    b: &[T],
    rtol: T,
    atol: T,
    equal_nan: bool,
    offset: usize,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if let Some(e) = excess(x, y, rtol, atol, equal_nan)
            && best.is_none_or(|(_, b)| e > b)
        {
            best = Some((offset + i, e));
        }
    }
    best
}

/// The largest `|a - b|`; NaN when any difference is NaN (as `np.max(np.abs(a - b))`), zero
/// for empty arrays.
#[inline(always)]
pub fn max_abs_diff<T: Element>(a: &[T], b: &[T]) -> T {
    let mut m = T::ZERO;
    let mut nan = false;
    for (&x, &y) in a.iter().zip(b) {
        let d = (x - y).abs();
        nan |= d.is_nan();
        if d > m {
            m = d;
        }
    }
    if nan { T::NAN } else { m }
}

/// The ULP distance of one pair: how many representable values lie between them. A NaN
/// on either side is `u64::MAX`, except two NaNs with `equal_nan`, which are 0.
#[inline(always)]
pub fn ulp<T: Element>(a: T, b: T, equal_nan: bool) -> u64 {
    if a.is_nan() || b.is_nan() {
        if equal_nan && a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        }
    } else {
        a.ulp_index().abs_diff(b.ulp_index())
    }
}

/// The largest ULP distance over all pairs (0 for empty arrays).
#[inline(always)]
pub fn ulp_max<T: Element>(a: &[T], b: &[T], equal_nan: bool) -> u64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| ulp(x, y, equal_nan))
        .fold(0, u64::max)
}

#[inline(always)]
pub fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::ZERO, |s, (&x, &y)| s + x * y)
}

#[inline(always)]
pub fn sum<T: Element>(a: &[T]) -> T {
    a.iter().fold(T::ZERO, |s, &x| s + x)
}

/// Rows `rows` of `C = A·B` for row-major `A` (m×k), `B` (k×n); `c` holds those rows.
pub fn matmul_rows<T: Element>(a: &[T], b: &[T], c: &mut [T], k: usize, n: usize, first: usize) {
    for (r, row) in c.chunks_mut(n.max(1)).enumerate() {
        let i = first + r;
        for (j, out) in row.iter_mut().enumerate() {
            let mut s = T::ZERO;
            for p in 0..k {
                s = s + a[i * k + p] * b[p * n + j];
            }
            *out = s;
        }
    }
}
