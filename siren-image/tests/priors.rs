//! TV and Hessian-Frobenius priors against closed forms on analytic functions.

use dfdx::prelude::*;
use siren_core::{Jet, Tracer};
use siren_image::priors::{hessian_frobenius_prior, tv_prior};

fn stack(dev: &Cpu, parts: &[Vec<f64>]) -> Tensor<(usize, usize, usize), f64, Cpu> {
    let n = parts[0].len();
    dev.tensor_from_vec(parts.concat(), (parts.len(), n, 1))
}

/// A jet of $\phi(x, y) = \sin(2x)\cos(y) + x y^2$ at the given points, from its closed-form
/// derivatives.
fn analytic_jet(dev: &Cpu, pts: &[(f64, f64)]) -> Jet<f64, Cpu> {
    let col = |f: &dyn Fn(f64, f64) -> f64| pts.iter().map(|&(x, y)| f(x, y)).collect::<Vec<_>>();
    let value = col(&|x, y| (2.0 * x).sin() * y.cos() + x * y * y);
    Jet {
        value: dev.tensor_from_vec(value, (pts.len(), 1)),
        gradient: Some(stack(
            dev,
            &[
                col(&|x, y| 2.0 * (2.0 * x).cos() * y.cos() + y * y),
                col(&|x, y| -(2.0 * x).sin() * y.sin() + 2.0 * x * y),
            ],
        )),
        hessian_diag: Some(stack(
            dev,
            &[
                col(&|x, y| -4.0 * (2.0 * x).sin() * y.cos()),
                col(&|x, y| -(2.0 * x).sin() * y.cos() + 2.0 * x),
            ],
        )),
        hessian_mixed: Some(stack(
            dev,
            &[col(&|x, y| -2.0 * (2.0 * x).cos() * y.sin() + 2.0 * y)],
        )),
        operator_values: None,
        operators: Vec::new(),
    }
}

#[test]
fn priors_match_closed_forms() {
    let dev = Cpu::default();
    let pts: Vec<(f64, f64)> = (0..50)
        .map(|i| ((i as f64 * 0.37).sin(), (i as f64 * 0.61).cos()))
        .collect();
    let jet = analytic_jet(&dev, &pts);
    let mut tr = Tracer::inference();
    let tv = tv_prior(&mut tr, &jet).unwrap().as_vec()[0];
    let fh = hessian_frobenius_prior(&mut tr, &jet).unwrap().as_vec()[0];
    let (mut tv_ref, mut fh_ref) = (0.0, 0.0);
    for &(x, y) in &pts {
        let gx = 2.0 * (2.0 * x).cos() * y.cos() + y * y;
        let gy = -(2.0 * x).sin() * y.sin() + 2.0 * x * y;
        let hxx = -4.0 * (2.0 * x).sin() * y.cos();
        let hyy = -(2.0 * x).sin() * y.cos() + 2.0 * x;
        let hxy = -2.0 * (2.0 * x).cos() * y.sin() + 2.0 * y;
        tv_ref += gx.abs() + gy.abs();
        fh_ref += (hxx * hxx + hyy * hyy + 2.0 * hxy * hxy).sqrt();
    }
    let n = pts.len() as f64;
    assert!((tv - tv_ref / n).abs() < 1e-12, "{tv} vs {}", tv_ref / n);
    assert!((fh - fh_ref / n).abs() < 1e-9, "{fh} vs {}", fh_ref / n);
}

#[test]
fn linear_functions_have_tv_of_their_slope_and_no_curvature() {
    let dev = Cpu::default();
    let n = 20;
    let jet = Jet {
        value: dev.zeros_like(&(n, 1)),
        gradient: Some(stack(&dev, &[vec![3.0; n], vec![-2.0; n]])),
        hessian_diag: Some(stack(&dev, &[vec![0.0; n], vec![0.0; n]])),
        hessian_mixed: Some(stack(&dev, &[vec![0.0; n]])),
        operator_values: None,
        operators: Vec::new(),
    };
    let mut tr = Tracer::inference();
    assert!((tv_prior(&mut tr, &jet).unwrap().as_vec()[0] - 5.0).abs() < 1e-12);
    assert!(hessian_frobenius_prior(&mut tr, &jet).unwrap().as_vec()[0] < 1e-5);
    // a jet without second derivatives is refused with a message
    let first_order = Jet {
        hessian_diag: None,
        hessian_mixed: None,
        operator_values: None,
        operators: Vec::new(),
        ..jet
    };
    assert!(hessian_frobenius_prior(&mut tr, &first_order).is_err());
}
