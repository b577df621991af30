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
}

macro_rules! impl_float {
    ($t:ty, $dtype:expr, $n:expr) => {
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
        }
    };
}

impl_float!(f32, safetensors::Dtype::F32, 4);
impl_float!(f64, safetensors::Dtype::F64, 8);
