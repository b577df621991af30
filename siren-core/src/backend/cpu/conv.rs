//! A "same" convolution as one CPU op, computed directly from the map: with $o_t$ the offset
//! of tap $t$ and $x$ zero outside the image,
//!
//! $$y_p = b + \sum_t W_t\, x_{p + o_t}, \qquad
//!   \bar x_q = \sum_t W_t^\top \bar y_{q - o_t}, \qquad
//!   \bar W_t = \sum_p \bar y_p\, x_{p + o_t}^\top, \qquad \bar b = \sum_p \bar y_p.$$
//!
//! The input's gradient is the same gather as the forward pass, with the taps mirrored
//! ($o_{T-1-t} = -o_t$) and each $W_t$ transposed. With the few channels of the hypernetwork's
//! encoder (16), a patch matrix was 25 times the map: zero-filled, packed again for the
//! product kernel, and scattered back. Here every loop runs over a pixel's output channels,
//! contiguous in memory, and vectorises ([`super::simd`]); the map and the weights stay in
//! cache. Each image row is one task; the weight gradient's shares are summed in a fixed order.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::backward::in_fixed_groups;
use super::op::{gradient_mut, record_backward};
use super::simd::vectorised;
use crate::model::conv::{Conv2d, Patches};
use crate::tensor::{host_vec, Matrix};
use crate::tracer::Tracer;
use crate::Float;

/// `(batch, height, width, kernel)`.
type Geometry = (usize, usize, usize, usize);

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
    let out = weight.shape().0;
    let geometry = patches.geometry;
    let taps = geometry.3 * geometry.3;
    // The weight `(out, taps * channels)`, column `t * channels + c`, per tap as
    // `(tap, channel, out)` for the forward pass and mirrored `(tap, out, channel)` for the
    // input's gradient.
    let w = host_vec(&weight);
    let mut forward_w = vec![E::zero(); w.len()];
    let mut mirrored_w = vec![E::zero(); w.len()];
    for o in 0..out {
        for t in 0..taps {
            for c in 0..channels {
                let v = w[o * taps * channels + t * channels + c];
                forward_w[(t * channels + c) * out + o] = v;
                mirrored_w[((taps - 1 - t) * out + o) * channels + c] = v;
            }
        }
    }
    let map = host_vec(&x);
    let b = host_vec(&bias);
    let mut y = vec![E::zero(); pixels * out];
    let width = geometry.2;
    y.par_chunks_mut(width * out)
        .enumerate()
        .for_each(|(line, ys)| {
            gather_line_with(
                &map,
                channels,
                out,
                &forward_w,
                Some(&b),
                geometry,
                line,
                ys,
            )
        });
    let y = x.device().tensor_from_vec(y, (pixels, out));
    let y_for_grad = y.clone();
    record_backward(tr, move |grads| {
        let gy: Vec<E> = gradient_mut(grads, &y_for_grad).to_vec();
        let gb = gradient_mut(grads, &bias);
        for row in gy.chunks_exact(out) {
            gb.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
        }
        gradient_mut(grads, &x)
            .par_chunks_mut(width * channels)
            .enumerate()
            .for_each(|(line, gxs)| {
                let w = &mirrored_w;
                gather_line_with(&gy, out, channels, w, None, geometry, line, gxs)
            });
        let lines: Vec<usize> = (0..pixels / width).collect();
        let shares: Vec<Vec<E>> = in_fixed_groups(lines)
            .into_par_iter()
            .map(|group| {
                let mut share = vec![E::zero(); taps * channels * out];
                for line in group {
                    weight_gradient_line_with(&map, &gy, channels, out, geometry, line, &mut share);
                }
                share
            })
            .collect();
        let gw = gradient_mut(grads, &weight);
        for share in shares {
            for o in 0..out {
                for t in 0..taps {
                    for c in 0..channels {
                        gw[o * taps * channels + t * channels + c] +=
                            share[(t * channels + c) * out + o];
                    }
                }
            }
        }
    });
    y
}

