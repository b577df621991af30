//! `siren antialias`: the anti-aliasing kernel against none, measured above the Nyquist limit.

use std::path::PathBuf;

use clap::Args;
use siren_core::io::write_atomic;
use siren_core::Backend;
use siren_core::{Error, Result};
use siren_image::inpaint::{inpaint as run_inpaint, Antialias, DataLoss, InpaintConfig};
use siren_image::metrics::psnr;
use siren_image::spectrum::energy_above;
use siren_image::{predict, render as render_image, Image, Prior};

use crate::out_dir;
use crate::plots::{image_figure, ImagePanel};

use super::{parse_mask, KernelFlags, Log, TrainFlags};

#[derive(Args, Debug)]
pub struct AntialiasArgs {
    /// PNG or JPEG to fit.
    image: PathBuf,
    /// Known pixels, as for `siren inpaint` (default: all of them, a plain fit).
    #[arg(long, default_value = "all")]
    mask: String,
    /// Render at this many times the training resolution.
    #[arg(long, default_value_t = 4)]
    factor: usize,
    /// Offsets per pixel and step of the kernel.
    #[arg(long, default_value_t = 1)]
    samples: usize,
    #[command(flatten)]
    kernel: KernelFlags,
    #[command(flatten)]
    train: TrainFlags,
}

/// Fits with point samples and with the anti-aliasing kernel, renders both at `factor` times
/// the resolution, and measures the spectral energy above the training grid's Nyquist.
pub fn antialias<D: Backend<f32>>(a: AntialiasArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    if !(2..=8).contains(&a.factor) {
        return Err(Error::InvalidInput(format!(
            "--factor must be 2 to 8, got {}",
            a.factor
        )));
    }
    let mask = parse_mask(&a.mask, img.width, img.height, 0)?;
    let dir = out_dir(&a.train.out)?;
    let mut log = Log::new(&dir, "antialias", a.train.steps, a.train.quiet)?;
    let (big_w, big_h) = (img.width * a.factor, img.height * a.factor);
    let nyquist = img.width.min(img.height) as f64 / 2.0;
    let reference = img.resized(big_w, big_h)?;
    let mut rows = Vec::new();
    for (label, kernel) in [
        ("point samples", None),
        (
            "anti-aliasing kernel",
            Some(Antialias {
                samples: a.samples,
                footprint: a.kernel.footprint,
            }),
        ),
    ] {
        let file = if kernel.is_some() { "kernel" } else { "points" };
        let config = InpaintConfig {
            fit: a
                .train
                .config_in(&img, &dir, &format!("checkpoint_{file}.safetensors")),
            prior: Prior::None,
            prior_points: 0,
            data_loss: DataLoss::Mse,
            antialias: kernel,
        };
        log.restart(label.into(), a.train.steps);
        let fitted = run_inpaint::<f32, D>(&img, &mask, &config, dev, |r| log.record(r))?;
        fitted
            .network
            .save(dir.join(format!("model_{file}.safetensors")))?;
        let at_grid = predict(&fitted.network, img.width, img.height)?;
        let big = render_image(&fitted.network, big_w, big_h, (-1.0, 1.0))?;
        big.save_png(dir.join(format!("render_{file}.png")))?;
        rows.push((
            label,
            psnr(&at_grid, &img, None)?,
            energy_above(&big, nyquist),
            psnr(&big, &reference, None)?,
            big,
        ));
    }
    log.bar.finish();
    let upsampled = img.upscaled(a.factor)?;
    let truth_energy = energy_above(&reference, nyquist);
    // a quarter of the side around the centre, where the cameraman's detail is
    let crop = |im: &Image| im.centre_crop(im.width.min(im.height) / 4);
    let crops = [crop(&upsampled), crop(&rows[0].4), crop(&rows[1].4)];
    let panels = vec![
        ImagePanel {
            image: &crops[0],
            label: "training pixels".into(),
            detail: format!("{}x{}, enlarged {}x", img.width, img.height, a.factor),
        },
        ImagePanel {
            image: &crops[1],
            label: rows[0].0.into(),
            detail: format!("{:.2}% energy above Nyquist", 100.0 * rows[0].2),
        },
        ImagePanel {
            image: &crops[2],
            label: rows[1].0.into(),
            detail: format!("{:.2}% energy above Nyquist", 100.0 * rows[1].2),
        },
    ];
    image_figure(
        &dir.join("figure.png"),
        &format!(
            "Rendering at {}x the training resolution (centre crops)",
            a.factor
        ),
        &format!(
            "{} steps, w0 {}, kernel: tent of half-width {} px, {} offset(s) per pixel and step",
            a.train.steps, a.train.w0, a.kernel.footprint, a.samples
        ),
        &panels,
        3,
    )?;
    let mut table = format!(
        "| training | PSNR at the training grid | energy above the training Nyquist at {f}x | PSNR at {f}x vs the image resized |\n|---|---|---|---|\n",
        f = a.factor
    );
    for (label, p, e, big_p, _) in &rows {
        table += &format!("| {label} | {p:.2} | {:.3}% | {big_p:.2} |\n", 100.0 * e);
    }
    table += &format!(
        "| (the image itself, resized to {}x{}) | | {:.3}% | |\n",
        big_w,
        big_h,
        100.0 * truth_energy
    );
    let report = format!(
        "Anti-aliasing on {} ({}x{}, mask {}), rendered at {big_w}x{big_h}. Energy: fraction of \
         the spectral energy (mean removed) at more than {nyquist} cycles per image side.\n\n{table}",
        a.image.display(),
        img.width,
        img.height,
        a.mask
    );
    write_atomic(&dir.join("metrics.md"), report.as_bytes())?;
    crate::plots::curves_from_log(&dir, "psnr")?;
    if !a.train.quiet {
        print!("{report}");
    }
    Ok(())
}
