//! The runtime-shaped tensor types every layer of the crate passes around.

use dfdx::prelude::*;

/// A runtime-shaped matrix, `(rows, cols)`.
pub type Matrix<E, D> = Tensor<(usize, usize), E, D>;
/// A runtime-shaped vector.
pub type Vector<E, D> = Tensor<(usize,), E, D>;
/// A stack of matrices along a leading axis, `(k, rows, cols)`.
pub type Stack<E, D> = Tensor<(usize, usize, usize), E, D>;
