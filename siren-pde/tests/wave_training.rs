//! The wave residual on an exact solution, the sampler, and training end to end at toy size.

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use siren_core::train::to_matrix;
use siren_core::{Jet, NetworkConfig, Parameters};
use siren_pde::models::{Scale, Size};
use siren_pde::wave::experiment::{train_wave, wave_errors, wave_reference, WaveExperiment};
use siren_pde::wave::{wave_loss, wave_residual, LossForm, Medium, WaveSampler};

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
        boundary: 80,
        t_max: 0.4,
        ramp_steps: 100,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let batch = s.sample(&mut rng, 25).unwrap();
    let (inner, init) = (&batch.interior, &batch.initial);
    assert!(inner
        .chunks(3)
        .all(|p| p[0] >= 0.0 && p[0] <= 0.1 && p[1].abs() <= 1.0));
    assert!(inner.chunks(3).any(|p| p[0] > 0.08));
    assert!(init.chunks(3).all(|p| p[0] == 0.0));
    let near = init.chunks(3).take(100).all(|p| p[1].hypot(p[2]) <= 0.25);
    assert!(near);
    // boundary points lie on the edges, within the time window, on all four sides
    assert_eq!(batch.boundary.len(), 3 * 80);
    assert!(batch
        .boundary
        .chunks(3)
        .all(|p| p[0] >= 0.0 && p[0] <= 0.1 && (p[1].abs() == 1.0 || p[2].abs() == 1.0)));
    for (axis, side) in [(1, 1.0), (1, -1.0), (2, 1.0), (2, -1.0)] {
        assert!(batch.boundary.chunks(3).any(|p| p[axis] == side));
    }
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
    let mut exp = WaveExperiment::at(Scale::Paper, Medium::Uniform(1.0));
    exp.size = Size {
        width: 32,
        layers: 2,
    };
    exp.sampler = WaveSampler {
        interior: 256,
        initial: 256,
        near_source: 128,
        source_radius: 0.25,
        boundary: 64,
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
    let net = train_wave::<f32, Cpu>(config, &exp, &dev, None, |_, l, _| {
        losses.push(l);
        Ok(())
    })
    .unwrap();
    let first: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    assert!(last < first / 5.0, "loss {first} -> {last}");
    let reference = wave_reference(&exp, 41, &[0.0, 0.1]).unwrap();
    let errors = wave_errors(&net, &reference, 41, 1).unwrap();
    assert_eq!(errors.len(), 2);
    // the initial condition is what the toy network learns best
    assert!(
        errors[0].relative_l2 < 0.5,
        "relative error at t = 0: {}",
        errors[0].relative_l2
    );
    assert!((errors[0].reference_max_abs - 1.0).abs() < 1e-9);
    assert!(errors[0].max_abs > 0.5 && errors[0].field.len() == 41 * 41);
}

/// The original code's `wave_pml` weights: $\sum |r| + \frac{N}{10} \sum |u_0 - f| +
/// \frac{N}{100} \sum |u_t(0)|$ with $N$ all the points of the step; the mean squares; and
/// the boundary term (ours) with the Dirichlet weight.
#[test]
fn loss_forms_weigh_their_terms_as_documented() {
    let dev = Cpu::default();
    let net =
        siren_core::Network::<f64, Cpu>::new(NetworkConfig::siren(3, 1, 4, 0), 0, &dev).unwrap();
    let residual = [1.0, -2.0, 3.0];
    let (u0, f0, ut0) = ([0.5, 0.1], [0.0, 0.3], [1.0, -1.5]);
    let loss = |form, ub: [f64; 1]| {
        let mut tr = net.recording_tracer();
        let m = |v: &[f64]| to_matrix::<f64, Cpu>(&dev, v, 1);
        let ub = Some(m(&ub));
        wave_loss(&mut tr, form, m(&residual), m(&u0), m(&ut0), &m(&f0), ub).as_vec()[0]
    };
    let ub = [0.0];
    let n = 6.0; // 3 interior + 2 initial + 1 boundary point
    let original = 6.0 + n / 10.0 * (0.5 + 0.2) + n / 100.0 * 2.5;
    assert!((loss(LossForm::Original, ub) - original).abs() < 1e-12);
    let squares = LossForm::MeanSquares {
        neumann: 3.0,
        dirichlet: 7.0,
    };
    let expected = 14.0 / 3.0 + 7.0 * (0.25 + 0.04) / 2.0 + 3.0 * (1.0 + 2.25) / 2.0;
    assert!((loss(squares, ub) - expected).abs() < 1e-12);
    // a boundary value counts with the Dirichlet weight
    let edge = [0.5];
    assert!((loss(LossForm::Original, edge) - original - n / 10.0 * 0.5).abs() < 1e-12);
    assert!((loss(squares, edge) - expected - 7.0 * 0.25).abs() < 1e-12);
}

#[test]
fn a_resumed_run_ends_where_the_uninterrupted_one_does() {
    let dev = siren_core::device::cpu();
    let mut exp = WaveExperiment::at(Scale::Quick, Medium::Uniform(1.0));
    exp.sampler.interior = 64;
    exp.sampler.initial = 32;
    exp.sampler.near_source = 16;
    exp.sampler.ramp_steps = 4;
    exp.steps = 6;
    let config = NetworkConfig::siren(3, 1, 16, 1);
    let dir = std::env::temp_dir().join(format!("siren-pde-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = siren_core::train::Checkpointing {
        path: dir.join("wave.safetensors"),
        every: 2,
        resume: true,
    };
    let whole = train_wave::<f32, Cpu>(config.clone(), &exp, &dev, None, |_, _, _| Ok(()))
        .unwrap()
        .to_host();
    // a run that dies after step 3, its last checkpoint at step 2
    let crashed = train_wave::<f32, Cpu>(config.clone(), &exp, &dev, Some(&plan), |s, _, _| {
        if s == 3 {
            Err(siren_core::Error::InvalidInput("simulated crash".into()))
        } else {
            Ok(())
        }
    });
    assert!(crashed.is_err());
    let mut seen = Vec::new();
    let resumed = train_wave::<f32, Cpu>(config.clone(), &exp, &dev, Some(&plan), |s, _, _| {
        seen.push(s);
        Ok(())
    })
    .unwrap()
    .to_host();
    assert_eq!(seen, vec![3, 4, 5, 6]);
    assert_eq!(whole, resumed);
    // another learning rate is another run: its checkpoint is refused
    let mut other = exp.clone();
    other.lr *= 2.0;
    let Err(err) = train_wave::<f32, Cpu>(config, &other, &dev, Some(&plan), |_, _, _| Ok(()))
    else {
        panic!("a checkpoint of other settings is refused");
    };
    assert!(err.to_string().contains("other settings"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
