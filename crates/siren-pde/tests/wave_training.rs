//! The wave residual on an exact solution, the sampler, and training end to end at toy size.

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use siren_core::{Jet, NetworkConfig, Parameters};
use siren_pde::wave::experiment::{train_wave, wave_errors, wave_reference, WaveExperiment};
use siren_pde::wave::{wave_residual, LossForm, Medium, WaveSampler};

/// A jet of $u = \sin(a x + b y - \omega t)$ with $\omega^2 = c^2 (a^2 + b^2)$: an exact
/// plane wave, so the residual vanishes for that $c$ and is known for any other.
fn plane_wave_jet(dev: &Cpu, pts: &[[f64; 3]], a: f64, b: f64, w: f64) -> Jet<f64, Cpu> {
    let n = pts.len();
    let phase: Vec<f64> = pts.iter().map(|p| a * p[1] + b * p[2] - w * p[0]).collect();
    let s: Vec<f64> = phase.iter().map(|v| v.sin()).collect();
    let c: Vec<f64> = phase.iter().map(|v| v.cos()).collect();
    let scaled = |v: &[f64], k: f64| v.iter().map(|x| k * x).collect::<Vec<_>>();
    let stack = |parts: Vec<Vec<f64>>| dev.tensor_from_vec(parts.concat(), (3, n, 1));
    Jet {
        value: dev.tensor_from_vec(s.clone(), (n, 1)),
        gradient: Some(stack(vec![scaled(&c, -w), scaled(&c, a), scaled(&c, b)])),
        hessian_diag: Some(stack(vec![
            scaled(&s, -w * w),
            scaled(&s, -a * a),
            scaled(&s, -b * b),
        ])),
        hessian_mixed: None,
        operator_values: None,
        operators: Vec::new(),
    }
}

#[test]
fn residual_vanishes_on_a_plane_wave_and_measures_the_wrong_speed() {
    let dev = Cpu::default();
    let pts: Vec<[f64; 3]> = (0..40)
        .map(|i| {
            [
                0.01 * i as f64,
                (i as f64 * 0.3).sin(),
                (i as f64 * 0.7).cos(),
            ]
        })
        .collect();
    let (a, b) = (3.0, 4.0); // |k| = 5
    let jet = plane_wave_jet(&dev, &pts, a, b, 5.0); // c = 1
    let net =
        siren_core::Network::<f64, Cpu>::new(NetworkConfig::siren(3, 1, 4, 0), 0, &dev).unwrap();
    let mut tr = net.recording_tracer();
    let r = wave_residual(&mut tr, &jet, &vec![1.0; pts.len()])
        .unwrap()
        .as_vec();
    assert!(r.iter().all(|v| v.abs() < 1e-12), "{r:?}");
    // with c^2 = 4 the residual is (-25 + 4 * 25) sin = 75 sin
    let r = wave_residual(&mut tr, &jet, &vec![4.0; pts.len()])
        .unwrap()
        .as_vec();
    for (v, p) in r.iter().zip(&pts) {
        let s = (a * p[1] + b * p[2] - 5.0 * p[0]).sin();
        assert!((v - 75.0 * s).abs() < 1e-9);
    }
}

#[test]
fn sampler_follows_the_curriculum_and_concentrates_near_the_source() {
    let s = WaveSampler {
        interior: 500,
        initial: 200,
        near_source: 100,
        source_radius: 0.25,
        t_max: 0.4,
        ramp_steps: 100,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (inner, init) = s.sample(&mut rng, 25).unwrap();
    assert!(inner
        .chunks(3)
        .all(|p| p[0] >= 0.0 && p[0] <= 0.1 && p[1].abs() <= 1.0));
    assert!(inner.chunks(3).any(|p| p[0] > 0.08));
    assert!(init.chunks(3).all(|p| p[0] == 0.0));
    let near = init.chunks(3).take(100).all(|p| p[1].hypot(p[2]) <= 0.25);
    assert!(near);
    assert_eq!(s.window(1000), 0.4);
    let bad = WaveSampler {
        near_source: 300,
        ..s
    };
    assert!(bad.sample(&mut rng, 0).is_err());
}

#[test]
fn training_reduces_the_loss_and_is_measured_against_the_reference() {
    let dev = siren_core::device::cpu();
    let mut exp = WaveExperiment::paper(Medium::Uniform(1.0));
    exp.sampler = WaveSampler {
        interior: 256,
        initial: 256,
        near_source: 128,
        source_radius: 0.25,
        t_max: 0.1,
        ramp_steps: 50,
    };
    exp.source.sigma = 1e-2; // wide enough for a toy network
    exp.source.peak = 1.0;
    exp.loss = LossForm::MeanSquares {
        neumann: 1.0,
        dirichlet: 100.0,
    };
    exp.lr = 1e-3;
    exp.steps = 150;
    let mut losses = Vec::new();
    let config = NetworkConfig::siren(3, 1, 32, 2).with_w0(10.0, 10.0);
    let net = train_wave::<f32, Cpu>(config, &exp, &dev, |_, l| losses.push(l)).unwrap();
    let first: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    assert!(last < first / 5.0, "loss {first} -> {last}");
    let reference = wave_reference(&exp, 41, &[0.0, 0.1]).unwrap();
    let errors = wave_errors(&net, &reference, 41).unwrap();
    assert_eq!(errors.len(), 2);
    // the initial condition is what the toy network learns best
    assert!(
        errors[0].1 < 0.5,
        "relative error at t = 0: {}",
        errors[0].1
    );
}
