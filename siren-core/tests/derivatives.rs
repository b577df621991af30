//! Input derivatives and weight gradients of every network kind against central finite
//! differences, in f64.
//!
//! Errors are measured as max |analytic - FD| over all points and channels, divided by the
//! largest |FD| of that quantity (so near-zero entries do not blow the ratio up).

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::jet::mixed_pairs;
use siren_core::train::to_matrix;
use siren_core::{DiagonalOperator, Network, NetworkConfig, Order, Parameters, Tracer};

type Net = Network<f64, Cpu>;

fn configs(d: usize) -> Vec<(&'static str, NetworkConfig)> {
    vec![
        ("sine", NetworkConfig::siren(d, 2, 24, 2)),
        ("tanh", NetworkConfig::tanh(d, 2, 24, 2)),
        ("relu+pe", NetworkConfig::relu_positional(d, 2, 24, 2, 4)),
    ]
}

fn points(d: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * d).map(|_| rng.gen_range(-0.9..0.9)).collect()
}

/// Host copies of a jet at `x`: value (N*c), gradient (d*N*c), diag (d*N*c), mixed (p*N*c).
fn host_jet(net: &Net, x: &[f64], order: Order) -> [Vec<f64>; 4] {
    let dev = net.device().clone();
    let d = net.config().in_features;
    let coords = to_matrix::<f64, _>(&dev, x, d);
    let jet = net.jet(&coords, order, &mut Tracer::inference()).unwrap();
    let get = |t: Option<Tensor<(usize, usize, usize), f64, Cpu>>| {
        t.map(|t| t.as_vec()).unwrap_or_default()
    };
    [
        jet.value.as_vec(),
        get(jet.gradient),
        get(jet.hessian_diag),
        get(jet.hessian_mixed),
    ]
}

fn rel_err(analytic: &[f64], fd: &[f64]) -> f64 {
    assert_eq!(analytic.len(), fd.len());
    let scale = fd.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    analytic
        .iter()
        .zip(fd)
        .map(|(a, f)| (a - f).abs())
        .fold(0.0, f64::max)
        / scale
}

/// `x` with coordinate `i` of every point shifted by `h`.
fn shifted(x: &[f64], d: usize, i: usize, h: f64) -> Vec<f64> {
    let mut y = x.to_vec();
    for p in 0..x.len() / d {
        y[p * d + i] += h;
    }
    y
}

#[test]
fn input_derivatives_match_finite_differences() {
    for d in [2usize, 3] {
        for (name, config) in configs(d) {
            let dev = Cpu::default();
            let net = Net::new(config, 11, &dev).unwrap();
            let n = 16;
            let c = 2;
            let x = points(d, n, 5);
            let [value, grad, diag, mixed] = host_jet(&net, &x, Order::Hessian);
            assert_eq!(value.len(), n * c);
            let block = n * c;
            let h = 1e-5;
            let mut lap_fd = vec![0.0; block];
            let mut lap = vec![0.0; block];
            for i in 0..d {
                // gradient from values
                let [vp, gp, ..] = host_jet(&net, &shifted(&x, d, i, h), Order::Gradient);
                let [vm, gm, ..] = host_jet(&net, &shifted(&x, d, i, -h), Order::Gradient);
                let fd: Vec<f64> = vp
                    .iter()
                    .zip(&vm)
                    .map(|(p, m)| (p - m) / (2.0 * h))
                    .collect();
                let e = rel_err(&grad[i * block..(i + 1) * block], &fd);
                assert!(e <= 1e-5, "{name} d={d}: du/dx{i} rel err {e:e}");
                // second derivatives d/dx_i (du/dx_j) from the (checked) gradient
                for j in 0..d {
                    let fd: Vec<f64> = gp[j * block..(j + 1) * block]
                        .iter()
                        .zip(&gm[j * block..(j + 1) * block])
                        .map(|(p, m)| (p - m) / (2.0 * h))
                        .collect();
                    let analytic = if i == j {
                        diag[i * block..(i + 1) * block].to_vec()
                    } else {
                        let k = mixed_pairs(d)
                            .iter()
                            .position(|&p| p == (i.min(j), i.max(j)))
                            .unwrap();
                        mixed[k * block..(k + 1) * block].to_vec()
                    };
                    let e = rel_err(&analytic, &fd);
                    assert!(e <= 1e-5, "{name} d={d}: d2u/dx{i}dx{j} rel err {e:e}");
                    if i == j {
                        for q in 0..block {
                            lap_fd[q] += fd[q];
                            lap[q] += analytic[q];
                        }
                    }
                }
            }
            let e = rel_err(&lap, &lap_fd);
            assert!(e <= 1e-5, "{name} d={d}: Laplacian rel err {e:e}");
        }
    }
}

