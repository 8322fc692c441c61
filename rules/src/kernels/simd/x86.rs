//! x86-64 vectors: SSE2 (4 × f32, 2 × f64), AVX2 with FMA (8 × f32, 4 × f64) and
//! AVX-512F (16 × f32, 8 × f64).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::generic::Vector;

/// The set bits of a mask of at most 8 lanes, by table: SSE2 has no `popcnt` instruction,
/// and `count_ones` without it is a dozen instructions.
#[inline(always)]
fn popcount8(m: u32) -> usize {
    // Nibble i of BITS is the popcount of i.
    const BITS: u64 = 0x4332_3221_3221_2110;
    (((BITS >> ((m & 15) * 4)) & 15) + ((BITS >> (((m >> 4) & 15) * 4)) & 15)) as usize
}

/// The set bits of a mask, with the `popcnt` instruction (AVX2 and AVX-512 levels).
#[inline(always)]
fn popcnt(m: u32) -> usize {
    m.count_ones() as usize
}

/// SSE2 and AVX2 share one shape: a compare yields a vector mask read with `movemask`.
macro_rules! vector {
    (
        $name:ident, $t:ty, $reg:ty, $lanes:expr,
        load $load:ident, store $store:ident, splat $splat:ident, zero $zero:ident,
        add $add:ident, sub $sub:ident, mul $mul:ident, max $max:ident,
        and $and:ident, or $or:ident, andnot $andnot:ident, movemask $movemask:ident,
        popcount $popcount:path,
        le |$la:ident, $lb:ident| $le:expr,
        lt |$ta:ident, $tb:ident| $lt:expr,
        eq |$ea:ident, $eb:ident| $eq:expr,
        unord |$ua:ident, $ub:ident| $unord:expr,
        fma |$fa:ident, $fb:ident, $fc:ident| $fma:expr $(,)?
    ) => {
        #[derive(Clone, Copy)]
        pub struct $name($reg);

        impl Vector for $name {
            type T = $t;
            type M = $reg;
            const LANES: usize = $lanes;

            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                // SAFETY: the trait's contract: LANES readable elements, the ISA present.
                unsafe { Self($load(p)) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: the trait's contract: LANES writable elements, the ISA present.
                unsafe { $store(p, self.0) }
            }
            #[inline(always)]
            unsafe fn splat(x: $t) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($splat(x)) }
            }
            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($add(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn sub(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($sub(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($mul(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn mul_add(self, b: Self, c: Self) -> Self {
                let ($fa, $fb, $fc) = (self.0, b.0, c.0);
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($fma) }
            }
            #[inline(always)]
            unsafe fn abs(self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($andnot($splat(-0.0), self.0)) }
            }
            #[inline(always)]
            unsafe fn max(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($max(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn le(self, o: Self) -> $reg {
                let ($la, $lb) = (self.0, o.0);
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $le }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> $reg {
                let ($ta, $tb) = (self.0, o.0);
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $lt }
            }
            #[inline(always)]
            unsafe fn eq(self, o: Self) -> $reg {
                let ($ea, $eb) = (self.0, o.0);
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $eq }
            }
            #[inline(always)]
            unsafe fn is_nan(self) -> $reg {
                let ($ua, $ub) = (self.0, self.0);
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $unord }
            }
            #[inline(always)]
            unsafe fn and(m: $reg, o: $reg) -> $reg {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $and(m, o) }
            }
            #[inline(always)]
            unsafe fn or(m: $reg, o: $reg) -> $reg {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $or(m, o) }
            }
            #[inline(always)]
            unsafe fn none() -> $reg {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $zero() }
            }
            #[inline(always)]
            unsafe fn count(m: $reg) -> usize {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $popcount($movemask(m) as u32) }
            }
        }
    };
}

vector!(Sse2F32, f32, __m128, 4,
    load _mm_loadu_ps, store _mm_storeu_ps, splat _mm_set1_ps, zero _mm_setzero_ps,
    add _mm_add_ps, sub _mm_sub_ps, mul _mm_mul_ps, max _mm_max_ps,
    and _mm_and_ps, or _mm_or_ps, andnot _mm_andnot_ps, movemask _mm_movemask_ps,
    popcount popcount8,
    le |a, b| _mm_cmple_ps(a, b),
    lt |a, b| _mm_cmplt_ps(a, b),
    eq |a, b| _mm_cmpeq_ps(a, b),
    unord |a, b| _mm_cmpunord_ps(a, b),
    fma |a, b, c| _mm_add_ps(_mm_mul_ps(a, b), c),
);

vector!(Sse2F64, f64, __m128d, 2,
    load _mm_loadu_pd, store _mm_storeu_pd, splat _mm_set1_pd, zero _mm_setzero_pd,
    add _mm_add_pd, sub _mm_sub_pd, mul _mm_mul_pd, max _mm_max_pd,
    and _mm_and_pd, or _mm_or_pd, andnot _mm_andnot_pd, movemask _mm_movemask_pd,
    popcount popcount8,
    le |a, b| _mm_cmple_pd(a, b),
    lt |a, b| _mm_cmplt_pd(a, b),
    eq |a, b| _mm_cmpeq_pd(a, b),
    unord |a, b| _mm_cmpunord_pd(a, b),
    fma |a, b, c| _mm_add_pd(_mm_mul_pd(a, b), c),
);

