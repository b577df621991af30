//! Adam's update and the gradient's norm on the CPU, one pass over each tensor.
//!
//! As dfdx ops ([`super::adam_tensor`]) a step of a two-million-parameter hypernetwork took
//! about 10 ms on two cores: each operation is a single-threaded pass over memory and most
//! allocate. Here the moments are host vectors ([`super::Moments::Host`]) and one pass,
//! split across rayon's threads, reads $g, m, v$ and writes $m, v$ and the step
//! $d = m / (\sqrt v + \epsilon)$; the parameter then takes $\theta + (-\eta_t) d$ in place
//! (dfdx's `axpy`). The formulas are the ops' in the same order of `E` operations, so the
//! step is theirs to the bit (tested in [`super`]). The norm is summed in `f64` over blocks
//! of a fixed size, so its value does not depend on the number of threads.

use std::any::{Any, TypeId};
use std::mem::MaybeUninit;

use dfdx::prelude::*;
use rayon::prelude::*;

use super::AdamConfig;
use crate::Float;

/// Elements per block of the parallel passes.
const BLOCK: usize = 1 << 14;

/// Whether the device `D` runs this update.
pub(super) fn runs_on<E: Float, D: Device<E>>() -> bool {
    TypeId::of::<D>() == TypeId::of::<Cpu>()
}

/// `t`'s gradient in `grads`, in place, when the device is the CPU.
fn cpu_gradient<'g, S: Shape, E: Float, D: Device<E>>(
    grads: &'g mut Gradients<E, D>,
    t: &Tensor<S, E, D>,
) -> Option<&'g mut [E]> {
    let grads = (grads as &mut dyn Any).downcast_mut::<Gradients<E, Cpu>>()?;
    let t = (t as &dyn Any).downcast_ref::<Tensor<S, E, Cpu>>()?;
    let g = grads
        .get_or_alloc_mut(t)
        .expect("the CPU allocates gradients infallibly");
    Some(&mut g[..])
}

/// $\lVert g \rVert^2$ of `t`'s gradient, or `None` off the CPU.
pub(super) fn squared_norm<S: Shape, E: Float, D: Device<E>>(
    grads: &mut Gradients<E, D>,
    t: &Tensor<S, E, D>,
) -> Option<f64> {
    let g = cpu_gradient(grads, t)?;
    let blocks: Vec<f64> = g.par_chunks(BLOCK).map(sum_of_squares).collect();
    Some(blocks.iter().sum())
}

/// $\sum_i x_i^2$ in `f64`, in eight lanes (one chain of additions would wait on each).
fn sum_of_squares<E: Float>(x: &[E]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let blocks = x.chunks_exact(8);
    let tail: f64 = blocks.remainder().iter().map(|&v| v.as_f64().powi(2)).sum();
    for b in blocks {
        for j in 0..8 {
            lanes[j] += b[j].as_f64() * b[j].as_f64();
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// The constants of one update, as dfdx's `axpy` and `* scale` make them.
pub(super) struct Step<E> {
    beta1: E,
    rest1: E,
    beta2: E,
    rest2: E,
    eps: E,
    /// `-step_size`, in `f64` as `axpy` takes it.
    minus_step: f64,
    /// The clipping factor, when it is not 1.
    scale: Option<E>,
}

impl<E: Float> Step<E> {
    pub(super) fn new(c: AdamConfig, scale: f64, step_size: f64, eps: E) -> Self {
        Step {
            beta1: E::of(c.beta1),
            rest1: E::of(1.0 - c.beta1),
            beta2: E::of(c.beta2),
            rest2: E::of(1.0 - c.beta2),
            eps,
            minus_step: -step_size,
            scale: (scale != 1.0).then(|| E::of(scale)),
        }
    }

    /// Updates `m` and `v` from `g` and writes the step direction to `d`.
    #[inline(always)]
    fn moments(&self, g: &[E], m: &mut [E], v: &mut [E], d: &mut [MaybeUninit<E>]) {
        for i in 0..g.len() {
            let g = match self.scale {
                Some(s) => g[i] * s,
                None => g[i],
            };
            m[i] = m[i] * self.beta1 + g * self.rest1;
            v[i] = v[i] * self.beta2 + g.powi(2) * self.rest2;
            d[i].write(m[i] / (v[i].sqrt() + self.eps));
        }
    }
}

/// One Adam update of `param` with moments `(m, v)`.
///
/// # Panics
/// Off the CPU: the moments are host vectors only there ([`runs_on`]).
pub(super) fn update<S: Shape, E: Float, D: Device<E>>(
    param: &mut Tensor<S, E, D>,
    grads: &mut Gradients<E, D>,
    (m, v): &mut (Vec<E>, Vec<E>),
    step: &Step<E>,
) {
    let g = cpu_gradient(grads, param).expect("host moments are made only on the CPU");
    let n = g.len();
    assert!(
        m.len() == n && v.len() == n,
        "the moments fit the parameter"
    );
    let mut direction: Vec<E> = Vec::with_capacity(n);
    g.par_chunks(BLOCK)
        .zip(m.par_chunks_mut(BLOCK))
        .zip(v.par_chunks_mut(BLOCK))
        .zip(direction.spare_capacity_mut()[..n].par_chunks_mut(BLOCK))
        .for_each(|(((g, m), v), d)| step.moments(g, m, v, d));
    // SAFETY: the pass above wrote all n values.
    unsafe { direction.set_len(n) };
    let direction = param.device().tensor_from_vec(direction, *param.shape());
    param.axpy(1.0, &direction, step.minus_step);
}
