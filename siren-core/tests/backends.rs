//! The CPU backend against the reference (dfdx-op) backend: values, input derivatives, weight
//! and coordinate gradients agree, field for field, for every network kind and derivative
//! order (f64: to 1e-10 relative; f32: to the polynomial sine's accuracy), and the f32 sine
//! polynomial meets its stated error.

mod common;

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::backend::reference;
use siren_core::float::{sin_cos_f32, tanh_f32};
use siren_core::jet::Carry;
use siren_core::train::to_matrix;
use siren_core::{DiagonalOperator, Float, Network, NetworkConfig, Order, Parameters, Tracer};

/// Which backend runs a pass.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernels {
    /// The device's own (the CPU kernels).
    Cpu,
    /// `siren_core::backend::reference`.
    Reference,
}

/// Every output of a jet and the weight gradients of a loss that uses all of them, as host
/// vectors.
fn outputs<E: Float>(
    net: &Network<E, Cpu>,
    x: &[f64],
    pass: Pass,
    kernels: Kernels,
) -> Vec<Vec<f64>>
where
    Cpu: Device<E>,
{
    let dev = net.device().clone();
    let d = net.config().in_features;
    let host: Vec<E> = x.iter().map(|&v| E::of(v)).collect();
    let coords = dev.tensor_from_vec(host, (x.len() / d, d));
    let mut tracer = net.recording_tracer();
    let jet = pass.run(net, &coords, &mut tracer, kernels);
    common::jet_fields(net, &coords, tracer, jet)
}

/// The loss of [`outputs`] alone, and its gradient with respect to the coordinates.
fn loss_and_coord_gradient(
    net: &Network<f64, Cpu>,
    x: &[f64],
    pass: Pass,
    kernels: Kernels,
) -> (f64, Vec<f64>) {
    let dev = net.device().clone();
    let d = net.config().in_features;
    let coords = dev.tensor_from_vec(x.to_vec(), (x.len() / d, d));
    let mut tracer = net.recording_tracer();
    let jet = pass.run(net, &coords, &mut tracer, kernels);
    let mut loss = tracer.apply(jet.value.clone(), |v| (v + 0.3).square().sum::<(), _>());
    for (k, field) in [&jet.gradient, &jet.hessian_diag, &jet.operator_values]
        .into_iter()
        .enumerate()
    {
        if let Some(f) = field {
            let w = 0.7 + k as f64;
            let term = tracer.apply(f.clone(), |f| (f * w - 0.5).square().sum::<(), _>());
            loss = tracer.apply2(loss, term, |a, b| a + b);
        }
    }
    let value = loss.as_vec()[0];
    let grads = tracer.attach(loss).backward();
    (value, grads.get(&coords).as_vec())
}

