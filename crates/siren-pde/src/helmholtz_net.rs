//! Training a network on the Helmholtz problem: two outputs $(\mathrm{Re}\,u, \mathrm{Im}\,u)$,
//! the residual $L\lbrack u\rbrack + f$ of [`crate::helmholtz`]'s PML operator, and the error against the
//! reference solver over the physical domain.
//!
//! Loss: the mean squared modulus of the residual, $\overline{|L\lbrack u\rbrack + f|^2}$, at points
//! uniform in $[-1, 1]^2$ plus a few in a small disc around the source (which is far
//! narrower than the sampling density).

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::train::{to_matrix, train_step, TrainTracer};
use siren_core::{Adam, AdamConfig, Float, Jet, Matrix, Network, NetworkConfig, Order, Result};

use crate::helmholtz::{Helmholtz, PointCoefficients};

/// $c \odot q$ for per-point complex $c$ and a tracked complex quantity $q$, both `(N, 2)`
/// as (re, im): $(c_r q_r - c_i q_i,\ c_r q_i + c_i q_r)$.
fn complex_scale<E: Float, D: Device<E>>(
    tr: &mut TrainTracer<E, D>,
    q: Matrix<E, D>,
    coef: &[f64],
) -> Matrix<E, D> {
    let dev = q.device().clone();
    let n = q.shape().0;
    let re: Vec<f64> = coef.chunks(2).flat_map(|c| [c[0], c[0]]).collect();
    let im: Vec<f64> = coef.chunks(2).flat_map(|c| [-c[1], c[1]]).collect();
    let (re, im) = (
        to_matrix::<E, D>(&dev, &re, 2),
        to_matrix::<E, D>(&dev, &im, 2),
    );
    let swap = to_matrix::<E, D>(&dev, &[0.0, 1.0, 1.0, 0.0], 2);
    debug_assert_eq!(re.shape().0, n);
    let swapped = tr.apply(q.clone(), |q| q.matmul(swap));
    tr.apply2(q, swapped, |q, s| q * re + s * im)
}

/// $L\lbrack u\rbrack + f$ at the jet's points (needs [`Order::Diagonal`]), `(N, 2)`.
pub fn helmholtz_residual<E: Float, D: Device<E>>(
    tr: &mut TrainTracer<E, D>,
    jet: &Jet<E, D>,
    coefs: &PointCoefficients,
) -> Result<Matrix<E, D>> {
    let [a, ax, b, by, c, f] = &coefs.terms;
    let quantities = [
        (jet.second(tr, 0, 0)?, a),
        (jet.partial(tr, 0)?, ax),
        (jet.second(tr, 1, 1)?, b),
        (jet.partial(tr, 1)?, by),
        (jet.value.clone(), c),
    ];
    let dev = jet.value.device().clone();
    let mut total = to_matrix::<E, D>(&dev, f, 2);
    let mut first = true;
    for (q, coef) in quantities {
        let term = complex_scale(tr, q, coef);
        total = if first {
            let f = total.clone();
            tr.apply(term, |t| t + f)
        } else {
            tr.apply2(total, term, |acc, t| acc + t)
        };
        first = false;
    }
    Ok(total)
}

/// One Helmholtz experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct HelmholtzExperiment {
    /// The problem.
    pub problem: Helmholtz,
    /// Uniform points per step.
    pub points: usize,
    /// Extra points per step in the disc of radius `source_radius` around the source.
    pub near_source: usize,
    /// Radius of that disc.
    pub source_radius: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Steps.
    pub steps: usize,
    /// Seed.
    pub seed: u64,
}

