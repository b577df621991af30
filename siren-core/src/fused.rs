//! The fused CPU path of [`Network::jet`]: the whole network as one op on dfdx's tape.
//!
//! The dfdx path records every matrix product and every element-wise step of the derivative
//! recurrences as its own op: each allocates, most run on one thread, and the value, Jacobian
//! and second-derivative stacks go through separate products. On the CPU device this module
//! runs the same mathematics as one op:
//!
//! * Every point carries a **stack** of $K$ rows, point-major (`(N, K, width)`): the value,
//!   then $\partial_i h$, then $\partial_i^2 h$ (or one row $L h$ per operator of
//!   [`Network::jet_operators`]), then $\partial_i\partial_j h$ ($i<j$), as asked. The
//!   affine map of a layer is linear in every row, so the whole stack goes through **one**
//!   matrix product $P = \omega\,(H W^\top)$ ([`crate::matmul`]), and the bias $\omega b$
//!   joins the value row only.
//! * Each layer runs **chunk by chunk** on every thread (256 KiB of stack per chunk): the
//!   chunk's product, then its activation while the product is still in cache; backwards, the
//!   chunk's $\bar H$ product, the chain rule, and its share of $\bar W$ and $\bar b$. The
//!   layer's weight is packed for the product kernel once and shared by all chunks.
//! * The activation and its chain rule are one vectorised pass over each chunk, with
//!   $s_k = \sigma^{(k)}(a)$ and $a = P_0$ (see the formulas below).
//! * The backward pass is written out by hand (formulas below); $\bar W = \omega \bar P^\top H$
//!   and $\bar H = \omega \bar P W$ are two more products over the whole stack, and
//!   $\bar b = \omega \sum_p \bar P_{p,0}$.
//! * Memory: only the pre-activation stacks $P_l$ are kept for the backward pass; a layer's
//!   input $H_l = \sigma(P_{l-1})$ is recomputed there, chunk by chunk into a per-thread
//!   buffer, in the same pass that applies the chain rule backwards, so no stack is stored
//!   twice. Buffers come from a pool owned by the network and are reused from step to step
//!   instead of being allocated per op.
//! * $\sin$ and $\cos$ of `f32` come from [`Float::sin_cos_fast`]: a Cody–Waite reduction to
//!   $[-\pi/4, \pi/4]$ and minimax polynomials, branch-free so the compiler vectorises it
//!   (AVX2 + FMA when the CPU has them, chosen at run time). Its error is at most
//!   $2.5 \cdot 10^{-7}$ in absolute value for $|x| \le 2000$ (tested), far beyond the
//!   pre-activations a SIREN sees ($|a| \lesssim 100$).
//!
//! Forward, for the value, gradient, and second-derivative rows:
//!
//! $$h_0 = s_0,\quad \partial_i h = s_1 \partial_i a,\quad
//!   \partial_{ij} h = s_2\, \partial_i a\, \partial_j a + s_1\, \partial_{ij} a,$$
//!
//! and the row of an operator $L = \sum_t c_t \partial_{i_t}^2$ (coefficients $c_t$ per point)
//! is $L h = s_2 \sum_t c_t (\partial_{i_t} a)^2 + s_1 L a$; backward it adds
//! $g_L (s_3 \sum_t c_t (\partial_{i_t} a)^2 + s_2 L a)$ to $\bar a$,
//! $2 c_t g_L s_2 \partial_{i_t} a$ to $\overline{\partial_{i_t} a}$, and
//! $\overline{L a} = g_L s_1$.
//!
//! Backward, with $g$ the loss gradient of a layer's output stack:
//!
//! $$\bar a = g_0 s_1 + \sum_i g_i s_2 \partial_i a +
//!   \sum_{i \le j} g_{ij}\,(s_3\, \partial_i a\, \partial_j a + s_2\, \partial_{ij} a),$$
//!
//! $$\overline{\partial_i a} = g_i s_1 + 2 g_{ii} s_2 \partial_i a +
//!   \sum_{j \ne i} g_{ij} s_2 \partial_j a, \qquad
//!   \overline{\partial_{ij} a} = g_{ij} s_1.$$
//!
//! The op gives gradients to the network's weights and biases and to its input coordinates
//! (which may be computed: a hypernetwork feeds its latent code to its weight MLPs). Devices other than the CPU (CUDA) keep the dfdx path, and
//! [`Network::set_fused`] turns this path off to compare against it.
//!
//! [`Network::jet`]: crate::Network::jet
//! [`Network::set_fused`]: crate::Network::set_fused
//! [`Network::jet_operators`]: crate::Network::jet_operators
//! [`Float::sin_cos_fast`]: crate::Float::sin_cos_fast

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use dfdx::prelude::*;
use rayon::prelude::*;

use crate::config::Encoding;
use crate::jet::{mixed_pairs, Coefficient, DiagonalOperator, Jet, Order};
use crate::matmul;
use crate::network::{LayerActivation, Network};
use crate::tracer::Tracer;
use crate::Float;

/// The coefficient of a [`Term`]: a constant, or a column of [`Layout`]'s per-point table.
#[derive(Clone, Copy, Debug)]
enum Coef<E> {
    Constant(E),
    Column(usize),
}

