//! Training primitives: grids, seeded sampling, and steps that actually learn.

use dfdx::prelude::*;
use siren_core::train::{gather_rows, grid, mse, to_matrix, train_step, MinibatchSampler};
use siren_core::{Adam, AdamConfig, Network, NetworkConfig, Order};

#[test]
fn grid_follows_the_original_convention() {
    let g = grid(&[2, 3]);
    assert_eq!(
        g,
        vec![-1.0, -1.0, -1.0, 0.0, -1.0, 1.0, 1.0, -1.0, 1.0, 0.0, 1.0, 1.0]
    );
    assert_eq!(grid(&[1]), vec![0.0]);
}

#[test]
fn minibatches_are_seeded_and_cover_every_point_each_epoch() {
    let mut a = MinibatchSampler::new(10, 5).unwrap();
    let mut b = MinibatchSampler::new(10, 5).unwrap();
    let first: Vec<usize> = (0..3).flat_map(|_| a.next_batch(4)).collect();
    let second: Vec<usize> = (0..3).flat_map(|_| b.next_batch(4)).collect();
    assert_eq!(first, second);
    let mut epoch = first[..10].to_vec();
    epoch.sort();
    assert_eq!(epoch, (0..10).collect::<Vec<_>>());
    assert_ne!(
        MinibatchSampler::new(10, 6).unwrap().next_batch(10),
        first[..10].to_vec()
    );
    assert!(MinibatchSampler::new(0, 1).is_err());
    assert_eq!(
        gather_rows(&[1, 2, 3, 4, 5, 6], 2, &[2, 0]),
        vec![5, 6, 1, 2]
    );
}

/// A SIREN fits a signal with fine detail far better than a ReLU MLP in the same steps.
#[test]
fn siren_fits_a_detailed_signal_and_beats_relu() {
    let dev = Cpu::default();
    let coords = grid(&[32, 32]);
    let target: Vec<f64> = coords
        .chunks(2)
        .map(|p| (6.0 * p[0]).sin() * (5.0 * p[1]).cos() + 0.3 * (17.0 * p[0] * p[1]).sin())
        .collect();
    let x = to_matrix::<f32, _>(&dev, &coords, 2);
    let y = to_matrix::<f32, _>(&dev, &target, 1);
    let fit = |config: NetworkConfig| {
        let mut net = Network::<f32, Cpu>::new(config, 1, &dev).unwrap();
        let mut adam = Adam::new(
            &net,
            AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        let mut losses = Vec::new();
        for _ in 0..150 {
            losses.push(
                train_step(&mut net, &mut adam, |net, tr| {
                    let jet = net.jet(&x, Order::Value, tr)?;
                    Ok(mse(tr, jet.value, &y))
                })
                .unwrap(),
            );
        }
        (losses[0], *losses.last().unwrap())
    };
    let (siren_start, siren_end) = fit(NetworkConfig::siren(2, 1, 64, 2));
    let (_, relu_end) = fit(NetworkConfig::relu(2, 1, 64, 2));
    assert!(
        siren_end < siren_start / 100.0,
        "SIREN {siren_start} -> {siren_end}"
    );
    assert!(
        siren_end < relu_end / 10.0,
        "SIREN {siren_end} vs ReLU {relu_end}"
    );
}

/// Trained only on its Laplacian and its boundary values, a SIREN recovers a function.
#[test]
fn poisson_loss_recovers_a_function_from_its_laplacian() {
    let dev = Cpu::default();
    let coords = grid(&[24, 24]);
    let u = |x: f64, y: f64| (2.0 * x).sin() * (1.5 * y).cos();
    let lap_u = |x: f64, y: f64| -(4.0 + 2.25) * u(x, y);
    let x = to_matrix::<f32, _>(&dev, &coords, 2);
    let lap = to_matrix::<f32, _>(
        &dev,
        &coords
            .chunks(2)
            .map(|p| lap_u(p[0], p[1]))
            .collect::<Vec<_>>(),
        1,
    );
    let boundary: Vec<f64> = coords
        .chunks(2)
        .filter(|p| p[0].abs() == 1.0 || p[1].abs() == 1.0)
        .flatten()
        .copied()
        .collect();
    let xb = to_matrix::<f32, _>(&dev, &boundary, 2);
    let ub = to_matrix::<f32, _>(
        &dev,
        &boundary
            .chunks(2)
            .map(|p| u(p[0], p[1]))
            .collect::<Vec<_>>(),
        1,
    );
    let config = NetworkConfig::siren(2, 1, 64, 2).with_w0(3.0, 3.0);
    let mut net = Network::<f32, Cpu>::new(config, 2, &dev).unwrap();
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: 2e-3,
            ..Default::default()
        },
    )
    .unwrap();
    for _ in 0..400 {
        train_step(&mut net, &mut adam, |net, tr| {
            let jet = net.jet(&x, Order::Diagonal, tr)?;
            let l = jet.laplacian(tr, &[0, 1])?;
            let interior = mse(tr, l, &lap);
            let edge = net.jet(&xb, Order::Value, tr)?;
            let edge = mse(tr, edge.value, &ub);
            Ok(tr.apply2(interior, edge, |i, e| i + e * 100.0))
        })
        .unwrap();
    }
    let pred = net.forward(&x).unwrap().as_vec();
    let err = coords
        .chunks(2)
        .zip(&pred)
        .map(|(p, &v)| (v as f64 - u(p[0], p[1])).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm = coords
        .chunks(2)
        .map(|p| u(p[0], p[1]).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(err / norm < 0.05, "relative L2 error {}", err / norm);
}

/// Runs `losses` through `run_steps` (the model is never changed) and returns the outcome.
fn run_losses(losses: &[f64]) -> siren_core::Result<usize> {
    use siren_core::train::{run_steps, RunPlan};
    let dev = Cpu::default();
    let mut net = Network::<f32, Cpu>::new(NetworkConfig::siren(1, 1, 4, 1), 0, &dev).unwrap();
    let mut adam = Adam::new(&net, AdamConfig::default()).unwrap();
    let plan = RunPlan {
        key: "test",
        identity: String::new(),
        steps: losses.len(),
        checkpoint: None,
        metadata: Vec::new(),
    };
    run_steps(
        &mut net,
        &mut adam,
        &plan,
        |s, _, _| Ok(losses[s - 1]),
        |_, _, _| Ok(()),
    )
}

#[test]
fn a_loss_that_grows_far_beyond_its_minimum_and_its_start_is_divergence() {
    // the default rule: 1000x the lowest loss and above the first
    let e = run_losses(&[0.27, 0.1, 0.05, 2.2e5]).unwrap_err();
    assert!(
        matches!(&e, siren_core::Error::Diverged(m) if m.contains("at step 4")),
        "{e}"
    );
    // a late spike of a well-fitted model stays below where it began: not divergence
    assert!(run_losses(&[0.27, 1e-3, 1e-7, 1e-3, 1e-7]).is_ok());
    // a loss that rises a few times (a widening PDE curriculum) is not divergence either
    assert!(run_losses(&[1e-4, 1e-5, 5e-5, 1e-4]).is_ok());
}