#[test]
fn coordinate_gradients_match_finite_differences() {
    // Computed coordinates (a hypernetwork's latent code) need their gradient, positional
    // encoding included, on both backends.
    let dev = siren_core::device::cpu();
    for config in [
        NetworkConfig::siren(2, 1, 16, 2),
        NetworkConfig::relu_positional(2, 1, 16, 2, 3),
        NetworkConfig::tanh(2, 1, 16, 2),
    ] {
        let net = Network::<f64, Cpu>::new(config.clone(), 5, &dev).unwrap();
        let x = points(2, 6, 13);
        for pass in [
            Pass::Order(Order::Value),
            Pass::Order(Order::Gradient),
            Pass::Order(Order::Diagonal),
            Pass::Laplacians(&[&[0, 1]]),
            Pass::Operators,
        ] {
            for kernels in [Kernels::Cpu, Kernels::Reference] {
                let (_, analytic) = loss_and_coord_gradient(&net, &x, pass, kernels);
                let h = 1e-6;
                for (i, &g) in analytic.iter().enumerate() {
                    let mut up = x.clone();
                    up[i] += h;
                    let mut down = x.clone();
                    down[i] -= h;
                    let fd = (loss_and_coord_gradient(&net, &up, pass, kernels).0
                        - loss_and_coord_gradient(&net, &down, pass, kernels).0)
                        / (2.0 * h);
                    assert!(
                    (fd - g).abs() <= 1e-5 * fd.abs().max(1.0),
                    "{config:?}, {pass:?}, {kernels:?}, coordinate {i}: analytic {g} vs finite difference {fd}"
                );
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Pass {
    Order(Order),
    Laplacians(&'static [&'static [usize]]),
    /// [`operators`].
    Operators,
}

impl Pass {
    fn run<E: Float, T: Tape<E, Cpu>>(
        self,
        net: &Network<E, Cpu>,
        coords: &Tensor<(usize, usize), E, Cpu>,
        tracer: &mut Tracer<E, Cpu, T>,
        kernels: Kernels,
    ) -> siren_core::Jet<E, Cpu>
    where
        Cpu: Device<E>,
    {
        if kernels == Kernels::Reference {
            let ops: Vec<DiagonalOperator<E>> = match self {
                Pass::Order(order) => {
                    return reference::jet(net, coords, Carry::Order(order), tracer)
                }
                Pass::Laplacians(groups) => groups
                    .iter()
                    .map(|g| DiagonalOperator::laplacian(g))
                    .collect(),
                Pass::Operators => operators(coords.shape().0, coords.shape().1),
            };
            return reference::jet(net, coords, Carry::Operators(&ops), tracer);
        }
        match self {
            Pass::Order(order) => net.jet(coords, order, tracer).unwrap(),
            Pass::Laplacians(groups) => net.jet_laplacians(coords, groups, tracer).unwrap(),
            Pass::Operators => net
                .jet_operators(
                    coords,
                    &operators(coords.shape().0, coords.shape().1),
                    tracer,
                )
                .unwrap(),
        }
    }
}

/// Two operators with constant and per-point coefficients (fixed per point index, so that
/// finite differences in the coordinates keep them, as the op does):
/// $\tfrac12 \partial_0^2 - a(p)\, \partial_{d-1}^2$ (for `d = 1` the same coordinate twice) and
/// the full Laplacian scaled by a per-point $b(p)$.
fn operators<E: Float>(n: usize, d: usize) -> Vec<DiagonalOperator<E>> {
    let a: Vec<E> = (0..n).map(|p| E::of(-1.0 - 0.1 * (p % 7) as f64)).collect();
    let b: Vec<E> = (0..n).map(|p| E::of(2.0 - 0.3 * (p % 5) as f64)).collect();
    let first = DiagonalOperator::new()
        .term(0, E::of(0.5))
        .term_per_point(d - 1, a);
    let full = (0..d).fold(DiagonalOperator::new(), |op, i| {
        op.term_per_point(i, b.clone())
    });
    vec![first, full]
}

fn max_rel_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len(), "same fields");
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            let scale = y.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max)
                / scale
        })
        .fold(0.0, f64::max)
}

fn points(d: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * d).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn configs(d: usize) -> Vec<(&'static str, NetworkConfig)> {
    vec![
        ("sine", NetworkConfig::siren(d, 2, 32, 3)),
        (
            "sine, sine last layer",
            NetworkConfig::siren(d, 1, 16, 2).with_last_layer(siren_core::LastLayer::Sine),
        ),
        ("tanh", NetworkConfig::tanh(d, 2, 24, 2)),
        ("relu", NetworkConfig::relu(d, 1, 24, 2)),
        ("relu+pe", NetworkConfig::relu_positional(d, 2, 24, 2, 4)),
        // One output: the gradient alone goes by reverse mode on the CPU.
        ("sine, one output", NetworkConfig::siren(d, 1, 32, 3)),
        ("tanh, one output", NetworkConfig::tanh(d, 1, 24, 2)),
        (
            "relu+pe, one output",
            NetworkConfig::relu_positional(d, 1, 24, 2, 4),
        ),
    ]
}

