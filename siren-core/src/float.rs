//! The float types a network can be built in.

use dfdx::dtypes::{Dtype, NotMixedPrecision};

/// A floating-point element type for networks: `f32` to train, `f64` for derivative checks.
///
/// Adds to dfdx's [`Dtype`] what the crate needs: conversion from `f64` literals and the
/// safetensors element type used when saving.
pub trait Float:
    Dtype + NotMixedPrecision + num_traits::Float + std::fmt::Display + Send + Sync + 'static
{
    /// The safetensors element type this float is stored as.
    const SAFETENSORS_DTYPE: safetensors::Dtype;
    /// Converts an `f64` (rounding to nearest for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;
    /// Little-endian bytes of a slice, as safetensors stores them.
    fn encode_le(values: &[Self]) -> Vec<u8>;
    /// Reads little-endian bytes of this type; `bytes.len()` must be a multiple of the size.
    fn decode_le(bytes: &[u8]) -> Vec<Self>;
    /// $(\sin x, \cos x)$ for the fused kernels: exact to rounding for `f64` (the standard
    /// library), a vectorisable polynomial for `f32` (see [`sin_cos_f32`]).
    fn sin_cos_fast(self) -> (Self, Self);
    /// $\tanh x$ for the fused kernels: the standard library's for `f64`, a vectorisable
    /// rational function for `f32` (see [`tanh_f32`]).
    fn tanh_fast(self) -> Self;
}

/// $\tanh x$ in `f32`, branch-free so that loops over it vectorise (the standard library's
/// calls libm per element).
///
/// $x$ is clamped to $\pm 7.9053$ (where $\tanh$ rounds to $\pm 1$ in `f32`), then
/// $\tanh x \approx x P(x^2) / Q(x^2)$ with the degree-13/6 minimax coefficients of Eigen's
/// `generic_fast_tanh_float`. Absolute error at most $5 \cdot 10^{-7}$ (tested against `f64`).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const B: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = A[6];
    let p = p * x2 + A[5];
    let p = p * x2 + A[4];
    let p = p * x2 + A[3];
    let p = p * x2 + A[2];
    let p = p * x2 + A[1];
    let p = (p * x2 + A[0]) * x;
    let q = B[3];
    let q = q * x2 + B[2];
    let q = q * x2 + B[1];
    let q = q * x2 + B[0];
    p / q
}

/// $(\sin x, \cos x)$ in `f32`, branch-free so that loops over it vectorise.
///
/// $x = q\,\pi/2 + r$ with $q$ the nearest integer to $2x/\pi$ (valid for $|x| < 6 \cdot 10^6$) and $r$ computed in three
/// steps (Cody–Waite: the first two parts of $\pi/2$ have few mantissa bits, so $q$ times them
/// is exact for $|q| < 2^{12}$); then $\sin r$, $\cos r$ on $[-\pi/4, \pi/4]$ from the minimax
/// polynomials of Cephes' `sinf`/`cosf`, and the quadrant $q \bmod 4$ picks and signs them.
/// Absolute error at most $2.5 \cdot 10^{-7}$ for $|x| \le 2000$ (tested against `f64`).
#[inline(always)]
pub fn sin_cos_f32(x: f32) -> (f32, f32) {
    const FRAC_2_PI: f32 = std::f32::consts::FRAC_2_PI;
    // 1.5 * 2^23: adding it rounds to an integer that the low mantissa bits then hold, so the
    // quadrant needs no float-to-int conversion (which would not vectorise).
    const ROUNDER: f32 = 12_582_912.0;
    const DP1: f32 = 1.570_312_5;
    const DP2: f32 = 4.837_513e-4;
    const DP3: f32 = 7.549_79e-8;
    let t = x * FRAC_2_PI + ROUNDER;
    let q = t.to_bits();
    let j = t - ROUNDER;
    let r = ((x - j * DP1) - j * DP2) - j * DP3;
    let r2 = r * r;
    let s = r + r * r2 * (-1.666_665_5e-1 + r2 * (8.332_161e-3 + r2 * -1.951_529_6e-4));
    let c =
        1.0 - 0.5 * r2 + r2 * r2 * (4.166_664_6e-2 + r2 * (-1.388_731_6e-3 + r2 * 2.443_315_7e-5));
    let (sv, cv) = if q & 1 != 0 { (c, s) } else { (s, c) };
    let sin = if q & 2 != 0 { -sv } else { sv };
    let cos = if q.wrapping_add(1) & 2 != 0 { -cv } else { cv };
    (sin, cos)
}

macro_rules! impl_float {
    ($t:ty, $dtype:expr, $n:expr, $sin_cos:expr, $tanh:expr) => {
        impl Float for $t {
            const SAFETENSORS_DTYPE: safetensors::Dtype = $dtype;
            fn of(x: f64) -> Self {
                x as $t
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn encode_le(values: &[Self]) -> Vec<u8> {
                values.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
            fn decode_le(bytes: &[u8]) -> Vec<Self> {
                bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk of exact size")))
                    .collect()
            }
            #[inline(always)]
            fn sin_cos_fast(self) -> (Self, Self) {
                $sin_cos(self)
            }
            #[inline(always)]
            fn tanh_fast(self) -> Self {
                $tanh(self)
            }
        }
    };
}

impl_float!(f32, safetensors::Dtype::F32, 4, sin_cos_f32, tanh_f32);
impl_float!(f64, safetensors::Dtype::F64, 8, f64::sin_cos, f64::tanh);
