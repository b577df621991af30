//! The value and gradient of a network with one output, by reverse mode inside the op.
//!
//! Carrying $d$ tangent rows forward costs $3(1 + d)$ row-products per layer and point (the
//! stack's product, then $\bar W$ and $\bar H$ over it). For one output the gradient is
//! cheaper backwards: with $P_l = \omega_l (W_l h_{l-1} + b_l)$, $h_l = \sigma_l(P_l)$ and
//! $f = h_L$, the sensitivities of $f$ to each layer's input,
//!
//! $$\delta_l = a_{l+1} \odot \sigma_l'(P_l), \qquad a_l = \omega_l W_l^\top \delta_l,
//!   \qquad a_{L+1} = 1,$$
//!
//! give $\partial_j f = \sum_c a_{0,c}\, e_c'(x_j)$ over the input features $e_c$ of $x_j$.
//! Given the loss gradients $\bar f$ and $\bar g_j$ of the value and the gradient, the
//! backward pass runs this recurrence in reverse (up the layers) and then the value's
//! (down the layers):
//!
//! $$\bar a_0 = \bar g_j\, e_c'(x_j),\quad \bar\delta_l = \omega_l W_l \bar a_l,\quad
//!   \bar a_{l+1} = \bar\delta_l \odot \sigma_l'(P_l),\quad
//!   \bar P_l \mathrel{+}= \bar\delta_l \odot a_{l+1} \odot \sigma_l''(P_l),\quad
//!   \bar W_l \mathrel{+}= \omega_l\, \delta_l \bar a_l^\top,$$
//!
//! then the usual $\bar P_L \mathrel{+}= \bar f \sigma_L'(P_L)$,
//! $\bar W_l \mathrel{+}= \omega_l \bar P_l h_{l-1}^\top$, $\bar b_l = \omega_l \bar P_l$ and
//! $\bar P_{l-1} \mathrel{+}= \omega_l (W_l^\top \bar P_l) \odot \sigma_{l-1}'(P_{l-1})$.
//! That is six row-products per layer and point instead of twelve at $d = 3$ (nine at
//! $d = 2$). Both passes run chunk by chunk on every thread, like the tangent op's
//! ([`super::forward`]); the pre-activations $P_l$ and the sensitivities $a_l$ are kept for
//! the backward pass, and $\delta_l$ and $h_l$ are recomputed from them there.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::activation::{activate_backward_chunk, activate_chunk, slope, slope_backward};
use super::backward::{add_weight_gradients, in_fixed_groups, zero_shares, Shares};
use super::buffers::{pool, BufferPool, PerThread};
use super::input::{input_slopes, input_slopes_backward};
use super::layers::{kernel_layers, widest, KernelLayer};
use super::matmul;
use super::op::{gradient_mut, record_backward};
use super::rows::{chunk_points, RowPlan};
use crate::jet::{Jet, Order};
use crate::model::config::Encoding;
use crate::model::network::Network;
use crate::tensor::{host_vec, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// Whether reverse mode computes what `plan` asks for with fewer products than forward
/// tangents: the value and gradient alone, of one output, over two or more coordinates.
pub(super) fn applies<E>(plan: &RowPlan<E>, outputs: usize) -> bool {
    plan.gradient && plan.rows.is_empty() && plan.pairs.is_empty() && outputs == 1 && plan.d >= 2
}

/// Per-thread buffers of a chunk's passes.
struct Scratch<E> {
    /// $P_l$ and $a_l$ when the tape does not record (nothing is kept).
    pre: Vec<Vec<E>>,
    along: Vec<Vec<E>>,
    /// One share of the backward pass's $\bar P_l$ per layer (the $\sigma''$ terms).
    extra: Vec<Vec<E>>,
    h_in: Vec<E>,
    h_out: Vec<E>,
    delta: Vec<E>,
    ones: Vec<E>,
}

impl<E> Scratch<E> {
    fn new() -> Self {
        Scratch {
            pre: Vec::new(),
            along: Vec::new(),
            extra: Vec::new(),
            h_in: Vec::new(),
            h_out: Vec::new(),
            delta: Vec::new(),
            ones: Vec::new(),
        }
    }
}

/// `bufs` resized to `r` rows of each layer's `width`, as slices.
fn sized<'b, E: Float>(
    bufs: &'b mut Vec<Vec<E>>,
    layers: &[KernelLayer<E>],
    r: usize,
    width: impl Fn(&KernelLayer<E>) -> usize,
) -> Vec<&'b mut [E]> {
    bufs.resize_with(layers.len(), Vec::new);
    bufs.iter_mut()
        .zip(layers)
        .map(|(b, l)| {
            b.resize(r * width(l), E::zero());
            &mut b[..]
        })
        .collect()
}

