//! `siren poisson`: an image from its gradient or Laplacian.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use siren_core::io::write_atomic;
use siren_core::Backend;
use siren_core::Result;
use siren_image::metrics::psnr;
use siren_image::poisson::{offset_corrected, poisson_reconstruct, PoissonTarget};
use siren_image::predict;

use crate::out_dir;
use crate::plots::ImagePanel;

use super::{Log, TrainFlags};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TargetArg {
    Gradient,
    Laplacian,
}

#[derive(Args, Debug)]
pub struct PoissonArgs {
    /// PNG or JPEG whose derivatives are the only supervision.
    image: PathBuf,
    /// Fit the Sobel gradient or the discrete Laplacian.
    #[arg(long, value_enum, default_value_t = TargetArg::Gradient)]
    target: TargetArg,
    #[command(flatten)]
    train: TrainFlags,
}

pub fn poisson<D: Backend<f32>>(a: PoissonArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    let dir = out_dir(&a.train.out)?;
    let target = match a.target {
        TargetArg::Gradient => PoissonTarget::Gradient,
        TargetArg::Laplacian => PoissonTarget::Laplacian,
    };
    let mut log = Log::new(&dir, "poisson", a.train.steps, a.train.quiet)?;
    let mut config = a.train.config_in(&img, &dir, "checkpoint.safetensors");
    config.batch = None;
    let fitted = poisson_reconstruct::<f32, D>(&img, target, &config, dev, |r| log.record(r))?;
    fitted.network.save(dir.join("model.safetensors"))?;
    let est = offset_corrected(&predict(&fitted.network, img.width, img.height)?, &img)?;
    est.save_png(dir.join("reconstruction.png"))?;
    let p = psnr(&est, &img, None)?;
    let laplacian = matches!(a.target, TargetArg::Laplacian);
    let supervision = crate::plots::supervision_picture(&img, laplacian)?;
    crate::plots::image_figure(
        &dir.join("figure.png"),
        &format!(
            "Poisson: {} from its {} alone",
            super::file_name(&a.image),
            if laplacian { "Laplacian" } else { "gradient" }
        ),
        &format!(
            "{}, {}x{}, {} steps; PSNR after removing the constant offset the data cannot fix",
            a.train.model_name(),
            img.width,
            img.height,
            a.train.steps
        ),
        &[
            ImagePanel {
                image: &img,
                label: "ground truth".into(),
                detail: String::new(),
            },
            ImagePanel {
                image: &supervision,
                label: if laplacian {
                    "supervision: discrete Laplacian".into()
                } else {
                    "supervision: Sobel gradient".into()
                },
                detail: if laplacian {
                    "blue < 0 < red".into()
                } else {
                    "its norm".into()
                },
            },
            ImagePanel {
                image: &est,
                label: "reconstruction".into(),
                detail: format!("{p:.2} dB"),
            },
        ],
        3,
    )?;
    let report = format!(
        "Poisson reconstruction of {} ({}x{}) from its {} alone, {} steps: PSNR {p:.2} dB after \
         removing the constant offset the data cannot determine.\n",
        a.image.display(),
        img.width,
        img.height,
        match a.target {
            TargetArg::Gradient => "Sobel gradient",
            TargetArg::Laplacian => "discrete Laplacian",
        },
        a.train.steps
    );
    write_atomic(&dir.join("result.md"), report.as_bytes())?;
    crate::plots::curves_from_log(&dir, "psnr")?;
    if !a.train.quiet {
        print!("{report}");
    }
    Ok(())
}
