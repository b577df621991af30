//! `siren wave` and `siren helmholtz`: SIREN vs tanh vs ReLU against the reference solvers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use siren_core::io::write_atomic;
use siren_core::train::Checkpointing;
use siren_core::Backend;
use siren_core::{Error, Network, NetworkConfig, Result};
use siren_pde::export::Field;
use siren_pde::helmholtz_net::{
    helmholtz_error, helmholtz_reference, train_helmholtz, HelmholtzExperiment, HelmholtzLoss,
};
use siren_pde::models::{compared_models, Scale, Size};
use siren_pde::wave::experiment::{train_wave, wave_errors, wave_reference, WaveExperiment};
use siren_pde::wave::{LossForm, Medium};

use crate::out_dir;
use crate::plots::{circle_outline, field_figure, square_outline, FieldFigure, Outline};
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

    fn check(&self) -> Result<()> {
        if self.grid < 17 {
            return Err(Error::InvalidInput(format!(
                "--grid must be at least 17, got {}",
                self.grid
            )));
        }
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
    file: std::fs::File,
    bar: Progress,
    label: String,
    start: Instant,
}

impl Log {
    fn new(dir: &Path, quiet: bool, label: String, total: usize) -> Result<Self> {
        Ok(Self {
            file: crate::progress::metrics_log(dir)?,
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
        let _ = writeln!(self.file, "{line}");
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

/// The evaluation grid's node coordinates: $-1 + 2i/(n-1)$.
fn grid_field(n: usize) -> Result<Field> {
    Field::new(
        "grid",
        vec![n],
        (0..n)
            .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
            .collect(),
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

/// The settings line of a report section.
fn settings_line(
    net: (usize, Size, usize),
    steps: usize,
    points: String,
    lr: f64,
    lr_final: f64,
) -> String {
    let (inputs, size, outputs) = net;
    format!(
        "networks {inputs} -> {}x{} -> {outputs}, {steps} steps, {points} points per step, Adam lr {lr:e}{}",
        size.width,
        size.layers,
        if lr_final == 1.0 {
            String::new()
        } else {
            format!(" decayed to {:e}", lr * lr_final)
        }
    )
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum WaveLossArg {
    /// Weighted mean squares (the seed's form).
    MeanSquares,
    /// The original code's weighted absolute sums.
    Original,
}

#[derive(Args, Debug)]
pub struct WaveArgs {
    #[command(flatten)]
    flags: PdeFlags,
    /// Override the loss form.
    #[arg(long, value_enum)]
    loss: Option<WaveLossArg>,
    /// Override the steps over which the time window opens to t = 0.4 (by default the
    /// scale's share of --steps).
    #[arg(long)]
    ramp_steps: Option<usize>,
    /// Override the points at t = 0 per step (half of them near the source).
    #[arg(long)]
    initial_points: Option<usize>,
    /// Override the points per step on the square's edges, where u = 0 is asked (ours; the
    /// original has none).
    #[arg(long)]
    boundary_points: Option<usize>,
    /// Override the weight of u(0) = f (and of u = 0 on the edges) in the mean-squares loss.
    #[arg(long)]
    dirichlet_weight: Option<f64>,
    /// Override the weight of u_t(0) = 0 in the mean-squares loss.
    #[arg(long)]
    neumann_weight: Option<f64>,
}

/// Times at which the wave is reported, and at which it is validated during training.
const WAVE_TIMES: [f64; 5] = [0.0, 0.1, 0.2, 0.3, 0.4];
const WAVE_VALIDATION_TIMES: [f64; 4] = [0.05, 0.15, 0.25, 0.35];

pub fn wave<D: Backend<f32>>(a: WaveArgs, dev: &D) -> Result<()> {
    let f = &a.flags;
    f.check()?;
    let dir = out_dir(&f.out)?;
    let times = WAVE_TIMES;
    let n = f.grid;
    let mut report =
        String::from("# Wave equation: relative L2 error against the leapfrog reference\n\n");
    let mut json = Vec::new();
    let mut fields = vec![
        grid_field(n)?,
        Field::new("wave/times", vec![times.len()], times.to_vec())?,
    ];
    for (name, hetero) in f.media() {
        let medium = if hetero {
            Medium::slow_square()
        } else {
            Medium::Uniform(1.0)
        };
        let mut exp = WaveExperiment::at(f.scale(), medium);
        exp.seed = f.seed;
        exp.size = f.size(exp.size);
        if let Some(s) = f.steps {
            // keep the curriculum's share of the run
            exp.sampler.ramp_steps =
                ((exp.sampler.ramp_steps as f64 / exp.steps as f64) * s as f64).round() as usize;
            exp.steps = s;
        }
        if let Some(p) = a.initial_points {
            exp.sampler.initial = p;
            exp.sampler.near_source = p / 2;
        }
        if let Some(b) = a.boundary_points {
            exp.sampler.boundary = b;
        }
        if let Some(r) = a.ramp_steps {
            exp.sampler.ramp_steps = r;
        }
        if let Some(lr) = f.lr {
            exp.lr = lr;
        }
        if let Some(l) = f.lr_final {
            exp.lr_final_fraction = l;
        }
        if let Some(p) = f.points {
            exp.sampler.interior = p;
        }
        match a.loss {
            Some(WaveLossArg::Original) => exp.loss = LossForm::Original,
            Some(WaveLossArg::MeanSquares) if !matches!(exp.loss, LossForm::MeanSquares { .. }) => {
                exp.loss = LossForm::MeanSquares {
                    neumann: 1e2,
                    dirichlet: 1e4,
                }
            }
            _ => {}
        }
        if let LossForm::MeanSquares { neumann, dirichlet } = &mut exp.loss {
            *neumann = a.neumann_weight.unwrap_or(*neumann);
            *dirichlet = a.dirichlet_weight.unwrap_or(*dirichlet);
        } else if a.neumann_weight.is_some() || a.dirichlet_weight.is_some() {
            return Err(Error::InvalidInput(
                "--dirichlet-weight and --neumann-weight weigh the mean-squares loss; the original's weights are fixed".into(),
            ));
        }
        exp.validate()?;
        let reference = wave_reference(&exp, n, &times)?;
        let validation = if f.eval_every > 0 {
            wave_reference(&exp, n, &WAVE_VALIDATION_TIMES)?
        } else {
            Vec::new()
        };
        report += &format!(
            "## {name} medium\n\n{medium:?}; {}.\n\nRelative L2 error:\n\n| model | {} | train time |\n|---|{}---|\n",
            settings_line(
                (3, exp.size, 1),
                exp.steps,
                format!(
                    "{} + {} + {}",
                    exp.sampler.interior, exp.sampler.initial, exp.sampler.boundary
                ),
                exp.lr,
                exp.lr_final_fraction
            ),
            times
                .iter()
                .map(|t| format!("t = {t}"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(times.len())
        );
        let mut peaks = String::new();
        let mut panels = Vec::new();
        let mut rows = Vec::new();
        for (model, config) in f.models(exp.size, 3, 1)? {
            let mut log = Log::new(&dir, f.quiet, format!("wave {name} {model}"), exp.steps)?;
            let checkpoint = f.checkpoint(&dir, "wave", name, model);
            let net = train_wave::<f32, D>(
                config,
                &exp,
                dev,
                Some(&checkpoint),
                |s, loss, net: &Network<f32, D>| {
                    let val = if f.eval_every > 0 && (s % f.eval_every == 0 || s == exp.steps) {
                        Some(
                            wave_errors(net, &validation, n, 2)?
                                .iter()
                                .map(|e| (format!("val_t{}", e.t), e.relative_l2))
                                .collect::<Vec<_>>(),
                        )
                    } else {
                        None
                    };
                    log.record(s, loss, val.as_deref());
                    Ok(())
                },
            )?;
            let seconds = log.finish();
            net.save(dir.join(format!("wave_{name}_{model}.safetensors")))?;
            let errors = wave_errors(&net, &reference, n, 1)?;
            report += &format!(
                "| {model} | {} | {:.1} min |\n",
                errors
                    .iter()
                    .map(|e| format!("{:.3}", e.relative_l2))
                    .collect::<Vec<_>>()
                    .join(" | "),
                seconds / 60.0
            );
            peaks += &format!(
                "| {model} | {} |\n",
                errors
                    .iter()
                    .map(|e| format!("{:.3}", e.max_abs))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            json.push(
                serde_json::json!({"problem": "wave", "medium": name, "model": model,
                "steps": exp.steps, "train_seconds": seconds,
                "errors": errors.iter().map(|e| serde_json::json!({"t": e.t,
                    "relative_l2": e.relative_l2, "max_abs": e.max_abs,
                    "reference_max_abs": e.reference_max_abs})).collect::<Vec<_>>()}),
            );
            fields.push(Field::new(
                format!("wave/{name}/{model}"),
                vec![times.len(), n, n],
                errors
                    .iter()
                    .flat_map(|e| e.field.iter().copied())
                    .collect(),
            )?);
            panels.push(errors.into_iter().map(|e| e.field).collect::<Vec<_>>());
            rows.push(model.to_string());
        }
        let scales: Vec<f64> = reference
            .iter()
            .map(|(_, u)| u.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .collect();
        report += &format!(
            "\nPeak amplitude $\\max |u|$ (an amplitude error shows here, a shape error only above):\n\n| model | {} |\n|---|{}\n{peaks}| reference | {} |\n",
            times
                .iter()
                .map(|t| format!("t = {t}"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(times.len()),
            scales
                .iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        fields.push(Field::new(
            format!("wave/{name}/reference"),
            vec![times.len(), n, n],
            reference
                .iter()
                .flat_map(|(_, u)| u.iter().copied())
                .collect(),
        )?);
        panels.insert(0, reference.into_iter().map(|(_, u)| u).collect());
        rows.insert(0, "reference".into());
        let (outlines, what) = medium_outline(&medium);
        let note = ["colour bars: each column's scale".to_string(), what]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        field_figure(
            &dir.join(format!("wave_{name}.png")),
            &FieldFigure {
                title: format!("Wave equation, {name} medium: u(t, x, y)"),
                rows,
                columns: times.iter().map(|t| format!("t = {t}")).collect(),
                panels,
                n,
                scales,
                outlines,
                note,
            },
        )?;
        report += &format!(
            "\n`wave_{name}.png`: the reference, then each model; one column per time, each with its own colour scale (shared by the rows); a region of another speed dotted.\n\n"
        );
    }
    write_fields(
        &dir,
        &fields,
        "wave/MEDIUM/MODEL and wave/MEDIUM/reference: u at (wave/times, x, y), x and y on `grid`",
    )?;
    crate::plots::curves_from_log(&dir, "val_error")?;
    write_report(&dir, &report, &json)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum HelmholtzLossArg {
    /// Mean squared modulus of the residual.
    MeanSquares,
    /// Ours: mean squares of the residual divided by the PML's C = e_x e_y.
    MeanSquaresOverStretch,
    /// The original code's weighted absolute values.
    Original,
    /// Ours: the original's on the residual divided by the PML's C = e_x e_y.
    OriginalOverStretch,
}

#[derive(Args, Debug)]
pub struct HelmholtzArgs {
    #[command(flatten)]
    flags: PdeFlags,
    /// Override the loss form.
    #[arg(long, value_enum)]
    loss: Option<HelmholtzLossArg>,
}

pub fn helmholtz<D: Backend<f32>>(a: HelmholtzArgs, dev: &D) -> Result<()> {
    let f = &a.flags;
    f.check()?;
    let dir = out_dir(&f.out)?;
    let n = f.grid;
    let mut report = String::from(
        "# Helmholtz: relative L2 error against the reference over the physical domain\n\n",
    );
    let mut json = Vec::new();
    let mut fields = vec![grid_field(n)?];
    for (name, hetero) in f.media() {
        let mut exp = if hetero {
            HelmholtzExperiment::heterogeneous(f.scale())
        } else {
            HelmholtzExperiment::uniform(f.scale())
        };
        let medium = exp.medium;
        exp.seed = f.seed;
        exp.size = f.size(exp.size);
        if let Some(s) = f.steps {
            exp.steps = s;
        }
        if let Some(lr) = f.lr {
            exp.lr = lr;
        }
        if let Some(l) = f.lr_final {
            exp.lr_final_fraction = l;
        }
        if let Some(p) = f.points {
            exp.points = p;
        }
        if let Some(l) = a.loss {
            exp.loss = match l {
                HelmholtzLossArg::MeanSquares => HelmholtzLoss::MeanSquares,
                HelmholtzLossArg::MeanSquaresOverStretch => HelmholtzLoss::MeanSquaresOverStretch,
                HelmholtzLossArg::Original => HelmholtzLoss::Original,
                HelmholtzLossArg::OriginalOverStretch => HelmholtzLoss::OriginalOverStretch,
            };
        }
        exp.validate()?;
        let reference = helmholtz_reference(&exp, n)?;
        let re: Vec<f64> = reference.iter().map(|c| c.re).collect();
        let im: Vec<f64> = reference.iter().map(|c| c.im).collect();
        // the source's peak saturates; half the largest value shows the rings
        let scale = re.iter().chain(&im).fold(0.0f64, |m, v| m.max(v.abs())) * 0.5;
        report += &format!(
            "## {name} medium\n\n{medium:?}, source at {:?}; {}; loss {:?}.\n\n| model | relative L2 | amplitude-free | best scale a | train time |\n|---|---|---|---|---|\n",
            exp.problem.source,
            settings_line(
                (2, exp.size, 2),
                exp.steps,
                format!("{} + {}", exp.points, exp.near_source),
                exp.lr,
                exp.lr_final_fraction
            ),
            exp.loss
        );
        let mut panels = vec![vec![re.clone(), im.clone()]];
        let mut rows = vec!["reference".to_string()];
        for (model, config) in f.models(exp.size, 2, 2)? {
            let mut log = Log::new(
                &dir,
                f.quiet,
                format!("helmholtz {name} {model}"),
                exp.steps,
            )?;
            let checkpoint = f.checkpoint(&dir, "helmholtz", name, model);
            let net = train_helmholtz::<f32, D>(
                config,
                &exp,
                dev,
                Some(&checkpoint),
                |s, loss, net: &Network<f32, D>| {
                    let val = if f.eval_every > 0 && (s % f.eval_every == 0 || s == exp.steps) {
                        let e = helmholtz_error(net, &exp.problem, &reference, n, 2)?;
                        Some(vec![
                            ("val_relative_l2".to_string(), e.relative_l2),
                            ("val_amplitude_free".to_string(), e.amplitude_free),
                        ])
                    } else {
                        None
                    };
                    // the validation error is the relative L2 alone
                    log.record(s, loss, val.as_deref().map(|v| &v[..1]));
                    Ok(())
                },
            )?;
            let seconds = log.finish();
            net.save(dir.join(format!("helmholtz_{name}_{model}.safetensors")))?;
            let e = helmholtz_error(&net, &exp.problem, &reference, n, 1)?;
            report += &format!(
                "| {model} | {:.3} | {:.3} | {:.2}{:+.2}i | {:.1} min |\n",
                e.relative_l2,
                e.amplitude_free,
                e.best_scale.0,
                e.best_scale.1,
                seconds / 60.0
            );
            json.push(
                serde_json::json!({"problem": "helmholtz", "medium": name, "model": model,
                "steps": exp.steps, "train_seconds": seconds,
                "relative_l2": e.relative_l2, "amplitude_free": e.amplitude_free,
                "best_scale": [e.best_scale.0, e.best_scale.1]}),
            );
            fields.push(Field::new(
                format!("helmholtz/{name}/{model}"),
                vec![n, n, 2],
                e.field.iter().flat_map(|v| [v.0, v.1]).collect(),
            )?);
            panels.push(vec![
                e.field.iter().map(|v| v.0).collect(),
                e.field.iter().map(|v| v.1).collect(),
            ]);
            rows.push(model.to_string());
        }
        fields.push(Field::new(
            format!("helmholtz/{name}/reference"),
            vec![n, n, 2],
            re.iter().zip(&im).flat_map(|(a, b)| [*a, *b]).collect(),
        )?);
        let (mut outlines, what) = medium_outline(&medium);
        outlines.push(Outline {
            points: square_outline((0.0, 0.0), 1.0 - exp.problem.pml_width),
            dashed: true,
        });
        let note = [
            "one colour scale".to_string(),
            "dashed: the PML's inner edge".into(),
            what,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
        field_figure(
            &dir.join(format!("helmholtz_{name}.png")),
            &FieldFigure {
                title: format!("Helmholtz (k = {}), {name} medium", exp.problem.k),
                rows,
                columns: vec!["Re u".into(), "Im u".into()],
                panels,
                n,
                scales: vec![scale, scale],
                outlines,
                note,
            },
        )?;
        report += &format!("\nThe amplitude-free error is $\\min_a \\lVert a u - u_\\text{{ref}} \\rVert / \\lVert u_\\text{{ref}} \\rVert$ over complex $a$ (the best $a$ beside it): a field of the right shape at the wrong amplitude or phase scores low there.\n\n`helmholtz_{name}.png`: the reference, then each model; real and imaginary parts on one colour scale, saturated at half the reference's peak so the rings show (PML included, its inner edge dashed, a region of another speed dotted).\n\n");
    }
    write_fields(
        &dir,
        &fields,
        "helmholtz/MEDIUM/MODEL and helmholtz/MEDIUM/reference: (Re u, Im u) at (x, y) on `grid`, PML included",
    )?;
    crate::plots::curves_from_log(&dir, "val_error")?;
    write_report(&dir, &report, &json)
}
