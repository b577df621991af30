//! `siren fit`, `render`, `inpaint`, `poisson`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use siren_core::io::write_atomic;
use siren_core::train::Checkpointing;
use siren_core::Backend;
use siren_core::{BiasInit, Error, Network, Result};
use siren_image::diffusion::diffusion_inpaint;
use siren_image::dip::{deep_image_prior, DipConfig};
use siren_image::inpaint::{inpaint as run_inpaint, Antialias, DataLoss, InpaintConfig};
use siren_image::metrics::{psnr, ssim};
use siren_image::poisson::{offset_corrected, poisson_reconstruct, PoissonTarget};
use siren_image::spectrum::energy_above;
use siren_image::{
    fit_image, predict, render as render_image, FitConfig, Image, Mask, Prior, StepRecord,
};

use crate::out_dir;
use crate::plots::{image_figure, labelled_chart, ImagePanel, Series};
use crate::progress::Progress;

/// Network and optimiser flags shared by the image commands.
#[derive(Args, Clone, Debug)]
pub struct TrainFlags {
    /// Crop the image to its centred square and resize it to SIZE x SIZE (bilinear);
    /// default: keep it as it is.
    #[arg(long)]
    size: Option<usize>,
    /// Optimisation steps.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Hidden width.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Hidden-to-hidden layers.
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// omega_0 of the sine layers.
    #[arg(long, default_value_t = 30.0)]
    w0: f64,
    /// Pixels per step (default: all).
    #[arg(long)]
    batch: Option<usize>,
    /// Seed of the initialisation and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bias init of the sine layers: the init theory's law, or PyTorch's default as the
    /// original code.
    #[arg(long, value_enum, default_value_t = BiasArg::WeightLaw)]
    bias_init: BiasArg,
    /// Measure PSNR every N steps (and at the end).
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    /// Write `checkpoint.safetensors` in the output folder every N steps (and at the end).
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Continue from the output folder's checkpoint (same settings; a larger --steps extends
    /// the run). On the CPU the result is identical to an uninterrupted run.
    #[arg(long)]
    resume: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

impl TrainFlags {
    fn config(&self) -> FitConfig {
        FitConfig {
            hidden_features: self.hidden,
            hidden_layers: self.layers,
            w0: self.w0,
            lr: self.lr,
            steps: self.steps,
            batch: self.batch,
            seed: self.seed,
            eval_every: self.eval_every,
            bias_init: match self.bias_init {
                BiasArg::WeightLaw => BiasInit::WeightLaw,
                BiasArg::Pytorch => BiasInit::Pytorch,
            },
            checkpoint: None,
        }
    }

    /// The config with checkpoints in `dir` under `name`.
    fn config_in(&self, dir: &Path, name: &str) -> FitConfig {
        FitConfig {
            checkpoint: Some(Checkpointing {
                path: dir.join(name),
                every: self.checkpoint_every,
                resume: self.resume,
            }),
            ..self.config()
        }
    }

