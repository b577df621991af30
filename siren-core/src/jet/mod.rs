//! Input derivatives propagated forward through the layers.
//!
//! For inputs $x \in \mathbb{R}^d$ the pass carries, for every layer's output $h$, the value,
//! the Jacobian columns $\partial_i h$ and the second derivatives $\partial_i\partial_j h$ that
//! were asked for. An affine map $a = \omega (W h + b)$ acts linearly on all of them:
//! $$\partial_i a = \omega W \partial_i h, \qquad \partial_{ij} a = \omega W \partial_{ij} h,$$
//! and an elementwise $y = \sigma(a)$ follows the chain rule
//! $$\partial_i y = \sigma'(a) \odot \partial_i a, \qquad
//!   \partial_{ij} y = \sigma''(a) \odot \partial_i a \odot \partial_j a +
//!   \sigma'(a) \odot \partial_{ij} a.$$
//! Value, Jacobian and second derivatives of a layer are stacked along a leading axis, so each
//! is one (batched) matrix product. Every step is an ordinary dfdx op recorded on one tape
//! (see [`Tracer`]), so one reverse pass gives the weight gradients of any loss built on these
//! derivatives: no double backward is needed. The cost is about $(1 + d + d_2)$ forward passes,
//! where $d_2$ is the number of second derivatives carried.

mod operator;

use dfdx::prelude::*;