#[test]
fn operator_rows_match_second_differences_of_the_value() {
    // L u = u_00 - c(p)^2 (u_11 + u_22) with a per-point c^2, carried as one row, against
    // the same combination of central second differences of u itself. Smooth networks only:
    // second differences of a ReLU network straddle its kinks (its operator rows are checked
    // against the reference backend in tests/backends.rs).
    for (name, config) in configs(3)
        .into_iter()
        .filter(|(name, _)| *name != "relu+pe")
    {
        let dev = Cpu::default();
        let net = Net::new(config, 17, &dev).unwrap();
        let (n, c, d) = (12, 2, 3);
        let x = points(d, n, 8);
        let c2: Vec<f64> = (0..n).map(|p| 0.5 + 0.25 * p as f64).collect();
        let minus: Vec<f64> = c2.iter().map(|v| -v).collect();
        let wave = DiagonalOperator::new()
            .term(0, 1.0)
            .term_per_point(1, minus.clone())
            .term_per_point(2, minus);
        let coords = to_matrix::<f64, _>(&dev, &x, d);
        let mut tr = Tracer::inference();
        let jet = net
            .jet_operators(&coords, std::slice::from_ref(&wave), &mut tr)
            .unwrap();
        assert!(jet.hessian_diag.is_none());
        let analytic = jet.operator(&mut tr, &wave).unwrap().as_vec();
        let value = |y: &[f64]| host_jet(&net, y, Order::Value)[0].clone();
        let u0 = value(&x);
        let h = 1e-4;
        let mut fd = vec![0.0; n * c];
        for i in 0..d {
            let (up, down) = (value(&shifted(&x, d, i, h)), value(&shifted(&x, d, i, -h)));
            for q in 0..n * c {
                let second = (up[q] - 2.0 * u0[q] + down[q]) / (h * h);
                fd[q] += if i == 0 { second } else { -c2[q / c] * second };
            }
        }
        let e = rel_err(&analytic, &fd);
        assert!(e <= 1e-5, "{name}: operator row rel err {e:e}");
    }
}

