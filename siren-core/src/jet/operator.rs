//! Second-order operators $\sum_t a_t \partial_{i_t}^2$ and the order of mixed pairs.

use dfdx::prelude::*;

use crate::error::{Error, Result};
use crate::tensor::Stack;
use crate::tracer::Tracer;
use crate::Float;

/// The coefficient of one term of a [`DiagonalOperator`].
#[derive(Clone, Debug, PartialEq)]
pub enum Coefficient<E> {
    /// The same at every point.
    Constant(E),
    /// One value per point of the batch, in the order of the coordinates' rows.
    PerPoint(Vec<E>),
}

impl<E: Copy> Coefficient<E> {
    /// The coefficient at point `p` (checked against the batch by `DiagonalOperator::check`).
    pub(crate) fn at(&self, p: usize) -> E {
        match self {
            Coefficient::Constant(a) => *a,
            Coefficient::PerPoint(v) => v[p],
        }
    }
}

/// A linear second-order operator without mixed derivatives,
/// $$L u = \sum_t a_t(x)\, \partial_{i_t}^2 u,$$
/// whose coefficients may change from point to point: the wave operator
/// $\partial_t^2 - c(x, y)^2 \Delta_{x,y}$ of a medium with a varying speed, say.
///
/// [`Network::jet_operators`](crate::Network::jet_operators) carries $L h$ through the layers as **one** row per point,
/// however many second derivatives $L$ reads. A coefficient is a constant of its point, so
/// it passes through a layer's affine map, and the chain rule of an activation needs only
/// the gradient rows besides:
/// $$L(W h + b) = W\, L h, \qquad
///   L\,\sigma(a) = \sigma'(a)\, L a + \sigma''(a) \sum_t a_t\, (\partial_{i_t} a)^2.$$
/// A wave residual $u_{tt} - c^2 \Delta_{x,y} u$ then costs the value, three gradient rows
/// and one operator row (5 per point) instead of separate $u_{tt}$ and $\Delta_{x,y} u$
/// rows (6).
///
/// ```
/// use siren_core::jet::DiagonalOperator;
///
/// // u_tt - c^2 (u_xx + u_yy) at two points where c^2 is 1 and 4.
/// let wave = DiagonalOperator::new()
///     .term(0, 1.0)
///     .term_per_point(1, vec![-1.0, -4.0])
///     .term_per_point(2, vec![-1.0, -4.0]);
/// assert_eq!(wave.terms().len(), 3);
/// assert_eq!(DiagonalOperator::laplacian(&[1, 2]), DiagonalOperator::new().term(1, 1.0).term(2, 1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DiagonalOperator<E> {
    terms: Vec<(usize, Coefficient<E>)>,
}

impl<E: Float> Default for DiagonalOperator<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Float> DiagonalOperator<E> {
    /// The operator with no terms yet.
    pub fn new() -> Self {
        Self { terms: Vec::new() }
    }

    /// $\sum_{i \in \text{coords}} \partial_i^2$.
    pub fn laplacian(coords: &[usize]) -> Self {
        coords
            .iter()
            .fold(Self::new(), |op, &i| op.term(i, E::one()))
    }

    /// Adds $a\, \partial_i^2$.
    pub fn term(mut self, i: usize, a: E) -> Self {
        self.terms.push((i, Coefficient::Constant(a)));
        self
    }

    /// Adds $a(x)\, \partial_i^2$, with one value of $a$ per point of the batch.
    pub fn term_per_point(mut self, i: usize, a: Vec<E>) -> Self {
        self.terms.push((i, Coefficient::PerPoint(a)));
        self
    }

    /// The terms: coordinate and coefficient.
    pub fn terms(&self) -> &[(usize, Coefficient<E>)] {
        &self.terms
    }

    /// Whether this is the Laplacian over exactly `coords` (each once, coefficient 1).
    pub(crate) fn is_laplacian_over(&self, coords: &[usize]) -> bool {
        let mut want = coords.to_vec();
        want.sort_unstable();
        want.dedup();
        let mut have: Vec<usize> = Vec::with_capacity(self.terms.len());
        for (i, a) in &self.terms {
            if *a != Coefficient::Constant(E::one()) {
                return false;
            }
            have.push(*i);
        }
        have.sort_unstable();
        want.len() == coords.len() && have == want
    }

    /// Checks the operator against `d` input coordinates and a batch of `n` points.
    pub(crate) fn check(&self, d: usize, n: usize) -> Result<()> {
        if self.terms.is_empty() {
            return Err(Error::InvalidInput(
                "a second-order operator needs at least one term (DiagonalOperator::term)".into(),
            ));
        }
        for (i, a) in &self.terms {
            check_coord(*i, d)?;
            if let Coefficient::PerPoint(v) = a {
                if v.len() != n {
                    return Err(Error::InvalidInput(format!(
                        "a per-point coefficient of the operator has {} values but the batch \
                         has {n} points; give one value per point",
                        v.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Position of the pair `(i, j)`, `i < j`, in [`Jet::hessian_mixed`](crate::Jet::hessian_mixed).
pub fn mixed_index(d: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < d);
    i * d - i * (i + 1) / 2 + (j - i - 1)
}

/// All pairs `(i, j)`, `i < j < d`, in [`Jet::hessian_mixed`](crate::Jet::hessian_mixed) order.
pub fn mixed_pairs(d: usize) -> Vec<(usize, usize)> {
    (0..d)
        .flat_map(|i| (i + 1..d).map(move |j| (i, j)))
        .collect()
}

/// An operator in words for error messages, e.g. `1 d0^2 + per-point d1^2`.
pub(crate) fn describe<E: Float>(op: &DiagonalOperator<E>) -> String {
    let terms: Vec<String> = op
        .terms()
        .iter()
        .map(|(i, a)| match a {
            Coefficient::Constant(a) => format!("{a} d{i}^2"),
            Coefficient::PerPoint(_) => format!("per-point d{i}^2"),
        })
        .collect();
    terms.join(" + ")
}

/// $L_q u = \sum_t a_t \partial_{i_t}^2 u$ for each operator, from the Hessian diagonal
/// `(d, N, c)`: a weighted sum over the coordinates, `(operators, N, c)`, on the tape.
pub(crate) fn apply_operators<E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    diag: &Stack<E, D>,
    ops: &[DiagonalOperator<E>],
) -> Stack<E, D> {
    let (d, n, c) = *diag.shape();
    let r = ops.len();
    let mut weights = vec![E::zero(); r * d * n];
    for (q, op) in ops.iter().enumerate() {
        for (i, a) in op.terms() {
            for (p, w) in weights[(q * d + i) * n..(q * d + i + 1) * n]
                .iter_mut()
                .enumerate()
            {
                *w += a.at(p);
            }
        }
    }
    let weights = diag
        .device()
        .tensor_from_vec(weights, (r, d, n))
        .broadcast_like::<_, Axis<3>>(&(r, d, n, c));
    tr.apply(diag.clone(), |h| {
        (h.broadcast_like::<_, Axis<0>>(&(r, d, n, c)) * weights)
            .sum::<(usize, usize, usize), Axis<1>>()
    })
}

pub(crate) fn check_coord(i: usize, d: usize) -> Result<()> {
    if i < d {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "coordinate index {i} out of range for {d} input coordinates"
        )))
    }
}