fn compare<E: Float>(tolerance: f64)
where
    Cpu: Device<E>,
{
    let dev = siren_core::device::cpu();
    for d in [1, 2, 3] {
        let x = points(d, 37, d as u64);
        for (name, config) in configs(d) {
            let groups: &'static [&'static [usize]] = match d {
                1 => &[&[0]],
                2 => &[&[0, 1], &[1]],
                _ => &[&[0], &[1, 2]],
            };
            let passes = [
                Pass::Order(Order::Value),
                Pass::Order(Order::Gradient),
                Pass::Order(Order::Diagonal),
                Pass::Order(Order::Hessian),
                Pass::Laplacians(groups),
                Pass::Operators,
            ];
            for pass in passes {
                let net = Network::<E, Cpu>::new(config.clone(), 11, &dev).unwrap();
                let fused = outputs(&net, &x, pass, Kernels::Cpu);
                let plain = outputs(&net, &x, pass, Kernels::Reference);
                let diff = max_rel_diff(&fused, &plain);
                assert!(
                    diff < tolerance,
                    "{name}, d = {d}, {pass:?}: the CPU and reference backends differ by {diff:e} (relative)"
                );
            }
        }
    }
}

#[test]
fn cpu_backend_matches_reference_in_f64() {
    compare::<f64>(1e-10);
}

#[test]
fn cpu_backend_matches_reference_in_f32() {
    compare::<f32>(5e-4);
}

/// Enough points that the fused layer passes run in many chunks (256 KiB of stack each: a
/// few hundred points at width 64) whose weight-gradient shares are summed across threads, through the AVX2 product kernel in f32 (widths that are multiples of 16).
#[test]
fn cpu_backend_matches_reference_over_many_chunks() {
    fn check<E: Float>(tolerance: f64)
    where
        Cpu: Device<E>,
    {
        let dev = siren_core::device::cpu();
        let x = points(2, 3000, 5);
        for (pass, out) in [
            (Pass::Order(Order::Value), 1),
            (Pass::Laplacians(&[&[0, 1]]), 1),
            (Pass::Operators, 1),
            (Pass::Order(Order::Gradient), 1),
            (Pass::Order(Order::Gradient), 2),
        ] {
            let config = NetworkConfig::siren(2, out, 64, 3);
            let net = Network::<E, Cpu>::new(config, 4, &dev).unwrap();
            let fused = outputs(&net, &x, pass, Kernels::Cpu);
            let plain = outputs(&net, &x, pass, Kernels::Reference);
            let diff = max_rel_diff(&fused, &plain);
            assert!(
                diff < tolerance,
                "{pass:?}: paths differ by {diff:e} (relative)"
            );
        }
    }
    check::<f64>(1e-10);
    check::<f32>(5e-4);
}

#[test]
fn inference_and_training_passes_agree() {
    // The inference pass (no tape: no saved stacks) gives the same jet as the recording one.
    let dev = siren_core::device::cpu();
    let net = Network::<f64, Cpu>::new(NetworkConfig::siren(2, 1, 32, 3), 3, &dev).unwrap();
    let x = points(2, 50, 9);
    let coords = to_matrix::<f64, _>(&dev, &x, 2);
    let a = net
        .jet(&coords, Order::Hessian, &mut Tracer::inference())
        .unwrap();
    let b = net
        .jet(&coords, Order::Hessian, &mut net.recording_tracer())
        .unwrap();
    assert_eq!(a.value.as_vec(), b.value.as_vec());
    assert_eq!(
        a.hessian_mixed.unwrap().as_vec(),
        b.hessian_mixed.unwrap().as_vec()
    );
}

#[test]
fn sin_cos_f32_meets_its_stated_error() {
    // Every f32 in a dense sweep of [-2000, 2000] plus the points where the quadrant changes.
    let mut worst = (0.0f64, 0.0f32);
    let mut check = |x: f32| {
        let (s, c) = sin_cos_f32(x);
        let (es, ec) = (x as f64).sin_cos();
        let err = (s as f64 - es).abs().max((c as f64 - ec).abs());
        if err > worst.0 {
            worst = (err, x);
        }
    };
    let steps = 4_000_000;
    for i in 0..=steps {
        check(-2000.0 + 4000.0 * i as f32 / steps as f32);
    }
    for q in -1300..1300 {
        let x = q as f32 * std::f32::consts::FRAC_PI_4;
        for k in -3..=3 {
            check(f32::from_bits((x.to_bits() as i64 + k) as u32));
        }
    }
    assert!(
        worst.0 <= 2.5e-7,
        "max error {:e} at x = {} exceeds 2.5e-7",
        worst.0,
        worst.1
    );
}