/// One image row of the output, with what its taps need (no divisions in the loops).
#[derive(Clone, Copy)]
struct Line {
    /// First pixel of the image.
    image: usize,
    y: i64,
    height: i64,
    width: i64,
    kernel: usize,
    radius: i64,
}

impl Line {
    fn new(line: usize, (_, height, width, kernel): Geometry) -> Self {
        Line {
            image: line / height * height * width,
            y: (line % height) as i64,
            height: height as i64,
            width: width as i64,
            kernel,
            radius: (kernel / 2) as i64,
        }
    }

    /// The first pixel of the image row that tap row `ty` reads, if inside the image.
    #[inline(always)]
    fn source_row(&self, ty: usize) -> Option<usize> {
        let sy = self.y + ty as i64 - self.radius;
        (0..self.height)
            .contains(&sy)
            .then(|| self.image + sy as usize * self.width as usize)
    }

    /// The pixel of source row `row` that tap column `tx` of the window at `xx` reads.
    #[inline(always)]
    fn source(&self, row: usize, xx: usize, tx: usize) -> Option<usize> {
        let sx = xx as i64 + tx as i64 - self.radius;
        (0..self.width).contains(&sx).then(|| row + sx as usize)
    }
}

/// Output channels a kernel loop keeps in one register (AVX-512, `f32`); narrower outputs go
/// in blocks of half as many, and the last few one at a time.
const LANES: usize = 16;
/// Half a register: the block for outputs of 8 to 15 channels past the whole registers.
const HALF: usize = LANES / 2;

/// The blocks `(first, size)` a kernel loop takes `n` items in: as many of `full` as fit, then
/// one of half as many if it fits, then the rest one at a time (output channels in registers of
/// [`LANES`], pixels in shares of [`SHARE`]).
#[inline(always)]
fn blocks(n: usize, full: usize) -> impl Iterator<Item = (usize, usize)> {
    let whole = n / full * full;
    let half = if n - whole >= full / 2 { full / 2 } else { 0 };
    (0..whole)
        .step_by(full)
        .map(move |i| (i, full))
        .chain((half > 0).then_some((whole, half)))
        .chain((whole + half..n).map(|i| (i, 1)))
}

/// Pixels that share each load of a block of weights in the gathers: as many independent
/// sums, enough to keep both FMA units busy despite their latency (4 cycles, two units: 8
/// sums in flight). Rows that are not a multiple take [`SHARE_HALF`], then one at a time.
const SHARE: usize = 8;
/// Input channels that share each load of the output's gradient in the weight gradient: with
/// 8, its accumulators no longer stayed in registers (6x slower).
const CHANNEL_SHARE: usize = 4;
/// The block after [`SHARE`].
const SHARE_HALF: usize = SHARE / 2;

/// `W` values of `s` from `at` on, as an array (so the loops over it carry no bounds checks
/// and unroll into whole registers).
#[inline(always)]
fn lanes<E: Float, const W: usize>(s: &[E], at: usize) -> &[E; W] {
    s[at..at + W].try_into().expect("W values")
}

/// Adds register block `k` of `sums` to `dst` from `at(k)` on.
#[inline(always)]
fn add_sums<E: Float, const W: usize, const N: usize>(
    dst: &mut [E],
    sums: &[[E; W]; N],
    at: impl Fn(usize) -> usize,
) {
    for (k, sum) in sums.iter().enumerate() {
        let at = at(k);
        dst[at..at + W]
            .iter_mut()
            .zip(sum)
            .for_each(|(d, &v)| *d += v);
    }
}

/// `acc[j] += v * row[j]`, fused (one FMA instruction per register where the kernel is
/// compiled with FMA, [`super::simd`]).
#[inline(always)]
fn axpy<E: Float, const W: usize>(acc: &mut [E; W], v: E, row: &[E; W]) {
    for j in 0..W {
        acc[j] = v.mul_add(row[j], acc[j]);
    }
}

