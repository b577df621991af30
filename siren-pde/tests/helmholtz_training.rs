//! The network-side Helmholtz operator on exact solutions (plane waves in the physical domain
//! and inside the PML), and training at toy size.

use dfdx::prelude::*;
use faer::complex_native::c64;
use siren_core::train::to_matrix;
use siren_core::{Jet, NetworkConfig, Parameters};
use siren_pde::helmholtz::Helmholtz;
use siren_pde::helmholtz_net::{
    compare_fields, helmholtz_loss, helmholtz_residual, train_helmholtz, HelmholtzExperiment,
    HelmholtzLoss,
};
use siren_pde::medium::Medium;
use siren_pde::models::{Scale, Size};

/// A jet of $u(x)$ complex, from $u$, $u_x$, $u_{xx}$ (no $y$ dependence), outputs (re, im).
fn jet_1d(dev: &Cpu, u: &[c64], ux: &[c64], uxx: &[c64]) -> Jet<f64, Cpu> {
    let n = u.len();
    let flat = |v: &[c64]| v.iter().flat_map(|c| [c.re, c.im]).collect::<Vec<_>>();
    let zeros = vec![0.0; 2 * n];
    Jet {
        value: dev.tensor_from_vec(flat(u), (n, 2)),
        gradient: Some(dev.tensor_from_vec([flat(ux), zeros.clone()].concat(), (2, n, 2))),
        hessian_diag: Some(dev.tensor_from_vec([flat(uxx), zeros].concat(), (2, n, 2))),
        hessian_mixed: None,
        operator_values: None,
        operators: Vec::new(),
    }
}

/// $u = e^{-ik\tilde x}$ with $\tilde x = \int e_x$: outgoing along $x$, exact for the PML
/// operator with $e_y = 1$ (|y| inside the physical band).
#[test]
fn stretched_plane_wave_solves_the_pml_operator() {
    let dev = Cpu::default();
    let p = Helmholtz {
        mass: (0.0, 0.0),
        ..Default::default()
    };
    let (k, l, a0) = (p.k, p.pml_width, p.a0);
    let xs: Vec<f64> = (0..30).map(|i| -0.2 + 1.15 * i as f64 / 29.0).collect(); // into the PML
    let y = 0.1;
    let mut u = Vec::new();
    let mut ux = Vec::new();
    let mut uxx = Vec::new();
    for &x in &xs {
        let d = (x - (1.0 - l)).max(0.0);
        let e = c64::new(1.0, -a0 * (d / l).powi(2));
        let de = c64::new(0.0, -2.0 * a0 * d / (l * l));
        let xt = c64::new(x, -a0 * d.powi(3) / (3.0 * l * l));
        let mik = c64::new(0.0, -k);
        let v = (mik * xt).exp();
        u.push(v);
        ux.push(mik * e * v);
        uxx.push(mik * de * v + mik * e * mik * e * v);
    }
    let jet = jet_1d(&dev, &u, &ux, &uxx);
    let pts: Vec<f64> = xs.iter().flat_map(|&x| [x, y]).collect();
    let coefs = p.coefficients(&pts, |_, _| 1.0);
    let net =
        siren_core::Network::<f64, Cpu>::new(NetworkConfig::siren(2, 2, 4, 0), 0, &dev).unwrap();
    let mut tr = net.recording_tracer();
    let r = helmholtz_residual(&mut tr, &jet, &coefs).unwrap().as_vec();
    let worst = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(worst < 1e-9 * k * k, "max residual {worst:e}");
    // the same wave without the stretching is not a solution inside the PML
    let plain: Vec<c64> = xs
        .iter()
        .map(|&x| (c64::new(0.0, -k) * c64::new(x, 0.0)).exp())
        .collect();
    let plain_x: Vec<c64> = plain.iter().map(|v| c64::new(0.0, -k) * *v).collect();
    let plain_xx: Vec<c64> = plain.iter().map(|v| *v * (-k * k)).collect();
    let r = helmholtz_residual(&mut tr, &jet_1d(&dev, &plain, &plain_x, &plain_xx), &coefs)
        .unwrap()
        .as_vec();
    assert!(r.iter().fold(0.0f64, |m, v| m.max(v.abs())) > 1.0);
}

