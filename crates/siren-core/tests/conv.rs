//! Patch convolutions against a direct loop, and their weight gradients against finite
//! differences.

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use siren_core::conv::{Conv2d, Patches};
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
