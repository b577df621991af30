//! 2-D convolutions on stable dfdx, for the image baselines and the hypernetwork encoders.
//!
//! dfdx 0.13 gates its convolutions behind the nightly compiler, so a convolution here is a
//! [`Dense`] map applied to image patches (im2col): the `K x K` neighbourhood of every pixel is
//! gathered into a row of $K^2 C_\text{in}$ values and multiplied by a
//! $(C_\text{out}, K^2 C_\text{in})$ weight. Feature maps are matrices of shape
//! `(batch * height * width, channels)`, rows in `(image, row, col)` order. Padding is "same"
//! with zeros (taps outside the image are masked out), stride 1.
//!
//! On the CPU, [`Conv2d::forward`] runs as one op on dfdx's tape that computes the same sums
//! directly from the map, with no patch matrix, and writes its backward pass out
//! (`backend/cpu/conv.rs`). On other devices it is the gather, mask and matmul of dfdx ops in
//! [`crate::backend::reference::conv`].

use std::cell::OnceCell;

use dfdx::prelude::*;
use rand::Rng;

use crate::error::{Error, Result};
use crate::model::network::Dense;
use crate::tensor::{Matrix, Vector};
use crate::Float;

/// Gather indices into a feature map and the padding mask, one per pixel and tap.
pub(crate) type Gather<E, D> = (Tensor<(usize,), usize, D>, Vector<E, D>);

/// The geometry of a `K x K` "same" convolution over a batch of images, and, for the
/// reference path only, its gather indices and padding mask (made on first use: the CPU op
/// reads the geometry alone).
#[derive(Clone, Debug)]
pub struct Patches<E: Float, D: Device<E>> {
    device: D,
    gather: OnceCell<Gather<E, D>>,
    pub(crate) pixels: usize,
    pub(crate) taps: usize,
    /// `(batch, height, width, kernel)`.
    pub(crate) geometry: (usize, usize, usize, usize),
}

impl<E: Float, D: Device<E>> Patches<E, D> {
    /// Patches of size `kernel` (odd) for `batch` images of `height x width`.
    pub fn new(
        device: &D,
        batch: usize,
        height: usize,
        width: usize,
        kernel: usize,
    ) -> Result<Self> {
        if kernel.is_multiple_of(2) || batch * height * width == 0 {
            return Err(Error::InvalidInput(format!(
                "patches need an odd kernel and a non-empty batch, got kernel {kernel}, {batch}x{height}x{width}"
            )));
        }
        Ok(Self {
            device: device.clone(),
            gather: OnceCell::new(),
            pixels: batch * height * width,
            taps: kernel * kernel,
            geometry: (batch, height, width, kernel),
        })
    }

    /// For every pixel and tap, the pixel the tap reads (0 outside the image) and whether it
    /// lies inside (1 or 0): `(pixels * taps,)` each, made once.
    pub(crate) fn gather(&self) -> &Gather<E, D> {
        self.gather.get_or_init(|| {
            let (batch, height, width, kernel) = self.geometry;
            let r = (kernel / 2) as i64;
            let n = self.pixels * self.taps;
            let mut index = Vec::with_capacity(n);
            let mut mask = Vec::with_capacity(n);
            for b in 0..batch {
                for y in 0..height as i64 {
                    for x in 0..width as i64 {
                        for dy in -r..=r {
                            for dx in -r..=r {
                                let (yy, xx) = (y + dy, x + dx);
                                let inside = (0..height as i64).contains(&yy)
                                    && (0..width as i64).contains(&xx);
                                index.push(if inside {
                                    (b * height + yy as usize) * width + xx as usize
                                } else {
                                    0
                                });
                                mask.push(if inside { E::one() } else { E::zero() });
                            }
                        }
                    }
                }
            }
            (
                self.device.tensor_from_vec(index, (n,)),
                self.device.tensor_from_vec(mask, (n,)),
            )
        })
    }

    /// Number of pixels (rows of a feature map) these patches cover.
    pub fn pixels(&self) -> usize {
        self.pixels
    }
}

/// A "same" convolution: a [`Dense`] map on `K x K` patches.
#[derive(Clone, Debug)]
pub struct Conv2d<E: Float, D: Device<E>> {
    /// Weight `(out, K*K*in)`, patch values ordered by tap (row-major), then channel.
    pub map: Dense<E, D>,
    /// Kernel size `K`.
    pub kernel: usize,
}

impl<E: Float, D: Device<E>> Conv2d<E, D> {
    /// PyTorch's default init: weight and bias $U(-1/\sqrt{n}, 1/\sqrt{n})$, $n = K^2 C_\text{in}$.
    pub fn new(
        device: &D,
        inputs: usize,
        outputs: usize,
        kernel: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let fan_in = kernel * kernel * inputs;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let mut draw = |n: usize| -> Vec<E> {
            (0..n)
                .map(|_| E::of(rng.gen_range(-bound..bound)))
                .collect()
        };
        Self {
            map: Dense {
                weight: device.tensor_from_vec(draw(outputs * fan_in), (outputs, fan_in)),
                bias: device.tensor_from_vec(draw(outputs), (outputs,)),
            },
            kernel,
        }
    }

    /// The map fits the patches and the weight.
    pub(crate) fn check(&self, x: &Matrix<E, D>, patches: &Patches<E, D>) -> Result<()> {
        let (rows, channels) = *x.shape();
        let fan_in = self.map.weight.shape().1;
        if rows != patches.pixels
            || patches.taps != self.kernel * self.kernel
            || fan_in != patches.taps * channels
        {
            return Err(Error::InvalidInput(format!(
                "a {k}x{k} convolution of {} channels cannot take a ({rows}, {channels}) map with these patches",
                fan_in / (self.kernel * self.kernel),
                k = self.kernel
            )));
        }
        Ok(())
    }
}
