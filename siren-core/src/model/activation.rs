//! What follows each layer's affine map, and its derivatives: the one place their formulas
//! live. The CPU kernels evaluate them on scalars, the reference path on whole tensors,
//! both through [`Elementwise`].
//!
//! With $s_k = \sigma^{(k)}(a)$:
//!
//! | activation | $s_0$ | $s_1$ | $s_2$ | $s_3$ |
//! |---|---|---|---|---|
//! | sine | $\sin a$ | $\cos a$ | $-\sin a$ | $-\cos a$ |
//! | tanh | $t = \tanh a$ | $1 - t^2$ | $-2 t s_1$ | $-2 (s_1^2 + t s_2)$ |
//! | ReLU | $\max(a, 0)$ | $\mathbb{1}_{a > 0}$ | 0 | 0 |
//! | identity | $a$ | 1 | 0 | 0 |
//!
//! ReLU's $s_1$ is a step: it carries no gradient of its own (its derivative is 0 almost
//! everywhere), as in PyTorch. The $\omega_0$ of a sine layer is part of its pre-activation
//! $a = \omega_0 (W h + b)$, not of $\sigma$.

use dfdx::prelude::*;

use crate::Float;

/// What follows a layer's affine map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerActivation {
    /// $\sin(\omega_0 a)$: a SIREN layer.
    Sine(f64),
    /// $\max(a, 0)$.
    Relu,
    /// $\tanh a$.
    Tanh,
    /// The affine output itself (the linear last layer).
    Identity,
}

/// The element-wise arithmetic the activation formulas are written in: one scalar for the
/// CPU kernels, a whole tensor (no tape) for the reference path.
pub trait Elementwise: Clone {
    /// $(\sin x, \cos x)$.
    fn sin_cos(&self) -> (Self, Self);
    /// $\tanh x$.
    fn tanh(&self) -> Self;
    /// 1 where $x > 0$, else 0.
    fn positive_step(&self) -> Self;
    /// 1 everywhere.
    fn ones(&self) -> Self;
    /// 0 everywhere.
    fn zeros(&self) -> Self;
    /// $-x$.
    fn neg(&self) -> Self;
    /// $x y$.
    fn mul(&self, other: &Self) -> Self;
    /// $x + y$.
    fn add(&self, other: &Self) -> Self;
    /// $c x$.
    fn scale(&self, c: f64) -> Self;
    /// $x + c$.
    fn offset(&self, c: f64) -> Self;
}

impl LayerActivation {
    /// $[s_0, s_1, s_2, s_3]$ at the pre-activation `a` (the table in the module docs).
    #[inline(always)]
    pub fn derivatives<V: Elementwise>(self, a: &V) -> [V; 4] {
        match self {
            LayerActivation::Sine(_) => {
                let (s, c) = a.sin_cos();
                let (ns, nc) = (s.neg(), c.neg());
                [s, c, ns, nc]
            }
            LayerActivation::Tanh => {
                let t = a.tanh();
                let s1 = t.mul(&t).neg().offset(1.0);
                let s2 = t.mul(&s1).scale(-2.0);
                let s3 = s1.mul(&s1).add(&t.mul(&s2)).scale(-2.0);
                [t, s1, s2, s3]
            }
            LayerActivation::Relu => {
                let step = a.positive_step();
                let zero = a.zeros();
                [a.mul(&step), step, zero.clone(), zero]
            }
            LayerActivation::Identity => {
                let zero = a.zeros();
                [a.clone(), a.ones(), zero.clone(), zero]
            }
        }
    }

    /// The factor of the affine map: $\omega_0$ for a sine layer, 1 otherwise.
    pub fn scale(self) -> f64 {
        match self {
            LayerActivation::Sine(w0) => w0,
            _ => 1.0,
        }
    }
}

impl<E: Float> Elementwise for E {
    #[inline(always)]
    fn sin_cos(&self) -> (Self, Self) {
        self.sin_cos_fast()
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        self.tanh_fast()
    }
    #[inline(always)]
    fn positive_step(&self) -> Self {
        if *self > E::zero() {
            E::one()
        } else {
            E::zero()
        }
    }
    #[inline(always)]
    fn ones(&self) -> Self {
        E::one()
    }
    #[inline(always)]
    fn zeros(&self) -> Self {
        E::zero()
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        -*self
    }
    #[inline(always)]
    fn mul(&self, other: &Self) -> Self {
        *self * *other
    }
    #[inline(always)]
    fn add(&self, other: &Self) -> Self {
        *self + *other
    }
    #[inline(always)]
    fn scale(&self, c: f64) -> Self {
        *self * E::of(c)
    }
    #[inline(always)]
    fn offset(&self, c: f64) -> Self {
        *self + E::of(c)
    }
}

impl<S: Shape, E: Float, D: Device<E>> Elementwise for Tensor<S, E, D> {
    fn sin_cos(&self) -> (Self, Self) {
        (self.clone().sin(), self.clone().cos())
    }
    fn tanh(&self) -> Self {
        self.clone().tanh()
    }
    fn positive_step(&self) -> Self {
        let dev = self.device();
        self.clone()
            .gt(E::zero())
            .choose(dev.ones_like(self.shape()), dev.zeros_like(self.shape()))
    }
    fn ones(&self) -> Self {
        self.device().ones_like(self.shape())
    }
    fn zeros(&self) -> Self {
        self.device().zeros_like(self.shape())
    }
    fn neg(&self) -> Self {
        self.clone().negate()
    }
    fn mul(&self, other: &Self) -> Self {
        self.clone() * other.clone()
    }
    fn add(&self, other: &Self) -> Self {
        self.clone() + other.clone()
    }
    fn scale(&self, c: f64) -> Self {
        self.clone() * E::of(c)
    }
    fn offset(&self, c: f64) -> Self {
        self.clone() + E::of(c)
    }
}
