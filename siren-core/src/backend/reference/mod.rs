//! The reference backend: every kernel as ordinary dfdx ops, on any device.
//!
//! It is what devices without kernels of their own run (CUDA today), and the slow, plainly
//! correct path the CPU kernels are tested against (`tests/backends.rs`): call these functions
//! directly to run it on the CPU.

mod conv;
mod jet;

use dfdx::prelude::*;

pub use conv::conv;
pub use jet::jet;
pub(crate) use jet::preactivation;

use crate::tensor::{BatchedLayer, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// The reference `batched_siren`: per layer, dfdx's batched product with the weights reshaped
/// and transposed, the bias broadcast over the points, then the sine.
pub fn batched_siren<E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    coords: &Matrix<E, D>,
    layers: &[BatchedLayer<E, D>],
    w0: E,
) -> Stack<E, D> {
    let (n, d) = *coords.shape();
    let b = layers[0].1.shape().0;
    let host = coords.as_vec();
    let mut h: Stack<E, D> = coords.device().tensor_from_vec(
        (0..b).flat_map(|_| host.iter().copied()).collect(),
        (b, n, d),
    );
    let last = layers.len() - 1;
    for (l, (w, bias)) in layers.iter().enumerate() {
        let (i, o) = (h.shape().2, bias.shape().1);
        let a = tr.apply2(h, w.clone(), |h, w| {
            h.matmul(
                w.reshape_like(&(b, o, i))
                    .permute::<(usize, usize, usize), Axes3<0, 2, 1>>(),
            )
        });
        let a = tr.apply2(a, bias.clone(), |a, bias| {
            a + bias.broadcast_like::<_, Axis<1>>(&(b, n, o))
        });
        h = if l == last { a } else { sine(tr, a, w0) };
    }
    h
}

/// The reference `sine`: dfdx's `(x * w0).sin()`.
pub fn sine<S: Shape, E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Tensor<S, E, D>,
    w0: E,
) -> Tensor<S, E, D> {
    tr.apply(x, |x| (x * w0).sin())
}
