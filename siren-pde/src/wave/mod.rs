//! The wave equation $u_{tt} = c(x, y)^2\, \Delta u$ on $[-1, 1]^2$, $t \in [0, T]$, from a
//! narrow Gaussian at rest: the problem, the residual loss a network trains on, the seed's
//! sampling scheme, and the leapfrog reference solver ([`reference`](mod@reference)).
//!
//! Network inputs are $(t, x, y)$; the losses:
//! * [`LossForm::MeanSquares`] (the seed's): $\overline{r^2} + \lambda_1 \overline{u_t(0)^2} +
//!   \lambda_2 \overline{(u(0) - f)^2}$ with $r = u_{tt} - c^2 \Delta u$;
//! * [`LossForm::Original`] (the original code's `wave_pml`): $\sum |r| +
//!   \frac{N}{10} \sum |u(0) - f| + \frac{N}{100} \sum |u_t(0)|$, $N$ the points per step
//!   (interior and initial together).

pub mod experiment;
pub mod reference;

use dfdx::prelude::*;
use rand::Rng;
use serde::Serialize;
use siren_core::train::TrainTracer;
use siren_core::Backend;
use siren_core::{DiagonalOperator, Error, Float, Jet, Matrix, Result};

pub use crate::medium::Medium;
pub use reference::{solve_wave, wave_energy, Grid, Snapshots};

/// Which loss the network trains on (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum LossForm {
    /// The seed's weighted mean squares with weights $\lambda_1$ (Neumann) and $\lambda_2$
    /// (Dirichlet).
    MeanSquares {
        /// $\lambda_1$.
        neumann: f64,
        /// $\lambda_2$.
        dirichlet: f64,
    },
    /// The original code's absolute-value sums.
    Original,
}

/// The initial condition: $f(x, y) = p\, e^{-|x|^2 / (2\sigma)}$, at rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Source {
    /// Variance parameter $\sigma$ (the original: $5\cdot10^{-4}$).
    pub sigma: f64,
    /// Peak $p$ (the original: 0.02).
    pub peak: f64,
}

impl Default for Source {
    fn default() -> Self {
        Self {
            sigma: 5e-4,
            peak: 0.02,
        }
    }
}

impl Source {
    /// $f(x, y)$.
    pub fn at(&self, x: f64, y: f64) -> f64 {
        self.peak * (-(x * x + y * y) / (2.0 * self.sigma)).exp()
    }
}

/// The seed's sampling: each step, `interior` points with space uniform in $[-1, 1]^2$ and
/// time uniform in $[0, T(s)]$, where $T$ grows linearly from 0 to `t_max` over `ramp_steps`
/// (a curriculum); plus `initial` points at $t = 0$, of which `near_source` lie uniformly in
/// the disc of radius `source_radius` around the source; plus (ours, 0 in the original)
/// `boundary` points on the edges of $[-1, 1]^2$ at times uniform in $[0, T(s)]$, where the
/// loss asks $u = 0$.
///
/// Without the boundary points the problem on $[-1, 1]^2$ is not well posed: a wave entering
/// from outside the square satisfies the equation and the initial conditions inside it, and
/// trained networks do grow such fields near the edges (the reference solver has $u = 0$
/// there, which the pulse does not reach before $t = 0.4$).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaveSampler {
    /// Points in the space-time interior per step.
    pub interior: usize,
    /// Points at $t = 0$ per step.
    pub initial: usize,
    /// How many of the initial points lie near the source.
    pub near_source: usize,
    /// Radius of the disc around the source.
    pub source_radius: f64,
    /// Points per step on the edges of the square (ours; 0 in the original).
    pub boundary: usize,
    /// Final time $T$.
    pub t_max: f64,
    /// Steps over which the time window opens to `t_max`.
    pub ramp_steps: usize,
}

impl WaveSampler {
    /// The time window at `step`.
    pub fn window(&self, step: usize) -> f64 {
        if self.ramp_steps == 0 {
            self.t_max
        } else {
            self.t_max * (step as f64 / self.ramp_steps as f64).min(1.0)
        }
    }

