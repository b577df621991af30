//! `siren fit`, `render`, `inpaint`, `poisson`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use dfdx::prelude::*;
use siren_core::io::write_atomic;
use siren_core::train::Checkpointing;
use siren_core::{BiasInit, Error, Network, Result};
use siren_image::diffusion::diffusion_inpaint;
use siren_image::dip::{deep_image_prior, DipConfig};
use siren_image::inpaint::{inpaint as run_inpaint, InpaintConfig};
use siren_image::metrics::{psnr, ssim};
use siren_image::poisson::{offset_corrected, poisson_reconstruct, PoissonTarget};
use siren_image::raster::side_by_side;
use siren_image::{
    fit_image, predict, render as render_image, FitConfig, Image, Mask, Prior, StepRecord,
};

use crate::out_dir;
use crate::progress::Progress;

/// Network and optimiser flags shared by the image commands.
#[derive(Args, Clone, Debug)]
pub struct TrainFlags {
    /// Resize the image to SIZE x SIZE first (bilinear); default: keep its size.
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
            Some(s) => img.resized(s, s),
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

pub fn fit<D: Device<f32>>(a: FitArgs, dev: &D) -> Result<()> {
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

pub fn render<D: Device<f32>>(a: RenderArgs, dev: &D) -> Result<()> {
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

#[derive(Args, Debug)]
pub struct InpaintArgs {
    /// PNG or JPEG to inpaint (the full image: it is the ground truth for the metrics).
    image: PathBuf,
    /// Known pixels: random:FRACTION, centre:FRACTION (a missing centred block), or a mask PNG
    /// (white = known).
    #[arg(long, default_value = "random:0.1")]
    mask: String,
    /// Seed of a random mask.
    #[arg(long, default_value_t = 0)]
    mask_seed: u64,
    /// Smoothness prior.
    #[arg(long, value_enum, default_value_t = PriorArg::None)]
    prior: PriorArg,
    /// Weight of the prior.
    #[arg(long, default_value_t = 1e-2)]
    prior_weight: f64,
    /// Points per step at which the prior is evaluated.
    #[arg(long, default_value_t = 4096)]
    prior_points: usize,
    /// Use the anti-aliasing kernel with K offsets per pixel.
    #[arg(long)]
    antialias: Option<usize>,
    /// Run no prior, TV, FH, diffusion and the deep image prior; write a grid and a table.
    #[arg(long)]
    compare: bool,
    /// Weight of TV in --compare.
    #[arg(long, default_value_t = 1e-2)]
    tv_weight: f64,
    /// Weight of FH in --compare (1e-3 over-smooths camera at 256x256: 23.0 vs 25.4 dB at 1e-4).
    #[arg(long, default_value_t = 1e-4)]
    fh_weight: f64,
    /// Deep-image-prior steps in --compare.
    #[arg(long, default_value_t = 1000)]
    dip_steps: usize,
    #[command(flatten)]
    train: TrainFlags,
}

fn parse_mask(spec: &str, w: usize, h: usize, seed: u64) -> Result<Mask> {
    if let Some(f) = spec.strip_prefix("random:") {
        let f: f64 = f
            .parse()
            .map_err(|_| Error::InvalidInput(format!("bad fraction in --mask {spec}")))?;
        Mask::random(w, h, f, seed)
    } else if let Some(f) = spec.strip_prefix("centre:") {
        let f: f64 = f
            .parse()
            .map_err(|_| Error::InvalidInput(format!("bad fraction in --mask {spec}")))?;
        Mask::centre_block(w, h, f)
    } else {
        Mask::from_png(spec, w, h)
    }
}

pub fn inpaint<D: Device<f32>>(a: InpaintArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    let mask = parse_mask(&a.mask, img.width, img.height, a.mask_seed)?;
    let dir = out_dir(&a.train.out)?;
    let missing = mask.missing();
    let masked = mask.apply(&img, 0.0);
    let mut log = Log::new(&dir, "inpaint", a.train.steps, a.train.quiet)?;
    let siren = |prior: Prior, log: &mut Log| -> Result<Image> {
        let name = prior.name().replace(' ', "_").to_lowercase();
        let config = InpaintConfig {
            fit: a
                .train
                .config_in(&dir, &format!("checkpoint_{name}.safetensors")),
            prior,
            prior_points: a.prior_points,
            antialias: a.antialias,
        };
        log.restart(format!("inpaint {}", prior.name()), a.train.steps);
        let fitted = run_inpaint::<f32, D>(&img, &mask, &config, dev, |r| log.record(r))?;
        fitted
            .network
            .save(dir.join(format!("model_{name}.safetensors")))?;
        predict(&fitted.network, img.width, img.height)
    };
    let mut results: Vec<(String, Image)> = Vec::new();
    if a.compare {
        results.push(("no prior".into(), siren(Prior::None, &mut log)?));
        results.push((
            "TV".into(),
            siren(Prior::TotalVariation(a.tv_weight), &mut log)?,
        ));
        results.push((
            "FH".into(),
            siren(Prior::HessianFrobenius(a.fh_weight), &mut log)?,
        ));
        results.push(("diffusion".into(), diffusion_inpaint(&masked, &mask)?));
        let dip = DipConfig {
            steps: a.dip_steps,
            seed: a.train.seed,
            ..Default::default()
        };
        results.push((
            "deep image prior".into(),
            deep_image_prior::<f32, D>(&img, &mask, &dip, dev)?,
        ));
    } else {
        let prior = match a.prior {
            PriorArg::None => Prior::None,
            PriorArg::Tv => Prior::TotalVariation(a.prior_weight),
            PriorArg::Fh => Prior::HessianFrobenius(a.prior_weight),
        };
        results.push((prior.name().into(), siren(prior, &mut log)?));
    }
    let mut table = String::from("| method | PSNR (all) | SSIM (all) | PSNR (missing) | SSIM (missing) |\n|---|---|---|---|---|\n");
    for (name, out) in &results {
        table += &format!(
            "| {name} | {:.2} | {:.4} | {:.2} | {:.4} |\n",
            psnr(out, &img, None)?,
            ssim(out, &img, None)?,
            psnr(out, &img, Some(&missing))?,
            ssim(out, &img, Some(&missing))?
        );
        out.save_png(dir.join(format!("{}.png", name.replace(' ', "_"))))?;
    }
    let mut row: Vec<&Image> = vec![&img, &masked];
    row.extend(results.iter().map(|(_, i)| i));
    side_by_side(&row, 4)?.save_png(dir.join("grid.png"))?;
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    let report = format!(
        "Inpainting {} ({}x{}), mask {}, {} steps.\n\ngrid.png, left to right: ground truth, masked input, {}.\n\n{table}",
        a.image.display(), img.width, img.height, a.mask, a.train.steps, names.join(", ")
    );
    write_atomic(&dir.join("metrics.md"), report.as_bytes())?;
    crate::plots::curves_from_log(&dir, "psnr")?;
    if !a.train.quiet {
        println!("{table}");
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

pub fn poisson<D: Device<f32>>(a: PoissonArgs, dev: &D) -> Result<()> {
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