/// Output channels `j0..j0 + W` of the `P` pixels from `xx` on of the gather in
/// [`gather_line`]. Where a tap reads inside the image for all `P`, each block of weights is
/// loaded once for the `P` pixels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_block<E: Float, const W: usize, const P: usize>(
    map: &[E],
    inner: usize,
    outer: usize,
    w: &[E],
    geometry: Geometry,
    line: usize,
    xx: usize,
    j0: usize,
) -> [[E; W]; P] {
    let mut acc = [[E::zero(); W]; P];
    let line = Line::new(line, geometry);
    for ty in 0..line.kernel {
        let Some(src) = line.source_row(ty) else {
            continue;
        };
        for tx in 0..line.kernel {
            let t = ty * line.kernel + tx;
            let row = |c: usize| lanes::<E, W>(w, (t * inner + c) * outer + j0);
            match (line.source(src, xx, tx), line.source(src, xx + P - 1, tx)) {
                // Sources are consecutive pixels of one image row.
                (Some(first), Some(_)) => {
                    let m = &map[first * inner..(first + P) * inner];
                    for c in 0..inner {
                        let r = row(c);
                        for (k, acc) in acc.iter_mut().enumerate() {
                            axpy(acc, m[k * inner + c], r);
                        }
                    }
                }
                _ => {
                    for (k, acc) in acc.iter_mut().enumerate() {
                        let Some(q) = line.source(src, xx + k, tx) else {
                            continue;
                        };
                        for c in 0..inner {
                            axpy(acc, map[q * inner + c], row(c));
                        }
                    }
                }
            }
        }
    }
    acc
}

/// [`gather_block`] for output channels `j0..j0 + W`, pixels `xx..xx + P` of `dst` (the row).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_into<E: Float, const W: usize, const P: usize>(
    map: &[E],
    inner: usize,
    outer: usize,
    w: &[E],
    geometry: Geometry,
    line: usize,
    xx: usize,
    j0: usize,
    dst: &mut [E],
) {
    let sums = gather_block::<E, W, P>(map, inner, outer, w, geometry, line, xx, j0);
    add_sums(dst, &sums, |k| (xx + k) * outer + j0);
}

/// [`gather_into`] over every block of output channels: registers of [`LANES`], then half
/// as many, then one at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_pixels<E: Float, const P: usize>(
    map: &[E],
    inner: usize,
    outer: usize,
    w: &[E],
    geometry: Geometry,
    line: usize,
    xx: usize,
    dst: &mut [E],
) {
    for (j0, width) in blocks(outer, LANES) {
        // Direct calls in every arm: the kernels inline into the vectorised build.
        match width {
            LANES => gather_into::<E, LANES, P>(map, inner, outer, w, geometry, line, xx, j0, dst),
            HALF => gather_into::<E, HALF, P>(map, inner, outer, w, geometry, line, xx, j0, dst),
            _ => gather_into::<E, 1, P>(map, inner, outer, w, geometry, line, xx, j0, dst),
        }
    }
}

/// Adds one image row of the gather $b + \sum_t w_t\, m_{p + o_t}$ to `dst` (the row's
/// `outer` channels per pixel; no $b$ when `bias` is `None`): `map` has `inner` channels per
/// pixel, `w` is `(tap, inner, outer)`. Blocks of pixels and output channels accumulate in
/// registers over every tap and channel. Adding lets the input's gradient go straight into
/// its buffer.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_line<E: Float>(
    map: &[E],
    inner: usize,
    outer: usize,
    w: &[E],
    bias: Option<&[E]>,
    geometry: Geometry,
    line: usize,
    dst: &mut [E],
) {
    for (xx, pixels) in blocks(geometry.2, SHARE) {
        // Direct calls in every arm: the kernels inline into the vectorised build.
        match pixels {
            SHARE => gather_pixels::<E, SHARE>(map, inner, outer, w, geometry, line, xx, dst),
            SHARE_HALF => {
                gather_pixels::<E, SHARE_HALF>(map, inner, outer, w, geometry, line, xx, dst)
            }
            _ => gather_pixels::<E, 1>(map, inner, outer, w, geometry, line, xx, dst),
        }
    }
    if let Some(bias) = bias {
        for d in dst.chunks_exact_mut(outer) {
            d.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
        }
    }
}

