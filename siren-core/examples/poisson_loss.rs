//! Recover a function from its Laplacian alone (the paper's Poisson experiment in
//! miniature): train on $\mathrm{mean}((\Delta u - g)^2)$ plus the boundary values, with
//! $g = \Delta u^*$ for $u^*(x, y) = \sin(\pi x)\sin(\pi y)$, and compare with $u^*$.
//!
//! ```sh
//! cargo run --release -p siren-core --example poisson_loss
//! ```
//!
//! The Laplacian comes from forward-propagated input derivatives (`Network::jet_laplacians`):
//! no double backward, one reverse pass per step.

use std::f64::consts::PI;

use dfdx::prelude::*;
use siren_core::train::{grid, to_matrix, train_step};
use siren_core::{device, Adam, AdamConfig, Network, NetworkConfig};

fn main() -> Result<(), siren_core::Error> {
    let truth = |x: f64, y: f64| (PI * x).sin() * (PI * y).sin();
    let dev = device::cpu();
    // Interior points and their Laplacian g = -2 pi^2 u*.
    let inside = grid(&[48, 48]);
    let g: Vec<f64> = inside
        .chunks(2)
        .map(|p| -2.0 * PI * PI * truth(p[0], p[1]))
        .collect();
    // The boundary of [-1, 1]^2, where u* = 0: without it the solution is defined up to a
    // harmonic function.
    let edge: Vec<f64> = (0..64)
        .flat_map(|i| {
            let t = -1.0 + 2.0 * i as f64 / 63.0;
            [t, -1.0, t, 1.0, -1.0, t, 1.0, t]
        })
        .collect();
    let (x, x_edge) = (
        to_matrix::<f32, Cpu>(&dev, &inside, 2),
        to_matrix(&dev, &edge, 2),
    );
    let g = to_matrix::<f32, Cpu>(&dev, &g, 1);

    let mut net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 64, 3), 0, &dev)?;
    let mut adam = Adam::new(
        &net,
        AdamConfig {
            lr: 1e-4,
            ..Default::default()
        },
    )?;
    for step in 0..=600 {
        let loss = train_step(&mut net, &mut adam, |net, tr| {
            let jet = net.jet_laplacians(&x, &[&[0, 1]], tr)?;
            let lap = jet.laplacian(tr, &[0, 1])?;
            let g = g.clone();
            let interior = tr.apply(lap, |l| (l - g).square().mean());
            let boundary = net.jet(&x_edge, siren_core::Order::Value, tr)?.value;
            let boundary = tr.apply(boundary, |b| b.square().mean());
            // The Laplacian is ~20 times the value: weigh the boundary up to match.
            Ok(tr.apply2(interior, boundary, |a, b| a + b * 100.0))
        })?;
        if step % 100 == 0 {
            println!("step {step:4}: loss {loss:.3e}");
        }
    }
    // Relative L2 error of u against u* on a finer grid.
    let check = grid(&[97, 97]);
    let u = net
        .forward(&to_matrix::<f32, Cpu>(&dev, &check, 2))?
        .as_vec();
    let (mut err, mut norm) = (0.0, 0.0);
    for (p, &v) in check.chunks(2).zip(&u) {
        let t = truth(p[0], p[1]);
        err += (v as f64 - t).powi(2);
        norm += t * t;
    }
    println!("relative L2 error of u: {:.3}", (err / norm).sqrt());
    Ok(())
}
