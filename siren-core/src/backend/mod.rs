//! The kernels behind [`Network::jet`], [`sine`](crate::sine), [`Conv2d::forward`] and
//! [`batched_siren`](crate::batched_siren), one
//! implementation per device, chosen by the device type through [`Backend`].
//!
//! * [`cpu`]: hand-written kernels, each one op on dfdx's tape with its backward pass written
//!   out (the whole network as one op, chunked, threaded and vectorised).
//! * [`reference`](mod@reference): the same mathematics as ordinary dfdx ops, on any device; CUDA runs it,
//!   and the tests compare the CPU kernels with it.
//!
//! Both read the formulas from [`crate::model`] ([`LayerActivation::derivatives`],
//! [`Feature::derivatives`]) and the row plan from [`crate::jet`], so there is one
//! implementation of the mathematics and one per device of how it runs.
//!
//! [`LayerActivation::derivatives`]: crate::model::activation::LayerActivation::derivatives
//! [`Feature::derivatives`]: crate::model::encoding::Feature::derivatives

pub mod cpu;
pub mod reference;

use dfdx::prelude::*;

use crate::jet::{Carry, Jet};
use crate::model::conv::{Conv2d, Patches};
use crate::model::network::Network;
use crate::tensor::{BatchedLayer, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// A device with an implementation of each kernel. Code generic over the device bounds it by
/// `D: Backend<E>`; the device type picks the kernels at compile time.
pub trait Backend<E: Float>: Device<E> + dfdx::tensor::Cache {
    /// The network's value and what `carry` asks for at `coords` (already checked against the
    /// network), recorded on `tracer`. The caller lists the operators in the jet.
    fn jet<T: Tape<E, Self>>(
        net: &Network<E, Self>,
        coords: &Matrix<E, Self>,
        carry: Carry<'_, E>,
        tracer: &mut Tracer<E, Self, T>,
    ) -> Jet<E, Self>;

    /// $\sin(\omega x)$ element-wise, recorded on `tracer`.
    fn sine<S: Shape, T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        x: Tensor<S, E, Self>,
        w0: E,
    ) -> Tensor<S, E, Self>;

    /// The convolution of a map already checked against `patches`, recorded on `tracer`.
    fn conv<T: Tape<E, Self>>(
        conv: &Conv2d<E, Self>,
        tracer: &mut Tracer<E, Self, T>,
        x: Matrix<E, Self>,
        patches: &Patches<E, Self>,
    ) -> Matrix<E, Self>;

    /// A batch of SIRENs with weights of their own at shared `coords` (see
    /// [`batched_siren`](crate::batched_siren)), on operands already checked; recorded on
    /// `tracer`.
    fn batched_siren<T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        coords: &Matrix<E, Self>,
        layers: &[BatchedLayer<E, Self>],
        w0: E,
    ) -> Stack<E, Self>;
}

#[cfg(feature = "cuda")]
impl<E: Float> Backend<E> for Cuda
where
    Cuda: Device<E>,
{
    fn jet<T: Tape<E, Self>>(
        net: &Network<E, Self>,
        coords: &Matrix<E, Self>,
        carry: Carry<'_, E>,
        tracer: &mut Tracer<E, Self, T>,
    ) -> Jet<E, Self> {
        reference::jet(net, coords, carry, tracer)
    }

    fn sine<S: Shape, T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        x: Tensor<S, E, Self>,
        w0: E,
    ) -> Tensor<S, E, Self> {
        reference::sine(tracer, x, w0)
    }

    fn conv<T: Tape<E, Self>>(
        conv: &Conv2d<E, Self>,
        tracer: &mut Tracer<E, Self, T>,
        x: Matrix<E, Self>,
        patches: &Patches<E, Self>,
    ) -> Matrix<E, Self> {
        reference::conv(conv, tracer, x, patches)
    }

    fn batched_siren<T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        coords: &Matrix<E, Self>,
        layers: &[BatchedLayer<E, Self>],
        w0: E,
    ) -> Stack<E, Self> {
        reference::batched_siren(tracer, coords, layers, w0)
    }
}
