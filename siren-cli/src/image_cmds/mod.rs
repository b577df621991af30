//! `siren fit`, `render`, `inpaint`, `antialias`, `poisson`: the flags and logging they share
//! and the fit and render commands here, the others in their own files.

mod antialias;
mod inpaint;
mod poisson;

pub use antialias::{antialias, AntialiasArgs};
pub use inpaint::{inpaint, InpaintArgs};
pub use poisson::{poisson, PoissonArgs};

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use siren_core::train::Checkpointing;
use siren_core::Backend;
use siren_core::{BiasInit, Error, Network, Result};
use siren_image::{
    fit_image, predict, render as render_image, render_values, FitConfig, Image, ImageModel, Mask,
    StepRecord,
};

use crate::out_dir;
use crate::plots::ImagePanel;
use crate::progress::Progress;

/// Network and optimiser flags shared by the image commands.
#[derive(Args, Clone, Debug)]
pub struct TrainFlags {
    /// The network: a SIREN, or a baseline the paper compares it with (ReLU, ReLU on a
    /// positional encoding, tanh).
    #[arg(long, value_enum, default_value_t = ModelArg::Siren)]
    model: ModelArg,
    /// Octaves of `--model relu-pe`'s positional encoding; default: the original's Nyquist
    /// rule for the image's shorter side, floor(log2(side / 4)).
    #[arg(long)]
    pe_frequencies: Option<usize>,
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
    /// The settings, for an image whose shorter side is `side` pixels.
    fn config(&self, side: usize) -> FitConfig {
        FitConfig {
            model: match self.model {
                ModelArg::Siren => ImageModel::Siren,
                ModelArg::Relu => ImageModel::Relu,
                ModelArg::ReluPe => ImageModel::ReluPositional {
                    frequencies: self
                        .pe_frequencies
                        .unwrap_or_else(|| siren_core::Encoding::nyquist_frequencies(side)),
                },
                ModelArg::Tanh => ImageModel::Tanh,
            },
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

    /// The network in words, for figure titles: "SIREN 256x3, w0 = 30".
    pub(crate) fn model_name(&self) -> String {
        let kind = match self.model {
            ModelArg::Siren => "SIREN",
            ModelArg::Relu => "ReLU MLP",
            ModelArg::ReluPe => "ReLU MLP on a positional encoding",
            ModelArg::Tanh => "tanh MLP",
        };
        let w0 = match self.model {
            ModelArg::Siren => format!(", w0 = {}", self.w0),
            _ => String::new(),
        };
        format!("{kind} {}x{}{w0}", self.hidden, self.layers)
    }

    /// The config for `image` with checkpoints in `dir` under `name`.
    fn config_in(&self, image: &Image, dir: &Path, name: &str) -> FitConfig {
        FitConfig {
            checkpoint: Some(Checkpointing {
                path: dir.join(name),
                every: self.checkpoint_every,
                resume: self.resume,
            }),
            ..self.config(image.width.min(image.height))
        }
    }

    /// Opens the image at its training size, after checking that a training step over it
    /// fits in memory (before the resize allocates anything).
    fn load(&self, path: &Path) -> Result<Image> {
        let img = Image::open(path)?;
        let pixels = match self.size {
            Some(s) => {
                siren_image::raster::check_pixels(s, s)?;
                s * s
            }
            None => img.width * img.height,
        };
        let points = self.batch.unwrap_or(pixels).min(pixels);
        siren_image::fit::check_step_memory(&self.config(self.size.unwrap_or(1)), points)?;
        match self.size {
            Some(s) => img.centre_square().resized(s, s),
            None => Ok(img),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub(crate) enum ModelArg {
    Siren,
    Relu,
    ReluPe,
    Tanh,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum BiasArg {
    WeightLaw,
    Pytorch,
}

/// Appends step records to `metrics.jsonl` and prints progress.
struct Log {
    file: crate::progress::MetricsLog,
    start: Instant,
    quiet: bool,
    label: String,
    bar: Progress,
}

impl Log {
    fn new(dir: &Path, label: &str, steps: usize, quiet: bool) -> Result<Self> {
        let file = crate::progress::MetricsLog::open(dir)?;
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
        let mut line = serde_json::json!({
            "run": self.label, "step": r.step, "loss": r.loss, "psnr": r.psnr,
            "wall_s": self.start.elapsed().as_secs_f64(),
        });
        if let Some(v) = r.validation {
            line["val_psnr"] = v.into();
        }
        self.file.write(&self.label, r.step, &line);
        self.bar
            .update(r.step, r.loss, r.psnr.map(|p| format!("PSNR {p:.2} dB")));
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// PNG or JPEG to fit.
    image: PathBuf,
    /// Hold this fraction of the pixels out of training as a validation set and log the PSNR
    /// on them (`val_psnr` in metrics.jsonl), for `siren tune`; the fit then trains on the
    /// rest (as inpainting with a random mask and no prior).
    #[arg(long)]
    validation: Option<f64>,
    #[command(flatten)]
    train: TrainFlags,
}

pub fn fit<D: Backend<f32>>(a: FitArgs, dev: &D) -> Result<()> {
    let img = a.train.load(&a.image)?;
    let dir = out_dir(&a.train.out)?;
    let mut log = Log::new(&dir, "fit", a.train.steps, a.train.quiet)?;
    let config = a.train.config_in(&img, &dir, "checkpoint.safetensors");
    let fitted = match a.validation {
        None => fit_image::<f32, D>(&img, &config, dev, |r| log.record(r))?,
        Some(f) => {
            let all = Mask::random(img.width, img.height, 1.0, 0)?;
            let (train, held) = all.holdout(f, a.train.seed.wrapping_add(1))?;
            let config = siren_image::InpaintConfig {
                fit: config,
                prior: siren_image::Prior::None,
                prior_points: 1,
                data_loss: siren_image::inpaint::DataLoss::Mse,
                antialias: None,
            };
            siren_image::inpaint_validated::<f32, D>(
                &img,
                &train,
                Some(&held),
                &config,
                dev,
                |r| log.record(r),
            )?
        }
    };
    fitted.network.save(dir.join("model.safetensors"))?;
    let estimate = predict(&fitted.network, img.width, img.height)?;
    estimate.save_png(dir.join("fit.png"))?;
    img.save_png(dir.join("ground_truth.png"))?;
    let p = siren_image::metrics::psnr(&estimate, &img, None)?;
    crate::plots::image_figure(
        &dir.join("figure.png"),
        &format!(
            "Fitting {} with a {}",
            file_name(&a.image),
            a.train.model_name()
        ),
        &format!(
            "{}x{}, {} steps; PSNR over every pixel",
            img.width, img.height, a.train.steps
        ),
        &[
            ImagePanel {
                image: &img,
                label: "ground truth".into(),
                detail: String::new(),
            },
            ImagePanel {
                image: &estimate,
                label: "fit".into(),
                detail: format!("{p:.2} dB"),
            },
        ],
        2,
    )?;
    crate::plots::curves_from_log(&dir, "psnr")
}

/// The file name of `path` without its folder and extension, for titles.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().into_owned())
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
    /// Output: a PNG, or a `.npy` file of the network's raw outputs (float32, height x width
    /// x channels, unclamped; `numpy.load` reads it).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn pair<T: std::str::FromStr>(text: &str, sep: char, what: &str) -> Result<(T, T)> {
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
    crate::output_is_not_an_input(&a.out, &[&a.model])?;
    let net = Network::<f32, D>::load(&a.model, dev)?;
    if a.out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        let values = render_values(&net, w, h, extent, extent)?;
        let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
        let shape = [h, w, net.config().out_features];
        return siren_core::io::write_npy(&a.out, &shape, &values);
    }
    render_image(&net, w, h, extent)?.save_png(&a.out)
}

#[derive(Args, Clone, Debug)]
pub struct KernelFlags {
    /// Half-width of the anti-aliasing kernel's tent, in pixels (1: a bilinear pixel
    /// footprint; the original code's is 0.5).
    #[arg(long, default_value_t = 1.0)]
    footprint: f64,
}

pub(crate) fn parse_mask(spec: &str, w: usize, h: usize, seed: u64) -> Result<Mask> {
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
