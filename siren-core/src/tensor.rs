//! The runtime-shaped tensor types every layer of the crate passes around.

use dfdx::prelude::*;

/// A runtime-shaped matrix, `(rows, cols)`.
pub type Matrix<E, D> = Tensor<(usize, usize), E, D>;
/// A runtime-shaped vector.
pub type Vector<E, D> = Tensor<(usize,), E, D>;
/// A stack of matrices along a leading axis, `(k, rows, cols)`.
pub type Stack<E, D> = Tensor<(usize, usize, usize), E, D>;
/// One layer of a batch of networks with weights of their own: the weights `(b, o * i)`
/// (network `f`'s row-major `(o, i)` weight in row `f`) and the biases `(b, o)`.
pub type BatchedLayer<E, D> = (Matrix<E, D>, Matrix<E, D>);

/// A CPU tensor's elements in row-major order, as [`Tensor::as_vec`] gives them but in one
/// copy where the tensor is laid out contiguously (dfdx's `as_vec` walks a strided index per
/// element, several nanoseconds each: a sixth of a hypernetwork step went there). Permuted
/// or broadcast tensors are made contiguous first, by dfdx's reshape.
///
/// ```
/// use dfdx::prelude::*;
///
/// let dev = Cpu::default();
/// let t: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 3));
/// assert_eq!(siren_core::tensor::host_vec(&t), t.as_vec());
/// let transposed = t.clone().permute::<(usize, usize), Axes2<1, 0>>();
/// assert_eq!(siren_core::tensor::host_vec(&transposed), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn host_vec<S: Shape, E: Dtype>(t: &Tensor<S, E, Cpu>) -> Vec<E>
where
    Cpu: Storage<E>,
{
    let n = t.shape().num_elements();
    let flat = t.clone().reshape_like(&(n,));
    let mut out = vec![E::default(); n];
    flat.copy_into(&mut out);
    out
}
