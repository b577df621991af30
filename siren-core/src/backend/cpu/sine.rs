//! $\sin(\omega x)$ element-wise as one CPU op, through the fused layers' activation kernels.

use dfdx::prelude::*;

use super::activation::{activate, activate_backward};
use super::op::{gradient_mut, record_backward};
use super::rows::RowPlan;
use crate::jet::Order;
use crate::model::activation::LayerActivation;
use crate::tensor::host_vec;
use crate::tracer::Tracer;
use crate::Float;

/// `sine` on the CPU: the vectorised, multi-threaded kernels of a fused sine layer (value rows
/// only), keeping $\omega x$ for the backward pass ($\bar x = \omega\, \bar y \cos(\omega x)$).
pub(super) fn sine<S: Shape, E: Float, T: Tape<E, Cpu>>(
    tr: &mut Tracer<E, Cpu, T>,
    x: Tensor<S, E, Cpu>,
    w0: E,
) -> Tensor<S, E, Cpu>
where
    Cpu: Device<E>,
{
    // Rows of the last axis are the kernels' points; the bias is zero.
    let m = x.shape().concrete().into_iter().last().unwrap_or(1).max(1);
    let act = LayerActivation::Sine(w0.as_f64());
    let plan = RowPlan::for_order(1, Order::Value);
    let mut p: Vec<E> = host_vec(&x).into_iter().map(|v| v * w0).collect();
    let mut y = vec![E::zero(); p.len()];
    if !p.is_empty() {
        activate(act, &plan, m, &vec![E::zero(); m], &mut p, &mut y);
    }
    let out = x.device().tensor_from_vec(y, *x.shape());
    let out_for_grad = out.clone();
    record_backward(tr, move |grads| {
        let mut g = gradient_mut(grads, &out_for_grad).to_vec();
        if !g.is_empty() {
            activate_backward(act, &plan, m, &p, &mut g, None);
        }
        let gx = gradient_mut(grads, &x);
        gx.iter_mut().zip(&g).for_each(|(gx, &g)| *gx += w0 * g);
    });
    out
}