/// Output channels `j0..j0 + W` of the weight gradient's entries `(t, c..c + C)` over one
/// image row: each block of the output's gradient is loaded once for the `C` channels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_gradient_block<E: Float, const W: usize, const C: usize>(
    map: &[E],
    gy: &[E],
    (channels, out): (usize, usize),
    geometry: Geometry,
    line: usize,
    (t, c): (usize, usize),
    j0: usize,
    share: &mut [E],
) {
    let width = geometry.2;
    let mut acc = [[E::zero(); W]; C];
    let (ty, tx) = (t / geometry.3, t % geometry.3);
    let first = line * width;
    let line = Line::new(line, geometry);
    let Some(src) = line.source_row(ty) else {
        return;
    };
    for xx in 0..width {
        let Some(q) = line.source(src, xx, tx) else {
            continue;
        };
        let g = lanes::<E, W>(gy, (first + xx) * out + j0);
        let m = &map[q * channels + c..q * channels + c + C];
        for (acc, &v) in acc.iter_mut().zip(m) {
            axpy(acc, v, g);
        }
    }
    add_sums(share, &acc, |k| (t * channels + c + k) * out + j0);
}

/// [`weight_gradient_block`] over every block of output channels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_gradient_channels<E: Float, const C: usize>(
    map: &[E],
    gy: &[E],
    sizes: (usize, usize),
    geometry: Geometry,
    line: usize,
    entry: (usize, usize),
    share: &mut [E],
) {
    for (j0, width) in blocks(sizes.1, LANES) {
        match width {
            LANES => weight_gradient_block::<E, LANES, C>(
                map, gy, sizes, geometry, line, entry, j0, share,
            ),
            HALF => weight_gradient_block::<E, HALF, C>(
                map, gy, sizes, geometry, line, entry, j0, share,
            ),
            _ => weight_gradient_block::<E, 1, C>(map, gy, sizes, geometry, line, entry, j0, share),
        }
    }
}

/// Adds one image row's share of the weight gradient, `(tap, channel, out)`, to `share`.
#[inline(always)]
fn weight_gradient_line<E: Float>(
    map: &[E],
    gy: &[E],
    channels: usize,
    out: usize,
    geometry: Geometry,
    line: usize,
    share: &mut [E],
) {
    let sizes = (channels, out);
    let whole = channels - channels % CHANNEL_SHARE;
    for t in 0..geometry.3 * geometry.3 {
        for c in (0..whole).step_by(CHANNEL_SHARE) {
            let entry = (t, c);
            weight_gradient_channels::<E, CHANNEL_SHARE>(
                map, gy, sizes, geometry, line, entry, share,
            );
        }
        for c in whole..channels {
            weight_gradient_channels::<E, 1>(map, gy, sizes, geometry, line, (t, c), share);
        }
    }
}

vectorised!(
    /// [`gather_line`] on the calling thread.
    fn gather_line_with<E: Float> => gather_line(
        map: &[E], inner: usize, outer: usize, w: &[E], bias: Option<&[E]>, geometry: Geometry,
        line: usize, dst: &mut [E],
    )
);

vectorised!(
    /// [`weight_gradient_line`] on the calling thread.
    fn weight_gradient_line_with<E: Float> => weight_gradient_line(
        map: &[E], gy: &[E], channels: usize, out: usize, geometry: Geometry, line: usize,
        share: &mut [E],
    )
);
