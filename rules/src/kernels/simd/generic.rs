//! The SIMD kernels, written once over a [`Vector`] of lanes and instantiated for each
//! instruction set inside a `#[target_feature]` function (see `levels.rs`). Everything here
//! is `#[inline(always)]` so that it is compiled with the caller's features.

use super::super::element::Element;
use super::super::scalar;

/// A register of `LANES` elements and the operations the kernels need.
///
/// # Safety
///
/// Every method executes instructions of one instruction set: call them only when the CPU
/// has it (the level was detected at run time), and `load`/`store` only on `LANES` valid
/// elements.
pub trait Vector: Copy {
    type T: Element;
    type M: Copy;
    const LANES: usize;

    unsafe fn load(p: *const Self::T) -> Self;
    unsafe fn store(self, p: *mut Self::T);
    unsafe fn splat(x: Self::T) -> Self;
    unsafe fn add(self, o: Self) -> Self;
    unsafe fn sub(self, o: Self) -> Self;
    unsafe fn mul(self, o: Self) -> Self;
    /// `self * b + c`, fused where the instruction set has FMA.
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    unsafe fn abs(self) -> Self;
    /// Lane-wise maximum of two NaN-free vectors.
    unsafe fn max(self, o: Self) -> Self;
    unsafe fn le(self, o: Self) -> Self::M;
    unsafe fn lt(self, o: Self) -> Self::M;
    unsafe fn eq(self, o: Self) -> Self::M;
    unsafe fn is_nan(self) -> Self::M;
    unsafe fn and(m: Self::M, o: Self::M) -> Self::M;
    unsafe fn or(m: Self::M, o: Self::M) -> Self::M;
    unsafe fn none() -> Self::M;
    /// How many lanes of the mask are set.
    unsafe fn count(m: Self::M) -> usize;

    /// The lanes summed in order.
    unsafe fn hsum(self) -> Self::T {
        let mut buf = [Self::T::ZERO; 16];
        // SAFETY: LANES <= 16 for every instruction set here.
        unsafe { self.store(buf.as_mut_ptr()) };
        buf[..Self::LANES].iter().fold(Self::T::ZERO, |s, &x| s + x)
    }

    /// The largest lane (no lane is NaN).
    unsafe fn hmax(self) -> Self::T {
        let mut buf = [Self::T::ZERO; 16];
        // SAFETY: LANES <= 16 for every instruction set here.
        unsafe { self.store(buf.as_mut_ptr()) };
        buf[..Self::LANES]
            .iter()
            .fold(Self::T::ZERO, |m, &x| if x > m { x } else { m })
    }
}

/// How many lanes of `x`, `y` are not close, with exactly the scalar `isclose` rules:
///
/// `ok = (|x - y| <= atol + rtol·|y| and |y| < inf) or (x == y and |y| == inf)`
///
/// Both finite: the first term is NumPy's formula. `x` infinite, `y` finite: `|x - y|` is
/// infinite, above any finite tolerance. `y` infinite: only the second term can hold, when
/// `x` is the same infinity. A NaN fails every ordered compare (`equal_nan` adds NaN pairs).
#[inline(always)]
unsafe fn not_close<V: Vector>(x: V, y: V, rtol: V, atol: V, inf: V, equal_nan: bool) -> usize {
    // SAFETY: the caller guarantees the instruction set (this function's contract).
    unsafe {
        let ay = y.abs();
        let d = x.sub(y).abs();
        // atol + rtol * |b|, not fused, so that it rounds as the scalar code does.
        let tol = atol.add(rtol.mul(ay));
        let close = V::and(d.le(tol), ay.lt(inf));
        let same_inf = V::and(x.eq(y), ay.eq(inf));
        let mut ok = V::or(close, same_inf);
        if equal_nan {
            ok = V::or(ok, V::and(x.is_nan(), y.is_nan()));
        }
        V::LANES - V::count(ok)
    }
}

/// The number of pairs that are not close.
#[inline(always)]
pub(crate) unsafe fn allclose<V: Vector>(
    a: &[V::T],
    b: &[V::T],
    rtol: V::T,
    atol: V::T,
    equal_nan: bool,
) -> usize {
    let n = a.len().min(b.len());
    let l = V::LANES;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut bad = 0;
    let mut i = 0;
    // SAFETY: the instruction set is the caller's guarantee; every load reads lanes
    // i..i + LANES with i + LANES <= n, inside both slices.
    unsafe {
        let (vr, va, inf) = (V::splat(rtol), V::splat(atol), V::splat(V::T::INFINITY));
        while i + 4 * l <= n {
            for u in 0..4 {
                let j = i + u * l;
                bad += not_close(
                    V::load(pa.add(j)),
                    V::load(pb.add(j)),
                    vr,
                    va,
                    inf,
                    equal_nan,
                );
            }
            i += 4 * l;
        }
        while i + l <= n {
            bad += not_close(
                V::load(pa.add(i)),
                V::load(pb.add(i)),
                vr,
                va,
                inf,
                equal_nan,
            );
            i += l;
        }
    }
    bad + scalar::allclose_count(&a[i..n], &b[i..n], rtol, atol, equal_nan)
}