vector!(Avx2F32, f32, __m256, 8,
    load _mm256_loadu_ps, store _mm256_storeu_ps, splat _mm256_set1_ps, zero _mm256_setzero_ps,
    add _mm256_add_ps, sub _mm256_sub_ps, mul _mm256_mul_ps, max _mm256_max_ps,
    and _mm256_and_ps, or _mm256_or_ps, andnot _mm256_andnot_ps, movemask _mm256_movemask_ps,
    popcount popcnt,
    le |a, b| _mm256_cmp_ps::<_CMP_LE_OQ>(a, b),
    lt |a, b| _mm256_cmp_ps::<_CMP_LT_OQ>(a, b),
    eq |a, b| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b),
    unord |a, b| _mm256_cmp_ps::<_CMP_UNORD_Q>(a, b),
    fma |a, b, c| _mm256_fmadd_ps(a, b, c),
);

vector!(Avx2F64, f64, __m256d, 4,
    load _mm256_loadu_pd, store _mm256_storeu_pd, splat _mm256_set1_pd, zero _mm256_setzero_pd,
    add _mm256_add_pd, sub _mm256_sub_pd, mul _mm256_mul_pd, max _mm256_max_pd,
    and _mm256_and_pd, or _mm256_or_pd, andnot _mm256_andnot_pd, movemask _mm256_movemask_pd,
    popcount popcnt,
    le |a, b| _mm256_cmp_pd::<_CMP_LE_OQ>(a, b),
    lt |a, b| _mm256_cmp_pd::<_CMP_LT_OQ>(a, b),
    eq |a, b| _mm256_cmp_pd::<_CMP_EQ_OQ>(a, b),
    unord |a, b| _mm256_cmp_pd::<_CMP_UNORD_Q>(a, b),
    fma |a, b, c| _mm256_fmadd_pd(a, b, c),
);

/// AVX-512F: compares yield a bit mask (`__mmask16` / `__mmask8`).
macro_rules! vector512 {
    (
        $name:ident, $t:ty, $reg:ty, $mask:ty, $lanes:expr,
        load $load:ident, store $store:ident, splat $splat:ident,
        add $add:ident, sub $sub:ident, mul $mul:ident, max $max:ident, abs $abs:ident,
        fma $fma:ident, cmp $cmp:ident $(,)?
    ) => {
        #[derive(Clone, Copy)]
        pub struct $name($reg);

        impl Vector for $name {
            type T = $t;
            type M = $mask;
            const LANES: usize = $lanes;

            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                // SAFETY: the trait's contract: LANES readable elements, the ISA present.
                unsafe { Self($load(p)) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: the trait's contract: LANES writable elements, the ISA present.
                unsafe { $store(p, self.0) }
            }
            #[inline(always)]
            unsafe fn splat(x: $t) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($splat(x)) }
            }
            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($add(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn sub(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($sub(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($mul(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn mul_add(self, b: Self, c: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($fma(self.0, b.0, c.0)) }
            }
            #[inline(always)]
            unsafe fn abs(self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($abs(self.0)) }
            }
            #[inline(always)]
            unsafe fn max(self, o: Self) -> Self {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { Self($max(self.0, o.0)) }
            }
            #[inline(always)]
            unsafe fn le(self, o: Self) -> $mask {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $cmp::<_CMP_LE_OQ>(self.0, o.0) }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> $mask {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $cmp::<_CMP_LT_OQ>(self.0, o.0) }
            }
            #[inline(always)]
            unsafe fn eq(self, o: Self) -> $mask {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $cmp::<_CMP_EQ_OQ>(self.0, o.0) }
            }
            #[inline(always)]
            unsafe fn is_nan(self) -> $mask {
                // SAFETY: the trait's contract: the ISA is present.
                unsafe { $cmp::<_CMP_UNORD_Q>(self.0, self.0) }
            }
            #[inline(always)]
            unsafe fn and(m: $mask, o: $mask) -> $mask {
                m & o
            }
            #[inline(always)]
            unsafe fn or(m: $mask, o: $mask) -> $mask {
                m | o
            }
            #[inline(always)]
            unsafe fn none() -> $mask {
                0
            }
            #[inline(always)]
            unsafe fn count(m: $mask) -> usize {
                m.count_ones() as usize
            }
        }
    };
}

vector512!(Avx512F32, f32, __m512, __mmask16, 16,
    load _mm512_loadu_ps, store _mm512_storeu_ps, splat _mm512_set1_ps,
    add _mm512_add_ps, sub _mm512_sub_ps, mul _mm512_mul_ps, max _mm512_max_ps, abs _mm512_abs_ps,
    fma _mm512_fmadd_ps, cmp _mm512_cmp_ps_mask,
);

vector512!(Avx512F64, f64, __m512d, __mmask8, 8,
    load _mm512_loadu_pd, store _mm512_storeu_pd, splat _mm512_set1_pd,
    add _mm512_add_pd, sub _mm512_sub_pd, mul _mm512_mul_pd, max _mm512_max_pd, abs _mm512_abs_pd,
    fma _mm512_fmadd_pd, cmp _mm512_cmp_pd_mask,
);

#[cfg(test)]
mod tests {
    #[test]
    fn popcount8_counts_every_mask() {
        for m in 0u32..256 {
            assert_eq!(super::popcount8(m), m.count_ones() as usize, "{m:#b}");
        }
    }
}
