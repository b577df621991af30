//! [`Network::jet`](crate::Network::jet) as ordinary dfdx ops, on any device.
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
//! is one (batched) matrix product, recorded on the pass's tape.
//!
//! $\sigma^{(k)}(a)$ and the encoding's features come from the shared formulas
//! ([`LayerActivation::derivatives`], [`Feature::derivatives`]) evaluated without a tape;
//! each joins the tape as $s_k + (a - a)\, s_{k+1}$ (exactly $s_k$, with slope $s_{k+1}$), so
//! the reverse pass gets the same gradients as from the formulas differentiated op by op.

use dfdx::prelude::*;

use crate::jet::{apply_operators, mixed_pairs, Carry, Jet, Order};
use crate::model::activation::LayerActivation;
use crate::model::config::Encoding;
use crate::model::encoding::Feature;
use crate::model::network::{Dense, Network};
use crate::tensor::{Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// Derivatives of one layer's output; `None` second derivatives are identically zero.
pub(super) struct State<E: Float, D: Device<E>> {
    value: Matrix<E, D>,
    gradient: Option<Stack<E, D>>,
    diag: Option<Stack<E, D>>,
    mixed: Option<Stack<E, D>>,
}

/// The reference `Network::jet`: the value and what `carry` asks for at `coords` (checked by
/// the caller), recorded on `tracer`. Operator rows come from the Hessian diagonal.
pub fn jet<E: Float, D: Device<E>, T: Tape<E, D>>(
    net: &Network<E, D>,
    coords: &Matrix<E, D>,
    carry: Carry<'_, E>,
    tracer: &mut Tracer<E, D, T>,
) -> Jet<E, D> {
    let (n, d) = *coords.shape();
    let order = match carry {
        Carry::Order(order) => order,
        Carry::Operators(_) => Order::Diagonal,
    };
    let mut state = input_state(net.config().encoding, coords, order, tracer);
    for (layer, act) in net.layers().iter().zip(net.activations()) {
        state = propagate(layer, act, state, order, tracer);
    }
    let dev = net.device();
    let c = net.config().out_features;
    let zeros = |k: usize| -> Stack<E, D> { dev.zeros_like(&(k, n, c)) };
    let diag = (order >= Order::Diagonal).then(|| state.diag.unwrap_or_else(|| zeros(d)));
    match carry {
        Carry::Order(order) => Jet {
            value: state.value,
            gradient: state.gradient,
            hessian_diag: diag,
            hessian_mixed: (order >= Order::Hessian && d > 1)
                .then(|| state.mixed.unwrap_or_else(|| zeros(d * (d - 1) / 2))),
            operator_values: None,
            operators: Vec::new(),
        },
        Carry::Operators(ops) => {
            let diag = diag.expect("operators carry the Hessian diagonal");
            Jet {
                value: state.value,
                gradient: state.gradient,
                hessian_diag: None,
                hessian_mixed: None,
                operator_values: Some(apply_operators(tracer, &diag, ops)),
                operators: Vec::new(),
            }
        }
    }
}

/// The encoded input and its derivatives. Each entry is computed on the host from the
/// feature's formulas and joins the tape with its derivative along its coordinate as slope,
/// so a computed input (a hypernetwork's latent code) gets its gradient.
fn input_state<E: Float, D: Device<E>, T: Tape<E, D>>(
    encoding: Encoding,
    coords: &Matrix<E, D>,
    order: Order,
    tr: &mut Tracer<E, D, T>,
) -> State<E, D> {
    let dev = coords.device().clone();
    let (n, d) = *coords.shape();
    let features: Vec<Feature> = encoding.features(d);
    let f = features.len();
    let x = coords.as_vec();
    // Host values of the value row and the gradient and diagonal rows, each with its slope.
    let (mut value, mut value_slope) = (vec![E::zero(); n * f], vec![E::zero(); n * f]);
    let (mut grad, mut grad_slope) = (vec![E::zero(); d * n * f], vec![E::zero(); d * n * f]);
    let (mut diag, mut diag_slope) = (vec![E::zero(); d * n * f], vec![E::zero(); d * n * f]);
    let mut select = vec![E::zero(); d * f];
    for (col, feature) in features.iter().enumerate() {
        select[feature.coord * f + col] = E::one();
    }
    for p in 0..n {
        for (col, feature) in features.iter().enumerate() {
            let j = feature.coord;
            let [v, d1, d2, d3] = feature.derivatives(&x[p * d + j]);
            value[p * f + col] = v;
            value_slope[p * f + col] = d1;
            let at = (j * n + p) * f + col;
            grad[at] = d1;
            grad_slope[at] = d2;
            diag[at] = d2;
            diag_slope[at] = d3;
        }
    }
    // The change of each feature's coordinate, (N, f): zero, but on the tape.
    let select = dev.tensor_from_vec(select, (d, f));
    let minus_coords = coords.clone().negate();
    let shift = tr.apply(coords.clone(), |c| (c + minus_coords).matmul(select));
    let zero = |v: &[E]| v.iter().all(|&v| v == E::zero());
    let value = {
        let (v, s) = (
            dev.tensor_from_vec(value, (n, f)),
            dev.tensor_from_vec(value_slope, (n, f)),
        );
        tr.apply(shift.clone(), |h| h * s + v)
    };
    let mut stack = |rows: Vec<E>, slope: Vec<E>| -> Option<Stack<E, D>> {
        if zero(&rows) && zero(&slope) {
            return None;
        }
        let r = dev.tensor_from_vec(rows, (d, n, f));
        if zero(&slope) {
            return Some(r);
        }
        let s = dev.tensor_from_vec(slope, (d, n, f));
        Some(tr.apply(shift.clone(), |h| {
            h.broadcast_like::<_, Axis<0>>(&(d, n, f)) * s + r
        }))
    };
    let gradient = if order >= Order::Gradient {
        stack(grad, grad_slope)
    } else {
        None
    };
    let diag = if order >= Order::Diagonal {
        stack(diag, diag_slope)
    } else {
        None
    };
    // Each feature depends on one coordinate, so the mixed terms are zero.
    State {
        value,
        gradient,
        diag,
        mixed: None,
    }
}

/// The argument of a layer's activation: $\omega_0 (W h + b)$ for sine layers, $W h + b$ else.
pub(crate) fn preactivation<E: Float, D: Device<E>, T: Tape<E, D>>(
    layer: &Dense<E, D>,
    act: LayerActivation,
    value: Matrix<E, D>,
    tr: &mut Tracer<E, D, T>,
) -> Matrix<E, D> {
    let (n, _) = *value.shape();
    let out = layer.weight.shape().0;
    let wt = layer
        .weight
        .clone()
        .permute::<(usize, usize), Axes2<1, 0>>();
    let bias = layer.bias.clone().broadcast_like::<_, Axis<0>>(&(n, out));
    tr.apply(value, |v| {
        let z = v.matmul(wt) + bias;
        match act {
            LayerActivation::Sine(w0) => z * E::of(w0),
            _ => z,
        }
    })
}

/// One layer: the affine map on every carried derivative, then the activation's chain rule.
pub(super) fn propagate<E: Float, D: Device<E>, T: Tape<E, D>>(
    layer: &Dense<E, D>,
    act: LayerActivation,
    state: State<E, D>,
    order: Order,
    tr: &mut Tracer<E, D, T>,
) -> State<E, D> {
    let (n, _) = *state.value.shape();
    let out = layer.weight.shape().0;
    let wt = layer
        .weight
        .clone()
        .permute::<(usize, usize), Axes2<1, 0>>();
    let scale = match act {
        LayerActivation::Sine(w0) => Some(E::of(w0)),
        _ => None,
    };
    let scaled = |x: Tensor<(usize, usize, usize), E, D, T>| match scale {
        Some(w) => x * w,
        None => x,
    };
    let linear = |tr: &mut Tracer<E, D, T>, x: Option<Stack<E, D>>| {
        x.map(|x| tr.apply(x, |x| scaled(x.matmul(wt.clone()))))
    };

    let a = preactivation(layer, act, state.value, tr);
    let da = linear(tr, state.gradient);
    let dda = linear(tr, state.diag);
    let dda_mixed = linear(tr, state.mixed);

    if act == LayerActivation::Identity {
        return State {
            value: a,
            gradient: da,
            diag: dda,
            mixed: dda_mixed,
        };
    }
    // s_k = sigma^(k)(a) from the shared formulas, each carrying its slope s_(k+1) so that
    // the reverse pass reaches a through it.
    let s = act.derivatives(&a);
    // -a is a new tensor (a binary op cannot take one tensor twice); a + (-a) is exactly 0.
    let minus_a = a.clone().negate();
    let with_slope = |tr: &mut Tracer<E, D, T>, k: usize| {
        let (value, slope) = (s[k].clone(), s[k + 1].clone());
        let minus_a = minus_a.clone();
        tr.apply(a.clone(), |a| (a + minus_a) * slope + value)
    };
    let y = with_slope(tr, 0);
    let s1 = da.is_some().then(|| with_slope(tr, 1));
    let s2 = (order >= Order::Diagonal).then(|| with_slope(tr, 2));

    let Some(da) = da else {
        return State {
            value: y,
            gradient: None,
            diag: None,
            mixed: None,
        };
    };
    let s1 = s1.expect("s1 exists whenever derivatives are carried");
    let d = da.shape().0;
    let gradient = {
        let s1b = s1.clone().broadcast_like::<_, Axis<0>>(&(d, n, out));
        tr.apply(da.clone(), |da| da * s1b)
    };
    // s2 * (da_i * da_j) + s1 * dda_ij, either term possibly absent (zero).
    let second = |tr: &mut Tracer<E, D, T>,
                  first_order: Option<Stack<E, D>>,
                  dda: Option<Stack<E, D>>|
     -> Option<Stack<E, D>> {
        let k = first_order.as_ref().or(dda.as_ref())?.shape().0;
        let curvature = match (&s2, first_order) {
            (Some(s2), Some(prod)) => {
                let s2b = s2.clone().broadcast_like::<_, Axis<0>>(&(k, n, out));
                Some(tr.apply(prod, |p| p * s2b))
            }
            _ => None,
        };
        let chained = dda.map(|dda| {
            let s1b = s1.clone().broadcast_like::<_, Axis<0>>(&(k, n, out));
            tr.apply(dda, |dda| dda * s1b)
        });
        match (curvature, chained) {
            (Some(c), Some(h)) => Some(tr.apply(c, |c| c + h)),
            (c, h) => c.or(h),
        }
    };
    let diag = if order >= Order::Diagonal {
        let squares = s2.as_ref().map(|_| tr.apply(da.clone(), |x| x.square()));
        second(tr, squares, dda)
    } else {
        None
    };
    let mixed = if order >= Order::Hessian && d > 1 {
        let products = s2.as_ref().map(|_| {
            let dev = da.device().clone();
            let pairs = mixed_pairs(d);
            let first = dev.tensor_from_vec(pairs.iter().map(|p| p.0).collect(), (pairs.len(),));
            let other = dev.tensor_from_vec(pairs.iter().map(|p| p.1).collect(), (pairs.len(),));
            let dj = tr.apply(da.clone(), |x| x.gather(other));
            tr.apply(da.clone(), |x| x.gather(first) * dj)
        });
        second(tr, products, dda_mixed)
    } else {
        None
    };
    State {
        value: y,
        gradient: Some(gradient),
        diag,
        mixed,
    }
}
