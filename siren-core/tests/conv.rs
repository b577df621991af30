//! Patch convolutions against a direct loop, and their weight gradients against finite
//! differences.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::model::conv::{Conv2d, Patches};
use siren_core::{Dense, Parameters, Tracer};

struct Model(Conv2d<f64, Cpu>);
impl Parameters<f64, Cpu> for Model {
    fn dense(&self) -> Vec<&Dense<f64, Cpu>> {
        vec![&self.0.map]
    }
    fn dense_mut(&mut self) -> Vec<&mut Dense<f64, Cpu>> {
        vec![&mut self.0.map]
    }
}

#[test]
fn patch_convolution_matches_a_direct_loop_and_finite_differences() {
    let dev = Cpu::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (b, h, w, cin, cout, k) = (2, 5, 4, 3, 2, 3);
    let conv = Conv2d::<f64, Cpu>::new(&dev, cin, cout, k, &mut rng);
    let input: Vec<f64> = (0..b * h * w * cin)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let x = dev.tensor_from_vec(input.clone(), (b * h * w, cin));
    let patches = Patches::new(&dev, b, h, w, k).unwrap();
    let y = conv
        .forward(&mut Tracer::inference(), x.clone(), &patches)
        .unwrap()
        .as_vec();
    let weight = conv.map.weight.as_vec();
    let bias = conv.map.bias.as_vec();
    for bi in 0..b {
        for r in 0..h as i64 {
            for c in 0..w as i64 {
                for o in 0..cout {
                    let mut s = bias[o];
                    for (t, (dy, dx)) in (-1..=1i64)
                        .flat_map(|dy| (-1..=1i64).map(move |dx| (dy, dx)))
                        .enumerate()
                    {
                        let (yy, xx) = (r + dy, c + dx);
                        if yy < 0 || yy >= h as i64 || xx < 0 || xx >= w as i64 {
                            continue;
                        }
                        for i in 0..cin {
                            let px = ((bi * h + yy as usize) * w + xx as usize) * cin + i;
                            s += weight[o * k * k * cin + t * cin + i] * input[px];
                        }
                    }
                    let got = y[((bi * h + r as usize) * w + c as usize) * cout + o];
                    assert!((got - s).abs() < 1e-12, "{got} vs {s}");
                }
            }
        }
    }
    // weight gradients of sum(y^2)
    let model = Model(conv);
    let loss = |m: &Model| {
        let mut tr = m.recording_tracer();
        let y = m.0.forward(&mut tr, x.clone(), &patches).unwrap();
        let l = tr.apply(y, |y| y.square().sum());
        (l.as_vec()[0], tr.attach(l))
    };
    let (_, l) = loss(&model);
    let g = model.gradients(&l.backward())[0].0.as_vec();
    for probe in [0, 7, 20, g.len() - 1] {
        let shifted = |d: f64| {
            let mut m = Model(model.0.clone());
            let mut wv = m.0.map.weight.as_vec();
            wv[probe] += d;
            m.0.map.weight = dev.tensor_from_vec(wv, *model.0.map.weight.shape());
            loss(&m).0
        };
        let fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
        assert!(
            (fd - g[probe]).abs() <= 1e-6 * g[probe].abs().max(1.0),
            "{fd} vs {}",
            g[probe]
        );
    }
}

/// The CPU op of `forward` against the dfdx-op path every device runs: outputs and the
/// gradients of the weight, the bias and the input map, for each kernel size.
#[test]
fn cpu_convolution_op_matches_the_generic_path_with_gradients() {
    let dev = Cpu::default();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // Rows of 13 pixels: one block of 8, one of 4 and one single pixel in the gathers.
    let (b, h, w) = (2, 6, 13);
    // Channel counts below, at and past the kernels' register blocks (16 and 8 channels).
    for (k, cin, cout) in [
        (1, 3, 4),
        (3, 3, 4),
        (5, 3, 4),
        (5, 16, 27),
        (3, 27, 16),
        (1, 16, 40),
    ] {
        let conv = Conv2d::<f64, Cpu>::new(&dev, cin, cout, k, &mut rng);
        let patches = Patches::new(&dev, b, h, w, k).unwrap();
        let x: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(
            (0..b * h * w * cin)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect(),
            (b * h * w, cin),
        );
        // Loss sum(y * r) for a fixed random r, so every output has its own gradient.
        let r: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(
            (0..b * h * w * cout)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect(),
            (b * h * w, cout),
        );
        let run = |generic: bool| {
            let model = Model(conv.clone());
            let mut tr = model.recording_tracer();
            // x enters through an op on the tape so that its gradient is recorded.
            let xin = tr.apply(x.clone(), |x| x * 1.0);
            let xin_id = xin.clone();
            let y = if generic {
                siren_core::backend::reference::conv(&model.0, &mut tr, xin, &patches)
            } else {
                model.0.forward(&mut tr, xin, &patches).unwrap()
            };
            let values = y.as_vec();
            let l = tr.apply(y, |y| (y * r.clone()).sum());
            let grads = tr.attach(l).backward();
            let (gw, gb) = model.gradients(&grads).remove(0);
            (
                values,
                gw.as_vec(),
                gb.as_vec(),
                grads.get(&xin_id).as_vec(),
            )
        };
        let (fused, generic) = (run(false), run(true));
        for (name, a, b) in [
            ("output", &fused.0, &generic.0),
            ("weight gradient", &fused.1, &generic.1),
            ("bias gradient", &fused.2, &generic.2),
            ("input gradient", &fused.3, &generic.3),
        ] {
            assert_eq!(
                a.len(),
                b.len(),
                "kernel {k}, {cin} -> {cout}: {name} sizes"
            );
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-12,
                "kernel {k}, {cin} -> {cout}: {name} differs by {worst}"
            );
            assert!(
                a.iter().any(|v| v.abs() > 1e-3),
                "kernel {k}, {cin} -> {cout}: {name} is zero"
            );
        }
    }
}
