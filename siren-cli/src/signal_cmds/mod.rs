//! `siren audio`, `video`, `sdf`: the flags and logging they share here, each command in its
//! own file.

mod audio;
mod sdf;
mod video;

pub use audio::{audio, AudioArgs};
pub use sdf::{sdf, SdfArgs};
pub use video::{video, VideoArgs};

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use siren_core::train::Checkpointing;
use siren_core::{BiasInit, Result};
use siren_signal::{Model, SignalConfig, StepRecord};

use crate::progress::{MetricsLog, Progress};

/// Network and optimiser flags of the signal commands (defaults per command).
#[derive(Args, Clone, Debug)]
pub struct SignalFlags {
    /// Hold this fraction of the points (samples, pixels, surface points) out of training as
    /// a validation set and log the metric on them (`val_snr`, `val_psnr`, `val_surface_abs`
    /// in metrics.jsonl), for `siren tune`.
    #[arg(long)]
    validation: Option<f64>,
    /// Optimisation steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Hidden width.
    #[arg(long)]
    hidden: Option<usize>,
    /// Hidden-to-hidden layers.
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// omega_0 of the first sine layer.
    #[arg(long)]
    first_w0: Option<f64>,
    /// omega_0 of the hidden sine layers.
    #[arg(long, default_value_t = 30.0)]
    w0: f64,
    /// Points per step.
    #[arg(long)]
    batch: Option<usize>,
    /// Seed of the initialisation and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bias init of the sine layers: PyTorch's default as the original code (on the bunny's
    /// SDF it left far fewer spurious surfaces than the init theory's law: Chamfer 0.029 vs
    /// 0.114 at 3000 steps), or the init theory's law.
    #[arg(long, value_enum, default_value_t = crate::image_cmds::BiasArg::Pytorch)]
    bias_init: crate::image_cmds::BiasArg,
    /// Measure quality every N steps (and at the end).
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    /// Write a checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 200)]
    checkpoint_every: usize,
    /// Continue from the output folder's checkpoints (same settings).
    #[arg(long)]
    resume: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// A command's defaults for the flags it leaves to the user.
pub(crate) struct Defaults {
    steps: usize,
    hidden: usize,
    first_w0: f64,
    batch: Option<usize>,
}

impl SignalFlags {
    /// The SIREN these flags ask for, with checkpoints at `dir/checkpoint-NAME.safetensors`.
    fn siren(&self, d: &Defaults, dir: &Path, name: &str) -> SignalConfig {
        SignalConfig {
            model: Model::Siren {
                first_w0: self.first_w0.unwrap_or(d.first_w0),
                hidden_w0: self.w0,
            },
            hidden_features: self.hidden.unwrap_or(d.hidden),
            hidden_layers: self.layers,
            lr: self.lr,
            steps: self.steps.unwrap_or(d.steps),
            batch: self.batch.or(d.batch),
            seed: self.seed,
            eval_every: self.eval_every,
            bias_init: match self.bias_init {
                crate::image_cmds::BiasArg::WeightLaw => BiasInit::WeightLaw,
                crate::image_cmds::BiasArg::Pytorch => BiasInit::Pytorch,
            },
            validation: self.validation,
            checkpoint: Some(Checkpointing {
                path: dir.join(format!("checkpoint-{name}.safetensors")),
                every: self.checkpoint_every,
                resume: self.resume,
            }),
        }
    }
}

/// Appends step records to `metrics.jsonl` (the metric under its own name) and shows a bar.
pub(crate) struct SignalLog {
    file: MetricsLog,
    start: Instant,
    quiet: bool,
    run: String,
    metric: &'static str,
    bar: Progress,
}

impl SignalLog {
    fn open(dir: &Path, metric: &'static str, quiet: bool) -> Result<Self> {
        Ok(Self {
            file: MetricsLog::open(dir)?,
            start: Instant::now(),
            quiet,
            run: String::new(),
            metric,
            bar: Progress::new("", 0, true),
        })
    }

    /// Starts logging the run `run` of `steps` steps.
    fn start(&mut self, run: &str, steps: usize) {
        self.bar.finish();
        self.bar = Progress::new(run, steps, self.quiet);
        self.run = run.to_string();
    }

    fn record(&mut self, r: &StepRecord) {
        let mut line = serde_json::json!({
            "run": self.run, "step": r.step, "loss": r.loss,
            "wall_s": self.start.elapsed().as_secs_f64(),
        });
        line[self.metric] = serde_json::json!(r.metric);
        if let Some(v) = r.validation {
            line[format!("val_{}", self.metric)] = v.into();
        }
        self.file.write(&self.run, r.step, &line);
        self.bar.update(
            r.step,
            r.loss,
            r.metric.map(|m| format!("{} {m:.4}", self.metric)),
        );
    }

    fn finish(&self) {
        self.bar.finish();
    }
}

/// Writes a command's `results.md` and `results.json` (atomically).
fn write_results(dir: &Path, md: &str, json: &serde_json::Value) -> Result<()> {
    siren_core::io::write_atomic(&dir.join("results.md"), md.as_bytes())?;
    let json = serde_json::to_string_pretty(json).unwrap_or_default();
    siren_core::io::write_atomic(&dir.join("results.json"), json.as_bytes())
}
