//! The activation and its chain rule over chunks of stacked rows, forward and backward
//! (the formulas are in [`super`]'s docs; $\sigma$ and its derivatives come from
//! [`LayerActivation::derivatives`]).

use rayon::prelude::*;

use super::rows::RowPlan;
use super::simd::vectorised;
use crate::model::activation::LayerActivation;
use crate::Float;

/// An activation as a type, so that each kernel is compiled for one activation, with the
/// shared formulas inlined into its loop.
trait ActivationKernel: Copy + Send + Sync {
    const ACT: LayerActivation;

    /// `(s0, s1, s2, s3)` at `a`.
    #[inline(always)]
    fn derivatives<E: Float>(self, a: E) -> (E, E, E, E) {
        let [s0, s1, s2, s3] = Self::ACT.derivatives(&a);
        (s0, s1, s2, s3)
    }
}

#[derive(Clone, Copy)]
struct Sine;
impl ActivationKernel for Sine {
    const ACT: LayerActivation = LayerActivation::Sine(1.0);
}

#[derive(Clone, Copy)]
struct Tanh;
impl ActivationKernel for Tanh {
    const ACT: LayerActivation = LayerActivation::Tanh;
}

#[derive(Clone, Copy)]
struct Relu;
impl ActivationKernel for Relu {
    const ACT: LayerActivation = LayerActivation::Relu;
}

#[derive(Clone, Copy)]
struct Identity;
impl ActivationKernel for Identity {
    const ACT: LayerActivation = LayerActivation::Identity;
}

/// Points per parallel task: enough work per task, a few tasks per thread.
pub(super) fn points_per_task(points: usize, row: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let by_threads = points.div_ceil(4 * threads).max(1);
    let by_size = (1 << 14) / row.max(1);
    by_threads.max(by_size).max(1)
}

/// Forward activation of a chunk of points: adds the bias to the value row of `p` (kept for
/// the backward pass) and writes the activated stack to `h`.
#[inline(always)]
fn activate_points<E: Float, A: ActivationKernel>(
    act: A,
    plan: &RowPlan<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    if plan.k == 1 {
        // Value only: no derivative rows need s1 and s2.
        for (pp, hh) in p.chunks_exact_mut(m).zip(h.chunks_exact_mut(m)) {
            for ((x, y), &b) in pp.iter_mut().zip(hh.iter_mut()).zip(bias) {
                let a = *x + b;
                *x = a;
                *y = act.derivatives(a).0;
            }
        }
        return;
    }
    let mut s1 = vec![E::zero(); m];
    let mut s2 = vec![E::zero(); m];
    for (t, (pp, hh)) in p
        .chunks_exact_mut(plan.k * m)
        .zip(h.chunks_exact_mut(plan.k * m))
        .enumerate()
    {
        let row = |r: usize| r * m..(r + 1) * m;
        let at = &coef[t * plan.columns..(t + 1) * plan.columns];
        {
            let (p0, h0) = (&mut pp[row(0)], &mut hh[row(0)]);
            let bias = &bias[..m];
            for j in 0..m {
                let a = p0[j] + bias[j];
                p0[j] = a;
                let (y, d1, d2, _) = act.derivatives(a);
                h0[j] = y;
                s1[j] = d1;
                s2[j] = d2;
            }
        }
        if plan.gradient {
            for i in 0..plan.d {
                let g = plan.grad_row(i);
                for ((o, &x), &d1) in hh[row(g)].iter_mut().zip(&pp[row(g)]).zip(&s1) {
                    *o = d1 * x;
                }
            }
        }
        for (q, terms) in plan.rows.iter().enumerate() {
            let r = plan.second_row(q);
            let (pr, hr) = (&pp[row(r)], &mut hh[row(r)]);
            for j in 0..m {
                hr[j] = s1[j] * pr[j];
            }
            for term in terms {
                let a = term.at(at);
                let pg = &pp[row(plan.grad_row(term.coord))];
                for j in 0..m {
                    hr[j] += a * (s2[j] * pg[j] * pg[j]);
                }
            }
        }
        for (q, &(a, b)) in plan.pairs.iter().enumerate() {
            let (ga, gb, r) = (plan.grad_row(a), plan.grad_row(b), plan.mixed_row(q));
            let (pa, pb, pr) = (&pp[row(ga)], &pp[row(gb)], &pp[row(r)]);
            let hr = &mut hh[row(r)];
            for j in 0..m {
                hr[j] = s2[j] * pa[j] * pb[j] + s1[j] * pr[j];
            }
        }
    }
}

