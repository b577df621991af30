//! Training a network on the wave equation and measuring it against the reference solver.

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use siren_core::train::{to_matrix, train_step};
use siren_core::{Adam, AdamConfig, Float, Network, NetworkConfig, Order, Result};

use super::{
    solve_wave, wave_loss, wave_operator, Grid, LossForm, Medium, Snapshots, Source, WaveSampler,
};

/// One wave experiment: the problem, the sampling, the loss and the optimisation.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveExperiment {
    /// The medium.
    pub medium: Medium,
    /// The initial condition.
    pub source: Source,
    /// Points per step.
    pub sampler: WaveSampler,
    /// Loss form and weights.
    pub loss: LossForm,
    /// Adam learning rate.
    pub lr: f64,
    /// Steps.
    pub steps: usize,
    /// Seed of the init and the sampling.
    pub seed: u64,
}

impl WaveExperiment {
    /// A CPU-sized version (minutes): 2,048 interior and 1,024 initial points per step,
    /// 1,500 steps with the time window opening over the first 1,000, lr $10^{-4}$, initial
    /// conditions weighted $\lambda_2 = 10^4$, $\lambda_1 = 10^2$ (the residual of a pulse this
    /// narrow is $O(1/\sigma)$ larger than its values), and a
    /// wider source ($\sigma = 5\cdot10^{-3}$, peak 1) that the small networks of the quick
    /// scale can resolve.
    pub fn quick(medium: Medium) -> Self {
        Self {
            medium,
            source: Source {
                sigma: 5e-3,
                peak: 1.0,
            },
            sampler: WaveSampler {
                interior: 2048,
                initial: 1024,
                near_source: 512,
                source_radius: 0.25,
                t_max: 0.4,
                ramp_steps: 1000,
            },
            loss: LossForm::MeanSquares {
                neumann: 1e2,
                dirichlet: 1e4,
            },
            lr: 1e-4,
            steps: 1500,
            seed: 0,
        }
    }

    /// The original experiment's settings (for a GPU): 115,600 points per step, 2,000 of
    /// them at $t = 0$ with 1,000 near the source, lr $2\cdot10^{-5}$, 100k steps.
    pub fn paper(medium: Medium) -> Self {
        Self {
            medium,
            source: Source::default(),
            sampler: WaveSampler {
                interior: 115_600 - 2000,
                initial: 2000,
                near_source: 1000,
                source_radius: 0.25,
                t_max: 0.4,
                ramp_steps: 100_000,
            },
            loss: LossForm::MeanSquares {
                neumann: 1.0,
                dirichlet: 1.0,
            },
            lr: 2e-5,
            steps: 100_000,
            seed: 0,
        }
    }
}

/// Trains `network_config` (inputs $(t, x, y)$, one output) on `exp`; `observe(step, loss)`.
pub fn train_wave<E: Float, D: Device<E>>(
    network_config: NetworkConfig,
    exp: &WaveExperiment,
    device: &D,
    mut observe: impl FnMut(usize, f64),
) -> Result<Network<E, D>> {
    let mut net = Network::<E, D>::new(network_config, exp.seed, device)?;
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: exp.lr,
            ..Default::default()
        },
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(exp.seed ^ 0x3a7e);
    for step in 0..exp.steps {
        let (interior, initial) = exp.sampler.sample(&mut rng, step)?;
        let c2: Vec<E> = interior
            .chunks(3)
            .map(|p| E::of(exp.medium.speed(p[1], p[2]).powi(2)))
            .collect();
        let wave = wave_operator(&c2);
        let f0: Vec<f64> = initial
            .chunks(3)
            .map(|p| exp.source.at(p[1], p[2]))
            .collect();
        let (xi, x0) = (
            to_matrix::<E, D>(device, &interior, 3),
            to_matrix::<E, D>(device, &initial, 3),
        );
        let f0 = to_matrix::<E, D>(device, &f0, 1);
        let loss = train_step(&mut net, &mut adam, |net, tr| {
            // The residual's operator as one carried row per point.
            let jet = net.jet_operators(&xi, std::slice::from_ref(&wave), tr)?;
            let residual = jet.operator(tr, &wave)?;
            let start = net.jet(&x0, Order::Gradient, tr)?;
            let ut0 = start.partial(tr, 0)?;
            Ok(wave_loss(tr, exp.loss, residual, start.value, ut0, &f0))
        })?;
        observe(step + 1, loss);
    }
    Ok(net)
}

/// Reference fields of `exp` at `times` on an `n x n` grid.
pub fn wave_reference(exp: &WaveExperiment, n: usize, times: &[f64]) -> Result<Snapshots> {
    let grid = Grid { n };
    let coords: Vec<(f64, f64)> = (0..n * n).map(|p| (grid.x(p / n), grid.x(p % n))).collect();
    let initial: Vec<f64> = coords.iter().map(|&(x, y)| exp.source.at(x, y)).collect();
    let speed: Vec<f64> = coords
        .iter()
        .map(|&(x, y)| exp.medium.speed(x, y))
        .collect();
    solve_wave(grid, &initial, &vec![0.0; n * n], &speed, times, 0.9)
}

/// The network on the reference grid at each snapshot's time, and the relative L2 error
/// $\lVert u_\theta - u_\text{ref} \rVert / \lVert u_\text{ref} \rVert$ there.
pub fn wave_errors<E: Float, D: Device<E>>(
    net: &Network<E, D>,
    reference: &Snapshots,
    n: usize,
) -> Result<Vec<(f64, f64, Vec<f64>)>> {
    let grid = Grid { n };
    reference
        .iter()
        .map(|(t, u)| {
            let pts: Vec<f64> = (0..n * n)
                .flat_map(|p| [*t, grid.x(p / n), grid.x(p % n)])
                .collect();
            let pred: Vec<f64> = net
                .forward(&to_matrix::<E, D>(net.device(), &pts, 3))?
                .as_vec()
                .into_iter()
                .map(|v| v.as_f64())
                .collect();
            let num: f64 = pred.iter().zip(u).map(|(a, b)| (a - b).powi(2)).sum();
            let den: f64 = u.iter().map(|b| b * b).sum();
            Ok((*t, (num / den.max(1e-300)).sqrt(), pred))
        })
        .collect()
}
