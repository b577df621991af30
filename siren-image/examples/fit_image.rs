//! Fit a SIREN to an image and render it at twice the resolution: the paper's first
//! experiment in 40 lines.
//!
//! ```sh
//! cargo run --release -p siren-image --example fit_image            # the embedded cameraman
//! cargo run --release -p siren-image --example fit_image -- my.png 500
//! ```
//!
//! Writes `fit_image_model.safetensors` and `fit_image_2x.png` in the current folder.

use dfdx::prelude::*;
use siren_core::train::{mse, to_matrix, train_step};
use siren_core::{device, Adam, AdamConfig, Network, NetworkConfig, Order};
use siren_image::metrics::psnr;
use siren_image::render::predict;
use siren_image::Image;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let image = match args.get(1) {
        Some(path) => Image::open(path)?,
        None => Image::camera(),
    }
    .resized(128, 128)?;
    let steps: usize = args.get(2).map_or(Ok(300), |s| s.parse())?;

    // 2 coordinates in, one value per channel out, 3 hidden layers of 256, w0 = 30.
    let dev = device::cpu();
    let config = NetworkConfig::siren(2, image.channels, 256, 3);
    let mut net = Network::<f32, Cpu>::new(config, 0, &dev)?;
    let mut adam = Adam::new(&net, AdamConfig::default())?; // lr 1e-4
                                                            // Pixel centres in [-1, 1]^2 and values in [-1, 1], as the paper trains.
    let coords = to_matrix::<f32, Cpu>(&dev, &image.coords(), 2);
    let pixels = to_matrix::<f32, Cpu>(&dev, &image.to_signed(), image.channels);

    for step in 0..steps {
        let loss = train_step(&mut net, &mut adam, |net, tr| {
            let jet = net.jet(&coords, Order::Value, tr)?;
            Ok(mse(tr, jet.value, &pixels))
        })?;
        if step % 50 == 0 {
            println!("step {step:4}: mse {loss:.2e}");
        }
    }
    let fitted = predict(&net, image.width, image.height)?;
    println!(
        "PSNR after {steps} steps: {:.2} dB",
        psnr(&fitted, &image, None)?
    );

    net.save("fit_image_model.safetensors")?;
    // A SIREN is a continuous function: render it on a finer grid.
    predict(&net, 2 * image.width, 2 * image.height)?.save_png("fit_image_2x.png")?;
    Ok(())
}