/// `r` ones: $a_{L+1}$.
fn ones<E: Float>(buf: &mut Vec<E>, r: usize) -> &[E] {
    buf.clear();
    buf.resize(r, E::one());
    buf
}

/// Everything the backward pass needs.
struct Saved<E: Float> {
    points: usize,
    d: usize,
    coords: Tensor<(usize, usize), E, Cpu>,
    coord_values: Vec<E>,
    encoding: Encoding,
    input: Vec<E>,
    slopes: Vec<E>,
    coord_of: Vec<usize>,
    layers: Vec<KernelLayer<E>>,
    /// $P_l$, `(N, fan_out)` per layer.
    pre: Vec<Vec<E>>,
    /// $a_l$, `(N, fan_in)` per layer.
    along: Vec<Vec<E>>,
}

/// `Network::jet` at [`Order::Gradient`] for a network with one output (see [`applies`]).
pub(super) fn jet<E: Float, T: Tape<E, Cpu>>(
    net: &Network<E, Cpu>,
    coords: &Tensor<(usize, usize), E, Cpu>,
    tracer: &mut Tracer<E, Cpu, T>,
) -> Jet<E, Cpu>
where
    Cpu: Device<E>,
{
    let (n, d) = *coords.shape();
    let coord_values = host_vec(coords);
    let encoding = net.config().encoding;
    let (input, slopes, coord_of) = input_slopes(encoding, &coord_values, n, d);
    let features = coord_of.len();
    let layers = kernel_layers(net);
    debug_assert_eq!(layers[0].fan_in, features);
    let last = layers.len() - 1;
    debug_assert_eq!(layers[last].fan_out, 1);
    let value_plan = RowPlan::<E>::for_order(d, Order::Value);
    let pool = pool::<E>();
    let record = T::OWNS_TAPE;

    let take = |width: fn(&KernelLayer<E>) -> usize| -> Vec<Vec<E>> {
        if record {
            layers.iter().map(|l| pool.take(n * width(l))).collect()
        } else {
            Vec::new()
        }
    };
    let mut pre = take(|l| l.fan_out);
    let mut along = take(|l| l.fan_in);
    let mut value = vec![E::zero(); n];
    let mut gradient = vec![E::zero(); n * d];
    let weights_t: Vec<_> = layers.iter().map(KernelLayer::transposed).collect();
    let weights_plain: Vec<_> = layers.iter().map(KernelLayer::plain).collect();
    let chunk = chunk_points(&value_plan, widest(&layers));
    let mut pre_chunks: Vec<_> = pre
        .iter_mut()
        .zip(&layers)
        .map(|(p, l)| p.chunks_mut(chunk * l.fan_out))
        .collect();
    let mut along_chunks: Vec<_> = along
        .iter_mut()
        .zip(&layers)
        .map(|(a, l)| a.chunks_mut(chunk * l.fan_in))
        .collect();
    let work: Vec<_> = input
        .chunks(chunk * features)
        .zip(slopes.chunks(chunk * features))
        .zip(value.chunks_mut(chunk))
        .zip(gradient.chunks_mut(chunk * d))
        .map(|(((x, s), v), g)| {
            let p: Vec<&mut [E]> = pre_chunks.iter_mut().flat_map(|it| it.next()).collect();
            let a: Vec<&mut [E]> = along_chunks.iter_mut().flat_map(|it| it.next()).collect();
            (x, s, v, g, p, a)
        })
        .collect();
    drop((pre_chunks, along_chunks));
    let scratch = PerThread::new();
    work.into_par_iter()
        .for_each(|(x, slope_chunk, v, g, kept_pre, kept_along)| {
            scratch.with(Scratch::new, |s: &mut Scratch<E>| {
                let r = v.len();
                let (mut pre, mut along) = if record {
                    (kept_pre, kept_along)
                } else {
                    (
                        sized(&mut s.pre, &layers, r, |l| l.fan_out),
                        sized(&mut s.along, &layers, r, |l| l.fan_in),
                    )
                };
                // The value, layer by layer.
                for (l, layer) in layers.iter().enumerate() {
                    let src: &[E] = if l == 0 { x } else { &s.h_in[..] };
                    weights_t[l].times(src, &mut *pre[l], layer.scale);
                    s.h_out.resize(r * layer.fan_out, E::zero());
                    let (m, bias) = (layer.fan_out, &layer.bias);
                    activate_chunk(
                        layer.act,
                        &value_plan,
                        m,
                        bias,
                        &[],
                        &mut *pre[l],
                        &mut s.h_out,
                    );
                    std::mem::swap(&mut s.h_in, &mut s.h_out);
                }
                v.copy_from_slice(&s.h_in[..r]);
                // Its sensitivities, back down.
                let ones = ones(&mut s.ones, r);
                for (l, layer) in layers.iter().enumerate().rev() {
                    let (below, above) = along.split_at_mut(l + 1);
                    let up: &[E] = if l == last { ones } else { &above[0][..] };
                    s.delta.resize(r * layer.fan_out, E::zero());
                    slope(layer.act, &*pre[l], up, &mut s.delta);
                    weights_plain[l].times(&s.delta, &mut *below[l], layer.scale);
                }
                let a0 = &along[0];
                g.iter_mut().for_each(|v| *v = E::zero());
                for p in 0..r {
                    for (col, &j) in coord_of.iter().enumerate() {
                        let at = p * features + col;
                        g[p * d + j] += a0[at] * slope_chunk[at];
                    }
                }
            })
        });
    drop(scratch);
    drop((weights_t, weights_plain));

    let dev = net.device();
    let value: Tensor<(usize, usize), E, Cpu> = dev.tensor_from_vec(value, (n, 1));
    let by_coord: Vec<E> = (0..d)
        .flat_map(|j| gradient.iter().skip(j).step_by(d).copied())
        .collect();
    let gradient: Tensor<(usize, usize, usize), E, Cpu> = dev.tensor_from_vec(by_coord, (d, n, 1));
    if record {
        let saved = Saved {
            points: n,
            d,
            coords: coords.clone(),
            coord_values,
            encoding,
            input,
            slopes,
            coord_of,
            layers,
            pre,
            along,
        };
        let (weights, biases): (Vec<_>, Vec<_>) = net
            .layers()
            .iter()
            .map(|l| (l.weight.clone(), l.bias.clone()))
            .unzip();
        let outputs = (value.clone(), gradient.clone());
        record_backward(tracer, move |grads| {
            backward(saved, outputs, &weights, &biases, grads, pool)
        });
    } else {
        pool.give(input);
    }
    Jet {
        value,
        gradient: Some(gradient),
        hessian_diag: None,
        hessian_mixed: None,
        operator_values: None,
        operators: Vec::new(),
    }
}

