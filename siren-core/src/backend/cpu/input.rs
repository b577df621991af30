//! The first layer's input stack, built on the host from the encoding's features
//! ([`Feature::derivatives`]), and the coordinates' gradient from that stack's.

use super::rows::RowPlan;
use crate::model::config::Encoding;
use crate::model::encoding::Feature;
use crate::Float;

/// The input stack `(N, K, features)` of the first layer and the number of features. A
/// feature depends on one coordinate, so it enters that coordinate's gradient row and the
/// second-derivative rows with terms on it; mixed rows stay zero.
pub(super) fn input_stack<E: Float>(
    encoding: Encoding,
    coords: &[E],
    n: usize,
    plan: &RowPlan<E>,
) -> (Vec<E>, usize) {
    let d = plan.d;
    let features = encoding.features(d);
    let f = features.len();
    let mut x = vec![E::zero(); n * plan.k * f];
    for p in 0..n {
        let base = p * plan.k * f;
        let at = plan.coefficients(p, 1);
        for (col, feature) in features.iter().enumerate() {
            let j = feature.coord;
            let [v, d1, d2, _] = feature.derivatives(&coords[p * d + j]);
            x[base + col] = v;
            if plan.gradient {
                x[base + plan.grad_row(j) * f + col] = d1;
            }
            for (q, terms) in plan.rows.iter().enumerate() {
                for term in terms.iter().filter(|t| t.coord == j) {
                    x[base + plan.second_row(q) * f + col] += term.at(at) * d2;
                }
            }
        }
    }
    (x, f)
}

/// Adds to `dc` (`(N, d)`) the gradient of the coordinates, given `dx`, the gradient of the
/// input stack `(N, K, features)` that [`input_stack`] built from them.
pub(super) fn input_stack_backward<E: Float>(
    encoding: Encoding,
    coords: &[E],
    plan: &RowPlan<E>,
    features: usize,
    dx: &[E],
    dc: &mut [E],
) {
    let d = plan.d;
    let n = coords.len() / d.max(1);
    let all: Vec<Feature> = encoding.features(d);
    debug_assert_eq!(all.len(), features);
    for p in 0..n {
        let at = |row: usize, col: usize| dx[(p * plan.k + row) * features + col];
        let coef = plan.coefficients(p, 1);
        for (col, feature) in all.iter().enumerate() {
            let j = feature.coord;
            // Each entry of the stack is a derivative of the feature: its own derivative
            // along x_j is the next one.
            let [_, d1, d2, d3] = feature.derivatives(&coords[p * d + j]);
            let mut acc = at(0, col) * d1;
            if plan.gradient {
                acc += at(plan.grad_row(j), col) * d2;
            }
            for (q, terms) in plan.rows.iter().enumerate() {
                for term in terms.iter().filter(|t| t.coord == j) {
                    acc += term.at(coef) * at(plan.second_row(q), col) * d3;
                }
            }
            dc[p * d + j] += acc;
        }
    }
}

/// For the reverse-mode gradient ([`super::reverse`]): the first layer's input `(N,
/// features)`, each feature's slope along its own coordinate `(N, features)`, and that
/// coordinate per feature.
pub(super) fn input_slopes<E: Float>(
    encoding: Encoding,
    coords: &[E],
    n: usize,
    d: usize,
) -> (Vec<E>, Vec<E>, Vec<usize>) {
    let features = encoding.features(d);
    let f = features.len();
    let (mut x, mut slopes) = (vec![E::zero(); n * f], vec![E::zero(); n * f]);
    for p in 0..n {
        for (col, feature) in features.iter().enumerate() {
            let [v, d1, _, _] = feature.derivatives(&coords[p * d + feature.coord]);
            x[p * f + col] = v;
            slopes[p * f + col] = d1;
        }
    }
    (x, slopes, features.iter().map(|f| f.coord).collect())
}

/// Adds to `dc` (`(N, d)`) the coordinates' gradient through [`input_slopes`]: `dx` is the
/// loss gradient of the input, and the gradient output $\partial_j f = \sum_c a_c\, e_c'$ (over
/// the features $e_c$ of $x_j$, with $a$ the output's gradient along the input features)
/// brings `g_bar[j] * a_c * e_c''`.
pub(super) fn input_slopes_backward<E: Float>(
    encoding: Encoding,
    coords: &[E],
    d: usize,
    dx: &[E],
    a: &[E],
    g_bar: &[E],
    dc: &mut [E],
) {
    let features = encoding.features(d);
    let f = features.len();
    let n = coords.len() / d.max(1);
    for p in 0..n {
        for (col, feature) in features.iter().enumerate() {
            let j = feature.coord;
            let [_, d1, d2, _] = feature.derivatives(&coords[p * d + j]);
            let at = p * f + col;
            dc[p * d + j] += dx[at] * d1 + g_bar[p * d + j] * a[at] * d2;
        }
    }
}
