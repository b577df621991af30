//! The fused op's backward pass: the loss gradient of the output stack back through every
//! layer to the weights, the biases and the input coordinates (formulas in [`super`]'s docs).

use dfdx::prelude::*;
use rayon::prelude::*;

use super::activation::activate_backward_chunk;
use super::buffers::{BufferPool, PerThread};
use super::input::input_stack_backward;
use super::layers::{widest, KernelLayer};
use super::matmul;
use super::op::gradient_mut;
use super::rows::{chunk_points, RowPlan};
use crate::model::activation::LayerActivation;
use crate::model::config::Encoding;
use crate::Float;

/// Groups of chunks whose weight-gradient shares the backward pass sums separately (a fixed
/// number, so the summation order does not depend on the machine's thread count).
const SUM_GROUPS: usize = 16;

/// One share of the weight and bias gradients per layer (unscaled by $\omega_0$).
pub(super) type Shares<E> = Vec<(Vec<E>, Vec<E>)>;

/// Zero weight and bias gradients for `layers`.
pub(super) fn zero_shares<E: Float>(layers: &[KernelLayer<E>]) -> Shares<E> {
    layers
        .iter()
        .map(|l| {
            (
                vec![E::zero(); l.fan_out * l.fan_in],
                vec![E::zero(); l.fan_out],
            )
        })
        .collect()
}

/// The chunks of a backward pass in contiguous groups, each summing its gradient share. The
/// shares are summed in a fixed order (the chunks in a group, then the groups in turn)
/// whatever thread runs what, so that a step is bit-identical from run to run (resumed runs
/// rely on it).
pub(super) fn in_fixed_groups<T>(work: Vec<T>) -> Vec<Vec<T>> {
    let groups = work.len().clamp(1, SUM_GROUPS);
    let per_group = work.len().div_ceil(groups).max(1);
    let mut grouped: Vec<Vec<T>> = Vec::with_capacity(groups);
    let mut items = work.into_iter().peekable();
    while items.peek().is_some() {
        grouped.push(items.by_ref().take(per_group).collect());
    }
    grouped
}

/// Sums the groups' shares in order and adds them, scaled by each layer's $\omega_0$, to the
/// weights' and biases' gradients.
pub(super) fn add_weight_gradients<E: Float>(
    layers: &[KernelLayer<E>],
    shares: Vec<Shares<E>>,
    weights: &[Tensor<(usize, usize), E, Cpu>],
    biases: &[Tensor<(usize,), E, Cpu>],
    grads: &mut Gradients<E, Cpu>,
) {
    let sums = shares
        .into_iter()
        .reduce(|mut a, b| {
            for ((dw, db), (dw2, db2)) in a.iter_mut().zip(&b) {
                dw.iter_mut().zip(dw2).for_each(|(x, &y)| *x += y);
                db.iter_mut().zip(db2).for_each(|(x, &y)| *x += y);
            }
            a
        })
        .unwrap_or_else(|| zero_shares(layers));
    for (l, (layer, (dw_sum, db_sum))) in layers.iter().zip(&sums).enumerate() {
        let dw = gradient_mut(grads, &weights[l]);
        dw.iter_mut()
            .zip(dw_sum)
            .for_each(|(a, &v)| *a += layer.scale * v);
        let db = gradient_mut(grads, &biases[l]);
        db.iter_mut()
            .zip(db_sum)
            .for_each(|(a, &v)| *a += layer.scale * v);
    }
}

/// Everything the backward pass needs.
pub(super) struct Saved<E: Float> {
    pub(super) plan: RowPlan<E>,
    pub(super) points: usize,
    /// The coordinates: their tensor (for its gradient), values and encoding.
    pub(super) coords: Tensor<(usize, usize), E, Cpu>,
    pub(super) coord_values: Vec<E>,
    pub(super) encoding: Encoding,
    pub(super) input: Vec<E>,
    pub(super) layers: Vec<KernelLayer<E>>,
    /// Pre-activation stack of every layer, bias included.
    pub(super) pre: Vec<Vec<E>>,
}

/// An output stack tensor `(rows, N, c)` with the stack rows it holds.
pub(super) type RowsOut<E> = Option<(Tensor<(usize, usize, usize), E, Cpu>, Vec<usize>)>;

/// The op's output tensors.
pub(super) struct Outputs<E: Float> {
    pub(super) value: Tensor<(usize, usize), E, Cpu>,
    pub(super) gradient: RowsOut<E>,
    pub(super) second: RowsOut<E>,
    pub(super) mixed: RowsOut<E>,
}