/// Adds the gradients of the weights, biases and coordinates to `grads`, given those of the
/// value and the gradient.
fn backward<E: Float>(
    saved: Saved<E>,
    (value, gradient): (Matrix<E, Cpu>, Stack<E, Cpu>),
    weights: &[Tensor<(usize, usize), E, Cpu>],
    biases: &[Tensor<(usize,), E, Cpu>],
    grads: &mut Gradients<E, Cpu>,
    pool: &BufferPool<E>,
) {
    let Saved {
        points: n,
        d,
        coords,
        coord_values,
        encoding,
        input,
        slopes,
        coord_of,
        layers,
        pre,
        along,
    } = saved;
    let features = coord_of.len();
    let last = layers.len() - 1;
    let value_plan = RowPlan::<E>::for_order(d, Order::Value);
    let f_bar = gradient_mut(grads, &value).to_vec();
    let g_by_coord = gradient_mut(grads, &gradient);
    let mut g_bar = vec![E::zero(); n * d];
    for j in 0..d {
        for p in 0..n {
            g_bar[p * d + j] = g_by_coord[j * n + p];
        }
    }

    let weights_t: Vec<_> = layers.iter().map(KernelLayer::transposed).collect();
    let weights_plain: Vec<_> = layers.iter().map(KernelLayer::plain).collect();
    let chunk = chunk_points(&value_plan, widest(&layers));
    let mut dx = pool.take(n * features);
    let mut pre_chunks: Vec<_> = pre
        .iter()
        .zip(&layers)
        .map(|(p, l)| p.chunks(chunk * l.fan_out))
        .collect();
    let mut along_chunks: Vec<_> = along
        .iter()
        .zip(&layers)
        .map(|(a, l)| a.chunks(chunk * l.fan_in))
        .collect();
    let work: Vec<_> = f_bar
        .chunks(chunk)
        .zip(g_bar.chunks(chunk * d))
        .zip(input.chunks(chunk * features))
        .zip(slopes.chunks(chunk * features))
        .zip(dx.chunks_mut(chunk * features))
        .map(|((((fb, gb), x), s), dx)| {
            let p: Vec<&[E]> = pre_chunks.iter_mut().flat_map(|it| it.next()).collect();
            let a: Vec<&[E]> = along_chunks.iter_mut().flat_map(|it| it.next()).collect();
            (fb, gb, x, s, dx, p, a)
        })
        .collect();
    drop((pre_chunks, along_chunks));
    let scratch = PerThread::new();
    let shares: Vec<Shares<E>> = in_fixed_groups(work)
        .into_par_iter()
        .map(|group| {
            let mut sums = zero_shares(&layers);
            scratch.with(Scratch::new, |s: &mut Scratch<E>| {
                for (f_bar, g_bar, x, slope_chunk, dx, pre, along) in group {
                    let r = f_bar.len();
                    let mut extra = sized(&mut s.extra, &layers, r, |l| l.fan_out);
                    // Up the layers: the gradient's recurrence in reverse. `h_in` holds the
                    // loss gradient of the current layer's a_l, starting from the features'.
                    s.h_in.resize(r * features, E::zero());
                    for p in 0..r {
                        for (col, &j) in coord_of.iter().enumerate() {
                            let at = p * features + col;
                            s.h_in[at] = g_bar[p * d + j] * slope_chunk[at];
                        }
                    }
                    let ones = ones(&mut s.ones, r);
                    for (l, layer) in layers.iter().enumerate() {
                        let up: &[E] = if l == last { ones } else { along[l + 1] };
                        let m = layer.fan_out;
                        s.delta.resize(r * m, E::zero());
                        slope(layer.act, pre[l], up, &mut s.delta);
                        let dw = &mut sums[l].0;
                        let a_bar = &s.h_in[..];
                        matmul::add_transpose_times_on_this_thread(
                            &s.delta,
                            a_bar,
                            dw,
                            m,
                            layer.fan_in,
                            E::one(),
                        );
                        // delta is done with: it now holds its loss gradient.
                        weights_t[l].times(a_bar, &mut s.delta, layer.scale);
                        let next = (l < last).then(|| {
                            s.h_out.resize(r * m, E::zero());
                            &mut s.h_out[..]
                        });
                        slope_backward(layer.act, pre[l], up, &s.delta, next, &mut *extra[l]);
                        if l < last {
                            std::mem::swap(&mut s.h_in, &mut s.h_out);
                        }
                    }
                    // Down the layers: the value's backward pass, with the terms above added.
                    let cur = &mut s.h_in;
                    cur.clear();
                    cur.extend_from_slice(f_bar);
                    let top = &layers[last];
                    activate_backward_chunk(top.act, &value_plan, 1, &[], pre[last], cur, None);
                    add_into(cur, &*extra[last]);
                    for (l, layer) in layers.iter().enumerate().rev() {
                        let (dw, db) = &mut sums[l];
                        for row in s.h_in.chunks_exact(layer.fan_out) {
                            db.iter_mut().zip(row).for_each(|(b, &v)| *b += v);
                        }
                        if l == 0 {
                            matmul::add_transpose_times_on_this_thread(
                                &s.h_in,
                                x,
                                dw,
                                layer.fan_out,
                                features,
                                E::one(),
                            );
                            weights_plain[0].times(&s.h_in, dx, layer.scale);
                            break;
                        }
                        let k = layer.fan_in;
                        s.h_out.resize(r * k, E::zero());
                        weights_plain[l].times(&s.h_in, &mut s.h_out, layer.scale);
                        s.delta.resize(r * k, E::zero());
                        let below = layers[l - 1].act;
                        let h = Some(&mut s.delta[..]);
                        activate_backward_chunk(
                            below,
                            &value_plan,
                            k,
                            &[],
                            pre[l - 1],
                            &mut s.h_out,
                            h,
                        );
                        matmul::add_transpose_times_on_this_thread(
                            &s.h_in,
                            &s.delta,
                            dw,
                            layer.fan_out,
                            k,
                            E::one(),
                        );
                        add_into(&mut s.h_out, &*extra[l - 1]);
                        std::mem::swap(&mut s.h_in, &mut s.h_out);
                    }
                }
            });
            sums
        })
        .collect();
    drop((weights_t, weights_plain));
    add_weight_gradients(&layers, shares, weights, biases, grads);
    let dc = gradient_mut(grads, &coords);
    input_slopes_backward(encoding, &coord_values, d, &dx, &along[0], &g_bar, dc);
    pool.give(dx);
    pool.give(input);
    for buf in pre.into_iter().chain(along) {
        pool.give(buf);
    }
}

/// `acc += v`, element by element.
fn add_into<E: Float>(acc: &mut [E], v: &[E]) {
    acc.iter_mut().zip(v).for_each(|(a, &b)| *a += b);
}
