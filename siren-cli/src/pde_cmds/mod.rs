//! `siren wave` and `siren helmholtz`: SIREN vs tanh vs ReLU against the reference solvers.
//! The flags and run-folder plumbing both share are here; each command in its own file.

mod helmholtz;
mod wave;

pub use helmholtz::{helmholtz, HelmholtzArgs};
pub use wave::{wave, WaveArgs};

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use siren_core::io::write_atomic;
use siren_core::train::Checkpointing;
use siren_core::{Error, NetworkConfig, Result};
use siren_pde::export::Field;
use siren_pde::helmholtz_net::HelmholtzExperiment;
use siren_pde::models::{compared_models, Scale, Size};
use siren_pde::wave::experiment::WaveExperiment;
use siren_pde::wave::Medium;

use crate::plots::{circle_outline, square_outline, Outline};
use crate::progress::Progress;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScaleArg {
    /// A first look: minutes on a 2-core CPU (may miss the accuracy targets).
    Quick,
    /// The CPU scale the reproduction report holds to the paper's results.
    Default,
    /// The original settings (a GPU and hours).
    Paper,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum MediumArg {
    /// Uniform speed 1.
    Uniform,
    /// A region of another speed (wave: a square of speed 0.5 beside the source; Helmholtz:
    /// the original's, a centred square of speed 2 with the source moved to (-0.35, 0)).
    Heterogeneous,
    /// Both, one after the other.
    Both,
}

/// The wave's memory per grid node: f64 snapshots at five times for the reference and up to
/// three models, the solver's few work fields, with room to spare (32 values).
pub(crate) fn wave_bytes_per_node(_nodes: u128) -> u128 {
    8 * 32
}

/// Helmholtz's memory per grid node: the sparse LU factors of the 5-point operator (complex,
/// fill growing like $\log_2$ of the unknowns under nested dissection) and the fields.
pub(crate) fn helmholtz_bytes_per_node(nodes: u128) -> u128 {
    let log2 = 128 - nodes.max(2).leading_zeros() as u128;
    16 * (8 * log2 + 16)
}

/// Flags shared by the PDE commands. Unset numbers take the scale's value.
#[derive(Args, Debug)]
pub struct PdeFlags {
    /// Experiment size.
    #[arg(long, value_enum, default_value_t = ScaleArg::Default)]
    scale: ScaleArg,
    /// Which medium.
    #[arg(long, value_enum, default_value_t = MediumArg::Both)]
    medium: MediumArg,
    /// Override the number of steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Override the learning rate of the first step.
    #[arg(long)]
    lr: Option<f64>,
    /// Override the learning rate of the last step, as a fraction of --lr (exponential decay;
    /// 1 keeps it constant).
    #[arg(long)]
    lr_final: Option<f64>,
    /// Override the hidden width of every network.
    #[arg(long)]
    width: Option<usize>,
    /// Override the number of hidden-to-hidden layers.
    #[arg(long)]
    layers: Option<usize>,
    /// Override the points per step (wave: in the space-time interior; Helmholtz: uniform).
    #[arg(long)]
    points: Option<usize>,
    /// Which networks to train (comma-separated from siren, tanh, relu).
    #[arg(long, default_value = "siren,tanh,relu", value_delimiter = ',')]
    models: Vec<String>,
    /// Nodes per side of the reference and evaluation grid.
    #[arg(long, default_value_t = 257)]
    grid: usize,
    /// Seed of the inits and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Every N steps, log the validation error (`val_error` in metrics.jsonl): the wave at
    /// t = 0.05, 0.15, 0.25, 0.35 (between the reported times), Helmholtz on every other
    /// node of the grid; 0 for never.
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Write a checkpoint per network every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: usize,
    /// Continue every network from its checkpoint in the output folder (same settings; a
    /// larger --steps extends the run, a decaying learning rate then following the new step
    /// count from the resumed step on).
    #[arg(long)]
    resume: bool,
    /// Print nothing but errors and the final table.
    #[arg(long)]
    quiet: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

impl PdeFlags {
    fn scale(&self) -> Scale {
        match self.scale {
            ScaleArg::Quick => Scale::Quick,
            ScaleArg::Default => Scale::Default,
            ScaleArg::Paper => Scale::Paper,
        }
    }

    fn media(&self) -> Vec<(&'static str, bool)> {
        match self.medium {
            MediumArg::Uniform => vec![("uniform", false)],
            MediumArg::Heterogeneous => vec![("heterogeneous", true)],
            MediumArg::Both => vec![("uniform", false), ("heterogeneous", true)],
        }
    }

    /// The scale's size with the overrides.
    fn size(&self, scale: Size) -> Size {
        Size {
            width: self.width.unwrap_or(scale.width),
            layers: self.layers.unwrap_or(scale.layers),
        }
    }

    /// The compared networks this run trains.
    fn models(
        &self,
        size: Size,
        inputs: usize,
        outputs: usize,
    ) -> Result<Vec<(&'static str, NetworkConfig)>> {
        let all = compared_models(size, inputs, outputs);
        for m in &self.models {
            if !all.iter().any(|(name, _)| name.eq_ignore_ascii_case(m)) {
                return Err(Error::InvalidInput(format!(
                    "unknown model {m:?}; choose from siren, tanh, relu"
                )));
            }
        }
        Ok(all
            .into_iter()
            .filter(|(name, _)| self.models.iter().any(|m| name.eq_ignore_ascii_case(m)))
            .collect())
    }

    /// Checks the flags; `solver_bytes_per_node` is the reference solver's memory per grid
    /// node (see [`wave_bytes_per_node`], [`helmholtz_bytes_per_node`]).
    fn check(&self, solver_bytes_per_node: impl Fn(u128) -> u128) -> Result<()> {
        if self.grid < 17 {
            return Err(Error::InvalidInput(format!(
                "--grid must be at least 17, got {}",
                self.grid
            )));
        }
        let nodes = self.grid as u128 * self.grid as u128;
        siren_core::device::check_memory(
            nodes * solver_bytes_per_node(nodes),
            &format!("a {0}x{0} reference grid", self.grid),
            "choose a smaller --grid",
        )?;
        if self.steps == Some(0) {
            return Err(Error::InvalidConfig("steps must be at least 1".into()));
        }
        if self.width == Some(0) || self.points == Some(0) {
            return Err(Error::InvalidConfig(
                "--width and --points must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn checkpoint(&self, dir: &Path, problem: &str, medium: &str, model: &str) -> Checkpointing {
        Checkpointing {
            path: dir.join(format!("checkpoint_{problem}_{medium}_{model}.safetensors")),
            every: self.checkpoint_every.max(1),
            resume: self.resume,
        }
    }
}

/// One network's training log: a progress bar, and a line per step in `metrics.jsonl` (run,
/// step, loss, learning rate, wall time, and the validation error where measured).
struct Log {
    file: crate::progress::MetricsLog,
    bar: Progress,
    label: String,
    start: Instant,
}

impl Log {
    fn new(dir: &Path, quiet: bool, label: String, total: usize) -> Result<Self> {
        Ok(Self {
            file: crate::progress::MetricsLog::open(dir)?,
            bar: Progress::new(&label, total, quiet),
            label,
            start: Instant::now(),
        })
    }

    fn record(&mut self, step: usize, loss: f64, val: Option<&[(String, f64)]>) {
        let mut line = serde_json::json!({"run": self.label, "step": step, "loss": loss,
            "wall_s": self.start.elapsed().as_secs_f64()});
        let mut extra = None;
        if let Some(val) = val {
            let worst = val.iter().map(|v| v.1).fold(0.0f64, f64::max);
            line["val_error"] = worst.into();
            for (k, v) in val {
                line[k.as_str()] = (*v).into();
            }
            extra = Some(format!("val {worst:.3}"));
        }
        self.file.write(&self.label, step, &line);
        self.bar.update(step, loss, extra);
    }

    /// Seconds since the log was opened; closes the bar (a resumed finished run logs no step).
    fn finish(&self) -> f64 {
        self.bar.finish();
        self.start.elapsed().as_secs_f64()
    }
}

/// The dotted outline of a medium's region of another speed, and what it is, if it has one.
fn medium_outline(medium: &Medium) -> (Vec<Outline>, String) {
    let (points, inside) = match *medium {
        Medium::Uniform(_) => return (Vec::new(), String::new()),
        Medium::Square {
            centre,
            half,
            inside,
            ..
        } => (square_outline(centre, half), inside),
        Medium::Disc {
            centre,
            radius,
            inside,
            ..
        } => (circle_outline(centre, radius), inside),
    };
    (
        vec![Outline {
            points,
            dashed: false,
        }],
        format!("dotted: the region of speed {inside}"),
    )
}

/// Writes `fields.h5` when built with the `hdf5` feature.
fn write_fields(dir: &Path, fields: &[Field], description: &str) -> Result<()> {
    #[cfg(feature = "hdf5")]
    siren_pde::export::write_h5(&dir.join("fields.h5"), fields, description)?;
    #[cfg(not(feature = "hdf5"))]
    let _ = (dir, fields, description);
    Ok(())
}

/// Writes `errors.md` and `errors.json` and prints the table.
fn write_report(dir: &Path, report: &str, json: &[serde_json::Value]) -> Result<()> {
    write_atomic(&dir.join("errors.md"), report.as_bytes())?;
    let json = serde_json::to_string_pretty(json).unwrap_or_default();
    write_atomic(&dir.join("errors.json"), json.as_bytes())?;
    println!("{report}");
    Ok(())
}

/// The wave experiment of `scale` in the uniform medium or the heterogeneous one (a slow
/// square), before any flag overrides it: what `siren wave` starts from, and what `siren serve`
/// rebuilds to draw a run's reference.
pub(crate) fn wave_experiment(scale: Scale, heterogeneous: bool) -> WaveExperiment {
    let medium = if heterogeneous {
        Medium::slow_square()
    } else {
        Medium::Uniform(1.0)
    };
    WaveExperiment::at(scale, medium)
}

/// The Helmholtz experiment of `scale` in either medium, before any flag overrides it (see
/// [`wave_experiment`]).
pub(crate) fn helmholtz_experiment(scale: Scale, heterogeneous: bool) -> HelmholtzExperiment {
    if heterogeneous {
        HelmholtzExperiment::heterogeneous(scale)
    } else {
        HelmholtzExperiment::uniform(scale)
    }
}