#[test]
fn tanh_f32_meets_its_stated_error() {
    // A dense sweep of [-12, 12] (through the clamp) and the extremes.
    let mut worst = (0.0f64, 0.0f32);
    let steps = 2_400_000;
    let sweep = (0..=steps).map(|i| -12.0 + 24.0 * i as f32 / steps as f32);
    for x in sweep.chain([f32::MAX, f32::MIN, 0.0, -0.0, 1e-30]) {
        let err = (tanh_f32(x) as f64 - (x as f64).tanh()).abs();
        if err > worst.0 {
            worst = (err, x);
        }
    }
    assert!(
        worst.0 <= 5e-7,
        "max error {:e} at x = {} exceeds 5e-7",
        worst.0,
        worst.1
    );
}

/// The CPU `sine` against the reference's dfdx `(x * w0).sin()`: values and the input gradient of
/// `sum(sin(w0 x) * r)`, in f64 (to rounding) and f32 (to the polynomial's accuracy), with and
/// without a tape.
#[test]
fn sine_op_matches_dfdx_sine() {
    fn check<E: Float>(tolerance: f64)
    where
        Cpu: Device<E>,
    {
        let dev = Cpu::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 40_000; // several parallel chunks
        let x: Tensor<(usize, usize), E, Cpu> = dev.tensor_from_vec(
            (0..n).map(|_| E::of(rng.gen_range(-2.0..2.0))).collect(),
            (n / 8, 8),
        );
        let r: Tensor<(usize, usize), E, Cpu> = dev.tensor_from_vec(
            (0..n).map(|_| E::of(rng.gen_range(-1.0..1.0))).collect(),
            (n / 8, 8),
        );
        let w0 = E::of(30.0);
        let run = |fused: bool| {
            let mut tr: Tracer<E, Cpu, OwnedTape<E, Cpu>> = Tracer::new(OwnedTape::default());
            let xin = tr.apply(x.clone(), |x| x * E::one());
            let y = if fused {
                siren_core::sine(&mut tr, xin.clone(), w0)
            } else {
                reference::sine(&mut tr, xin.clone(), w0)
            };
            let values = y.as_vec();
            let l = tr.apply(y, |y| (y * r.clone()).sum());
            let grads = tr.attach(l).backward();
            (values, grads.get(&xin).as_vec())
        };
        let ((fv, fg), (pv, pg)) = (run(true), run(false));
        let inference = siren_core::sine(&mut Tracer::inference(), x.clone(), w0).as_vec();
        let worst = |a: &[E], b: &[E], scale: f64| {
            a.iter()
                .zip(b)
                .map(|(a, b)| (a.as_f64() - b.as_f64()).abs() / scale)
                .fold(0.0, f64::max)
        };
        assert!(
            worst(&fv, &pv, 1.0) < tolerance,
            "values: {}",
            worst(&fv, &pv, 1.0)
        );
        assert!(
            worst(&inference, &fv, 1.0) == 0.0,
            "inference differs from training"
        );
        // The gradient carries w0 = 30.
        assert!(
            worst(&fg, &pg, 30.0) < tolerance,
            "gradient: {}",
            worst(&fg, &pg, 30.0)
        );
        assert!(pg.iter().any(|g| g.as_f64().abs() > 1.0));
    }
    check::<f64>(1e-13);
    check::<f32>(1e-5);
}

