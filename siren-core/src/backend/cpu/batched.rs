//! One affine map per batch entry as one CPU op: $Y_f = X_f W_f^\top + b_f$ for every entry $f$
//! (a face of a hypernetwork batch, each with its own generated layer), the entries spread
//! over the threads and each product on its own thread. Backward, per entry:
//! $\bar W_f = \bar Y_f^\top X_f$, $\bar b_f = \sum_p \bar Y_{f,p}$, $\bar X_f = \bar Y_f W_f$.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::matmul::{self, Prepared};
use super::op::{gradient_mut, record_backward};
use crate::tensor::{host_vec, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

/// `batched_affine` on the CPU, on operands the caller checked: `x (b, n, i)`, `w (b, o * i)`
/// (each row a row-major `(o, i)` weight), `bias (b, o)`, no size 0.
pub(super) fn batched_affine<E: Float, T: Tape<E, Cpu>>(
    tr: &mut Tracer<E, Cpu, T>,
    x: Stack<E, Cpu>,
    w: Matrix<E, Cpu>,
    bias: Matrix<E, Cpu>,
) -> Stack<E, Cpu>
where
    Cpu: Device<E>,
{
    let (b, n, i) = *x.shape();
    let o = bias.shape().1;
    let (xv, wv, bv) = (host_vec(&x), host_vec(&w), host_vec(&bias));
    let mut y = vec![E::zero(); b * n * o];
    y.par_chunks_mut(n * o)
        .zip(xv.par_chunks(n * i))
        .zip(wv.par_chunks(o * i).zip(bv.par_chunks(o)))
        .for_each(|((y, x), (w, bias))| {
            Prepared::transposed(w, o, i).times(x, y, E::one());
            for row in y.chunks_exact_mut(o) {
                row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
            }
        });
    let y = x.device().tensor_from_vec(y, (b, n, o));
    let y_for_grad = y.clone();
    record_backward(tr, move |grads| {
        let gy: Vec<E> = gradient_mut(grads, &y_for_grad).to_vec();
        let gw = gradient_mut(grads, &w);
        gw.par_chunks_mut(o * i)
            .zip(gy.par_chunks(n * o).zip(xv.par_chunks(n * i)))
            .for_each(|(gw, (gy, x))| {
                matmul::add_transpose_times_on_this_thread(gy, x, gw, o, i, E::one());
            });
        let gb = gradient_mut(grads, &bias);
        gb.par_chunks_mut(o)
            .zip(gy.par_chunks(n * o))
            .for_each(|(gb, gy)| {
                for row in gy.chunks_exact(o) {
                    gb.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
                }
            });
        let gx = gradient_mut(grads, &x);
        gx.par_chunks_mut(n * i)
            .zip(gy.par_chunks(n * o).zip(wv.par_chunks(o * i)))
            .for_each(|(gx, (gy, w))| {
                let mut part = vec![E::zero(); gx.len()];
                Prepared::plain(w, o, i).times(gy, &mut part, E::one());
                gx.iter_mut().zip(&part).for_each(|(g, &v)| *g += v);
            });
    });
    y
}
