//! A "same" convolution as one CPU op: the patch matrix built on every thread, one matrix
//! product, and the backward pass written out: $\bar W = \bar Y^\top X_\text{patches}$,
//! $\bar b = \sum_p \bar Y_p$, and $\bar X$ gathers $\bar Y W$ back from the taps that read
//! each pixel.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::matmul;
use super::op::{gradient_mut, record_backward};
use crate::model::conv::{Conv2d, Patches};
use crate::tensor::{host_vec, Matrix};
use crate::tracer::Tracer;
use crate::Float;

/// `Conv2d::forward` on the CPU, on a map the caller checked against `patches`.
pub(super) fn conv<E: Float, T: Tape<E, Cpu>>(
    conv: &Conv2d<E, Cpu>,
    tr: &mut Tracer<E, Cpu, T>,
    x: Matrix<E, Cpu>,
    patches: &Patches<E, Cpu>,
) -> Matrix<E, Cpu>
where
    Cpu: Device<E>,
{
    let weight = conv.map.weight.clone();
    let bias = conv.map.bias.clone();
    let (pixels, channels) = *x.shape();
    let (out, fan_in) = *weight.shape();
    let geometry = patches.geometry;
    let w = host_vec(&weight);
    let cols = patch_matrix(&host_vec(&x), channels, geometry);
    let mut y = vec![E::zero(); pixels * out];
    matmul::times_transpose(&cols, &w, &mut y, fan_in, out, E::one());
    let b = host_vec(&bias);
    y.par_chunks_mut(out * 256).for_each(|rows| {
        for row in rows.chunks_exact_mut(out) {
            row.iter_mut().zip(&b).for_each(|(v, &b)| *v += b);
        }
    });
    let y = x.device().tensor_from_vec(y, (pixels, out));
    let y_for_grad = y.clone();
    record_backward(tr, move |grads| {
        let gy: Vec<E> = gradient_mut(grads, &y_for_grad).to_vec();
        let gw = gradient_mut(grads, &weight);
        matmul::add_transpose_times(&gy, &cols, gw, out, fan_in, E::one());
        let gb = gradient_mut(grads, &bias);
        for row in gy.chunks_exact(out) {
            gb.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
        }
        let mut gcols = cols;
        matmul::times(&gy, &w, &mut gcols, out, fan_in, E::one());
        let gx = gradient_mut(grads, &x);
        add_patch_gradient(gx, &gcols, channels, geometry);
    });
    y
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