    fn load(&self, path: &Path) -> Result<Image> {
        let img = Image::open(path)?;
        match self.size {
            Some(s) => img.centre_square().resized(s, s),
            None => Ok(img),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BiasArg {
    WeightLaw,
    Pytorch,
}

/// Appends step records to `metrics.jsonl` and prints progress.
struct Log {
    file: std::fs::File,
    start: Instant,
    quiet: bool,
    label: String,
    bar: Progress,
}

impl Log {
    fn new(dir: &Path, label: &str, steps: usize, quiet: bool) -> Result<Self> {
        let file = crate::progress::metrics_log(dir)?;
        Ok(Self {
            file,
            start: Instant::now(),
            quiet,
            label: label.to_string(),
            bar: Progress::new(label, steps, quiet),
        })
    }

    /// Starts a new bar for another run logged to the same file.
    fn restart(&mut self, label: String, steps: usize) {
        self.bar.finish();
        self.bar = Progress::new(&label, steps, self.quiet);
        self.label = label;
    }

    fn record(&mut self, r: &StepRecord) {
        let line = serde_json::json!({
            "run": self.label, "step": r.step, "loss": r.loss, "psnr": r.psnr,
            "wall_s": self.start.elapsed().as_secs_f64(),
        });
        let _ = writeln!(self.file, "{line}");
        self.bar
            .update(r.step, r.loss, r.psnr.map(|p| format!("PSNR {p:.2} dB")));
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// PNG or JPEG to fit.
    image: PathBuf,
    #[command(flatten)]
    train: TrainFlags,
}

pub fn fit<D: Backend<f32>>(a: FitArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    let dir = out_dir(&a.train.out)?;
    let mut log = Log::new(&dir, "fit", a.train.steps, a.train.quiet)?;
    let config = a.train.config_in(&dir, "checkpoint.safetensors");
    let fitted = fit_image::<f32, D>(&img, &config, dev, |r| log.record(r))?;
    fitted.network.save(dir.join("model.safetensors"))?;
    predict(&fitted.network, img.width, img.height)?.save_png(dir.join("fit.png"))?;
    img.save_png(dir.join("ground_truth.png"))?;
    crate::plots::curves_from_log(&dir, "psnr")
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A model saved by `siren fit` or `siren inpaint`.
    model: PathBuf,
    /// Output size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1024x1024")]
    size: String,
    /// Coordinate range lo,hi rendered along both axes; training covered -1,1.
    #[arg(long, default_value = "-1,1", allow_hyphen_values = true)]
    extent: String,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

fn pair<T: std::str::FromStr>(text: &str, sep: char, what: &str) -> Result<(T, T)> {
    let bad = || Error::InvalidInput(format!("{what} must look like A{sep}B, got {text:?}"));
    let (a, b) = text.split_once(sep).ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

pub fn render<D: Backend<f32>>(a: RenderArgs, dev: &D) -> Result<()> {
    let (w, h): (usize, usize) = pair(&a.size, 'x', "--size")?;
    let extent: (f64, f64) = pair(&a.extent, ',', "--extent")?;
    let net = Network::<f32, D>::load(&a.model, dev)?;
    render_image(&net, w, h, extent)?.save_png(&a.out)
}

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
#[derive(Args, Clone, Debug)]
pub struct KernelFlags {
    /// Half-width of the anti-aliasing kernel's tent, in pixels (1: a bilinear pixel
    /// footprint; the original code's is 0.5).
    #[arg(long, default_value_t = 1.0)]
    footprint: f64,
}

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

fn parse_mask(spec: &str, w: usize, h: usize, seed: u64) -> Result<Mask> {
    let fraction = |f: &str| -> Result<f64> {
        f.parse()
            .map_err(|_| Error::InvalidInput(format!("bad fraction in --mask {spec}")))
    };
    if let Some(f) = spec.strip_prefix("random:") {
        Mask::random(w, h, fraction(f)?, seed)
    } else if let Some(f) = spec.strip_prefix("centre:") {
        Mask::centre_block(w, h, fraction(f)?)
    } else if let Some(f) = spec.strip_prefix("strokes:") {
        Mask::strokes(w, h, fraction(f)?, 3.0, seed)
    } else if spec == "all" {
        Mask::random(w, h, 1.0, 0)
    } else {
        Mask::from_png(spec, w, h)
    }
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
                .config_in(&dir, &format!("checkpoint_{name}.safetensors")),
            prior,
            prior_points: a.prior_points,
            data_loss,
            antialias,
        };
        log.restart(format!("inpaint {}", prior.name()), a.train.steps);
        let fitted = run_inpaint::<f32, D>(&img, &mask, &config, dev, |r| log.record(r))?;
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
    let name = a
        .image
        .file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().to_string());
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
                .config_in(&dir, &format!("checkpoint_{file}.safetensors")),
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
    let mut config = a.train.config_in(&dir, "checkpoint.safetensors");
    config.batch = None;
    let fitted = poisson_reconstruct::<f32, D>(&img, target, &config, dev, |r| log.record(r))?;
    fitted.network.save(dir.join("model.safetensors"))?;
    let est = offset_corrected(&predict(&fitted.network, img.width, img.height)?, &img)?;
    est.save_png(dir.join("reconstruction.png"))?;
    let p = psnr(&est, &img, None)?;
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
