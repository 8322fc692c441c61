//! aarch64 NEON vectors (4 × f32, 2 × f64). NEON is part of every aarch64 CPU.

use std::arch::aarch64::*;

use super::generic::Vector;

#[derive(Clone, Copy)]
pub struct NeonF32(float32x4_t);

impl Vector for NeonF32 {
    type T = f32;
    type M = uint32x4_t;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the trait's contract: LANES readable elements.
        unsafe { Self(vld1q_f32(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the trait's contract: LANES writable elements.
        unsafe { vst1q_f32(p, self.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vdupq_n_f32(x)) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vaddq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vsubq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vmulq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vfmaq_f32(c.0, self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vabsq_f32(self.0)) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vmaxq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn le(self, o: Self) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vcleq_f32(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vcltq_f32(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn eq(self, o: Self) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vceqq_f32(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn is_nan(self) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vmvnq_u32(vceqq_f32(self.0, self.0)) }
    }
    #[inline(always)]
    unsafe fn and(m: uint32x4_t, o: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vandq_u32(m, o) }
    }
    #[inline(always)]
    unsafe fn or(m: uint32x4_t, o: uint32x4_t) -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vorrq_u32(m, o) }
    }
    #[inline(always)]
    unsafe fn none() -> uint32x4_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vdupq_n_u32(0) }
    }
    #[inline(always)]
    unsafe fn count(m: uint32x4_t) -> usize {
        // SAFETY: NEON is present on aarch64.
        unsafe { vaddvq_u32(vshrq_n_u32::<31>(m)) as usize }
    }
}

#[derive(Clone, Copy)]
pub struct NeonF64(float64x2_t);

impl Vector for NeonF64 {
    type T = f64;
    type M = uint64x2_t;
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the trait's contract: LANES readable elements.
        unsafe { Self(vld1q_f64(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the trait's contract: LANES writable elements.
        unsafe { vst1q_f64(p, self.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vdupq_n_f64(x)) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vaddq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vsubq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vmulq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vfmaq_f64(c.0, self.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vabsq_f64(self.0)) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: NEON is present on aarch64.
        unsafe { Self(vmaxq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    unsafe fn le(self, o: Self) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vcleq_f64(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vcltq_f64(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn eq(self, o: Self) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vceqq_f64(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn is_nan(self) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { veorq_u64(vceqq_f64(self.0, self.0), vdupq_n_u64(u64::MAX)) }
    }
    #[inline(always)]
    unsafe fn and(m: uint64x2_t, o: uint64x2_t) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vandq_u64(m, o) }
    }
    #[inline(always)]
    unsafe fn or(m: uint64x2_t, o: uint64x2_t) -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vorrq_u64(m, o) }
    }
    #[inline(always)]
    unsafe fn none() -> uint64x2_t {
        // SAFETY: NEON is present on aarch64.
        unsafe { vdupq_n_u64(0) }
    }
    #[inline(always)]
    unsafe fn count(m: uint64x2_t) -> usize {
        // SAFETY: NEON is present on aarch64.
        unsafe { vaddvq_u64(vshrq_n_u64::<63>(m)) as usize }
    }
}
