//! A layer's weights on the host, as the kernels read them.

use dfdx::prelude::*;

use super::matmul;
use crate::model::activation::LayerActivation;
use crate::model::network::Network;
use crate::tensor::host_vec;
use crate::Float;

/// One layer's weights on the host, with its activation.
pub(super) struct KernelLayer<E> {
    pub(super) weight: Vec<E>,
    /// $\omega b$.
    pub(super) bias: Vec<E>,
    pub(super) act: LayerActivation,
    pub(super) scale: E,
    pub(super) fan_in: usize,
    pub(super) fan_out: usize,
}

impl<E: Float> KernelLayer<E> {
    /// The weight as the right operand of the forward products, `h W^T`.
    pub(super) fn transposed(&self) -> matmul::Prepared<'_, E> {
        matmul::Prepared::transposed(&self.weight, self.fan_out, self.fan_in)
    }

    /// The weight as the right operand of the input-gradient products, `g W`.
    pub(super) fn plain(&self) -> matmul::Prepared<'_, E> {
        matmul::Prepared::plain(&self.weight, self.fan_out, self.fan_in)
    }
}

/// The widest layer input or output: sets the points per chunk.
pub(super) fn widest<E>(layers: &[KernelLayer<E>]) -> usize {
    layers
        .iter()
        .map(|l| l.fan_in.max(l.fan_out))
        .max()
        .unwrap_or(1)
}

/// The network's layers on the host, each bias scaled by its layer's $\omega_0$.
pub(super) fn kernel_layers<E: Float>(net: &Network<E, Cpu>) -> Vec<KernelLayer<E>>
where
    Cpu: Device<E>,
{
    net.layers()
        .iter()
        .zip(net.activations())
        .map(|(l, act)| {
            // The omega_0 of a sine layer scales its affine map.
            let scale = E::of(act.scale());
            let (fan_out, fan_in) = *l.weight.shape();
            KernelLayer {
                weight: host_vec(&l.weight),
                bias: host_vec(&l.bias).into_iter().map(|b| b * scale).collect(),
                act,
                scale,
                fan_in,
                fan_out,
            }
        })
        .collect()
}