/// The largest `|a - b|`, NaN if any difference is NaN.
#[inline(always)]
pub(crate) unsafe fn max_abs_diff<V: Vector>(a: &[V::T], b: &[V::T]) -> V::T {
    let n = a.len().min(b.len());
    let l = V::LANES;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: as in `allclose`.
    let (m, nan) = unsafe {
        let mut acc = [V::splat(V::T::ZERO); 4];
        let mut nan = [V::none(); 4];
        while i + 4 * l <= n {
            for u in 0..4 {
                let j = i + u * l;
                let d = V::load(pa.add(j)).sub(V::load(pb.add(j))).abs();
                // A NaN difference is remembered here (and may land in `acc`, whose
                // maximum is then not used).
                nan[u] = V::or(nan[u], d.is_nan());
                acc[u] = acc[u].max(d);
            }
            i += 4 * l;
        }
        while i + l <= n {
            let d = V::load(pa.add(i)).sub(V::load(pb.add(i))).abs();
            nan[0] = V::or(nan[0], d.is_nan());
            acc[0] = acc[0].max(d);
            i += l;
        }
        let any_nan = (0..4).any(|u| V::count(nan[u]) > 0);
        let m = acc[0].max(acc[1]).max(acc[2].max(acc[3]));
        (m, any_nan)
    };
    let tail = scalar::max_abs_diff(&a[i..n], &b[i..n]);
    if nan || tail.is_nan() {
        return V::T::NAN;
    }
    // SAFETY: as above. No lane of `m` is NaN: a NaN difference returned above.
    let m = unsafe { m.hmax() };
    if tail > m { tail } else { m }
}

/// The largest ULP distance. Integer work that the compiler vectorises for the level it is
/// compiled for.
#[inline(always)]
pub(crate) unsafe fn ulp_max<V: Vector>(a: &[V::T], b: &[V::T], equal_nan: bool) -> u64 {
    const CHUNK: usize = 64;
    let mut m = 0;
    for (ca, cb) in a.chunks(CHUNK).zip(b.chunks(CHUNK)) {
        let mut lane = [0u64; CHUNK];
        for ((o, &x), &y) in lane.iter_mut().zip(ca).zip(cb) {
            *o = scalar::ulp(x, y, equal_nan);
        }
        m = lane.iter().fold(m, |m, &x| m.max(x));
    }
    m
}

/// `Σ a·b` with four independent accumulators of fused multiply-adds.
#[inline(always)]
pub(crate) unsafe fn dot<V: Vector>(a: &[V::T], b: &[V::T]) -> V::T {
    let n = a.len().min(b.len());
    let l = V::LANES;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    // SAFETY: as in `allclose`.
    let s = unsafe {
        let mut acc = [V::splat(V::T::ZERO); 4];
        while i + 4 * l <= n {
            for (u, acc) in acc.iter_mut().enumerate() {
                let j = i + u * l;
                *acc = V::load(pa.add(j)).mul_add(V::load(pb.add(j)), *acc);
            }
            i += 4 * l;
        }
        while i + l <= n {
            acc[0] = V::load(pa.add(i)).mul_add(V::load(pb.add(i)), acc[0]);
            i += l;
        }
        acc[0].add(acc[1]).add(acc[2].add(acc[3])).hsum()
    };
    s + scalar::dot(&a[i..n], &b[i..n])
}

/// `Σ a` with four independent accumulators.
#[inline(always)]
pub(crate) unsafe fn sum<V: Vector>(a: &[V::T]) -> V::T {
    let n = a.len();
    let l = V::LANES;
    let pa = a.as_ptr();
    let mut i = 0;
    // SAFETY: as in `allclose`.
    let s = unsafe {
        let mut acc = [V::splat(V::T::ZERO); 4];
        while i + 4 * l <= n {
            for (u, acc) in acc.iter_mut().enumerate() {
                *acc = acc.add(V::load(pa.add(i + u * l)));
            }
            i += 4 * l;
        }
        while i + l <= n {
            acc[0] = acc[0].add(V::load(pa.add(i)));
            i += l;
        }
        acc[0].add(acc[1]).add(acc[2].add(acc[3])).hsum()
    };
    s + scalar::sum(&a[i..n])
}

/// Rows `first..` of `C = A·B` (row-major, A m×k, B k×n) into `c`: each row of C is built
/// as Σ_p a[i,p]·B[p,:], streaming rows of B through vector multiply-adds.
#[inline(always)]
pub(crate) unsafe fn matmul_rows<V: Vector>(
    a: &[V::T],
    b: &[V::T],
    c: &mut [V::T],
    k: usize,
    n: usize,
    first: usize,
) {
    if n == 0 {
        return;
    }
    let l = V::LANES;
    for (r, row) in c.chunks_mut(n).enumerate() {
        let i = first + r;
        row.fill(V::T::ZERO);
        let pc = row.as_mut_ptr();
        for p in 0..k {
            let aip = a[i * k + p];
            let brow = &b[p * n..(p + 1) * n];
            let pb = brow.as_ptr();
            let mut j = 0;
            // SAFETY: the instruction set is the caller's guarantee; j + LANES <= n keeps
            // every load and store inside `row` and `brow`, both n long.
            unsafe {
                let s = V::splat(aip);
                while j + l <= n {
                    let acc = V::load(pc.add(j));
                    s.mul_add(V::load(pb.add(j)), acc).store(pc.add(j));
                    j += l;
                }
            }
            for (o, &x) in row[j..].iter_mut().zip(&brow[j..]) {
                *o = *o + aip * x;
            }
        }
    }
}
