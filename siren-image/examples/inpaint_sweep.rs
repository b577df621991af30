//! Chooses inpainting settings without looking at the missing pixels: a tenth of the known
//! pixels is held out as a validation set, each setting is trained on the rest, and the
//! validation PSNR decides. The missing-pixel (test) PSNR is printed beside it only to report
//! the chosen setting's result.
//!
//! ```sh
//! cargo run --release -p siren-image --example inpaint_sweep -- \
//!     IMAGE SIZE STEPS DATA_LOSS PRIOR WEIGHT[,WEIGHT...] [PRIOR_POINTS] [HIDDEN] [W0]
//! # e.g. the TV weight on camera at 128x128, 10% of the pixels kept:
//! cargo run --release -p siren-image --example inpaint_sweep -- \
//!     ../shared/data/images/camera.png 128 3000 mse tv 1e-4,1e-3,1e-2,1e-1
//! ```
//!
//! With PRIOR `dip` the weights are deep-image-prior learning rates (its early stopping holds
//! out 5% of the training pixels in turn).
//!
//! Prints one line per weight: validation and test PSNR at the end, the best validation PSNR
//! over the measured steps (and its step), the seconds taken; with `SWEEP_CURVE=1` also the
//! validation PSNR at every 250th step.

use std::time::Instant;

use dfdx::prelude::*;
use siren_image::dip::{deep_image_prior, DipConfig};
use siren_image::inpaint::{inpaint, DataLoss, InpaintConfig};
use siren_image::metrics::psnr;
use siren_image::{predict, FitConfig, Image, Mask, Prior};

fn main() -> siren_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!("usage: inpaint_sweep IMAGE SIZE STEPS mse|rmse none|tv|fh W1,W2,.. [POINTS] [HIDDEN] [W0]");
        std::process::exit(2);
    }
    let size: usize = args[1].parse().expect("SIZE");
    let img = Image::open(&args[0])?.centre_square().resized(size, size)?;
    let steps: usize = args[2].parse().expect("STEPS");
    let data_loss = match args[3].as_str() {
        "rmse" => DataLoss::Rmse,
        _ => DataLoss::Mse,
    };
    let weights: Vec<f64> = args[5]
        .split(',')
        .map(|w| w.parse().expect("WEIGHT"))
        .collect();
    let points: usize = args
        .get(6)
        .map_or(size * size / 2, |p| p.parse().expect("POINTS"));
    let hidden: usize = args.get(7).map_or(256, |h| h.parse().expect("HIDDEN"));
    let w0: f64 = args.get(8).map_or(30.0, |h| h.parse().expect("W0"));
    let curve = std::env::var("SWEEP_CURVE").is_ok();
    let mask = Mask::random(size, size, 0.1, 0)?;
    let missing = mask.missing();
    let (train, validation) = mask.holdout(0.1, 1)?;
    let dev = siren_core::device::cpu();
    for w in weights {
        if args[4] == "dip" {
            let config = DipConfig {
                steps,
                lr: w,
                width: std::env::var("DIP_WIDTH").map_or(32, |v| v.parse().expect("DIP_WIDTH")),
                noise: std::env::var("DIP_NOISE").map_or(0.1, |v| v.parse().expect("DIP_NOISE")),
                eval_every: (steps / 6).max(1),
                ..DipConfig::default()
            };
            let t = Instant::now();
            let r = deep_image_prior::<f32, Cpu>(&img, &train, &config, &dev)?;
            let curve: Vec<String> = r
                .history
                .iter()
                .map(|h| format!("{}:{:.2}", h.step, h.validation_psnr.unwrap_or(f64::NAN)))
                .collect();
            println!(
                "dip lr={w:e} steps={steps}: validation {:.2} test {:.2}, stopped at {} | {:.0} s\n  inner validation curve: {}",
                psnr(&r.image, &img, Some(&validation))?,
                psnr(&r.image, &img, Some(&missing))?,
                r.step,
                t.elapsed().as_secs_f64(),
                curve.join(" ")
            );
            continue;
        }
        let prior = match args[4].as_str() {
            "tv" => Prior::TotalVariation(w),
            "fh" => Prior::HessianFrobenius(w),
            _ => Prior::None,
        };
        let config = InpaintConfig {
            fit: FitConfig {
                hidden_features: hidden,
                w0,
                steps,
                eval_every: 250,
                ..FitConfig::default()
            },
            prior,
            prior_points: points,
            data_loss,
            antialias: None,
        };
        let t = Instant::now();
        let mut best = (f64::NEG_INFINITY, 0);
        let mut line = String::new();
        let fitted = inpaint::<f32, Cpu>(&img, &train, &config, &dev, |_| {})?;
        // the log's PSNR is on every pixel training did not see (test and validation): a
        // diagnostic of over-fitting, never used to choose
        for r in fitted.history.iter().filter(|r| r.psnr.is_some()) {
            let p = r.psnr.unwrap_or(f64::NAN);
            if p > best.0 {
                best = (p, r.step);
            }
            if curve {
                line += &format!(" {}:{p:.2}", r.step);
            }
        }
        let out = predict(&fitted.network, size, size)?;
        println!(
            "{} {} w={w:e} points={points} hidden={hidden} w0={w0} steps={steps}: validation {:.2} test {:.2} | hidden-pixel best {:.2} at {} | {:.0} s{}",
            args[3],
            prior.name(),
            psnr(&out, &img, Some(&validation))?,
            psnr(&out, &img, Some(&missing))?,
            best.0,
            best.1,
            t.elapsed().as_secs_f64(),
            if curve { format!("\n  curve (hidden pixels):{line}") } else { String::new() }
        );
    }
    Ok(())
}