/// Adds the gradients of the weights, biases and coordinates to `grads`.
pub(super) fn backward<E: Float>(
    saved: Saved<E>,
    outputs: Outputs<E>,
    weights: &[Tensor<(usize, usize), E, Cpu>],
    biases: &[Tensor<(usize,), E, Cpu>],
    grads: &mut Gradients<E, Cpu>,
    pool: &BufferPool<E>,
) {
    let Saved {
        plan,
        points: n,
        coords,
        coord_values,
        encoding,
        input,
        layers,
        pre,
    } = saved;
    let rows = n * plan.k;
    let c = layers.last().expect("layers").fan_out;

    // The loss gradient of the output stack, gathered from the jet's tensors.
    let mut g = pool.take(rows * c);
    g.iter_mut().for_each(|v| *v = E::zero());
    let value_grad = gradient_mut(grads, &outputs.value);
    for p in 0..n {
        let at = p * plan.k * c;
        g[at..at + c].copy_from_slice(&value_grad[p * c..(p + 1) * c]);
    }
    for (t, stack_rows) in [outputs.gradient, outputs.second, outputs.mixed]
        .into_iter()
        .flatten()
    {
        let buf = gradient_mut(grads, &t);
        for (b, &r) in stack_rows.iter().enumerate() {
            for p in 0..n {
                let at = (p * plan.k + r) * c;
                let from = (b * n + p) * c;
                g[at..at + c].copy_from_slice(&buf[from..from + c]);
            }
        }
    }

    // Depth first, as the forward pass: each chunk of points goes back through every layer
    // on one thread (the gradient of a layer's input, the chain rule into the previous
    // pre-activation with that layer's output recomputed alongside, and the chunk's share of
    // the weight and bias gradients), so the gradient stacks stay in cache.
    let last = layers.len() - 1;
    let features = layers[0].fan_in;
    let chunk_rows = chunk_points::<E>(&plan, widest(&layers)) * plan.k;
    let weights_plain: Vec<matmul::Prepared<E>> = layers.iter().map(KernelLayer::plain).collect();
    let mut dx = pool.take(rows * features);
    let mut pre_chunks: Vec<_> = pre
        .iter()
        .zip(&layers)
        .map(|(p, l)| p.chunks(chunk_rows * l.fan_out))
        .collect();
    let work: Vec<_> = g
        .chunks_mut(chunk_rows * c)
        .zip(input.chunks(chunk_rows * features))
        .zip(dx.chunks_mut(chunk_rows * features))
        .enumerate()
        .map(|(i, ((g, x), dx))| {
            let p: Vec<&[E]> = pre_chunks
                .iter_mut()
                .map(|it| it.next().expect("same chunks"))
                .collect();
            let points = chunk_rows / plan.k;
            (g, x, dx, p, plan.coefficients(i * points, points))
        })
        .collect();
    drop(pre_chunks);
    let scratch = PerThread::new();
    let shares: Vec<Shares<E>> = in_fixed_groups(work)
        .into_par_iter()
        .map(|group| {
            let mut sums = zero_shares(&layers);
            scratch.with(
                Default::default,
                |(g_in, g_out, h): &mut (Vec<E>, Vec<E>, Vec<E>)| {
                    for (g, x, dx, p, coef) in group {
                        if layers[last].act != LayerActivation::Identity {
                            let act = layers[last].act;
                            activate_backward_chunk(act, &plan, c, coef, p[last], g, None);
                        }
                        let r = x.len() / features;
                        // The gradient of layer l's pre-activation stack (omega folded in at the end).
                        let mut cur: &[E] = g;
                        for l in (0..layers.len()).rev() {
                            let layer = &layers[l];
                            let (dw, db) = &mut sums[l];
                            for pp in cur.chunks_exact(plan.k * layer.fan_out) {
                                db.iter_mut()
                                    .zip(&pp[..layer.fan_out])
                                    .for_each(|(b, &v)| *b += v);
                            }
                            if l == 0 {
                                matmul::add_transpose_times_on_this_thread(
                                    cur,
                                    x,
                                    dw,
                                    layer.fan_out,
                                    features,
                                    E::one(),
                                );
                                // The coordinates may themselves be computed (a hypernetwork's latent
                                // code feeds its weight MLPs): they get their gradient like any input.
                                weights_plain[0].times(cur, dx, layer.scale);
                                break;
                            }
                            g_out.resize(r * layer.fan_in, E::zero());
                            // The previous pre-activation, read next, comes from memory.
                            let p_prev = p[l - 1];
                            weights_plain[l].times_fetching(cur, g_out, layer.scale, p_prev);
                            h.resize(r * layer.fan_in, E::zero());
                            let prev = layers[l - 1].act;
                            activate_backward_chunk(
                                prev,
                                &plan,
                                layer.fan_in,
                                coef,
                                p_prev,
                                g_out,
                                Some(&mut h[..]),
                            );
                            matmul::add_transpose_times_on_this_thread(
                                cur,
                                h,
                                dw,
                                layer.fan_out,
                                layer.fan_in,
                                E::one(),
                            );
                            std::mem::swap(g_in, g_out);
                            cur = g_in;
                        }
                    }
                },
            );
            sums
        })
        .collect();
    drop(weights_plain);
    add_weight_gradients(&layers, shares, weights, biases, grads);
    let dc = gradient_mut(grads, &coords);
    input_stack_backward(encoding, &coord_values, &plan, features, &dx, &mut dc[..]);
    pool.give(dx);
    pool.give(g);
    for p in pre {
        pool.give(p);
    }
    pool.give(input);
}