impl HelmholtzExperiment {
    /// A CPU-sized version (minutes): 4,096 points per step with 64 near the source,
    /// 1,500 steps, lr $10^{-4}$, and a wider source ($\sigma = 10^{-3}$) the small quick-scale
    /// networks can resolve, scaled to unit mass (amplitude $(1+i)/(2\pi\sigma)$: the problem
    /// is linear, so relative errors do not depend on it); $k = 20$ and the PML as in the paper.
    pub fn quick() -> Self {
        Self {
            problem: Helmholtz {
                source_sigma: 1e-3,
                // unit mass, so the field is O(1) and the forced response dominates the loss
                amplitude: (
                    1.0 / (2e-3 * std::f64::consts::PI),
                    1.0 / (2e-3 * std::f64::consts::PI),
                ),
                ..Default::default()
            },
            points: 4096,
            near_source: 64,
            source_radius: 0.1,
            lr: 1e-4,
            steps: 1500,
            seed: 0,
        }
    }

    /// The original settings (for a GPU): 52,900 points per step, 100 near the source,
    /// lr $2\cdot10^{-5}$, 50k steps.
    pub fn paper() -> Self {
        Self {
            problem: Helmholtz::default(),
            points: 52_800,
            near_source: 100,
            source_radius: 0.05,
            lr: 2e-5,
            steps: 50_000,
            seed: 0,
        }
    }
}

/// Trains `network_config` (2 inputs, 2 outputs) with squared slowness `slowness_squared`.
pub fn train_helmholtz<E: Float, D: Device<E>>(
    network_config: NetworkConfig,
    exp: &HelmholtzExperiment,
    slowness_squared: impl Fn(f64, f64) -> f64,
    device: &D,
    mut observe: impl FnMut(usize, f64),
) -> Result<Network<E, D>> {
    exp.problem.validate()?;
    let mut net = Network::<E, D>::new(network_config, exp.seed, device)?;
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: exp.lr,
            ..Default::default()
        },
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(exp.seed ^ 0x4e1);
    let (sx, sy) = exp.problem.source;
    for step in 0..exp.steps {
        let mut pts = Vec::with_capacity(2 * (exp.points + exp.near_source));
        for _ in 0..exp.points {
            pts.push(rng.gen_range(-1.0..1.0));
            pts.push(rng.gen_range(-1.0..1.0));
        }
        for _ in 0..exp.near_source {
            let r = exp.source_radius * rng.gen::<f64>().sqrt();
            let a = rng.gen_range(0.0..std::f64::consts::TAU);
            pts.push(sx + r * a.cos());
            pts.push(sy + r * a.sin());
        }
        let coefs = exp.problem.coefficients(&pts, &slowness_squared);
        let x = to_matrix::<E, D>(device, &pts, 2);
        let loss = train_step(&mut net, &mut adam, |net, tr| {
            let jet = net.jet(&x, Order::Diagonal, tr)?;
            let r = helmholtz_residual(tr, &jet, &coefs)?;
            Ok(tr.apply(r, |r| {
                r.square().sum::<(), _>() * E::of(1.0 / x.shape().0 as f64)
            }))
        })?;
        observe(step + 1, loss);
    }
    Ok(net)
}

/// Relative L2 error of the network against a reference field on an `n x n` grid over the
/// physical domain (outside the PML), and the network's field there.
pub fn helmholtz_error<E: Float, D: Device<E>>(
    net: &Network<E, D>,
    problem: &Helmholtz,
    reference: &[faer::complex_native::c64],
    n: usize,
) -> Result<(f64, Vec<(f64, f64)>)> {
    let h = 2.0 / (n - 1) as f64;
    let pts: Vec<f64> = (0..n * n)
        .flat_map(|p| [-1.0 + (p / n) as f64 * h, -1.0 + (p % n) as f64 * h])
        .collect();
    let pred = net
        .forward(&to_matrix::<E, D>(net.device(), &pts, 2))?
        .as_vec();
    let field: Vec<(f64, f64)> = pred
        .chunks(2)
        .map(|v| (v[0].as_f64(), v[1].as_f64()))
        .collect();
    let (mut num, mut den) = (0.0, 0.0);
    for (p, (u, r)) in field.iter().zip(reference).enumerate() {
        if problem.in_physical_domain(pts[2 * p], pts[2 * p + 1]) {
            num += (u.0 - r.re).powi(2) + (u.1 - r.im).powi(2);
            den += r.re * r.re + r.im * r.im;
        }
    }
    Ok(((num / den.max(1e-300)).sqrt(), field))
}
