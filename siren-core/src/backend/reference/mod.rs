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

use crate::tracer::Tracer;
use crate::Float;

/// The reference `sine`: dfdx's `(x * w0).sin()`.
pub fn sine<S: Shape, E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Tensor<S, E, D>,
    w0: E,
) -> Tensor<S, E, D> {
    tr.apply(x, |x| (x * w0).sin())
}
