//! Helpers shared by the backend comparison tests.

use dfdx::prelude::*;
use siren_core::train::TrainTracer;
use siren_core::{Backend, Float, Jet, Network, Parameters};

/// Every output of `jet` (taken at `coords` on `tracer`) and the weight, bias and coordinate
/// gradients of a loss that uses all of them, as host vectors; an empty vector before each
/// optional field marks where it would be, so that two runs carrying different fields differ.
pub fn jet_fields<E: Float, D: Backend<E>>(
    net: &Network<E, D>,
    coords: &Tensor<(usize, usize), E, D>,
    mut tracer: TrainTracer<E, D>,
    jet: Jet<E, D>,
) -> Vec<Vec<f64>> {
    let as_f64 = |v: Vec<E>| v.into_iter().map(|x| x.as_f64()).collect::<Vec<_>>();
    let mut out = vec![as_f64(jet.value.as_vec())];
    // A loss touching every field with different weights: sum of (w_k field_k - 1/2)^2.
    let mut loss = tracer.apply(jet.value.clone(), |v| {
        (v + E::of(0.3)).square().sum::<(), _>()
    });
    for (k, field) in [
        &jet.gradient,
        &jet.hessian_diag,
        &jet.hessian_mixed,
        &jet.operator_values,
    ]
    .into_iter()
    .enumerate()
    {
        out.push(Vec::new());
        if let Some(f) = field {
            out.push(as_f64(f.as_vec()));
            let w = E::of(0.7 + k as f64);
            let term = tracer.apply(f.clone(), |f| (f * w - E::of(0.5)).square().sum::<(), _>());
            loss = tracer.apply2(loss, term, |a, b| a + b);
        }
    }
    let grads = tracer.attach(loss).backward();
    for (w, b) in net.gradients(&grads) {
        out.push(as_f64(w.as_vec()));
        out.push(as_f64(b.as_vec()));
    }
    // The coordinates' own gradient, positional encoding included.
    out.push(as_f64(grads.get(coords).as_vec()));
    out
}
