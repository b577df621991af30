//! A layer's weights on the host, as the kernels read them.

use crate::model::activation::LayerActivation;

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

/// The widest layer input or output: sets the points per chunk.
pub(super) fn widest<E>(layers: &[KernelLayer<E>]) -> usize {
    layers
        .iter()
        .map(|l| l.fan_in.max(l.fan_out))
        .max()
        .unwrap_or(1)
}
