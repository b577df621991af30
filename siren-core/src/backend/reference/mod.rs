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

use crate::tensor::{Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// The reference `batched_affine`: dfdx's batched product with the weights reshaped and
/// transposed, and the bias broadcast over the points.
pub fn batched_affine<E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Stack<E, D>,
    w: Matrix<E, D>,
    bias: Matrix<E, D>,
) -> Stack<E, D> {
    let (b, n, i) = *x.shape();
    let o = bias.shape().1;
    let a = tr.apply2(x, w, |x, w| {
        let w = w
            .reshape_like(&(b, o, i))
            .permute::<(usize, usize, usize), Axes3<0, 2, 1>>();
        x.matmul(w)
    });
    tr.apply2(a, bias, |a, bias| {
        a + bias.broadcast_like::<_, Axis<1>>(&(b, n, o))
    })
}

/// The reference `sine`: dfdx's `(x * w0).sin()`.
pub fn sine<S: Shape, E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Tensor<S, E, D>,
    w0: E,
) -> Tensor<S, E, D> {
    tr.apply(x, |x| (x * w0).sin())
}