    /// Step `step`'s points, each set row-major `(t, x, y)` triples.
    pub fn sample(&self, rng: &mut impl Rng, step: usize) -> Result<WaveBatch> {
        if self.near_source > self.initial || self.interior == 0 || self.initial == 0 {
            return Err(Error::InvalidConfig(
                "need interior and initial points, and near_source <= initial".into(),
            ));
        }
        let t_end = self.window(step);
        let mut interior = Vec::with_capacity(3 * self.interior);
        for _ in 0..self.interior {
            interior.push(if t_end > 0.0 {
                rng.gen_range(0.0..t_end)
            } else {
                0.0
            });
            interior.push(rng.gen_range(-1.0..1.0));
            interior.push(rng.gen_range(-1.0..1.0));
        }
        let mut initial = Vec::with_capacity(3 * self.initial);
        for k in 0..self.initial {
            let (x, y) = if k < self.near_source {
                // uniform in the disc: radius sqrt(u) R
                let r = self.source_radius * rng.gen::<f64>().sqrt();
                let a = rng.gen_range(0.0..std::f64::consts::TAU);
                (r * a.cos(), r * a.sin())
            } else {
                (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0))
            };
            initial.extend([0.0, x, y]);
        }
        let mut boundary = Vec::with_capacity(3 * self.boundary);
        for _ in 0..self.boundary {
            let t = if t_end > 0.0 {
                rng.gen_range(0.0..t_end)
            } else {
                0.0
            };
            let along = rng.gen_range(-1.0..1.0);
            let side = if rng.gen::<bool>() { 1.0 } else { -1.0 };
            if rng.gen::<bool>() {
                boundary.extend([t, side, along]);
            } else {
                boundary.extend([t, along, side]);
            }
        }
        Ok(WaveBatch {
            interior,
            initial,
            boundary,
        })
    }
}

/// One step's points from [`WaveSampler::sample`], each set row-major `(t, x, y)`.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveBatch {
    /// Where the residual is asked to vanish.
    pub interior: Vec<f64>,
    /// At $t = 0$, where $u = f$ and $u_t = 0$.
    pub initial: Vec<f64>,
    /// On the square's edges, where $u = 0$.
    pub boundary: Vec<f64>,
}

/// The wave operator $\partial_t^2 - c^2 \Delta_{x,y}$ over $(t, x, y)$, with `c_squared`
/// the squared speed $c^2$ at each point of the batch. [`siren_core::Network::jet_operators`]
/// carries it as one row per point (5 rows with the value and gradient, against 6 for
/// separate $u_{tt}$ and $\Delta_{x,y} u$).
pub fn wave_operator<E: Float>(c_squared: &[E]) -> DiagonalOperator<E> {
    let minus: Vec<E> = c_squared.iter().map(|&c2| -c2).collect();
    DiagonalOperator::new()
        .term(0, E::one())
        .term_per_point(1, minus.clone())
        .term_per_point(2, minus)
}

/// $r = u_{tt} - c^2 \Delta_{x,y} u$ from a jet over $(t, x, y)$ that carries
/// [`wave_operator`]`(c_squared)` (or [`siren_core::Order::Diagonal`]); `c_squared` is $c^2$
/// at the jet's points. `(N, 1)`.
pub fn wave_residual<E: Float, D: Backend<E>>(
    tr: &mut TrainTracer<E, D>,
    jet: &Jet<E, D>,
    c_squared: &[E],
) -> Result<Matrix<E, D>> {
    jet.operator(tr, &wave_operator(c_squared))
}

/// The loss of one step: `residual` over the interior points, the value `u0` and time
/// derivative `ut0` of the network at the initial points against the source values `f0`, and
/// the value `ub` on the boundary points (if any), asked to vanish with the Dirichlet weight.
pub fn wave_loss<E: Float, D: Backend<E>>(
    tr: &mut TrainTracer<E, D>,
    form: LossForm,
    residual: Matrix<E, D>,
    u0: Matrix<E, D>,
    ut0: Matrix<E, D>,
    f0: &Matrix<E, D>,
    ub: Option<Matrix<E, D>>,
) -> Tensor<(), E, D> {
    let f0 = f0.clone();
    let nb = ub.as_ref().map_or(0, |u| u.shape().0);
    let n = (residual.shape().0 + u0.shape().0 + nb) as f64;
    let (pde, dirichlet, neumann, wd, wn) = match form {
        LossForm::MeanSquares { neumann, dirichlet } => (
            tr.apply(residual, |r| r.square().mean()),
            tr.apply(u0, |u| (u - f0).square().mean()),
            tr.apply(ut0, |u| u.square().mean()),
            dirichlet,
            neumann,
        ),
        LossForm::Original => (
            tr.apply(residual, |r| r.abs().sum()),
            tr.apply(u0, |u| (u - f0).abs().sum()),
            tr.apply(ut0, |u| u.abs().sum()),
            n / 10.0,
            n / 100.0,
        ),
    };
    let boundary = tr.apply2(dirichlet, neumann, |d, u| d * E::of(wd) + u * E::of(wn));
    let total = tr.apply2(pde, boundary, |p, b| p + b);
    match ub {
        None => total,
        Some(ub) => {
            let edge = match form {
                LossForm::MeanSquares { .. } => tr.apply(ub, |u| u.square().mean()),
                LossForm::Original => tr.apply(ub, |u| u.abs().sum()),
            };
            tr.apply2(total, edge, |t, e| t + e * E::of(wd))
        }
    }
}
