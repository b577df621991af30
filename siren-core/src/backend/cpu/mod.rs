//! The CPU backend: [`Network::jet`] as one op on dfdx's tape, the element-wise sine, the
//! convolution, and the matrix products they run on.
//!
//! The reference path ([`crate::backend::reference`]) records every matrix product and every element-wise step of the derivative
//! recurrences as its own op: each allocates, most run on one thread, and the value, Jacobian
//! and second-derivative stacks go through separate products. On the CPU device this module
//! runs the same mathematics as one op:
//!
//! * Every point carries a **stack** of $K$ rows, point-major (`(N, K, width)`): the value,
//!   then $\partial_i h$, then $\partial_i^2 h$ (or one row $L h$ per operator of
//!   [`Network::jet_operators`]), then $\partial_i\partial_j h$ ($i<j$), as asked. The
//!   affine map of a layer is linear in every row, so the whole stack goes through **one**
//!   matrix product $P = \omega\,(H W^\top)$ ([`matmul`](mod@matmul)), and the bias $\omega b$
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
//!   twice. Buffers come from a pool per float type and are reused from step to step
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
//! (which may be computed: a hypernetwork feeds its latent code to its weight MLPs). The input
//! stack's rows come from the encoding's features ([`crate::model::encoding`]) and every
//! $s_k$ from [`crate::model::activation`], the formulas the reference path uses too.
//!
//! Files, one phase each: `rows` (the row plan), `input` (the first layer's stack),
//! `forward`, `backward`, `reverse` (the value and gradient of a one-output network by
//! reverse mode: fewer products than tangent rows, see its docs), `activation` (the chain rule
//! on chunks), `buffers`, `layers`, `op` (recording a hand-written backward on the tape),
//! `simd` (kernels compiled for AVX2 and AVX-512, picked at run time), `sine`, `conv` (a
//! direct convolution), `batched` (a batch of SIRENs with weights of their own),
//! [`matmul`](mod@matmul).
//!
//! [`Network::jet`]: crate::Network::jet
//! [`Network::jet_operators`]: crate::Network::jet_operators
//! [`Float::sin_cos_fast`]: crate::Float::sin_cos_fast

mod activation;
mod backward;
mod batched;
mod buffers;
mod conv;
mod forward;
mod input;
mod layers;
pub mod matmul;
mod op;
mod reverse;
mod rows;
mod simd;
mod sine;

use dfdx::prelude::*;

use super::Backend;
use crate::jet::{Carry, Jet};
use crate::model::conv::{Conv2d, Patches};
use crate::model::network::Network;
use crate::tensor::{BatchedLayer, Matrix, Stack};
use crate::tracer::Tracer;
use crate::Float;

impl<E: Float> Backend<E> for Cpu
where
    Cpu: Device<E>,
{
    fn jet<T: Tape<E, Self>>(
        net: &Network<E, Self>,
        coords: &Matrix<E, Self>,
        carry: Carry<'_, E>,
        tracer: &mut Tracer<E, Self, T>,
    ) -> Jet<E, Self> {
        let (n, d) = *coords.shape();
        let plan = rows::RowPlan::new(d, n, carry);
        let outputs = net.layers().last().map_or(0, |l| l.weight.shape().0);
        if reverse::applies(&plan, outputs) {
            return reverse::jet(net, coords, tracer);
        }
        forward::jet(net, coords, plan, tracer)
    }

    fn sine<S: Shape, T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        x: Tensor<S, E, Self>,
        w0: E,
    ) -> Tensor<S, E, Self> {
        sine::sine(tracer, x, w0)
    }

    fn conv<T: Tape<E, Self>>(
        conv: &Conv2d<E, Self>,
        tracer: &mut Tracer<E, Self, T>,
        x: Matrix<E, Self>,
        patches: &Patches<E, Self>,
    ) -> Matrix<E, Self> {
        conv::conv(conv, tracer, x, patches)
    }

    fn batched_siren<T: Tape<E, Self>>(
        tracer: &mut Tracer<E, Self, T>,
        coords: &Matrix<E, Self>,
        layers: &[BatchedLayer<E, Self>],
        w0: E,
    ) -> Stack<E, Self> {
        batched::batched_siren(tracer, coords, layers, w0)
    }
}
