//! A batch of SIRENs of one shape, each with its own weights (a hypernetwork's generated
//! networks, one per face), at shared coordinates, as one CPU op. Each network runs whole on
//! one thread, layer after layer on its own points while they are in cache; the networks are
//! spread over the threads.
//!
//! Network $f$, with $H_0 = X$ the coordinates: hidden layers
//! $P_l = \omega (H_{l-1} W_{f,l}^\top + b_{f,l})$, $H_l = \sin P_l$, and the linear last
//! layer $Y_f = H_{L-1} W_{f,L}^\top + b_{f,L}$. Backward, from $\bar Y_f$: the last layer
//! gives $\bar W_{f,L} = \bar Y_f^\top H_{L-1}$, $\bar b_{f,L} = \sum_p \bar Y_{f,p}$,
//! $\bar H_{L-1} = \bar Y_f W_{f,L}$; each hidden layer turns $\bar H_l$ into
//! $\bar A_l = \omega\, \bar H_l \odot \cos P_l$, then $\bar W_{f,l} = \bar A_l^\top H_{l-1}$,
//! $\bar b_{f,l} = \sum_p \bar A_{l,p}$ and $\bar H_{l-1} = \bar A_l W_{f,l}$. The
//! coordinates get no gradient.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::activation::{activate_backward_chunk, activate_chunk};
use super::matmul::{self, Prepared};
use super::op::{gradient_mut, record_backward};
use super::rows::RowPlan;
use crate::jet::Order;
use crate::model::activation::LayerActivation;
use crate::tensor::{host_vec, BatchedLayer, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// What one network's forward pass keeps for the backward pass: every hidden layer's
/// pre-activation (scaled by $\omega$) and output.
struct Pass<E> {
    pre: Vec<Vec<E>>,
    hidden: Vec<Vec<E>>,
}

/// `batched_siren` on the CPU, on operands the caller checked: `coords (n, d)`, layer `l`'s
/// weights `(b, o_l * i_l)` (row-major `(o_l, i_l)` per network) and biases `(b, o_l)`.
pub(super) fn batched_siren<E: Float, T: Tape<E, Cpu>>(
    tr: &mut Tracer<E, Cpu, T>,
    coords: &Matrix<E, Cpu>,
    layers: &[BatchedLayer<E, Cpu>],
    w0: E,
) -> Stack<E, Cpu>
where
    Cpu: Device<E>,
{
    let (n, d) = *coords.shape();
    let b = layers[0].1.shape().0;
    let x = host_vec(coords);
    // (fan_in, fan_out, weights, biases) of every layer, host side.
    let host: Vec<(usize, usize, Vec<E>, Vec<E>)> = layers
        .iter()
        .scan(d, |fan_in, (w, bias)| {
            let (i, o) = (*fan_in, bias.shape().1);
            *fan_in = o;
            Some((i, o, host_vec(w), host_vec(bias)))
        })
        .collect();
    let last = host.len() - 1;
    let out = host[last].1;
    let sine = LayerActivation::Sine(w0.as_f64());
    let plan = RowPlan::for_order(1, Order::Value);
    let mut y = vec![E::zero(); b * n * out];
    let passes: Vec<Pass<E>> = y
        .par_chunks_mut(n * out)
        .enumerate()
        .map(|(f, y)| {
            let mut pass = Pass {
                pre: Vec::with_capacity(last),
                hidden: Vec::with_capacity(last),
            };
            for (l, (i, o, w, bias)) in host.iter().enumerate() {
                let (w, bias) = (&w[f * o * i..(f + 1) * o * i], &bias[f * o..(f + 1) * o]);
                let input = if l == 0 { &x } else { &pass.hidden[l - 1] };
                if l == last {
                    Prepared::transposed(w, *o, *i).times(input, y, E::one());
                    for row in y.chunks_exact_mut(*o) {
                        row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
                    }
                } else {
                    let mut p = vec![E::zero(); n * o];
                    Prepared::transposed(w, *o, *i).times(input, &mut p, w0);
                    let scaled: Vec<E> = bias.iter().map(|&b| b * w0).collect();
                    let mut h = vec![E::zero(); n * o];
                    activate_chunk(sine, &plan, *o, &scaled, &[], &mut p, &mut h);
                    pass.pre.push(p);
                    pass.hidden.push(h);
                }
            }
            pass
        })
        .collect();
    let y = coords.device().tensor_from_vec(y, (b, n, out));
    let y_for_grad = y.clone();
    let params: Vec<BatchedLayer<E, Cpu>> = layers.to_vec();
    record_backward(tr, move |grads| {
        let gy: Vec<E> = gradient_mut(grads, &y_for_grad).to_vec();
        // Per network, per layer: (weight gradient, bias gradient).
        let per_network: Vec<Vec<(Vec<E>, Vec<E>)>> = passes
            .into_par_iter()
            .enumerate()
            .map(|(f, pass)| {
                let mut g = gy[f * n * out..(f + 1) * n * out].to_vec();
                let mut layer_grads = Vec::with_capacity(host.len());
                for (l, (i, o, w, _)) in host.iter().enumerate().rev() {
                    let w = &w[f * o * i..(f + 1) * o * i];
                    // g: the gradient of this layer's affine output (scaled by w0 if hidden).
                    let scale = if l == last {
                        E::one()
                    } else {
                        activate_backward_chunk(sine, &plan, *o, &[], &pass.pre[l], &mut g, None);
                        w0
                    };
                    let input = if l == 0 { &x } else { &pass.hidden[l - 1] };
                    let mut gw = vec![E::zero(); o * i];
                    matmul::add_transpose_times_on_this_thread(&g, input, &mut gw, *o, *i, scale);
                    let mut gb = vec![E::zero(); *o];
                    for row in g.chunks_exact(*o) {
                        gb.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
                    }
                    gb.iter_mut().for_each(|v| *v *= scale);
                    if l > 0 {
                        let mut gh = vec![E::zero(); n * i];
                        Prepared::plain(w, *o, *i).times(&g, &mut gh, scale);
                        g = gh;
                    }
                    layer_grads.push((gw, gb));
                }
                layer_grads.reverse();
                layer_grads
            })
            .collect();
        for (l, (w, bias)) in params.iter().enumerate() {
            add_shares(
                gradient_mut(grads, w),
                per_network.iter().map(|net| &net[l].0),
            );
            add_shares(
                gradient_mut(grads, bias),
                per_network.iter().map(|net| &net[l].1),
            );
        }
    });
    y
}

/// Adds each network's share, network after network, to its rows of a batched gradient.
fn add_shares<'a, E: Float>(grad: &mut [E], shares: impl Iterator<Item = &'a Vec<E>>) {
    let mut at = 0;
    for share in shares {
        grad[at..at + share.len()]
            .iter_mut()
            .zip(share)
            .for_each(|(g, &v)| *g += v);
        at += share.len();
    }
}