/// Backward activation of a chunk of points: turns `g` (loss gradient of the output stack)
/// into the gradient of the pre-activation stack `p`, in place, and writes the recomputed
/// output stack to `h` when given.
#[inline(always)]
fn activate_points_backward<E: Float, A: ActivationKernel>(
    act: A,
    plan: &RowPlan<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    mut h: Option<&mut [E]>,
) {
    if plan.k == 1 {
        // Value only: the chain rule is one product per element.
        match h {
            Some(h) => {
                for ((&a, g), h) in p.iter().zip(g.iter_mut()).zip(h.iter_mut()) {
                    let (y, d1, _, _) = act.derivatives(a);
                    *h = y;
                    *g *= d1;
                }
            }
            None => {
                for (&a, g) in p.iter().zip(g.iter_mut()) {
                    *g *= act.derivatives(a).1;
                }
            }
        }
        return;
    }
    // Every row is sliced to exactly `m` values before its loop, so that the loops carry no
    // bounds checks and vectorise.
    let km = plan.k * m;
    let mut s0 = vec![E::zero(); m];
    let mut s1 = vec![E::zero(); m];
    let mut s2 = vec![E::zero(); m];
    let mut s3 = vec![E::zero(); m];
    let mut ga = vec![E::zero(); m];
    let mut sq = vec![E::zero(); m];
    let two = E::of(2.0);
    // Rows before this one are the value and the gradient; the second-derivative rows follow.
    let start = plan.second_row(0) * m;
    for (t, (pp, gg)) in p.chunks_exact(km).zip(g.chunks_exact_mut(km)).enumerate() {
        let mut hh = h.as_deref_mut().map(|h| &mut h[t * km..(t + 1) * km]);
        let at = &coef[t * plan.columns..(t + 1) * plan.columns];
        let row = |r: usize| r * m..(r + 1) * m;
        {
            let (p0, g0) = (&pp[row(0)], &gg[row(0)]);
            for j in 0..m {
                let (y, d1, d2, d3) = act.derivatives(p0[j]);
                s0[j] = y;
                s1[j] = d1;
                s2[j] = d2;
                s3[j] = d3;
                ga[j] = g0[j] * d1;
            }
            if let Some(hh) = hh.as_deref_mut() {
                hh[row(0)].copy_from_slice(&s0);
            }
        }
        // The value row's gradient, from every row that depends on a (old g throughout).
        if plan.gradient {
            for i in 0..plan.d {
                let r = plan.grad_row(i);
                let (pr, gr) = (&pp[row(r)], &gg[row(r)]);
                for j in 0..m {
                    ga[j] += gr[j] * s2[j] * pr[j];
                }
                if let Some(hh) = hh.as_deref_mut() {
                    let hr = &mut hh[row(r)];
                    for j in 0..m {
                        hr[j] = s1[j] * pr[j];
                    }
                }
            }
        }
        for (q, terms) in plan.rows.iter().enumerate() {
            let r = plan.second_row(q);
            // sq = sum over the terms of a_t (d_i a)^2.
            sq.iter_mut().for_each(|v| *v = E::zero());
            for term in terms {
                let a = term.at(at);
                let pg = &pp[row(plan.grad_row(term.coord))];
                for j in 0..m {
                    sq[j] += a * (pg[j] * pg[j]);
                }
            }
            let (pr, gr) = (&pp[row(r)], &gg[row(r)]);
            for j in 0..m {
                ga[j] += gr[j] * (s3[j] * sq[j] + s2[j] * pr[j]);
            }
            if let Some(hh) = hh.as_deref_mut() {
                let hr = &mut hh[row(r)];
                for j in 0..m {
                    hr[j] = s2[j] * sq[j] + s1[j] * pr[j];
                }
            }
        }
        for (q, &(a, b)) in plan.pairs.iter().enumerate() {
            let r = plan.mixed_row(q);
            let (pa, pb) = (&pp[row(plan.grad_row(a))], &pp[row(plan.grad_row(b))]);
            let (pr, gr) = (&pp[row(r)], &gg[row(r)]);
            for j in 0..m {
                ga[j] += gr[j] * (s3[j] * pa[j] * pb[j] + s2[j] * pr[j]);
            }
            if let Some(hh) = hh.as_deref_mut() {
                let hr = &mut hh[row(r)];
                for j in 0..m {
                    hr[j] = s2[j] * pa[j] * pb[j] + s1[j] * pr[j];
                }
            }
        }
        // Gradient rows: their own chain rule, plus the second-derivative rows they feed (whose
        // gradients are still the old ones: they are scaled after this).
        let (g_first, g_second) = gg.split_at_mut(start);
        let second = |r: usize| (r * m - start)..((r + 1) * m - start);
        if plan.gradient {
            for i in 0..plan.d {
                let r = plan.grad_row(i);
                let pr = &pp[row(r)];
                let gr = &mut g_first[row(r)];
                for j in 0..m {
                    gr[j] *= s1[j];
                }
                for (q, terms) in plan.rows.iter().enumerate() {
                    let gq = &g_second[second(plan.second_row(q))];
                    for term in terms.iter().filter(|t| t.coord == i) {
                        let a2 = two * term.at(at);
                        for j in 0..m {
                            gr[j] += a2 * gq[j] * s2[j] * pr[j];
                        }
                    }
                }
                for (q, &(a, b)) in plan.pairs.iter().enumerate() {
                    let other = if a == i {
                        b
                    } else if b == i {
                        a
                    } else {
                        continue;
                    };
                    let po = &pp[row(plan.grad_row(other))];
                    let gq = &g_second[second(plan.mixed_row(q))];
                    for j in 0..m {
                        gr[j] += gq[j] * s2[j] * po[j];
                    }
                }
            }
        }
        for row in g_second.chunks_exact_mut(m) {
            row.iter_mut().zip(&s1).for_each(|(v, &d1)| *v *= d1);
        }
        g_first[..m].copy_from_slice(&ga);
    }
}

