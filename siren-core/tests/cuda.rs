//! On a GPU (built with `--features cuda`): every jet field, weight gradient and coordinate
//! gradient of the CUDA device (the reference backend, in f32) against the CPU backend in f64,
//! for each network kind and derivative pass. Without a CUDA device the test says so and
//! passes; `scripts/gpu-check.sh` runs it on a GPU machine.
#![cfg(feature = "cuda")]

mod common;

use dfdx::prelude::*;
use siren_core::{Backend, Float, Network, NetworkConfig, Order, Parameters};

#[derive(Clone, Copy, Debug)]
enum Pass {
    Order(Order),
    Laplacian,
}

/// Every field of a jet at `x` and the gradients of a loss using them ([`common::jet_fields`]).
fn fields<E: Float, D: Backend<E>>(net: &Network<E, D>, x: &[f64], pass: Pass) -> Vec<Vec<f64>> {
    let dev = net.device().clone();
    let d = net.config().in_features;
    let host: Vec<E> = x.iter().map(|&v| E::of(v)).collect();
    let coords = dev.tensor_from_vec(host, (x.len() / d, d));
    let mut tracer = net.recording_tracer();
    let jet = match pass {
        Pass::Order(order) => net.jet(&coords, order, &mut tracer).unwrap(),
        Pass::Laplacian => {
            let all: Vec<usize> = (0..d).collect();
            net.jet_laplacians(&coords, &[&all], &mut tracer).unwrap()
        }
    };
    common::jet_fields(net, &coords, tracer, jet)
}

#[test]
fn cuda_matches_the_cpu_in_f64() {
    let cuda = match siren_core::device::cuda(0) {
        Ok(dev) => dev,
        Err(e) => {
            eprintln!("skipped: no CUDA device ({e:?})");
            return;
        }
    };
    let cpu = siren_core::device::cpu();
    let mut worst = 0.0f64;
    for d in [2, 3] {
        let x: Vec<f64> = (0..200 * d)
            .map(|i| ((i as f64 * 0.618_034).fract() * 2.0 - 1.0) * 0.9)
            .collect();
        for (name, config) in [
            ("siren", NetworkConfig::siren(d, 1, 64, 3)),
            ("siren, 2 outputs", NetworkConfig::siren(d, 2, 64, 3)),
            ("tanh", NetworkConfig::tanh(d, 1, 32, 2)),
            ("relu+pe", NetworkConfig::relu_positional(d, 1, 32, 2, 4)),
        ] {
            let exact = Network::<f64, Cpu>::new(config.clone(), 7, &cpu).unwrap();
            let layers = exact
                .to_host()
                .into_iter()
                .map(|(w, b)| {
                    let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
                    (f(w), f(b))
                })
                .collect();
            let gpu = Network::<f32, Cuda>::from_host(config, layers, &cuda).unwrap();
            for pass in [
                Pass::Order(Order::Value),
                Pass::Order(Order::Gradient),
                Pass::Order(Order::Hessian),
                Pass::Laplacian,
            ] {
                let (want, got) = (fields(&exact, &x, pass), fields(&gpu, &x, pass));
                assert_eq!(want.len(), got.len(), "{name}, {pass:?}: the same fields");
                for (k, (a, b)) in want.iter().zip(&got).enumerate() {
                    let scale = a.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
                    let diff = a
                        .iter()
                        .zip(b)
                        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
                        / scale;
                    worst = worst.max(diff);
                    // f32 throughout on the GPU, with second derivatives scaled by w0^2.
                    assert!(
                        diff < 2e-3,
                        "{name}, d = {d}, {pass:?}, field {k}: CUDA f32 differs from CPU f64 by {diff:e} (relative to the field's largest value)"
                    );
                }
            }
        }
    }
    println!("largest relative difference, CUDA f32 against CPU f64: {worst:e}");
}