/// One term $a\, \partial_i^2$ of a second-derivative row.
#[derive(Clone, Copy, Debug)]
struct Term<E> {
    coord: usize,
    coef: Coef<E>,
}

/// Which rows a point's stack carries.
#[derive(Clone, Debug)]
pub(crate) struct Layout<E> {
    /// Input coordinates.
    d: usize,
    /// Rows per point.
    k: usize,
    /// Whether the gradient rows `1..=d` are carried.
    gradient: bool,
    /// Second-derivative rows from `1+d` on: row `q` carries $\sum_t a_t \partial_{i_t}^2$
    /// over its terms.
    rows: Vec<Vec<Term<E>>>,
    /// Per-point coefficients, point-major, `columns` per point.
    table: Vec<E>,
    columns: usize,
    /// Whether the second-derivative rows are the Hessian diagonal (else the operators of
    /// `Network::jet_operators`, which the caller lists in the jet).
    diagonal: bool,
    /// Mixed pairs, rows after the second-derivative rows.
    pairs: Vec<(usize, usize)>,
}

impl<E: Float> Layout<E> {
    /// The rows [`Order`] asks for.
    pub(crate) fn for_order(d: usize, order: Order) -> Self {
        let rows = if order >= Order::Diagonal {
            (0..d)
                .map(|i| {
                    vec![Term {
                        coord: i,
                        coef: Coef::Constant(E::one()),
                    }]
                })
                .collect()
        } else {
            Vec::new()
        };
        let pairs = if order >= Order::Hessian {
            mixed_pairs(d)
        } else {
            Vec::new()
        };
        let k = 1 + if order >= Order::Gradient { d } else { 0 } + rows.len() + pairs.len();
        Self {
            d,
            k,
            gradient: order >= Order::Gradient,
            rows,
            table: Vec::new(),
            columns: 0,
            diagonal: true,
            pairs,
        }
    }

    /// The value, the gradient and one row per operator, at `n` points (operators checked
    /// by the caller).
    pub(crate) fn for_operators(d: usize, n: usize, ops: &[DiagonalOperator<E>]) -> Self {
        let mut per_point: Vec<&[E]> = Vec::new();
        let rows: Vec<Vec<Term<E>>> = ops
            .iter()
            .map(|op| {
                op.terms()
                    .iter()
                    .map(|(i, a)| Term {
                        coord: *i,
                        coef: match a {
                            Coefficient::Constant(a) => Coef::Constant(*a),
                            Coefficient::PerPoint(v) => {
                                per_point.push(v);
                                Coef::Column(per_point.len() - 1)
                            }
                        },
                    })
                    .collect()
            })
            .collect();
        let columns = per_point.len();
        let mut table = vec![E::zero(); n * columns];
        for (col, v) in per_point.iter().enumerate() {
            for (p, &a) in v.iter().enumerate() {
                table[p * columns + col] = a;
            }
        }
        Self {
            d,
            k: 1 + d + rows.len(),
            gradient: true,
            rows,
            table,
            columns,
            diagonal: false,
            pairs: Vec::new(),
        }
    }

    fn grad_row(&self, i: usize) -> usize {
        1 + i
    }
    fn second_row(&self, q: usize) -> usize {
        1 + self.d + q
    }
    fn mixed_row(&self, q: usize) -> usize {
        1 + self.d + self.rows.len() + q
    }

    /// The per-point coefficients of up to `points` points from `first` on (fewer at the end
    /// of the batch).
    fn coefficients(&self, first: usize, points: usize) -> &[E] {
        let end = ((first + points) * self.columns).min(self.table.len());
        &self.table[(first * self.columns).min(end)..end]
    }
}

impl<E: Copy> Term<E> {
    /// The coefficient at a point whose row of the per-point table is `at`.
    #[inline(always)]
    fn at(&self, at: &[E]) -> E {
        match self.coef {
            Coef::Constant(a) => a,
            Coef::Column(c) => at[c],
        }
    }
}

/// Reusable buffers, so a training step does not page-fault fresh memory for every stack.
pub(crate) struct BufferPool<E> {
    free: Mutex<Vec<Vec<E>>>,
}

impl<E> Default for BufferPool<E> {
    fn default() -> Self {
        Self {
            free: Mutex::new(Vec::new()),
        }
    }
}

impl<E> fmt::Debug for BufferPool<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.free.lock().map(|v| v.len()).unwrap_or(0);
        write!(f, "BufferPool {{ held: {held} }}")
    }
}

/// Buffers the pool keeps at most; more are freed.
const POOL_LIMIT: usize = 16;

impl<E: Float> BufferPool<E> {
    /// A buffer of `len` elements with unspecified contents (callers overwrite it).
    fn take(&self, len: usize) -> Vec<E> {
        let mut buf = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i)).unwrap_or_default()
        };
        buf.truncate(len);
        buf.resize(len, E::zero());
        buf
    }

    fn give(&self, buf: Vec<E>) {
        if buf.capacity() == 0 {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.push(buf);
        if free.len() > POOL_LIMIT {
            // Drop the smallest: the large stacks are the expensive ones to fault in again.
            let smallest = free
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)
                .expect("pool is not empty");
            free.swap_remove(smallest);
        }
    }
}

