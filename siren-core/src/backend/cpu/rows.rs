//! Which rows each point's stack carries (value, gradient, second-derivative or operator
//! rows, mixed pairs), and the per-point coefficients of the operator rows.

use crate::jet::{mixed_pairs, Carry, Coefficient, DiagonalOperator, Order};
use crate::Float;

/// The coefficient of a [`Term`]: a constant, or a column of [`RowPlan`]'s per-point table.
#[derive(Clone, Copy, Debug)]
pub(super) enum Coef<E> {
    Constant(E),
    Column(usize),
}

/// One term $a\, \partial_i^2$ of a second-derivative row.
#[derive(Clone, Copy, Debug)]
pub(super) struct Term<E> {
    pub(super) coord: usize,
    pub(super) coef: Coef<E>,
}

/// Which rows a point's stack carries.
#[derive(Clone, Debug)]
pub(super) struct RowPlan<E> {
    /// Input coordinates.
    pub(super) d: usize,
    /// Rows per point.
    pub(super) k: usize,
    /// Whether the gradient rows `1..=d` are carried.
    pub(super) gradient: bool,
    /// Second-derivative rows from `1+d` on: row `q` carries $\sum_t a_t \partial_{i_t}^2$
    /// over its terms.
    pub(super) rows: Vec<Vec<Term<E>>>,
    /// Per-point coefficients, point-major, `columns` per point.
    pub(super) table: Vec<E>,
    pub(super) columns: usize,
    /// Whether the second-derivative rows are the Hessian diagonal (else the operators of
    /// `Network::jet_operators`, which the caller lists in the jet).
    pub(super) diagonal: bool,
    /// Mixed pairs, rows after the second-derivative rows.
    pub(super) pairs: Vec<(usize, usize)>,
}

impl<E: Float> RowPlan<E> {
    /// The rows `carry` asks for, at `n` points of `d` coordinates (operators checked by the
    /// caller).
    pub(super) fn new(d: usize, n: usize, carry: Carry<'_, E>) -> Self {
        match carry {
            Carry::Order(order) => Self::for_order(d, order),
            Carry::Operators(ops) => Self::for_operators(d, n, ops),
        }
    }

    /// The rows [`Order`] asks for.
    pub(super) fn for_order(d: usize, order: Order) -> Self {
        let rows = if order >= Order::Diagonal {
            (0..d)
                .map(|i| {
                    vec![Term {
                        coord: i,
                        coef: Coef::Constant(E::one()),
                    }]
                })
                .collect()
        } else {
            Vec::new()
        };
        let pairs = if order >= Order::Hessian {
            mixed_pairs(d)
        } else {
            Vec::new()
        };
        let k = 1 + if order >= Order::Gradient { d } else { 0 } + rows.len() + pairs.len();
        Self {
            d,
            k,
            gradient: order >= Order::Gradient,
            rows,
            table: Vec::new(),
            columns: 0,
            diagonal: true,
            pairs,
        }
    }

    /// The value, the gradient and one row per operator, at `n` points (operators checked
    /// by the caller).
    pub(super) fn for_operators(d: usize, n: usize, ops: &[DiagonalOperator<E>]) -> Self {
        let mut per_point: Vec<&[E]> = Vec::new();
        let rows: Vec<Vec<Term<E>>> = ops
            .iter()
            .map(|op| {
                op.terms()
                    .iter()
                    .map(|(i, a)| Term {
                        coord: *i,
                        coef: match a {
                            Coefficient::Constant(a) => Coef::Constant(*a),
                            Coefficient::PerPoint(v) => {
                                per_point.push(v);
                                Coef::Column(per_point.len() - 1)
                            }
                        },
                    })
                    .collect()
            })
            .collect();
        let columns = per_point.len();
        let mut table = vec![E::zero(); n * columns];
        for (col, v) in per_point.iter().enumerate() {
            for (p, &a) in v.iter().enumerate() {
                table[p * columns + col] = a;
            }
        }
        Self {
            d,
            k: 1 + d + rows.len(),
            gradient: true,
            rows,
            table,
            columns,
            diagonal: false,
            pairs: Vec::new(),
        }
    }

    pub(super) fn grad_row(&self, i: usize) -> usize {
        1 + i
    }
    pub(super) fn second_row(&self, q: usize) -> usize {
        1 + self.d + q
    }
    pub(super) fn mixed_row(&self, q: usize) -> usize {
        1 + self.d + self.rows.len() + q
    }

    /// The per-point coefficients of up to `points` points from `first` on (fewer at the end
    /// of the batch).
    pub(super) fn coefficients(&self, first: usize, points: usize) -> &[E] {
        let end = ((first + points) * self.columns).min(self.table.len());
        &self.table[(first * self.columns).min(end)..end]
    }
}

impl<E: Copy> Term<E> {
    /// The coefficient at a point whose row of the per-point table is `at`.
    #[inline(always)]
    pub(super) fn at(&self, at: &[E]) -> E {
        match self.coef {
            Coef::Constant(a) => a,
            Coef::Column(c) => at[c],
        }
    }
}

/// Points per chunk of the fused layer passes: a layer's product and its activation run
/// chunk by chunk on each thread, so that the product's output is still in cache when the
/// activation reads it (256 KiB per stack chunk: half of an L2; 1 and 4 MiB were 1-5% slower).
pub(super) fn chunk_points<E>(plan: &RowPlan<E>, width: usize) -> usize {
    let rows = (1 << 18) / (std::mem::size_of::<E>() * width.max(1));
    (rows / plan.k).max(1)
}
