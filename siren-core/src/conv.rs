//! 2-D convolutions on stable dfdx, for the image baselines and the hypernetwork encoders.
//!
//! dfdx 0.13 gates its convolutions behind the nightly compiler, so a convolution here is a
//! [`Dense`] map applied to image patches (im2col): the `K x K` neighbourhood of every pixel is
//! gathered into a row of $K^2 C_\text{in}$ values and multiplied by a
//! $(C_\text{out}, K^2 C_\text{in})$ weight. Feature maps are matrices of shape
//! `(batch * height * width, channels)`, rows in `(image, row, col)` order. Padding is "same"
//! with zeros (taps outside the image are masked out), stride 1.
//!
//! On the CPU, [`Conv2d::forward`] runs as one op on dfdx's tape: the patch matrix is built
//! on every thread, multiplied by the weight through [`crate::matmul`], and the backward pass
//! is written out: $\bar W = \bar Y^\top X_\text{patches}$, $\bar b = \sum_p \bar Y_p$, and
//! $\bar X$ gathers $\bar Y W$ back from the taps that read each pixel. On other devices it
//! is the gather, mask and matmul of dfdx ops in [`Conv2d::forward_generic`].

use std::any::Any;

use dfdx::prelude::*;
use rand::Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::fused::on_cpu;
use crate::matmul;
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
    /// `(batch, height, width, kernel)`.
    geometry: (usize, usize, usize, usize),
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
            geometry: (batch, height, width, kernel),
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

    /// Applies the convolution to a feature map `(pixels, in)`, recorded on `tr`: one op on
    /// the CPU (see the module docs), [`Conv2d::forward_generic`] elsewhere.
    pub fn forward<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Result<Matrix<E, D>> {
        self.check(&x, patches)?;
        Ok(match self.forward_cpu(tr, &x, patches) {
            Some(y) => y,
            None => self.gathered(tr, x, patches),
        })
    }

    /// The convolution as dfdx ops (gather the patches, mask the padding, multiply), which
    /// every device runs; [`Conv2d::forward`] uses it off the CPU.
    pub fn forward_generic<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Result<Matrix<E, D>> {
        self.check(&x, patches)?;
        Ok(self.gathered(tr, x, patches))
    }

    /// [`Conv2d::forward_generic`] on a checked map.
    fn gathered<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Matrix<E, D> {
        let channels = x.shape().1;
        let out = self.map.weight.shape().0;
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
        tr.apply(x, |x| {
            let cols = (x.gather(index) * mask).reshape_like(&(pixels, taps * channels));
            cols.matmul(wt) + bias
        })
    }

    /// The map fits the patches and the weight.
    fn check(&self, x: &Matrix<E, D>, patches: &Patches<E, D>) -> Result<()> {
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

    /// The CPU op of [`Conv2d::forward`]; `None` off the CPU.
    fn forward_cpu<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        x: &Matrix<E, D>,
        patches: &Patches<E, D>,
    ) -> Option<Matrix<E, D>> {
        let x_cpu = on_cpu(x)?;
        let weight = on_cpu(&self.map.weight)?;
        let bias = on_cpu(&self.map.bias)?;
        let (pixels, channels) = *x.shape();
        let (out, fan_in) = *weight.shape();
        let geometry = patches.geometry;
        let w = weight.as_vec();
        let cols = patch_matrix(&x_cpu.as_vec(), channels, geometry);
        let mut y = vec![E::zero(); pixels * out];
        matmul::a_wt(&cols, &w, &mut y, fan_in, out, E::one());
        let b = bias.as_vec();
        y.par_chunks_mut(out * 256).for_each(|rows| {
            for row in rows.chunks_exact_mut(out) {
                row.iter_mut().zip(&b).for_each(|(v, &b)| *v += b);
            }
        });
        let y = x.device().tensor_from_vec(y, (pixels, out));
        if T::OWNS_TAPE {
            let y_cpu = on_cpu(&y).expect("CPU device checked above");
            tr.tape_mut().add_backward_op(move |grads| {
                let grads = (grads as &mut dyn Any)
                    .downcast_mut::<Gradients<E, Cpu>>()
                    .expect("CPU device checked when the op was recorded");
                let gy: Vec<E> = grads
                    .get_or_alloc_mut(&y_cpu)
                    .expect("allocate a gradient")
                    .to_vec();
                let gw = grads
                    .get_or_alloc_mut(&weight)
                    .expect("allocate a gradient");
                matmul::add_gt_h(&gy, &cols, gw, out, fan_in, E::one());
                let gb = grads.get_or_alloc_mut(&bias).expect("allocate a gradient");
                for row in gy.chunks_exact(out) {
                    gb.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
                }
                let mut gcols = cols;
                matmul::g_w(&gy, &w, &mut gcols, out, fan_in, E::one());
                let gx = grads.get_or_alloc_mut(&x_cpu).expect("allocate a gradient");
                add_patch_gradient(gx, &gcols, channels, geometry);
                Ok(())
            });
        }
        Some(y)
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

/// Offset of tap `t` of a `kernel x kernel` window, as `(dy, dx)`.
fn tap_offset(t: usize, kernel: usize) -> (i64, i64) {
    let r = (kernel / 2) as i64;
    ((t / kernel) as i64 - r, (t % kernel) as i64 - r)
}

/// The patch matrix `(pixels, K^2 * channels)` of a feature map `(pixels, channels)`: row `p`
/// holds the window around pixel `p`, tap by tap, zeros outside the image.
fn patch_matrix<E: Float>(
    x: &[E],
    channels: usize,
    (_, height, width, kernel): (usize, usize, usize, usize),
) -> Vec<E> {
    let taps = kernel * kernel;
    let row = taps * channels;
    let mut cols = vec![E::zero(); x.len() / channels * row];
    // One task per image row of pixels.
    cols.par_chunks_mut(width * row)
        .enumerate()
        .for_each(|(line, block)| {
            let (image, y) = (line / height, (line % height) as i64);
            for (xx, patch) in block.chunks_exact_mut(row).enumerate() {
                for t in 0..taps {
                    let (dy, dx) = tap_offset(t, kernel);
                    let (sy, sx) = (y + dy, xx as i64 + dx);
                    if (0..height as i64).contains(&sy) && (0..width as i64).contains(&sx) {
                        let src = ((image * height + sy as usize) * width + sx as usize) * channels;
                        patch[t * channels..(t + 1) * channels]
                            .copy_from_slice(&x[src..src + channels]);
                    }
                }
            }
        });
    cols
}

/// `gx += ` the gradient of [`patch_matrix`]'s input from that of its output: each pixel
/// gathers the entries of the windows that read it.
fn add_patch_gradient<E: Float>(
    gx: &mut [E],
    gcols: &[E],
    channels: usize,
    (_, height, width, kernel): (usize, usize, usize, usize),
) {
    let taps = kernel * kernel;
    let row = taps * channels;
    gx.par_chunks_mut(width * channels)
        .enumerate()
        .for_each(|(line, block)| {
            let (image, y) = (line / height, (line % height) as i64);
            for (xx, g) in block.chunks_exact_mut(channels).enumerate() {
                for t in 0..taps {
                    // The window centred at (y - dy, x - dx) reads this pixel through tap t.
                    let (dy, dx) = tap_offset(t, kernel);
                    let (cy, cx) = (y - dy, xx as i64 - dx);
                    if (0..height as i64).contains(&cy) && (0..width as i64).contains(&cx) {
                        let at = ((image * height + cy as usize) * width + cx as usize) * row
                            + t * channels;
                        g.iter_mut()
                            .zip(&gcols[at..at + channels])
                            .for_each(|(g, &v)| *g += v);
                    }
                }
            }
        });
}