/// The CPU `batched_siren` against the reference's dfdx ops (batched products, broadcast
/// biases, sines): values and the gradients of every weight and bias under `sum(y * r)`, in
/// f64 and f32, for a small odd-sized batch and one at a hypernetwork's sizes; and a clear
/// error for layers that do not chain.
#[test]
fn batched_siren_matches_the_reference() {
    fn check<E: Float>(tolerance: f64, b: usize, n: usize, widths: &[usize])
    where
        Cpu: Device<E>,
    {
        let dev = Cpu::default();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut draw = |len: usize, scale: f64| -> Vec<E> {
            (0..len)
                .map(|_| E::of(rng.gen_range(-scale..scale)))
                .collect()
        };
        let coords: siren_core::Matrix<E, Cpu> =
            dev.tensor_from_vec(draw(n * widths[0], 1.0), (n, widths[0]));
        let layers: Vec<(siren_core::Matrix<E, Cpu>, siren_core::Matrix<E, Cpu>)> = widths
            .windows(2)
            .map(|io| {
                let (i, o) = (io[0], io[1]);
                // The SIREN init's scale, so that the sines stay in their useful range.
                let bound = (6.0 / i as f64).sqrt() / 30.0;
                (
                    dev.tensor_from_vec(draw(b * o * i, bound), (b, o * i)),
                    dev.tensor_from_vec(draw(b * o, 0.5), (b, o)),
                )
            })
            .collect();
        let out = *widths.last().unwrap();
        let r: siren_core::Stack<E, Cpu> = dev.tensor_from_vec(draw(b * n * out, 1.0), (b, n, out));
        let run = |kernels: Kernels| {
            let mut tr: Tracer<E, Cpu, OwnedTape<E, Cpu>> = Tracer::new(OwnedTape::default());
            // Computed operands, so that each has a gradient of its own on the tape.
            let inputs: Vec<_> = layers
                .iter()
                .map(|(w, bias)| {
                    (
                        tr.apply(w.clone(), |w| w * E::one()),
                        tr.apply(bias.clone(), |b| b * E::one()),
                    )
                })
                .collect();
            let w0 = E::of(30.0);
            let y = match kernels {
                Kernels::Cpu => {
                    siren_core::batched_siren(&mut tr, &coords, &inputs, w0).expect("shapes fit")
                }
                Kernels::Reference => reference::batched_siren(&mut tr, &coords, &inputs, w0),
            };
            let mut fields = vec![y.as_vec()];
            let l = tr.apply(y, |y| (y * r.clone()).sum());
            let grads = tr.attach(l).backward();
            for (w, bias) in &inputs {
                fields.push(grads.get(w).as_vec());
                fields.push(grads.get(bias).as_vec());
            }
            fields
        };
        let (cpu, reference) = (run(Kernels::Cpu), run(Kernels::Reference));
        for (k, (c, p)) in cpu.iter().zip(&reference).enumerate() {
            let scale = p.iter().map(|v| v.as_f64().abs()).fold(1.0, f64::max);
            let worst = c
                .iter()
                .zip(p)
                .map(|(c, p)| (c.as_f64() - p.as_f64()).abs() / scale)
                .fold(0.0, f64::max);
            assert!(
                worst < tolerance,
                "field {k}: {worst} (b {b}, n {n}, {widths:?})"
            );
        }
    }
    check::<f64>(1e-11, 3, 7, &[2, 5, 4, 3]);
    check::<f64>(1e-11, 4, 300, &[2, 64, 64, 3]);
    check::<f32>(2e-4, 4, 300, &[2, 64, 64, 3]);
    let dev = Cpu::default();
    let bad = siren_core::batched_siren::<f32, Cpu, NoneTape>(
        &mut Tracer::inference(),
        &dev.zeros_like(&(5, 2)),
        &[
            (dev.zeros_like(&(2, 8)), dev.zeros_like(&(2, 4))),
            (dev.zeros_like(&(2, 5)), dev.zeros_like(&(2, 1))),
        ],
        30.0,
    );
    let message = bad.unwrap_err().to_string();
    assert!(message.contains("layer 1 takes 4 inputs"), "{message}");
}