/// The reverse-mode gradient's chain rule ([`super::reverse`]): `delta = a * s1(p)`.
#[inline(always)]
fn slope_points<E: Float, A: ActivationKernel>(act: A, p: &[E], a: &[E], delta: &mut [E]) {
    for ((o, &x), &a) in delta.iter_mut().zip(p).zip(a) {
        *o = a * act.derivatives(x).1;
    }
}

/// The backward pass of [`slope_points`], given `d_bar` (the loss gradient of `delta`):
/// `a_bar = d_bar * s1(p)` when asked for, and `p_bar = d_bar * a * s2(p)`.
#[inline(always)]
fn slope_backward_points<E: Float, A: ActivationKernel>(
    act: A,
    p: &[E],
    a: &[E],
    d_bar: &[E],
    a_bar: Option<&mut [E]>,
    p_bar: &mut [E],
) {
    match a_bar {
        Some(a_bar) => {
            for ((((&x, &a), &db), ab), pb) in p
                .iter()
                .zip(a)
                .zip(d_bar)
                .zip(a_bar.iter_mut())
                .zip(p_bar.iter_mut())
            {
                let (_, d1, d2, _) = act.derivatives(x);
                *ab = db * d1;
                *pb = db * a * d2;
            }
        }
        None => {
            for (((&x, &a), &db), pb) in p.iter().zip(a).zip(d_bar).zip(p_bar.iter_mut()) {
                *pb = db * a * act.derivatives(x).2;
            }
        }
    }
}

vectorised!(
    /// [`activate_points`] on the calling thread.
    fn activate_chunk_with<E: Float, A: ActivationKernel> => activate_points(
        act: A, plan: &RowPlan<E>, m: usize, bias: &[E], coef: &[E], p: &mut [E], h: &mut [E]
    )
);

vectorised!(
    /// [`activate_points_backward`] on the calling thread.
    fn activate_backward_chunk_with<E: Float, A: ActivationKernel> => activate_points_backward(
        act: A, plan: &RowPlan<E>, m: usize, coef: &[E], p: &[E], g: &mut [E],
        h: Option<&mut [E]>
    )
);

vectorised!(
    /// [`slope_points`] on the calling thread.
    fn slope_with<E: Float, A: ActivationKernel> => slope_points(act: A, p: &[E], a: &[E], delta: &mut [E])
);

vectorised!(
    /// [`slope_backward_points`] on the calling thread.
    fn slope_backward_with<E: Float, A: ActivationKernel> => slope_backward_points(
        act: A, p: &[E], a: &[E], d_bar: &[E], a_bar: Option<&mut [E]>, p_bar: &mut [E]
    )
);