#[test]
fn training_reduces_the_residual() {
    let dev = siren_core::device::cpu();
    let mut exp = HelmholtzExperiment::at(Scale::Paper, Medium::Uniform(1.0));
    exp.size = Size {
        width: 32,
        layers: 2,
    };
    exp.loss = HelmholtzLoss::MeanSquares;
    exp.problem = Helmholtz {
        k: 5.0,
        source_sigma: 1e-2,
        ..Default::default()
    };
    exp.points = 512;
    exp.near_source = 32;
    exp.source_radius = 0.2;
    exp.lr = 1e-3;
    exp.steps = 150;
    let mut losses = Vec::new();
    let config = NetworkConfig::siren(2, 2, 32, 2).with_w0(5.0, 5.0);
    train_helmholtz::<f32, Cpu>(config, &exp, &dev, None, |_, l, _| {
        losses.push(l);
        Ok(())
    })
    .unwrap();
    let first: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    assert!(last < first / 5.0, "loss {first} -> {last}");
}

/// The original code's `helmholtz_pml` loss: absolute values of both channels, weighted
/// N/1000 where the source is at least 1e-5; divided by C, the same outside the PML.
#[test]
fn loss_forms_weigh_source_points_and_the_pml_as_documented() {
    let dev = Cpu::default();
    let p = Helmholtz::default();
    // a source point, a point off the source, a point deep in the PML
    let pts = [0.0, 0.0, 0.3, -0.2, 0.9, 0.8];
    let coefs = p.coefficients(&pts, |_, _| 1.0);
    assert!(coefs.terms[5][0] > 1e3 && coefs.terms[5][2] < 1e-5);
    let r = [1.0, -2.0, 0.5, 0.25, 3.0, -1.0];
    let net =
        siren_core::Network::<f64, Cpu>::new(NetworkConfig::siren(2, 2, 4, 0), 0, &dev).unwrap();
    let loss = |form| {
        let mut tr = net.recording_tracer();
        helmholtz_loss(
            &mut tr,
            form,
            &p,
            to_matrix::<f64, Cpu>(&dev, &r, 2),
            &coefs,
            &pts,
        )
        .as_vec()[0]
    };
    let n = 3.0;
    let original = n / 1000.0 * 3.0 + 0.75 + 4.0;
    assert!((loss(HelmholtzLoss::Original) - original).abs() < 1e-12);
    let squares = (1.0 + 4.0 + 0.25 + 0.0625 + 9.0 + 1.0) / n;
    assert!((loss(HelmholtzLoss::MeanSquares) - squares).abs() < 1e-12);
    // r / C at the PML point: |C| > 1 there, the other two points are unchanged
    let c = p.stretch(0.9) * p.stretch(0.8);
    let q = c64::new(3.0, -1.0) / c;
    let over = n / 1000.0 * 3.0 + 0.75 + q.re.abs() + q.im.abs();
    assert!((loss(HelmholtzLoss::OriginalOverStretch) - over).abs() < 1e-12);
    assert!(c.abs() > 5.0);
}

/// The source has the original's unit normalisation: its integral is the complex mass.
#[test]
fn the_source_integrates_to_its_mass() {
    let p = Helmholtz {
        source_sigma: 1e-3,
        ..Default::default()
    };
    let (n, half) = (801, 0.4);
    let h = 2.0 * half / (n - 1) as f64;
    let mut total = c64::new(0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            total += p.source_at(-half + i as f64 * h, -half + j as f64 * h) * (h * h);
        }
    }
    assert!(
        (total.re - 1.0).abs() < 1e-6 && (total.im - 1.0).abs() < 1e-6,
        "{total:?}"
    );
}

/// The amplitude-free error ignores a complex scale, the relative error does not.
#[test]
fn amplitude_free_error_ignores_a_complex_scale() {
    let truth: Vec<c64> = (0..50)
        .map(|i| c64::new((i as f64 * 0.3).sin(), (i as f64 * 0.7).cos()))
        .collect();
    let a = c64::new(0.2, -0.4); // u = truth / a, so the best scale is a
    let u: Vec<(f64, f64)> = truth.iter().map(|t| *t / a).map(|v| (v.re, v.im)).collect();
    let inside = vec![true; truth.len()];
    let (rel, free, scale) = compare_fields(&u, &truth, &inside);
    assert!(rel > 1.0 && free < 1e-12, "{rel} {free}");
    assert!((scale.0 - a.re).abs() < 1e-12 && (scale.1 - a.im).abs() < 1e-12);
    // points outside the domain do not count
    let mut spoiled = u.clone();
    spoiled[0] = (1e6, 0.0);
    let mut outside = inside.clone();
    outside[0] = false;
    let (_, free, _) = compare_fields(&spoiled, &truth, &outside);
    assert!(free < 1e-12);
}
