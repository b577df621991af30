//! The wave equation $u_{tt} = c(x, y)^2\, \Delta u$ on $[-1, 1]^2$, $t \in [0, T]$, from a
//! narrow Gaussian at rest: the problem, the residual loss a network trains on, the seed's
//! sampling scheme, and the leapfrog reference solver ([`reference`](mod@reference)).
//!
//! Network inputs are $(t, x, y)$; the losses:
//! * [`LossForm::MeanSquares`] (the seed's): $\overline{r^2} + \lambda_1 \overline{u_t(0)^2} +
//!   \lambda_2 \overline{(u(0) - f)^2}$ with $r = u_{tt} - c^2 \Delta u$;
//! * [`LossForm::Original`] (the original code's `wave_pml`): $\frac{N}{10}\sum |r| +
//!   \sum |u(0) - f| + \frac{N}{100} \sum |u_t(0)|$, $N$ the points per step.

pub mod experiment;
pub mod reference;

use dfdx::prelude::*;
use rand::Rng;
use siren_core::train::TrainTracer;
use siren_core::{DiagonalOperator, Error, Float, Jet, Matrix, Result};

pub use reference::{solve_wave, wave_energy, Grid, Snapshots};

/// Propagation speed $c(x, y)$.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Medium {
    /// $c$ everywhere.
    Uniform(f64),
    /// $c_\text{in}$ inside the axis-aligned square of half-side `half` centred at `centre`,
    /// $c_\text{out}$ elsewhere.
    Square {
        /// Speed inside.
        inside: f64,
        /// Speed outside.
        outside: f64,
        /// Centre of the square.
        centre: (f64, f64),
        /// Half of its side.
        half: f64,
    },
}

impl Medium {
    /// The seed's heterogeneous medium: a slower square to the right of the source.
    pub fn slow_square() -> Self {
        Medium::Square {
            inside: 0.5,
            outside: 1.0,
            centre: (0.35, 0.0),
            half: 0.15,
        }
    }

    /// $c(x, y)$.
    pub fn speed(&self, x: f64, y: f64) -> f64 {
        match *self {
            Medium::Uniform(c) => c,
            Medium::Square {
                inside,
                outside,
                centre,
                half,
            } => {
                if (x - centre.0).abs() <= half && (y - centre.1).abs() <= half {
                    inside
                } else {
                    outside
                }
            }
        }
    }
}

/// Which loss the network trains on (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
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
#[derive(Clone, Copy, Debug, PartialEq)]
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
/// the disc of radius `source_radius` around the source.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveSampler {
    /// Points in the space-time interior per step.
    pub interior: usize,
    /// Points at $t = 0$ per step.
    pub initial: usize,
    /// How many of the initial points lie near the source.
    pub near_source: usize,
    /// Radius of the disc around the source.
    pub source_radius: f64,
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

    /// `(interior, initial)` points as row-major `(t, x, y)` triples.
    pub fn sample(&self, rng: &mut impl Rng, step: usize) -> Result<(Vec<f64>, Vec<f64>)> {
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
        Ok((interior, initial))
    }
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
pub fn wave_residual<E: Float, D: Device<E>>(
    tr: &mut TrainTracer<E, D>,
    jet: &Jet<E, D>,
    c_squared: &[E],
) -> Result<Matrix<E, D>> {
    jet.operator(tr, &wave_operator(c_squared))
}

/// The loss of one step: `residual` over the interior points, and the value `u0` and time
/// derivative `ut0` of the network at the initial points against the source values `f0`.
pub fn wave_loss<E: Float, D: Device<E>>(
    tr: &mut TrainTracer<E, D>,
    form: LossForm,
    residual: Matrix<E, D>,
    u0: Matrix<E, D>,
    ut0: Matrix<E, D>,
    f0: &Matrix<E, D>,
) -> Tensor<(), E, D> {
    let f0 = f0.clone();
    let n = residual.shape().0 as f64;
    let (pde, dirichlet, neumann, wd, wn) = match form {
        LossForm::MeanSquares { neumann, dirichlet } => (
            tr.apply(residual, |r| r.square().mean()),
            tr.apply(u0, |u| (u - f0).square().mean()),
            tr.apply(ut0, |u| u.square().mean()),
            dirichlet,
            neumann,
        ),
        LossForm::Original => (
            tr.apply(residual, |r| r.abs().sum() * E::of(n / 10.0)),
            tr.apply(u0, |u| (u - f0).abs().sum()),
            tr.apply(ut0, |u| u.abs().sum()),
            1.0,
            n / 100.0,
        ),
    };
    let boundary = tr.apply2(dirichlet, neumann, |d, u| d * E::of(wd) + u * E::of(wn));
    tr.apply2(pde, boundary, |p, b| p + b)
}
