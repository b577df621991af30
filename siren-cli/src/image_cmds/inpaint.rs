//! `siren inpaint`: fill the missing pixels, with or without a prior, against the baselines.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use siren_core::io::write_atomic;
use siren_core::Backend;
use siren_core::{Error, Result};
use siren_image::diffusion::diffusion_inpaint;
use siren_image::dip::{deep_image_prior, DipConfig};
use siren_image::inpaint::{inpaint_validated, Antialias, DataLoss, InpaintConfig};
use siren_image::metrics::{psnr, ssim};
use siren_image::{predict, Image, Prior};

use crate::out_dir;
use crate::plots::{image_figure, labelled_chart, ImagePanel, Series};
use crate::progress::Progress;

use super::{parse_mask, KernelFlags, Log, TrainFlags};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PriorArg {
    None,
    Tv,
    Fh,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DataLossArg {
    Mse,
    Rmse,
}

/// The anti-aliasing kernel's flags, shared by `inpaint` and `antialias`.
#[derive(Args, Debug)]
pub struct InpaintArgs {
    /// PNG or JPEG to inpaint (the full image: it is the ground truth for the metrics).
    image: PathBuf,
    /// Known pixels: random:FRACTION (each pixel kept with that probability),
    /// strokes:FRACTION (random scratches 3 pixels thick hide that fraction), centre:FRACTION
    /// (a missing centred block), or a mask PNG (white = known).
    #[arg(long, default_value = "random:0.1")]
    mask: String,
    /// Seed of a random or stroke mask.
    #[arg(long, default_value_t = 0)]
    mask_seed: u64,
    /// Hold this fraction of the known pixels out of the SIREN's training as a validation
    /// set and log the PSNR on them (`val_psnr` in metrics.jsonl): the number `siren tune`
    /// and weight choices go by, never the missing pixels.
    #[arg(long)]
    validation: Option<f64>,
    /// Smoothness prior.
    #[arg(long, value_enum, default_value_t = PriorArg::None)]
    prior: PriorArg,
    /// Weight of the prior.
    #[arg(long, default_value_t = 1e-4)]
    prior_weight: f64,
    /// Points per step at which the prior is evaluated (the original: half the pixel count).
    #[arg(long, default_value_t = 1024)]
    prior_points: usize,
    /// Data term over the known pixels: mean squared error (the original code) or its root
    /// (the seed's text).
    #[arg(long, value_enum, default_value_t = DataLossArg::Mse)]
    data_loss: DataLossArg,
    /// Use the anti-aliasing kernel with K offsets per pixel and step.
    #[arg(long)]
    antialias: Option<usize>,
    #[command(flatten)]
    kernel: KernelFlags,
    /// Run no prior, TV, FH, diffusion and the deep image prior; write a labelled figure, a
    /// table and the PSNR-over-steps curves.
    #[arg(long)]
    compare: bool,
    /// Weight of TV in --compare (chosen on a validation holdout: siren-image's inpaint docs).
    #[arg(long, default_value_t = 1e-4)]
    tv_weight: f64,
    /// Weight of FH in --compare (chosen likewise, by the mean over two images).
    #[arg(long, default_value_t = 3e-6)]
    fh_weight: f64,
    /// Deep-image-prior steps in --compare (the output kept is the one best on 5% of the
    /// known pixels held out of its training); 0 leaves it out (it costs about 0.55 s a step
    /// at 256x256 on 2 cores, 0.1 s at 128x128).
    #[arg(long, default_value_t = 1000)]
    dip_steps: usize,
    #[command(flatten)]
    train: TrainFlags,
}

/// A method's output and its PSNR over steps on the missing pixels.
struct Outcome {
    name: String,
    image: Image,
    curve: Vec<(f64, f64)>,
    note: String,
}

pub fn inpaint<D: Backend<f32>>(a: InpaintArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    let mask = parse_mask(&a.mask, img.width, img.height, a.mask_seed)?;
    let dir = out_dir(&a.train.out)?;
    let missing = mask.missing();
    if !missing.iter().any(|&m| m) {
        return Err(Error::InvalidInput(format!(
            "--mask {} hides no pixel: nothing to inpaint",
            a.mask
        )));
    }
    let masked = mask.apply(&img, 0.0);
    // The validation pixels come out of the known ones, drawn with their own seed.
    let (train_mask, held) = match a.validation {
        Some(f) => {
            let (t, h) = mask.holdout(f, a.mask_seed.wrapping_add(1))?;
            (t, Some(h))
        }
        None => (mask.clone(), None),
    };
    let mut log = Log::new(&dir, "inpaint", a.train.steps, a.train.quiet)?;
    let data_loss = match a.data_loss {
        DataLossArg::Mse => DataLoss::Mse,
        DataLossArg::Rmse => DataLoss::Rmse,
    };
    let antialias = a.antialias.map(|samples| Antialias {
        samples,
        footprint: a.kernel.footprint,
    });
    let siren = |prior: Prior, log: &mut Log| -> Result<Outcome> {
        let name = prior.name().replace(' ', "_").to_lowercase();
        let config = InpaintConfig {
            fit: a
                .train
                .config_in(&img, &dir, &format!("checkpoint_{name}.safetensors")),
            prior,
            prior_points: a.prior_points,
            data_loss,
            antialias,
        };
        log.restart(format!("inpaint {}", prior.name()), a.train.steps);
        let fitted =
            inpaint_validated::<f32, D>(&img, &train_mask, held.as_deref(), &config, dev, |r| {
                log.record(r)
            })?;
        fitted
            .network
            .save(dir.join(format!("model_{name}.safetensors")))?;
        let curve = fitted
            .history
            .iter()
            .filter_map(|r| r.psnr.map(|p| (r.step as f64, p)))
            .collect();
        // where the missing-pixel PSNR peaked: reported, never used to choose anything
        let peak = fitted
            .history
            .iter()
            .filter_map(|r| r.psnr.map(|p| (p, r.step)))
            .fold((f64::NEG_INFINITY, 0), |b, x| if x.0 > b.0 { x } else { b });
        let note = match prior {
            Prior::None => format!("peak {:.2} at step {}", peak.0, peak.1),
            p => format!(
                "weight {:e}; peak {:.2} at step {}",
                p.weight(),
                peak.0,
                peak.1
            ),
        };
        Ok(Outcome {
            name: prior.name().into(),
            image: predict(&fitted.network, img.width, img.height)?,
            curve,
            note,
        })
    };
    let mut results: Vec<Outcome> = Vec::new();
    if a.compare {
        results.push(siren(Prior::None, &mut log)?);
        results.push(siren(Prior::TotalVariation(a.tv_weight), &mut log)?);
        results.push(siren(Prior::HessianFrobenius(a.fh_weight), &mut log)?);
        log.bar.finish();
        results.push(Outcome {
            name: "diffusion".into(),
            image: diffusion_inpaint(&masked, &mask)?,
            curve: Vec::new(),
            note: String::new(),
        });
        if a.dip_steps > 0 {
            let config = DipConfig {
                steps: a.dip_steps,
                seed: a.train.seed,
                eval_every: a.train.eval_every,
                ..Default::default()
            };
            let bar = Progress::new("deep image prior", 1, a.train.quiet);
            let dip = deep_image_prior::<f32, D>(&img, &mask, &config, dev)?;
            bar.finish();
            results.push(Outcome {
                name: "deep image prior".into(),
                image: dip.image,
                curve: dip
                    .history
                    .iter()
                    .map(|r| (r.step as f64, r.missing_psnr))
                    .collect(),
                note: format!(
                    "{} steps, kept step {} (best on held-out known pixels)",
                    a.dip_steps, dip.step
                ),
            });
        }
    } else {
        let prior = match a.prior {
            PriorArg::None => Prior::None,
            PriorArg::Tv => Prior::TotalVariation(a.prior_weight),
            PriorArg::Fh => Prior::HessianFrobenius(a.prior_weight),
        };
        results.push(siren(prior, &mut log)?);
        log.bar.finish();
    }
    let mut table = String::from("| method | PSNR (missing) | SSIM (missing) | PSNR (all) | SSIM (all) | note |\n|---|---|---|---|---|---|\n");
    let mut scores = Vec::new();
    let mut missing_psnr = Vec::new();
    for r in &results {
        let p = psnr(&r.image, &img, Some(&missing))?;
        missing_psnr.push(p);
        table += &format!(
            "| {} | {p:.2} | {:.4} | {:.2} | {:.4} | {} |\n",
            r.name,
            ssim(&r.image, &img, Some(&missing))?,
            psnr(&r.image, &img, None)?,
            ssim(&r.image, &img, None)?,
            r.note
        );
        scores.push(serde_json::json!({"method": r.name, "psnr_missing": p}));
        r.image
            .save_png(dir.join(format!("{}.png", r.name.replace(' ', "_"))))?;
    }
    let known = mask.known.iter().filter(|&&k| k).count();
    let mut panels = vec![
        ImagePanel {
            image: &img,
            label: "ground truth".into(),
            detail: format!("{}x{}", img.width, img.height),
        },
        ImagePanel {
            image: &masked,
            label: "input".into(),
            detail: format!(
                "{:.1}% of pixels known",
                100.0 * known as f64 / mask.known.len() as f64
            ),
        },
    ];
    for (r, p) in results.iter().zip(&missing_psnr) {
        panels.push(ImagePanel {
            image: &r.image,
            label: r.name.clone(),
            detail: format!("{p:.2} dB"),
        });
    }
    let name = super::file_name(&a.image);
    image_figure(
        &dir.join("figure.png"),
        &format!("Inpainting {name}, mask {}", a.mask),
        &format!(
            "PSNR on the missing pixels; SIRENs {} steps, {} data term, TV {:e}, FH {:e}",
            a.train.steps,
            match data_loss {
                DataLoss::Mse => "MSE",
                DataLoss::Rmse => "RMSE",
            },
            a.tv_weight,
            a.fh_weight
        ),
        &panels,
        panels.len().min(4),
    )?;
    let series: Vec<Series> = results
        .iter()
        .filter(|r| !r.curve.is_empty())
        .map(|r| Series {
            name: r.name.clone(),
            points: r.curve.clone(),
        })
        .collect();
    let curve_names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    labelled_chart(
        &dir.join("psnr_missing.png"),
        &format!("{name}, mask {}: PSNR on the missing pixels", a.mask),
        "step",
        "PSNR (dB)",
        &series,
    )?;
    let report = format!(
        "Inpainting {} ({}x{}), mask {} ({known} pixels known), SIRENs {} steps, {} data term, \
         {} prior points{}.\n\nfigure.png: ground truth, input, then each method with its PSNR \
         on the missing pixels. psnr_missing.png: PSNR on the missing pixels over steps ({}).\n\n{table}",
        a.image.display(),
        img.width,
        img.height,
        a.mask,
        a.train.steps,
        match data_loss {
            DataLoss::Mse => "MSE",
            DataLoss::Rmse => "RMSE",
        },
        a.prior_points,
        match antialias {
            Some(k) => format!(", anti-aliasing kernel {} samples, footprint {} px", k.samples, k.footprint),
            None => String::new(),
        },
        curve_names.join(", ")
    );
    write_atomic(&dir.join("metrics.md"), report.as_bytes())?;
    write_atomic(
        &dir.join("scores.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "image": name, "mask": a.mask, "scores": scores
        }))
        .expect("json")
        .as_bytes(),
    )?;
    crate::plots::curves_from_log(&dir, "psnr")?;
    if !a.train.quiet {
        println!("{table}");
    }
    Ok(())
}