use crate::error::{Error, Result};
use crate::tensor::{Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

pub(crate) use operator::{apply_operators, check_coord, describe};
pub use operator::{mixed_index, mixed_pairs, Coefficient, DiagonalOperator};

/// Which derivatives with respect to the input a pass carries. Each level includes the ones
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Order {
    /// The value only.
    Value,
    /// The value and the gradient $\partial_i u$.
    Gradient,
    /// Also the unmixed second derivatives $\partial_i^2 u$: Laplacians over any subset of
    /// coordinates, and $\partial_t^2 u$ on its own.
    Diagonal,
    /// Also the mixed $\partial_i \partial_j u$, $i < j$: the full Hessian.
    Hessian,
}

/// The network's output and its input derivatives at a batch of `N` points.
///
/// Shapes, with `d` input coordinates and `c` output channels:
/// `value` is `(N, c)`; `gradient` and `hessian_diag` are `(d, N, c)`, indexed by coordinate;
/// `hessian_mixed` is `(d(d-1)/2, N, c)` over pairs $i < j$ in the order
/// $(0,1), (0,2), \ldots, (1,2), \ldots$. Fields a pass did not carry are `None`.
/// All tensors are tape-free; losses on them go through the [`Tracer`] of the pass.
#[derive(Clone, Debug)]
pub struct Jet<E: Float, D: Device<E>> {
    /// $u$.
    pub value: Matrix<E, D>,
    /// $\partial_i u$.
    pub gradient: Option<Stack<E, D>>,
    /// $\partial_i^2 u$.
    pub hessian_diag: Option<Stack<E, D>>,
    /// $\partial_i \partial_j u$ for $i < j$.
    pub hessian_mixed: Option<Stack<E, D>>,
    /// $L_q u$ for the operators $L_q$ of [`Jet::operators`], `(operators, N, c)`: what
    /// [`Network::jet_operators`](crate::Network::jet_operators) and [`Network::jet_laplacians`](crate::Network::jet_laplacians) carry.
    pub operator_values: Option<Stack<E, D>>,
    /// The operators of [`Jet::operator_values`], in its order (empty when it is `None`).
    pub operators: Vec<DiagonalOperator<E>>,
}

/// What a pass carries besides the value: the derivatives an [`Order`] names, or the gradient
/// and one row $L_q u$ per operator (`Network::jet_operators`).
#[derive(Clone, Copy, Debug)]
pub enum Carry<'a, E> {
    /// The derivatives up to this order.
    Order(Order),
    /// The gradient and these operators applied to the output.
    Operators(&'a [DiagonalOperator<E>]),
}

impl<E: Float, D: Device<E>> Jet<E, D> {
    fn coords(&self) -> usize {
        self.gradient.as_ref().map_or(0, |g| g.shape().0)
    }

    /// The carried operator that is the Laplacian over exactly these coordinates (in any
    /// order).
    fn laplacian_index(&self, coords: &[usize]) -> Option<usize> {
        self.operators
            .iter()
            .position(|op| op.is_laplacian_over(coords))
    }

    fn carried(&self) -> &Stack<E, D> {
        self.operator_values
            .as_ref()
            .expect("operators are listed only when carried")
    }

    fn pick<T: Tape<E, D>>(
        tr: &mut Tracer<E, D, T>,
        stack: &Stack<E, D>,
        index: usize,
    ) -> Matrix<E, D> {
        let idx = stack.device().tensor_from_vec(vec![index], ());
        tr.apply(stack.clone(), |s| s.select(idx))
    }

    /// $\partial u / \partial x_i$, `(N, c)`.
    pub fn partial<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        i: usize,
    ) -> Result<Matrix<E, D>> {
        let g = self.gradient.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "the pass did not carry the gradient (use Order::Gradient or higher)".into(),
            )
        })?;
        check_coord(i, self.coords())?;
        Ok(Self::pick(tr, g, i))
    }

    /// $\partial^2 u / \partial x_i \partial x_j$, `(N, c)`. Mixed terms need [`Order::Hessian`].
    pub fn second<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        i: usize,
        j: usize,
    ) -> Result<Matrix<E, D>> {
        let d = self.coords();
        check_coord(i, d)?;
        check_coord(j, d)?;
        let (i, j) = (i.min(j), i.max(j));
        if i == j {
            if let Some(q) = self.laplacian_index(&[i]) {
                return Ok(Self::pick(tr, self.carried(), q));
            }
            let h = self.hessian_diag.as_ref().ok_or_else(|| {
                Error::InvalidInput(
                    "the pass did not carry second derivatives (use Order::Diagonal)".into(),
                )
            })?;
            Ok(Self::pick(tr, h, i))
        } else {
            let h = self.hessian_mixed.as_ref().ok_or_else(|| {
                Error::InvalidInput(
                    "the pass did not carry mixed derivatives (use Order::Hessian)".into(),
                )
            })?;
            Ok(Self::pick(tr, h, mixed_index(d, i, j)))
        }
    }

    /// $\sum_{i \in \text{coords}} \partial_i^2 u$, `(N, c)`: the Laplacian over any subset of
    /// the input coordinates (e.g. the spatial ones of $(t, x, y)$).
    pub fn laplacian<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        coords: &[usize],
    ) -> Result<Matrix<E, D>> {
        if let Some(q) = self.laplacian_index(coords) {
            return Ok(Self::pick(tr, self.carried(), q));
        }
        let h = self.hessian_diag.as_ref().ok_or_else(|| {
            Error::InvalidInput(if self.operator_values.is_some() {
                format!(
                    "the pass carried the operators {:?} only, not the Laplacian over \
                     {coords:?}",
                    self.operator_names()
                )
            } else {
                "the pass did not carry second derivatives (use Order::Diagonal)".into()
            })
        })?;
        if coords.is_empty() {
            return Err(Error::InvalidInput(
                "a Laplacian needs at least one coordinate".into(),
            ));
        }
        for &i in coords {
            check_coord(i, self.coords())?;
        }
        let idx = h.device().tensor_from_vec(coords.to_vec(), (coords.len(),));
        Ok(tr.apply(h.clone(), |h| {
            h.gather(idx).sum::<(usize, usize), Axis<0>>()
        }))
    }

    /// $L u$, `(N, c)`: the operator's row if the pass carried `op` (see
    /// [`Network::jet_operators`](crate::Network::jet_operators)), else its weighted sum of the Hessian diagonal.
    pub fn operator<T: Tape<E, D>>(
        &self,
        tr: &mut Tracer<E, D, T>,
        op: &DiagonalOperator<E>,
    ) -> Result<Matrix<E, D>> {
        if let Some(q) = self.operators.iter().position(|o| o == op) {
            return Ok(Self::pick(tr, self.carried(), q));
        }
        let h = self.hessian_diag.as_ref().ok_or_else(|| {
            Error::InvalidInput(if self.operator_values.is_some() {
                format!(
                    "the pass carried the operators {:?} only, not {:?}; pass this operator \
                     to jet_operators",
                    self.operator_names(),
                    describe(op)
                )
            } else {
                "the pass did not carry second derivatives (use Network::jet_operators or \
                 Order::Diagonal)"
                    .into()
            })
        })?;
        let (d, n, _) = *h.shape();
        op.check(d, n)?;
        let applied = apply_operators(tr, h, std::slice::from_ref(op));
        Ok(Self::pick(tr, &applied, 0))
    }

    fn operator_names(&self) -> Vec<String> {
        self.operators.iter().map(describe).collect()
    }
}