#[test]
fn operator_misuse_is_a_clear_error() {
    let dev = Cpu::default();
    let net = Net::new(NetworkConfig::siren(3, 1, 8, 1), 3, &dev).unwrap();
    let x = to_matrix::<f64, _>(&dev, &points(3, 4, 2), 3);
    let mut tr = Tracer::inference();
    let err = |r: siren_core::Result<siren_core::Jet<f64, Cpu>>| r.unwrap_err().to_string();
    let short = DiagonalOperator::new().term_per_point(1, vec![1.0; 3]);
    assert!(err(net.jet_operators(&x, &[short], &mut tr)).contains("one value per point"));
    let outside = DiagonalOperator::new().term(3, 1.0);
    assert!(err(net.jet_operators(&x, &[outside], &mut tr)).contains("out of range"));
    assert!(err(net.jet_operators(&x, &[DiagonalOperator::new()], &mut tr)).contains("term"));
    assert!(err(net.jet_operators(&x, &[], &mut tr)).contains("at least one operator"));
    // An operator the pass did not carry, with no Hessian diagonal to build it from.
    let wave = DiagonalOperator::new().term(0, 1.0).term(1, -1.0);
    let jet = net
        .jet_operators(&x, &[DiagonalOperator::laplacian(&[1, 2])], &mut tr)
        .unwrap();
    let msg = jet.operator(&mut tr, &wave).unwrap_err().to_string();
    assert!(msg.contains("jet_operators"), "{msg}");
    // The carried Laplacian is found whatever the coordinates' order.
    let lap = jet.laplacian(&mut tr, &[2, 1]).unwrap().as_vec();
    let full = net.jet(&x, Order::Diagonal, &mut tr).unwrap();
    let from_diag = full
        .operator(&mut tr, &DiagonalOperator::laplacian(&[1, 2]))
        .unwrap();
    for (a, b) in lap.iter().zip(from_diag.as_vec()) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn accessors_pick_the_right_slices() {
    let dev = Cpu::default();
    let net = Net::new(NetworkConfig::siren(3, 1, 16, 1), 3, &dev).unwrap();
    let x = to_matrix::<f64, _>(&dev, &points(3, 5, 9), 3);
    let mut tr = Tracer::inference();
    let jet = net.jet(&x, Order::Hessian, &mut tr).unwrap();
    let diag = jet.hessian_diag.clone().unwrap().as_vec();
    let lap = jet.laplacian(&mut tr, &[1, 2]).unwrap().as_vec();
    let utt = jet.second(&mut tr, 0, 0).unwrap().as_vec();
    let u12 = jet.second(&mut tr, 2, 1).unwrap().as_vec();
    let mixed = jet.hessian_mixed.clone().unwrap().as_vec();
    for p in 0..5 {
        assert!((lap[p] - diag[5 + p] - diag[10 + p]).abs() < 1e-12);
        assert_eq!(utt[p], diag[p]);
        assert_eq!(u12[p], mixed[2 * 5 + p]); // pairs (0,1), (0,2), (1,2)
    }
    let u1 = jet.partial(&mut tr, 1).unwrap().as_vec();
    assert_eq!(u1, jet.gradient.clone().unwrap().as_vec()[5..10].to_vec());
    assert!(jet.partial(&mut tr, 3).is_err());
    // values agree with the plain forward pass (to rounding: the products differ in size)
    for (a, b) in net
        .forward(&x)
        .unwrap()
        .as_vec()
        .iter()
        .zip(jet.value.as_vec())
    {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let low = net.jet(&x, Order::Gradient, &mut tr).unwrap();
    assert!(low.laplacian(&mut tr, &[0]).is_err());
}

/// A loss on derivatives and its weight gradients by backward and by FD on sampled weights.
fn check_weight_gradients(name: &str, config: NetworkConfig, loss_kind: &str) {
    let dev = Cpu::default();
    let d = config.in_features;
    let net = Net::new(config, 21, &dev).unwrap();
    let x = to_matrix::<f64, _>(&dev, &points(d, 12, 4), d);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let target: Vec<f64> = (0..12 * 2).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let target = dev.tensor_from_vec(target, (12, 2));
    let loss = |net: &Net, tracer: &mut Tracer<f64, Cpu, OwnedTape<f64, Cpu>>| {
        let jet = net.jet(&x, Order::Diagonal, tracer).unwrap();
        let t = target.clone();
        match loss_kind {
            "laplacian" => {
                let lap = jet.laplacian(tracer, &(0..d).collect::<Vec<_>>()).unwrap();
                tracer.apply(lap, |l| (l - t).square().mean())
            }
            _ => {
                let g0 = jet.partial(tracer, 0).unwrap();
                let g1 = jet.partial(tracer, 1).unwrap();
                let g1sq = tracer.apply(g1, |g| g.square());
                tracer.apply(g0, |g| ((g - t).square() + g1sq).mean())
            }
        }
    };
    let value_of = |net: &Net| {
        let mut tr = net.recording_tracer();
        loss(net, &mut tr).as_vec()[0]
    };
    let mut tr = net.recording_tracer();
    let l = loss(&net, &mut tr);
    let grads = tr.attach(l).backward();
    let analytic = net.gradients(&grads);
    let host = net.to_host();
    let h = 1e-6;
    let mut errs = 0.0f64;
    for layer in 0..host.len() {
        let (aw, ab) = (analytic[layer].0.as_vec(), analytic[layer].1.as_vec());
        let scale = aw
            .iter()
            .chain(&ab)
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-12);
        for probe in 0..8 {
            let is_bias = probe % 4 == 3;
            let len = if is_bias { ab.len() } else { aw.len() };
            let k = rng.gen_range(0..len);
            let eval = |delta: f64| {
                let mut p = host.clone();
                if is_bias {
                    p[layer].1[k] += delta;
                } else {
                    p[layer].0[k] += delta;
                }
                value_of(&Net::from_host(net.config().clone(), p, &dev).unwrap())
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h);
            let an = if is_bias { ab[k] } else { aw[k] };
            errs = errs.max((fd - an).abs() / scale);
        }
    }
    assert!(
        errs <= 1e-6,
        "{name} {loss_kind}: weight-gradient rel err {errs:e}"
    );
}

#[test]
fn weight_gradients_of_derivative_losses_match_finite_differences() {
    for (name, config) in configs(2) {
        check_weight_gradients(name, config.clone(), "laplacian");
        check_weight_gradients(name, config, "gradient");
    }
}