/// $\sigma$ and its first three derivatives, for the kernels.
trait Activation<E: Float>: Copy + Send + Sync {
    /// `(s0, s1, s2, s3)` at `a`.
    fn derivatives(self, a: E) -> (E, E, E, E);
}

#[derive(Clone, Copy)]
struct Sine;
impl<E: Float> Activation<E> for Sine {
    #[inline(always)]
    fn derivatives(self, a: E) -> (E, E, E, E) {
        let (s, c) = a.sin_cos_fast();
        (s, c, -s, -c)
    }
}

#[derive(Clone, Copy)]
struct Tanh;
impl<E: Float> Activation<E> for Tanh {
    #[inline(always)]
    fn derivatives(self, a: E) -> (E, E, E, E) {
        let t = a.tanh_fast();
        let s1 = E::one() - t * t;
        let s2 = E::of(-2.0) * t * s1;
        let s3 = E::of(-2.0) * (s1 * s1 + t * s2);
        (t, s1, s2, s3)
    }
}

#[derive(Clone, Copy)]
struct Relu;
impl<E: Float> Activation<E> for Relu {
    #[inline(always)]
    fn derivatives(self, a: E) -> (E, E, E, E) {
        // sigma' is a step function with no gradient of its own, as on the dfdx path.
        if a > E::zero() {
            (a, E::one(), E::zero(), E::zero())
        } else {
            (E::zero(), E::zero(), E::zero(), E::zero())
        }
    }
}

#[derive(Clone, Copy)]
struct Identity;
impl<E: Float> Activation<E> for Identity {
    #[inline(always)]
    fn derivatives(self, a: E) -> (E, E, E, E) {
        (a, E::one(), E::zero(), E::zero())
    }
}

/// Points per parallel task: enough work per task, a few tasks per thread.
fn points_per_task(points: usize, row: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let by_threads = points.div_ceil(4 * threads).max(1);
    let by_size = (1 << 14) / row.max(1);
    by_threads.max(by_size).max(1)
}