/// `delta = a * σ'(p)` element by element, on the calling thread: the reverse-mode gradient's
/// step from a layer's output to its pre-activation.
pub(super) fn slope<E: Float>(act: LayerActivation, p: &[E], a: &[E], delta: &mut [E]) {
    match act {
        LayerActivation::Sine(_) => slope_with(Sine, p, a, delta),
        LayerActivation::Tanh => slope_with(Tanh, p, a, delta),
        LayerActivation::Relu => slope_with(Relu, p, a, delta),
        LayerActivation::Identity => slope_with(Identity, p, a, delta),
    }
}

/// The backward pass of [`slope`], on the calling thread: given the loss gradient `d_bar` of
/// `delta`, writes `a_bar = d_bar * σ'(p)` (when given) and `p_bar = d_bar * a * σ''(p)`.
pub(super) fn slope_backward<E: Float>(
    act: LayerActivation,
    p: &[E],
    a: &[E],
    d_bar: &[E],
    a_bar: Option<&mut [E]>,
    p_bar: &mut [E],
) {
    match act {
        LayerActivation::Sine(_) => slope_backward_with(Sine, p, a, d_bar, a_bar, p_bar),
        LayerActivation::Tanh => slope_backward_with(Tanh, p, a, d_bar, a_bar, p_bar),
        LayerActivation::Relu => slope_backward_with(Relu, p, a, d_bar, a_bar, p_bar),
        LayerActivation::Identity => slope_backward_with(Identity, p, a, d_bar, a_bar, p_bar),
    }
}

/// The layer's activation and chain rule on a chunk of whole points, on the calling thread;
/// the $\omega_0$ of sine layers is already in `p`.
pub(super) fn activate_chunk<E: Float>(
    act: LayerActivation,
    plan: &RowPlan<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    match act {
        LayerActivation::Sine(_) => activate_chunk_with(Sine, plan, m, bias, coef, p, h),
        LayerActivation::Tanh => activate_chunk_with(Tanh, plan, m, bias, coef, p, h),
        LayerActivation::Relu => activate_chunk_with(Relu, plan, m, bias, coef, p, h),
        LayerActivation::Identity => activate_chunk_with(Identity, plan, m, bias, coef, p, h),
    }
}

/// The backward pass of [`activate_chunk`] on a chunk of whole points.
pub(super) fn activate_backward_chunk<E: Float>(
    act: LayerActivation,
    plan: &RowPlan<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    match act {
        LayerActivation::Sine(_) => activate_backward_chunk_with(Sine, plan, m, coef, p, g, h),
        LayerActivation::Tanh => activate_backward_chunk_with(Tanh, plan, m, coef, p, g, h),
        LayerActivation::Relu => activate_backward_chunk_with(Relu, plan, m, coef, p, g, h),
        LayerActivation::Identity => activate_backward_chunk_with(Identity, plan, m, coef, p, g, h),
    }
}

/// [`activate_chunk`] over a whole stack, on every thread, for a layout without per-point
/// coefficients.
pub(super) fn activate<E: Float>(
    act: LayerActivation,
    plan: &RowPlan<E>,
    m: usize,
    bias: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    debug_assert_eq!(plan.columns, 0);
    let coef: &[E] = &[];
    let row = plan.k * m;
    let chunk = points_per_task(p.len() / row, row) * row;
    p.par_chunks_mut(chunk)
        .zip(h.par_chunks_mut(chunk))
        .for_each(|(p, h)| activate_chunk(act, plan, m, bias, coef, p, h));
}

/// [`activate_backward_chunk`] over a whole stack, on every thread, for a layout without
/// per-point coefficients.
pub(super) fn activate_backward<E: Float>(
    act: LayerActivation,
    plan: &RowPlan<E>,
    m: usize,
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    debug_assert_eq!(plan.columns, 0);
    let coef: &[E] = &[];
    let row = plan.k * m;
    let chunk = points_per_task(p.len() / row, row) * row;
    match h {
        Some(h) => p
            .par_chunks(chunk)
            .zip(g.par_chunks_mut(chunk))
            .zip(h.par_chunks_mut(chunk))
            .for_each(|((p, g), h)| activate_backward_chunk(act, plan, m, coef, p, g, Some(h))),
        None => p
            .par_chunks(chunk)
            .zip(g.par_chunks_mut(chunk))
            .for_each(|(p, g)| activate_backward_chunk(act, plan, m, coef, p, g, None)),
    }
}
