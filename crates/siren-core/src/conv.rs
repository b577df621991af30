//! 2-D convolutions on stable dfdx, for the image baselines and the hypernetwork encoders.
//!
//! dfdx 0.13 gates its convolutions behind the nightly compiler, so a convolution here is a
//! [`Dense`] map applied to image patches (im2col): the `K x K` neighbourhood of every pixel is
//! gathered into a row of $K^2 C_\text{in}$ values and multiplied by a
//! $(C_\text{out}, K^2 C_\text{in})$ weight. Feature maps are matrices of shape
//! `(batch * height * width, channels)`, rows in `(image, row, col)` order. Padding is "same"
//! with zeros (taps outside the image are masked out), stride 1.

use dfdx::prelude::*;
use rand::Rng;

use crate::error::{Error, Result};
use crate::network::{Dense, Matrix};
use crate::tracer::Tracer;
use crate::Float;

/// Gather indices and padding mask of a `K x K` "same" convolution over a batch of images.
#[derive(Clone, Debug)]
pub struct Patches<E: Float, D: Device<E>> {
    index: Tensor<(usize,), usize, D>,
    mask: crate::network::Vector<E, D>,
    pixels: usize,
    taps: usize,
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
        if kernel % 2 == 0 || batch * height * width == 0 {
            return Err(Error::InvalidInput(format!(
                "patches need an odd kernel and a non-empty batch, got kernel {kernel}, {batch}x{height}x{width}"
            )));
        }
        let r = (kernel / 2) as i64;
        let pixels = batch * height * width;
        let taps = kernel * kernel;
        let mut index = Vec::with_capacity(pixels * taps);
        let mut mask = Vec::with_capacity(pixels * taps);
        for b in 0..batch {
            for y in 0..height as i64 {
                for x in 0..width as i64 {
                    for dy in -r..=r {
                        for dx in -r..=r {
                            let (yy, xx) = (y + dy, x + dx);
                            let inside =
                                (0..height as i64).contains(&yy) && (0..width as i64).contains(&xx);
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
        Ok(Self {
            index: device.tensor_from_vec(index, (pixels * taps,)),
            mask: device.tensor_from_vec(mask, (pixels * taps,)),
            pixels,
            taps,
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

    /// Applies the convolution to a feature map `(pixels, in)`, recorded on `tr`.
    pub fn forward<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Result<Matrix<E, D>> {
        let (rows, channels) = *x.shape();
        let (out, fan_in) = *self.map.weight.shape();
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
        let (taps, pixels) = (patches.taps, patches.pixels);
        let index = patches.index.clone();
        let mask = patches
            .mask
            .clone()
            .broadcast_like::<_, Axis<1>>(&(pixels * taps, channels));
        let wt = self
            .map
            .weight
            .clone()
            .permute::<(usize, usize), Axes2<1, 0>>();
        let bias = self
            .map
            .bias
            .clone()
            .broadcast_like::<_, Axis<0>>(&(pixels, out));
        Ok(tr.apply(x, |x| {
            let cols = (x.gather(index) * mask).reshape_like(&(pixels, taps * channels));
            cols.matmul(wt) + bias
        }))
    }

    /// A partial convolution (Liu et al. 2018): the convolution of the known inputs only,
    /// rescaled by $K^2 / (\text{known taps})$ so that a partly known window gives the same
    /// magnitude as a full one, and 0 where no tap is known. `known` flags each pixel of the
    /// `(batch, height, width)` maps; returns the output and its updated flags (a pixel is
    /// known once any tap of its window was).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_partial<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
        known: &[bool],
        batch: usize,
        height: usize,
        width: usize,
    ) -> Result<(Matrix<E, D>, Vec<bool>)> {
        let (rows, channels) = *x.shape();
        if known.len() != rows || batch * height * width != rows {
            return Err(Error::InvalidInput(format!(
                "a partial convolution needs one flag per pixel: {} flags for a ({rows}, {channels}) map of {batch}x{height}x{width}",
                known.len()
            )));
        }
        let r = (self.kernel / 2) as i64;
        let taps = (self.kernel * self.kernel) as f64;
        let mut ratio = Vec::with_capacity(rows);
        let mut next = Vec::with_capacity(rows);
        for b in 0..batch {
            for y in 0..height as i64 {
                for x in 0..width as i64 {
                    let mut count = 0usize;
                    for dy in -r..=r {
                        for dx in -r..=r {
                            let (yy, xx) = (y + dy, x + dx);
                            if (0..height as i64).contains(&yy)
                                && (0..width as i64).contains(&xx)
                                && known[(b * height + yy as usize) * width + xx as usize]
                            {
                                count += 1;
                            }
                        }
                    }
                    next.push(count > 0);
                    ratio.push(if count > 0 { taps / count as f64 } else { 0.0 });
                }
            }
        }
        let device = x.device().clone();
        let out = self.map.weight.shape().0;
        let column = |v: Vec<E>, cols: usize| -> Matrix<E, D> {
            device
                .tensor_from_vec(v, (rows,))
                .broadcast_like::<_, Axis<1>>(&(rows, cols))
        };
        let input_mask = column(
            known
                .iter()
                .map(|&k| if k { E::one() } else { E::zero() })
                .collect(),
            channels,
        );
        let scale = column(ratio.iter().map(|&v| E::of(v)).collect(), out);
        let valid = column(
            next.iter()
                .map(|&k| if k { E::one() } else { E::zero() })
                .collect(),
            out,
        );
        let masked = tr.apply(x, |x| x * input_mask);
        let y = self.forward(tr, masked, patches)?;
        let bias = self
            .map
            .bias
            .clone()
            .broadcast_like::<_, Axis<0>>(&(rows, out));
        // (Wx + b - b) * ratio + b, zeroed where nothing was known: every op has the taped
        // tensor as an operand, so the bias keeps its gradient.
        let y = tr.apply(y, |y| ((y - bias.clone()) * scale + bias) * valid);
        Ok((y, next))
    }
}
