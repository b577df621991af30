//! siren-core on a real photograph: the CC0 `camera.png` (scikit-image's current cameraman),
//! box-downsampled to 64x64, fitted by a SIREN and by a ReLU MLP with the same budget.

use dfdx::prelude::*;
use siren_core::train::{grid, mse, to_matrix, train_step};
use siren_core::{device, Adam, AdamConfig, Network, NetworkConfig, Order};

const SIZE: usize = 64;

/// Mean of each 8x8 block of the 512x512 image, mapped to [-1, 1], row-major.
fn camera_64(path: &std::path::Path) -> Vec<f64> {
    let img = image::open(path).expect("camera.png decodes").to_luma8();
    let (w, h) = img.dimensions();
    let f = (w as usize / SIZE, h as usize / SIZE);
    let mut out = vec![0.0; SIZE * SIZE];
    for r in 0..SIZE {
        for c in 0..SIZE {
            let mut s = 0.0;
            for y in 0..f.1 {
                for x in 0..f.0 {
                    s += img.get_pixel((c * f.0 + x) as u32, (r * f.1 + y) as u32)[0] as f64;
                }
            }
            out[r * SIZE + c] = s / (f.0 * f.1) as f64 / 255.0 * 2.0 - 1.0;
        }
    }
    out
}

fn psnr(pred: &[f32], target: &[f64]) -> f64 {
    let mse: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| {
            let p = ((p as f64 + 1.0) / 2.0).clamp(0.0, 1.0);
            (p - (t + 1.0) / 2.0).powi(2)
        })
        .sum::<f64>()
        / target.len() as f64;
    -10.0 * mse.log10()
}

#[test]
fn siren_fits_the_real_cameraman_far_better_than_relu() {
    let Some(data) = siren_tests::data_dir("siren_fits_the_real_cameraman_far_better_than_relu")
    else {
        return;
    };
    let pixels = camera_64(&data.join("images/camera.png"));
    let dev = device::cpu();
    let x = to_matrix::<f32, _>(&dev, &grid(&[SIZE, SIZE]), 2);
    let y = to_matrix::<f32, _>(&dev, &pixels, 1);
    let fit = |config: NetworkConfig, steps: usize| {
        let mut net = Network::<f32, Cpu>::new(config, 0, &dev).unwrap();
        let mut adam = Adam::new(
            &net,
            AdamConfig {
                lr: 1e-4,
                ..Default::default()
            },
        )
        .unwrap();
        let before = psnr(&net.forward(&x).unwrap().as_vec(), &pixels);
        for _ in 0..steps {
            train_step(&mut net, &mut adam, |net, tr| {
                let jet = net.jet(&x, Order::Value, tr)?;
                Ok(mse(tr, jet.value, &y))
            })
            .unwrap();
        }
        (before, psnr(&net.forward(&x).unwrap().as_vec(), &pixels))
    };
    let (siren_before, siren) = fit(NetworkConfig::siren(2, 1, 128, 3), 150);
    let (_, relu) = fit(NetworkConfig::relu(2, 1, 128, 3), 150);
    eprintln!(
        "camera 64x64, 150 steps: SIREN {siren_before:.1} -> {siren:.1} dB, ReLU {relu:.1} dB"
    );
    assert!(siren > 28.0, "SIREN PSNR {siren:.2} dB");
    assert!(
        siren > relu + 5.0,
        "SIREN {siren:.2} dB vs ReLU {relu:.2} dB"
    );
}
