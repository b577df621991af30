//! The fused op's forward pass: every chunk of points through every layer on one thread.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::activation::activate_chunk;
use super::backward::{backward, Outputs, Saved};
use super::buffers::{pool, PerThread};
use super::input::input_stack;
use super::layers::{kernel_layers, widest, KernelLayer};
use super::matmul;
use super::op::record_backward;
use super::rows::{chunk_points, RowPlan};
use crate::jet::Jet;
use crate::model::activation::LayerActivation;
use crate::model::network::Network;
use crate::tensor::host_vec;
use crate::tracer::Tracer;
use crate::Float;

/// Adds `bias` to the value row of every point (identity layers, which skip `activate`).
fn add_bias<E: Float>(plan: &RowPlan<E>, m: usize, bias: &[E], p: &mut [E]) {
    for pp in p.chunks_exact_mut(plan.k * m) {
        for (x, &b) in pp[..m].iter_mut().zip(bias) {
            *x += b;
        }
    }
}

/// `Network::jet` on the CPU: the value and the rows of `plan`, as one op on the tape.
pub(super) fn jet<E: Float, T: Tape<E, Cpu>>(
    net: &Network<E, Cpu>,
    coords: &Tensor<(usize, usize), E, Cpu>,
    plan: RowPlan<E>,
    tracer: &mut Tracer<E, Cpu, T>,
) -> Jet<E, Cpu>
where
    Cpu: Device<E>,
{
    let (n, d) = *coords.shape();
    debug_assert_eq!(d, plan.d);
    let coord_values = host_vec(coords);
    let (input, features) = input_stack(net.config().encoding, &coord_values, n, &plan);
    let layers = kernel_layers(net);
    debug_assert_eq!(layers[0].fan_in, features);

    let pool = pool::<E>();
    let record = T::OWNS_TAPE;
    let rows = n * plan.k;
    let c = layers
        .last()
        .expect("a network has at least one layer")
        .fan_out;
    // Depth first: each chunk of points goes through every layer on one thread, so a
    // layer's activated stack feeds the next product from cache and never reaches memory;
    // only the pre-activations are written out (for the backward pass).
    let mut pre: Vec<Vec<E>> = if record {
        layers.iter().map(|l| pool.take(rows * l.fan_out)).collect()
    } else {
        Vec::new()
    };
    let mut out = pool.take(rows * c);
    let weights_t: Vec<matmul::Prepared<E>> = layers.iter().map(KernelLayer::transposed).collect();
    let chunk_rows = chunk_points::<E>(&plan, widest(&layers)) * plan.k;
    let mut pre_chunks: Vec<_> = pre
        .iter_mut()
        .zip(&layers)
        .map(|(p, l)| p.chunks_mut(chunk_rows * l.fan_out))
        .collect();
    let work: Vec<_> = input
        .chunks(chunk_rows * features)
        .zip(out.chunks_mut(chunk_rows * c))
        .enumerate()
        .map(|(i, (x, o))| {
            let p: Vec<&mut [E]> = pre_chunks
                .iter_mut()
                .map(|it| it.next().expect("same chunks"))
                .collect();
            let points = chunk_rows / plan.k;
            (x, p, o, plan.coefficients(i * points, points))
        })
        .collect();
    let scratch = PerThread::new();
    work.into_par_iter().for_each(|(x, mut p_chunks, o, coef)| {
        scratch.with(
            Default::default,
            |(h_in, h_out, p_scratch): &mut (Vec<E>, Vec<E>, Vec<E>)| {
                let r = x.len() / features;
                let last = layers.len() - 1;
                for (l, layer) in layers.iter().enumerate() {
                    let p: &mut [E] = if record {
                        &mut *p_chunks[l]
                    } else {
                        p_scratch.resize(r * layer.fan_out, E::zero());
                        &mut p_scratch[..]
                    };
                    let src: &[E] = if l == 0 { x } else { &h_in[..] };
                    weights_t[l].times(src, p, layer.scale);
                    let dst: &mut [E] = if l == last {
                        &mut *o
                    } else {
                        h_out.resize(r * layer.fan_out, E::zero());
                        &mut h_out[..]
                    };
                    if layer.act == LayerActivation::Identity {
                        add_bias(&plan, layer.fan_out, &layer.bias, p);
                        dst.copy_from_slice(p);
                    } else {
                        let (m, bias) = (layer.fan_out, &layer.bias);
                        activate_chunk(layer.act, &plan, m, bias, coef, p, dst);
                    }
                    std::mem::swap(h_in, h_out);
                }
            },
        )
    });
    drop(scratch);
    drop(weights_t);

    // Split the output stack into the jet's tensors: value (N, c), then (rows, N, c) stacks.
    let dev = net.device();
    let block = |rows: &[usize]| -> Vec<E> {
        let mut v = Vec::with_capacity(rows.len() * n * c);
        for &r in rows {
            for p in 0..n {
                let at = (p * plan.k + r) * c;
                v.extend_from_slice(&out[at..at + c]);
            }
        }
        v
    };
    let grad_rows: Vec<usize> = (0..d).map(|i| plan.grad_row(i)).collect();
    let second_rows: Vec<usize> = (0..plan.rows.len()).map(|q| plan.second_row(q)).collect();
    let mixed_rows: Vec<usize> = (0..plan.pairs.len()).map(|q| plan.mixed_row(q)).collect();
    let value: Tensor<(usize, usize), E, Cpu> = dev.tensor_from_vec(block(&[0]), (n, c));
    let gradient = plan
        .gradient
        .then(|| dev.tensor_from_vec(block(&grad_rows), (d, n, c)));
    let second = (!plan.rows.is_empty())
        .then(|| dev.tensor_from_vec(block(&second_rows), (plan.rows.len(), n, c)));
    let hessian_mixed = (!plan.pairs.is_empty())
        .then(|| dev.tensor_from_vec(block(&mixed_rows), (plan.pairs.len(), n, c)));
    pool.give(out);
    let diagonal = plan.diagonal;

    if record {
        let outputs = Outputs {
            value: value.clone(),
            gradient: gradient.clone().map(|t| (t, grad_rows)),
            second: second.clone().map(|t| (t, second_rows)),
            mixed: hessian_mixed.clone().map(|t| (t, mixed_rows)),
        };
        let saved = Saved {
            plan,
            points: n,
            coords: coords.clone(),
            coord_values,
            encoding: net.config().encoding,
            input,
            layers,
            pre,
        };
        let (weights, biases): (Vec<_>, Vec<_>) = net
            .layers()
            .iter()
            .map(|l| (l.weight.clone(), l.bias.clone()))
            .unzip();
        record_backward(tracer, move |grads| {
            backward(saved, outputs, &weights, &biases, grads, pool)
        });
    }
    // The second-derivative rows are the Hessian diagonal, or the operators asked for.
    let (hessian_diag, operator_values) = if diagonal {
        (second, None)
    } else {
        (None, second)
    };
    Jet {
        value,
        gradient,
        hessian_diag,
        hessian_mixed,
        operator_values,
        // Listed by `Network::jet_operators`, which owns them.
        operators: Vec::new(),
    }
}
