//! The two element types the kernels compute over, f32 and f64, and the few operations the
//! scalar code needs from them.

use std::fmt::{Debug, Display};

/// The element type of an array, as `with: { dtype: ... }` and `.npy` headers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    F32,
    F64,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    pub fn parse(s: &str) -> Option<Dtype> {
        match s {
            "f32" | "float32" | "<f4" => Some(Dtype::F32),
            "f64" | "float64" | "<f8" => Some(Dtype::F64),
            _ => None,
        }
    }
}

impl Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// f32 or f64. Arithmetic is done in the element type itself, as NumPy does for arrays of
/// that type (tolerances given as f64 are rounded to it first).
pub trait Element:
    Copy
    + Send
    + Sync
    + PartialOrd
    + PartialEq
    + Debug
    + Display
    + Default
    + bytemuck::Pod
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + npyz::AutoSerialize
    + 'static
{
    const DTYPE: Dtype;
    const ZERO: Self;
    const INFINITY: Self;
    const NAN: Self;
    const EPSILON: Self;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_usize(n: usize) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
    /// The element's position on the number line counted in units in the last place:
    /// consecutive floats differ by one, `+0` and `-0` are both zero. Not meaningful for NaN.
    fn ulp_index(self) -> i64;
    fn from_le(bytes: &[u8]) -> Self;
    fn from_be(bytes: &[u8]) -> Self;
    fn to_le(self) -> Vec<u8>;
}

macro_rules! element {
    ($t:ty, $dtype:expr, $bits:ty, $sbits:ty) => {
        impl Element for $t {
            const DTYPE: Dtype = $dtype;
            const ZERO: Self = 0.0;
            const INFINITY: Self = <$t>::INFINITY;
            const NAN: Self = <$t>::NAN;
            const EPSILON: Self = <$t>::EPSILON;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn ulp_index(self) -> i64 {
                let bits = self.to_bits();
                let sign = bits >> (<$bits>::BITS - 1);
                let magnitude = (bits & !(1 << (<$bits>::BITS - 1))) as $sbits as i64;
                if sign == 1 { -magnitude } else { magnitude }
            }
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element-sized chunk"))
            }
            fn from_be(bytes: &[u8]) -> Self {
                <$t>::from_be_bytes(bytes.try_into().expect("element-sized chunk"))
            }
            fn to_le(self) -> Vec<u8> {
                self.to_le_bytes().to_vec()
            }
        }
    };
}

element!(f32, Dtype::F32, u32, i32);
element!(f64, Dtype::F64, u64, i64);
