//! Classical baselines: diffusion inpainting and the deep image prior.

use dfdx::prelude::*;
use siren_image::diffusion::diffusion_inpaint;
use siren_image::dip::{deep_image_prior, DipConfig};
use siren_image::metrics::psnr;
use siren_image::{Image, Mask};

#[test]
fn diffusion_inpainting_is_exact_on_a_harmonic_function() {
    // x^2 - y^2 is harmonic, and so is its 5-point discretisation on a square grid.
    let n = 24;
    let f = |r: usize, c: usize| {
        let (x, y) = (r as f64 / (n - 1) as f64, c as f64 / (n - 1) as f64);
        0.5 + 0.4 * (x * x - y * y)
    };
    let data: Vec<f32> = (0..n * n).map(|p| f(p / n, p % n) as f32).collect();
    let image = Image::new(n, n, 1, data).unwrap();
    let mut mask = Mask::random(n, n, 0.2, 1).unwrap();
    for p in 0..n * n {
        let (r, c) = (p / n, p % n);
        if r == 0 || c == 0 || r == n - 1 || c == n - 1 {
            mask.known[p] = true;
        }
    }
    let filled = diffusion_inpaint(&mask.apply(&image, 0.0), &mask).unwrap();
    let err = filled
        .data
        .iter()
        .zip(&image.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 1e-5, "max error {err}");
}

#[test]
fn deep_image_prior_fills_a_smooth_image() {
    let n = 24;
    let data: Vec<f32> = (0..n * n)
        .map(|p| (0.5 + 0.3 * ((p / n) as f64 * 0.3).sin() * ((p % n) as f64 * 0.2).cos()) as f32)
        .collect();
    let image = Image::new(n, n, 1, data).unwrap();
    let mask = Mask::random(n, n, 0.5, 2).unwrap();
    let config = DipConfig {
        steps: 300,
        width: 16,
        depth: 3,
        ..Default::default()
    };
    let result = deep_image_prior::<f32, Cpu>(&image, &mask, &config, &Cpu::default()).unwrap();
    let out = result.image;
    let missing = mask.missing();
    let dip = psnr(&out, &image, Some(&missing)).unwrap();
    // early stopping returns the measured step best on the held-out known pixels
    assert_eq!(result.history.len(), 3);
    let chosen = result
        .history
        .iter()
        .find(|r| r.step == result.step)
        .unwrap();
    assert!((chosen.missing_psnr - dip).abs() < 1e-9);
    let best = result
        .history
        .iter()
        .map(|r| r.validation_psnr.unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(chosen.validation_psnr, Some(best));
    let blank = psnr(&mask.apply(&image, 0.5), &image, Some(&missing)).unwrap();
    assert!(
        dip > blank + 6.0,
        "DIP {dip:.1} dB vs grey fill {blank:.1} dB"
    );
}
