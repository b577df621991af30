//! The CPU backend trains like the reference (dfdx-op) backend: a 250-step cameraman fit (w0 = 30,
//! Adam 1e-4, full batch, 3 hidden layers) reaches the same PSNR within 0.1 dB. 64x64 pixels
//! and width 128 keep it quick while the fit stays far from exact (a smaller image is fitted
//! to rounding, where PSNR compares nothing); the per-op agreement is in siren-core's tests.

use dfdx::prelude::*;
use siren_core::backend::reference;
use siren_core::jet::Carry;
use siren_core::train::{mse, to_matrix, train_step};
use siren_core::{device, Adam, AdamConfig, Network, NetworkConfig, Order};
use siren_image::metrics::psnr;
use siren_image::render::predict;
use siren_image::Image;

/// Adam steps of each fit.
const STEPS: usize = 250;

fn fit_psnr(image: &Image, fused: bool) -> f64 {
    let dev = device::cpu();
    let mut net = Network::<f32, Cpu>::new(NetworkConfig::siren(2, 1, 128, 3), 0, &dev).unwrap();
    let mut adam = Adam::new(&net, AdamConfig::default()).unwrap();
    let x = to_matrix::<f32, Cpu>(&dev, &image.coords(), 2);
    let y = to_matrix::<f32, Cpu>(&dev, &image.to_signed(), 1);
    for _ in 0..STEPS {
        train_step(&mut net, &mut adam, |net, tr| {
            let jet = if fused {
                net.jet(&x, Order::Value, tr)?
            } else {
                reference::jet(net, &x, Carry::Order(Order::Value), tr)
            };
            Ok(mse(tr, jet.value, &y))
        })
        .unwrap();
    }
    psnr(
        &predict(&net, image.width, image.height).unwrap(),
        image,
        None,
    )
    .unwrap()
}

#[test]
fn cpu_and_reference_backends_fit_the_cameraman_to_the_same_psnr() {
    let image = Image::camera().resized(64, 64).unwrap();
    let fused = fit_psnr(&image, true);
    let plain = fit_psnr(&image, false);
    assert!(
        (30.0..60.0).contains(&fused),
        "the fit works but is not exact: {fused:.2} dB"
    );
    assert!(
        (fused - plain).abs() < 0.1,
        "CPU backend {fused:.3} dB vs reference backend {plain:.3} dB"
    );
}