/// Forward activation of a chunk of points: adds the bias to the value row of `p` (kept for
/// the backward pass) and writes the activated stack to `h`.
#[inline(always)]
fn activate_points<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    if lay.k == 1 {
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
        .chunks_exact_mut(lay.k * m)
        .zip(h.chunks_exact_mut(lay.k * m))
        .enumerate()
    {
        let row = |r: usize| r * m..(r + 1) * m;
        let at = &coef[t * lay.columns..(t + 1) * lay.columns];
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
        if lay.gradient {
            for i in 0..lay.d {
                let g = lay.grad_row(i);
                for ((o, &x), &d1) in hh[row(g)].iter_mut().zip(&pp[row(g)]).zip(&s1) {
                    *o = d1 * x;
                }
            }
        }
        for (q, terms) in lay.rows.iter().enumerate() {
            let r = lay.second_row(q);
            let (pr, hr) = (&pp[row(r)], &mut hh[row(r)]);
            for j in 0..m {
                hr[j] = s1[j] * pr[j];
            }
            for term in terms {
                let a = term.at(at);
                let pg = &pp[row(lay.grad_row(term.coord))];
                for j in 0..m {
                    hr[j] += a * (s2[j] * pg[j] * pg[j]);
                }
            }
        }
        for (q, &(a, b)) in lay.pairs.iter().enumerate() {
            let (ga, gb, r) = (lay.grad_row(a), lay.grad_row(b), lay.mixed_row(q));
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
fn activate_points_backward<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    mut h: Option<&mut [E]>,
) {
    if lay.k == 1 {
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
    let km = lay.k * m;
    let mut s0 = vec![E::zero(); m];
    let mut s1 = vec![E::zero(); m];
    let mut s2 = vec![E::zero(); m];
    let mut s3 = vec![E::zero(); m];
    let mut ga = vec![E::zero(); m];
    let mut sq = vec![E::zero(); m];
    let two = E::of(2.0);
    // Rows before this one are the value and the gradient; the second-derivative rows follow.
    let start = lay.second_row(0) * m;
    for (t, (pp, gg)) in p.chunks_exact(km).zip(g.chunks_exact_mut(km)).enumerate() {
        let mut hh = h.as_deref_mut().map(|h| &mut h[t * km..(t + 1) * km]);
        let at = &coef[t * lay.columns..(t + 1) * lay.columns];
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
        if lay.gradient {
            for i in 0..lay.d {
                let r = lay.grad_row(i);
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
        for (q, terms) in lay.rows.iter().enumerate() {
            let r = lay.second_row(q);
            // sq = sum over the terms of a_t (d_i a)^2.
            sq.iter_mut().for_each(|v| *v = E::zero());
            for term in terms {
                let a = term.at(at);
                let pg = &pp[row(lay.grad_row(term.coord))];
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
        for (q, &(a, b)) in lay.pairs.iter().enumerate() {
            let r = lay.mixed_row(q);
            let (pa, pb) = (&pp[row(lay.grad_row(a))], &pp[row(lay.grad_row(b))]);
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
        if lay.gradient {
            for i in 0..lay.d {
                let r = lay.grad_row(i);
                let pr = &pp[row(r)];
                let gr = &mut g_first[row(r)];
                for j in 0..m {
                    gr[j] *= s1[j];
                }
                for (q, terms) in lay.rows.iter().enumerate() {
                    let gq = &g_second[second(lay.second_row(q))];
                    for term in terms.iter().filter(|t| t.coord == i) {
                        let a2 = two * term.at(at);
                        for j in 0..m {
                            gr[j] += a2 * gq[j] * s2[j] * pr[j];
                        }
                    }
                }
                for (q, &(a, b)) in lay.pairs.iter().enumerate() {
                    let other = if a == i {
                        b
                    } else if b == i {
                        a
                    } else {
                        continue;
                    };
                    let po = &pp[row(lay.grad_row(other))];
                    let gq = &g_second[second(lay.mixed_row(q))];
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

// The kernels are compiled twice: for the baseline target and with AVX2 + FMA, picked at run
// time, so one binary vectorises the polynomial sine on every x86-64 CPU that can.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn activate_points_avx2<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    activate_points(act, lay, m, bias, coef, p, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn activate_points_backward_avx2<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    activate_points_backward(act, lay, m, coef, p, g, h)
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`activate_points`] on the calling thread, vectorised where the CPU allows.
fn activate_chunk_with<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just now).
        unsafe { activate_points_avx2(act, lay, m, bias, coef, p, h) };
        return;
    }
    activate_points(act, lay, m, bias, coef, p, h);
}

/// [`activate_points_backward`] on the calling thread, vectorised where the CPU allows.
fn activate_backward_chunk_with<E: Float, A: Activation<E>>(
    act: A,
    lay: &Layout<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just now).
        unsafe { activate_points_backward_avx2(act, lay, m, coef, p, g, h) };
        return;
    }
    activate_points_backward(act, lay, m, coef, p, g, h);
}

/// The layer's activation and chain rule on a chunk of whole points, on the calling thread;
/// the $\omega_0$ of sine layers is already in `p`.
fn activate_chunk<E: Float>(
    act: LayerActivation,
    lay: &Layout<E>,
    m: usize,
    bias: &[E],
    coef: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    match act {
        LayerActivation::Sine(_) => activate_chunk_with(Sine, lay, m, bias, coef, p, h),
        LayerActivation::Tanh => activate_chunk_with(Tanh, lay, m, bias, coef, p, h),
        LayerActivation::Relu => activate_chunk_with(Relu, lay, m, bias, coef, p, h),
        LayerActivation::Identity => activate_chunk_with(Identity, lay, m, bias, coef, p, h),
    }
}

/// The backward pass of [`activate_chunk`] on a chunk of whole points.
fn activate_backward_chunk<E: Float>(
    act: LayerActivation,
    lay: &Layout<E>,
    m: usize,
    coef: &[E],
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    match act {
        LayerActivation::Sine(_) => activate_backward_chunk_with(Sine, lay, m, coef, p, g, h),
        LayerActivation::Tanh => activate_backward_chunk_with(Tanh, lay, m, coef, p, g, h),
        LayerActivation::Relu => activate_backward_chunk_with(Relu, lay, m, coef, p, g, h),
        LayerActivation::Identity => activate_backward_chunk_with(Identity, lay, m, coef, p, g, h),
    }
}

/// [`activate_chunk`] over a whole stack, on every thread, for a layout without per-point
/// coefficients.
fn activate<E: Float>(
    act: LayerActivation,
    lay: &Layout<E>,
    m: usize,
    bias: &[E],
    p: &mut [E],
    h: &mut [E],
) {
    debug_assert_eq!(lay.columns, 0);
    let coef: &[E] = &[];
    let row = lay.k * m;
    let chunk = points_per_task(p.len() / row, row) * row;
    p.par_chunks_mut(chunk)
        .zip(h.par_chunks_mut(chunk))
        .for_each(|(p, h)| activate_chunk(act, lay, m, bias, coef, p, h));
}

/// [`activate_backward_chunk`] over a whole stack, on every thread, for a layout without
/// per-point coefficients.
fn activate_backward<E: Float>(
    act: LayerActivation,
    lay: &Layout<E>,
    m: usize,
    p: &[E],
    g: &mut [E],
    h: Option<&mut [E]>,
) {
    debug_assert_eq!(lay.columns, 0);
    let coef: &[E] = &[];
    let row = lay.k * m;
    let chunk = points_per_task(p.len() / row, row) * row;
    match h {
        Some(h) => p
            .par_chunks(chunk)
            .zip(g.par_chunks_mut(chunk))
            .zip(h.par_chunks_mut(chunk))
            .for_each(|((p, g), h)| activate_backward_chunk(act, lay, m, coef, p, g, Some(h))),
        None => p
            .par_chunks(chunk)
            .zip(g.par_chunks_mut(chunk))
            .for_each(|(p, g)| activate_backward_chunk(act, lay, m, coef, p, g, None)),
    }
}

/// Points per chunk of the fused layer passes: a layer's product and its activation run
/// chunk by chunk on each thread, so that the product's output is still in cache when the
/// activation reads it (256 KiB per stack chunk: half of an L2; 1 and 4 MiB were 1-5% slower).
fn chunk_points<E>(lay: &Layout<E>, width: usize) -> usize {
    let rows = (1 << 18) / (std::mem::size_of::<E>() * width.max(1));
    (rows / lay.k).max(1)
}

/// One slot per rayon thread for the scratch buffers of a parallel loop, made once per pass
/// instead of once per rayon split. Only for buffers whose contents do not reach the results:
/// which items share a slot depends on scheduling.
///
/// A slot stays locked while its closure runs, so the closure must not itself run rayon
/// work: a thread waiting on it could pick up another item and lock its own slot again.
struct PerThread<T>(Vec<Mutex<Option<T>>>);

impl<T> PerThread<T> {
    fn new() -> Self {
        let threads = rayon::current_num_threads().max(1);
        PerThread((0..threads).map(|_| Mutex::new(None)).collect())
    }

    /// `f` on this thread's slot, made by `init` on first use.
    fn with<R>(&self, init: impl FnOnce() -> T, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        let mut slot = self.0[i].lock().unwrap_or_else(|e| e.into_inner());
        f(slot.get_or_insert_with(init))
    }
}

/// Groups of chunks whose weight-gradient shares the backward pass sums separately (a fixed
/// number, so the summation order does not depend on the machine's thread count).
const SUM_GROUPS: usize = 16;

/// The widest layer input or output: sets the points per chunk.
fn widest<E>(layers: &[HostLayer<E>]) -> usize {
    layers
        .iter()
        .map(|l| l.fan_in.max(l.fan_out))
        .max()
        .unwrap_or(1)
}

/// Adds `bias` to the value row of every point (identity layers, which skip `activate`).
fn add_bias<E: Float>(lay: &Layout<E>, m: usize, bias: &[E], p: &mut [E]) {
    for pp in p.chunks_exact_mut(lay.k * m) {
        for (x, &b) in pp[..m].iter_mut().zip(bias) {
            *x += b;
        }
    }
}

/// The input stack `(N, K, features)` of the first layer, built on the host.
fn input_stack<E: Float>(
    encoding: Encoding,
    coords: &[E],
    n: usize,
    lay: &Layout<E>,
) -> (Vec<E>, usize) {
    let d = lay.d;
    match encoding {
        Encoding::None => {
            let mut x = vec![E::zero(); n * lay.k * d];
            for p in 0..n {
                let base = p * lay.k * d;
                x[base..base + d].copy_from_slice(&coords[p * d..(p + 1) * d]);
                if lay.gradient {
                    for i in 0..d {
                        x[base + lay.grad_row(i) * d + i] = E::one();
                    }
                }
            }
            (x, d)
        }
        Encoding::Positional { frequencies } => {
            let f = d * (1 + 2 * frequencies);
            let mut x = vec![E::zero(); n * lay.k * f];
            for p in 0..n {
                let base = p * lay.k * f;
                for j in 0..d {
                    let xj = coords[p * d + j];
                    x[base + j] = xj;
                    if lay.gradient {
                        x[base + lay.grad_row(j) * f + j] = E::one();
                    }
                    for k in 0..frequencies {
                        let w = E::of(std::f64::consts::PI * (1u64 << k) as f64);
                        let (s, c) = (w * xj).sin_cos();
                        let col = d + 2 * (k * d + j);
                        x[base + col] = s;
                        x[base + col + 1] = c;
                        if lay.gradient {
                            let r = base + lay.grad_row(j) * f;
                            x[r + col] = w * c;
                            x[r + col + 1] = -w * s;
                        }
                        let at = lay.coefficients(p, 1);
                        for (q, terms) in lay.rows.iter().enumerate() {
                            for term in terms.iter().filter(|t| t.coord == j) {
                                let (a, r) = (term.at(at), base + lay.second_row(q) * f);
                                x[r + col] -= a * w * w * s;
                                x[r + col + 1] -= a * w * w * c;
                            }
                        }
                    }
                }
            }
            (x, f)
        }
    }
}

/// Adds to `dc` (`(N, d)`) the gradient of the coordinates, given `dx`, the gradient of the
/// input stack `(N, K, features)` that [`input_stack`] built from them.
fn input_stack_backward<E: Float>(
    encoding: Encoding,
    coords: &[E],
    lay: &Layout<E>,
    features: usize,
    dx: &[E],
    dc: &mut [E],
) {
    let d = lay.d;
    let n = coords.len() / d.max(1);
    for p in 0..n {
        let at = |row: usize, col: usize| dx[(p * lay.k + row) * features + col];
        let coef = lay.coefficients(p, 1);
        for j in 0..d {
            // The value row holds x_j itself; the seeds of the derivative rows are constants.
            let mut acc = at(0, j);
            if let Encoding::Positional { frequencies } = encoding {
                let xj = coords[p * d + j];
                for k in 0..frequencies {
                    let w = E::of(std::f64::consts::PI * (1u64 << k) as f64);
                    let (sn, cs) = (w * xj).sin_cos();
                    let col = d + 2 * (k * d + j);
                    // d/dx of sin(wx), cos(wx) and of the rows derived from them.
                    acc += at(0, col) * w * cs - at(0, col + 1) * w * sn;
                    if lay.gradient {
                        let r = lay.grad_row(j);
                        acc -= (at(r, col) * sn + at(r, col + 1) * cs) * w * w;
                    }
                    for (q, terms) in lay.rows.iter().enumerate() {
                        for term in terms.iter().filter(|t| t.coord == j) {
                            let (a, r) = (term.at(coef), lay.second_row(q));
                            acc += a * (-at(r, col) * cs + at(r, col + 1) * sn) * w * w * w;
                        }
                    }
                }
            }
            dc[p * d + j] += acc;
        }
    }
}

/// One layer's weights on the host, with its activation.
struct HostLayer<E> {
    weight: Vec<E>,
    /// $\omega b$.
    bias: Vec<E>,
    act: LayerActivation,
    scale: E,
    fan_in: usize,
    fan_out: usize,
}

/// Everything the backward pass needs.
struct Saved<E: Float> {
    lay: Layout<E>,
    points: usize,
    /// The coordinates: their tensor (for its gradient), values and encoding.
    coords: Tensor<(usize, usize), E, Cpu>,
    coord_values: Vec<E>,
    encoding: Encoding,
    input: Vec<E>,
    layers: Vec<HostLayer<E>>,
    /// Pre-activation stack of every layer, bias included.
    pre: Vec<Vec<E>>,
}

/// `t` as the CPU tensor it is, or `None` on another device.
pub(crate) fn on_cpu<S: Shape, E: Float, D: Device<E>>(
    t: &Tensor<S, E, D>,
) -> Option<Tensor<S, E, Cpu>> {
    (t as &dyn Any).downcast_ref::<Tensor<S, E, Cpu>>().cloned()
}

/// [`Network::jet`] on the fused CPU path, carrying the rows of `lay`; `None` when the network
/// is not on the CPU.
pub(crate) fn jet<E: Float, D: Device<E>, T: Tape<E, D>>(
    net: &Network<E, D>,
    coords: &Tensor<(usize, usize), E, D>,
    lay: Layout<E>,
    tracer: &mut Tracer<E, D, T>,
) -> Option<Jet<E, D>> {
    // The downcasts are the device check: anything but the CPU returns None here.
    let weights: Vec<Tensor<(usize, usize), E, Cpu>> = net
        .layers()
        .iter()
        .map(|l| on_cpu(&l.weight))
        .collect::<Option<_>>()?;
    let biases: Vec<Tensor<(usize,), E, Cpu>> = net
        .layers()
        .iter()
        .map(|l| on_cpu(&l.bias))
        .collect::<Option<_>>()?;

    let (n, d) = *coords.shape();
    debug_assert_eq!(d, lay.d);
    let coord_values = coords.as_vec();
    let (input, features) = input_stack(net.config().encoding, &coord_values, n, &lay);
    let layers: Vec<HostLayer<E>> = net
        .layers()
        .iter()
        .zip(net.activations())
        .map(|(l, act)| {
            // The omega_0 of a sine layer scales its affine map.
            let scale = E::of(match act {
                LayerActivation::Sine(w0) => w0,
                _ => 1.0,
            });
            let (fan_out, fan_in) = *l.weight.shape();
            HostLayer {
                weight: l.weight.as_vec(),
                bias: l.bias.as_vec().into_iter().map(|b| b * scale).collect(),
                act,
                scale,
                fan_in,
                fan_out,
            }
        })
        .collect();
    debug_assert_eq!(layers[0].fan_in, features);

    let pool = net.buffer_pool();
    let record = T::OWNS_TAPE;
    let rows = n * lay.k;
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
    let weights_t: Vec<matmul::Prepared<E>> = layers
        .iter()
        .map(|l| matmul::Prepared::transposed(&l.weight, l.fan_out, l.fan_in))
        .collect();
    let chunk_rows = chunk_points::<E>(&lay, widest(&layers)) * lay.k;
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
            let points = chunk_rows / lay.k;
            (x, p, o, lay.coefficients(i * points, points))
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
                        add_bias(&lay, layer.fan_out, &layer.bias, p);
                        dst.copy_from_slice(p);
                    } else {
                        let (m, bias) = (layer.fan_out, &layer.bias);
                        activate_chunk(layer.act, &lay, m, bias, coef, p, dst);
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
                let at = (p * lay.k + r) * c;
                v.extend_from_slice(&out[at..at + c]);
            }
        }
        v
    };
    let grad_rows: Vec<usize> = (0..d).map(|i| lay.grad_row(i)).collect();
    let second_rows: Vec<usize> = (0..lay.rows.len()).map(|q| lay.second_row(q)).collect();
    let mixed_rows: Vec<usize> = (0..lay.pairs.len()).map(|q| lay.mixed_row(q)).collect();
    let value: Tensor<(usize, usize), E, D> = dev.tensor_from_vec(block(&[0]), (n, c));
    let gradient = lay
        .gradient
        .then(|| dev.tensor_from_vec(block(&grad_rows), (d, n, c)));
    let second = (!lay.rows.is_empty())
        .then(|| dev.tensor_from_vec(block(&second_rows), (lay.rows.len(), n, c)));
    let hessian_mixed = (!lay.pairs.is_empty())
        .then(|| dev.tensor_from_vec(block(&mixed_rows), (lay.pairs.len(), n, c)));
    pool.give(out);
    let diagonal = lay.diagonal;

    if record {
        let as_cpu = |t: &Option<Tensor<(usize, usize, usize), E, D>>| {
            t.as_ref()
                .map(|t| on_cpu(t).expect("CPU device checked above"))
        };
        let outputs = Outputs {
            value: on_cpu(&value).expect("CPU device checked above"),
            gradient: as_cpu(&gradient).map(|t| (t, grad_rows)),
            second: as_cpu(&second).map(|t| (t, second_rows)),
            mixed: as_cpu(&hessian_mixed).map(|t| (t, mixed_rows)),
        };
        let saved = Saved {
            lay,
            points: n,
            coords: on_cpu(coords).expect("CPU device checked above"),
            coord_values,
            encoding: net.config().encoding,
            input,
            layers,
            pre,
        };
        let pool = pool.clone();
        tracer.tape_mut().add_backward_op(move |grads| {
            let grads = (grads as &mut dyn Any)
                .downcast_mut::<Gradients<E, Cpu>>()
                .expect("CPU device checked when the op was recorded");
            backward(saved, outputs, &weights, &biases, grads, &pool);
            Ok(())
        });
    }
    // The second-derivative rows are the Hessian diagonal, or the operators asked for.
    let (hessian_diag, operator_values) = if diagonal {
        (second, None)
    } else {
        (None, second)
    };
    Some(Jet {
        value,
        gradient,
        hessian_diag,
        hessian_mixed,
        operator_values,
        // Listed by `Network::jet_operators`, which owns them.
        operators: Vec::new(),
    })
}

/// An output stack tensor `(rows, N, c)` with the stack rows it holds.
type RowsOut<E> = Option<(Tensor<(usize, usize, usize), E, Cpu>, Vec<usize>)>;

/// The op's output tensors.
struct Outputs<E: Float> {
    value: Tensor<(usize, usize), E, Cpu>,
    gradient: RowsOut<E>,
    second: RowsOut<E>,
    mixed: RowsOut<E>,
}

fn backward<E: Float>(
    saved: Saved<E>,
    outputs: Outputs<E>,
    weights: &[Tensor<(usize, usize), E, Cpu>],
    biases: &[Tensor<(usize,), E, Cpu>],
    grads: &mut Gradients<E, Cpu>,
    pool: &BufferPool<E>,
) {
    let Saved {
        lay,
        points: n,
        coords,
        coord_values,
        encoding,
        input,
        layers,
        pre,
    } = saved;
    let rows = n * lay.k;
    let c = layers.last().expect("layers").fan_out;

    // The loss gradient of the output stack, gathered from the jet's tensors.
    let mut g = pool.take(rows * c);
    g.iter_mut().for_each(|v| *v = E::zero());
    let value_grad = grads
        .get_or_alloc_mut(&outputs.value)
        .expect("allocate a gradient");
    for p in 0..n {
        let at = p * lay.k * c;
        g[at..at + c].copy_from_slice(&value_grad[p * c..(p + 1) * c]);
    }
    for (t, stack_rows) in [outputs.gradient, outputs.second, outputs.mixed]
        .into_iter()
        .flatten()
    {
        let buf = grads.get_or_alloc_mut(&t).expect("allocate a gradient");
        for (b, &r) in stack_rows.iter().enumerate() {
            for p in 0..n {
                let at = (p * lay.k + r) * c;
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
    let chunk_rows = chunk_points::<E>(&lay, widest(&layers)) * lay.k;
    let weights_plain: Vec<matmul::Prepared<E>> = layers
        .iter()
        .map(|l| matmul::Prepared::plain(&l.weight, l.fan_out, l.fan_in))
        .collect();
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
            let points = chunk_rows / lay.k;
            (g, x, dx, p, lay.coefficients(i * points, points))
        })
        .collect();
    drop(pre_chunks);
    let zeros = || -> Vec<(Vec<E>, Vec<E>)> {
        layers
            .iter()
            .map(|l| {
                (
                    vec![E::zero(); l.fan_out * l.fan_in],
                    vec![E::zero(); l.fan_out],
                )
            })
            .collect()
    };
    // The chunks' gradient shares are summed in a fixed order (contiguous groups of chunks,
    // then the groups in turn) whatever thread runs what, so that a step is bit-identical from
    // run to run (resumed runs rely on it); scratch buffers are per thread.
    let groups = work.len().clamp(1, SUM_GROUPS);
    let per_group = work.len().div_ceil(groups).max(1);
    let mut grouped: Vec<Vec<_>> = Vec::with_capacity(groups);
    let mut items = work.into_iter().peekable();
    while items.peek().is_some() {
        grouped.push(items.by_ref().take(per_group).collect());
    }
    let scratch = PerThread::new();
    let shares: Vec<Vec<(Vec<E>, Vec<E>)>> = grouped
        .into_par_iter()
        .map(|group| {
            let mut sums = zeros();
            scratch.with(
                Default::default,
                |(g_in, g_out, h): &mut (Vec<E>, Vec<E>, Vec<E>)| {
                    for (g, x, dx, p, coef) in group {
                        if layers[last].act != LayerActivation::Identity {
                            let act = layers[last].act;
                            activate_backward_chunk(act, &lay, c, coef, p[last], g, None);
                        }
                        let r = x.len() / features;
                        // The gradient of layer l's pre-activation stack (omega folded in at the end).
                        let mut cur: &[E] = g;
                        for l in (0..layers.len()).rev() {
                            let layer = &layers[l];
                            let (dw, db) = &mut sums[l];
                            for pp in cur.chunks_exact(lay.k * layer.fan_out) {
                                db.iter_mut()
                                    .zip(&pp[..layer.fan_out])
                                    .for_each(|(b, &v)| *b += v);
                            }
                            if l == 0 {
                                matmul::add_gt_h_here(
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
                            weights_plain[l].times(cur, g_out, layer.scale);
                            h.resize(r * layer.fan_in, E::zero());
                            let prev = layers[l - 1].act;
                            let p_prev = p[l - 1];
                            activate_backward_chunk(
                                prev,
                                &lay,
                                layer.fan_in,
                                coef,
                                p_prev,
                                g_out,
                                Some(&mut h[..]),
                            );
                            matmul::add_gt_h_here(
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
    let sums = shares
        .into_iter()
        .reduce(|mut a, b| {
            for ((dw, db), (dw2, db2)) in a.iter_mut().zip(&b) {
                dw.iter_mut().zip(dw2).for_each(|(x, &y)| *x += y);
                db.iter_mut().zip(db2).for_each(|(x, &y)| *x += y);
            }
            a
        })
        .unwrap_or_else(zeros);
    drop(weights_plain);
    for (l, (layer, (dw_sum, db_sum))) in layers.iter().zip(&sums).enumerate() {
        let dw = grads
            .get_or_alloc_mut(&weights[l])
            .expect("allocate a gradient");
        dw.iter_mut()
            .zip(dw_sum)
            .for_each(|(a, &v)| *a += layer.scale * v);
        let db = grads
            .get_or_alloc_mut(&biases[l])
            .expect("allocate a gradient");
        db.iter_mut()
            .zip(db_sum)
            .for_each(|(a, &v)| *a += layer.scale * v);
    }
    let dc = grads
        .get_or_alloc_mut(&coords)
        .expect("allocate a gradient");
    input_stack_backward(encoding, &coord_values, &lay, features, &dx, &mut dc[..]);
    pool.give(dx);
    pool.give(g);
    for p in pre {
        pool.give(p);
    }
    pool.give(input);
}

/// $\sin(\omega x)$ element-wise, recorded on `tr`: the activation of a sine layer whose
/// affine map was computed elsewhere (the per-face SIRENs of a hypernetwork).
///
/// On the CPU it is one op through the same vectorised, multi-threaded kernels as a fused sine
/// layer (value rows only), keeping $\omega x$ for the backward pass
/// ($\bar x = \omega\, \bar y \cos(\omega x)$); on other devices it is dfdx's
/// `(x * w0).sin()`.
///
/// ```
/// use dfdx::prelude::*;
/// use siren_core::{fused::sine, Tracer};
///
/// let dev = Cpu::default();
/// let x: Tensor<(usize,), f32, Cpu> = dev.tensor_from_vec(vec![0.0, 0.01, -0.02], (3,));
/// let y = sine(&mut Tracer::inference(), x, 30.0);
/// assert!((y.as_vec()[1] - 0.3f32.sin()).abs() < 1e-6);
/// ```
pub fn sine<S: Shape, E: Float, D: Device<E>, T: Tape<E, D>>(
    tr: &mut Tracer<E, D, T>,
    x: Tensor<S, E, D>,
    w0: E,
) -> Tensor<S, E, D> {
    let Some(x_cpu) = on_cpu(&x) else {
        return tr.apply(x, |x| (x * w0).sin());
    };
    // Rows of the last axis are the kernels' points; the bias is zero.
    let m = x.shape().concrete().into_iter().last().unwrap_or(1).max(1);
    let act = LayerActivation::Sine(w0.as_f64());
    let lay = Layout::for_order(1, Order::Value);
    let mut p: Vec<E> = x_cpu.as_vec().into_iter().map(|v| v * w0).collect();
    let mut y = vec![E::zero(); p.len()];
    if !p.is_empty() {
        activate(act, &lay, m, &vec![E::zero(); m], &mut p, &mut y);
    }
    let out = x.device().tensor_from_vec(y, *x.shape());
    if T::OWNS_TAPE {
        let out_cpu = on_cpu(&out).expect("CPU device checked above");
        tr.tape_mut().add_backward_op(move |grads| {
            let grads = (grads as &mut dyn Any)
                .downcast_mut::<Gradients<E, Cpu>>()
                .expect("CPU device checked when the op was recorded");
            let mut g = grads
                .get_or_alloc_mut(&out_cpu)
                .expect("allocate a gradient")
                .to_vec();
            if !g.is_empty() {
                activate_backward(act, &lay, m, &p, &mut g, None);
            }
            let gx = grads.get_or_alloc_mut(&x_cpu).expect("allocate a gradient");
            gx.iter_mut().zip(&g).for_each(|(gx, &g)| *gx += w0 * g);
            Ok(())
        });
    }
    out
}
