//! `siren wave` and `siren helmholtz`: SIREN vs tanh vs ReLU against the reference solvers.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dfdx::prelude::*;
use siren_core::io::write_atomic;
use siren_core::Result;
use siren_pde::export::Field;
use siren_pde::helmholtz_net::{helmholtz_error, train_helmholtz, HelmholtzExperiment};
use siren_pde::models::{compared_models, Scale};
use siren_pde::wave::experiment::{train_wave, wave_errors, wave_reference, WaveExperiment};
use siren_pde::wave::Medium;

use crate::out_dir;
use crate::plots::field_grid;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScaleArg {
    /// Minutes on a 2-core CPU.
    Quick,
    /// The original settings (a GPU and hours).
    Paper,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum MediumArg {
    /// Uniform speed 1.
    Uniform,
    /// A region of speed 0.5 (a square for the wave, a disc for Helmholtz).
    Heterogeneous,
    /// Both, one after the other.
    Both,
}

/// Flags shared by the PDE commands.
#[derive(Args, Debug)]
pub struct PdeFlags {
    /// Experiment size.
    #[arg(long, value_enum, default_value_t = ScaleArg::Quick)]
    scale: ScaleArg,
    /// Which medium.
    #[arg(long, value_enum, default_value_t = MediumArg::Both)]
    medium: MediumArg,
    /// Override the number of steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Override the learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Which networks to train (comma-separated from siren, tanh, relu).
    #[arg(long, default_value = "siren,tanh,relu", value_delimiter = ',')]
    models: Vec<String>,
    /// Nodes per side of the reference and evaluation grid.
    #[arg(long, default_value_t = 257)]
    grid: usize,
    /// Seed of the inits and the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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

    /// The compared networks this run trains.
    fn models(
        &self,
        inputs: usize,
        outputs: usize,
        paper_width: usize,
    ) -> Result<Vec<(&'static str, siren_core::NetworkConfig)>> {
        let all = compared_models(self.scale(), inputs, outputs, paper_width);
        for m in &self.models {
            if !all.iter().any(|(name, _)| name.eq_ignore_ascii_case(m)) {
                return Err(siren_core::Error::InvalidInput(format!(
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
            return Err(siren_core::Error::InvalidInput(format!(
                "--grid must be at least 17, got {}",
                self.grid
            )));
        }
        if self.steps == Some(0) {
            return Err(siren_core::Error::InvalidConfig(
                "steps must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Per step: the progress bar, and a line in `metrics.jsonl` (run, step, loss, wall time).
fn progress(
    dir: &std::path::Path,
    quiet: bool,
    label: &str,
    total: usize,
) -> Result<impl FnMut(usize, f64)> {
    use std::io::Write;
    let bar = crate::progress::Progress::new(label, total, quiet);
    let mut file = crate::progress::metrics_log(dir)?;
    let start = std::time::Instant::now();
    let label = label.to_string();
    Ok(move |step, loss| {
        let line = serde_json::json!({"run": label, "step": step, "loss": loss,
            "wall_s": start.elapsed().as_secs_f64()});
        let _ = writeln!(file, "{line}");
        bar.update(step, loss, None);
        if step == total {
            bar.finish();
        }
    })
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
fn write_fields(dir: &std::path::Path, fields: &[Field], description: &str) -> Result<()> {
    #[cfg(feature = "hdf5")]
    siren_pde::export::write_h5(&dir.join("fields.h5"), fields, description)?;
    #[cfg(not(feature = "hdf5"))]
    let _ = (dir, fields, description);
    Ok(())
}

/// Writes `errors.md` and `errors.json` and prints the table.
fn write_report(dir: &std::path::Path, report: &str, json: &[serde_json::Value]) -> Result<()> {
    write_atomic(&dir.join("errors.md"), report.as_bytes())?;
    let json = serde_json::to_string_pretty(json).unwrap_or_default();
    write_atomic(&dir.join("errors.json"), json.as_bytes())?;
    println!("{report}");
    Ok(())
}

#[derive(Args, Debug)]
pub struct WaveArgs {
    #[command(flatten)]
    flags: PdeFlags,
}

pub fn wave<D: Device<f32>>(a: WaveArgs, dev: &D) -> Result<()> {
    let f = &a.flags;
    f.check()?;
    let dir = out_dir(&f.out)?;
    let times = [0.0, 0.1, 0.2, 0.3, 0.4];
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
        let mut exp = match f.scale() {
            Scale::Quick => WaveExperiment::quick(medium),
            Scale::Paper => WaveExperiment::paper(medium),
        };
        exp.seed = f.seed;
        if let Some(s) = f.steps {
            exp.steps = s;
            exp.sampler.ramp_steps = exp.sampler.ramp_steps.min(s * 2 / 3).max(1);
        }
        if let Some(lr) = f.lr {
            exp.lr = lr;
        }
        let reference = wave_reference(&exp, n, &times)?;
        let scales: Vec<f64> = reference
            .iter()
            .map(|(_, u)| u.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .collect();
        report += &format!(
            "## {name} medium ({:?}, {} steps)\n\n| model | {} |\n|---|{}\n",
            medium,
            exp.steps,
            times
                .iter()
                .map(|t| format!("t = {t}"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(times.len())
        );
        let mut panels = Vec::new();
        for (model, config) in f.models(3, 1, 512)? {
            let label = format!("wave {name} {model}");
            let net = train_wave::<f32, D>(
                config,
                &exp,
                dev,
                progress(&dir, f.quiet, &label, exp.steps)?,
            )?;
            net.save(dir.join(format!("wave_{name}_{model}.safetensors")))?;
            let errors = wave_errors(&net, &reference, n)?;
            report += &format!(
                "| {model} | {} |\n",
                errors
                    .iter()
                    .map(|e| format!("{:.3}", e.1))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            json.push(serde_json::json!({"problem": "wave", "medium": name, "model": model,
                "errors": errors.iter().map(|e| serde_json::json!({"t": e.0, "relative_l2": e.1})).collect::<Vec<_>>()}));
            fields.push(Field::new(
                format!("wave/{name}/{model}"),
                vec![times.len(), n, n],
                errors.iter().flat_map(|e| e.2.iter().copied()).collect(),
            )?);
            panels.push(errors.into_iter().map(|e| e.2).collect::<Vec<_>>());
        }
        fields.push(Field::new(
            format!("wave/{name}/reference"),
            vec![times.len(), n, n],
            reference
                .iter()
                .flat_map(|(_, u)| u.iter().copied())
                .collect(),
        )?);
        panels.push(reference.into_iter().map(|(_, u)| u).collect());
        field_grid(&dir.join(format!("wave_{name}.png")), &panels, n, &scales)?;
        report += &format!(
            "\n`wave_{name}.png`: rows: the models in the table, then the reference; columns t = 0 ... 0.4.\n\n"
        );
    }
    write_fields(
        &dir,
        &fields,
        "wave/MEDIUM/MODEL and wave/MEDIUM/reference: u at (wave/times, x, y), x and y on `grid`",
    )?;
    crate::plots::curves_from_log(&dir, "none")?;
    write_report(&dir, &report, &json)
}

#[derive(Args, Debug)]
pub struct HelmholtzArgs {
    #[command(flatten)]
    flags: PdeFlags,
}

/// The heterogeneous Helmholtz medium: a disc of speed 0.5 (slowness squared 4).
fn helmholtz_slowness(hetero: bool) -> impl Fn(f64, f64) -> f64 {
    move |x: f64, y: f64| {
        if hetero && (x - 0.25).hypot(y) < 0.15 {
            4.0
        } else {
            1.0
        }
    }
}

pub fn helmholtz<D: Device<f32>>(a: HelmholtzArgs, dev: &D) -> Result<()> {
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
        let mut exp = match f.scale() {
            Scale::Quick => HelmholtzExperiment::quick(),
            Scale::Paper => HelmholtzExperiment::paper(),
        };
        exp.seed = f.seed;
        if let Some(s) = f.steps {
            exp.steps = s;
        }
        if let Some(lr) = f.lr {
            exp.lr = lr;
        }
        let reference = exp.problem.solve_reference(n, helmholtz_slowness(hetero))?;
        let re: Vec<f64> = reference.iter().map(|c| c.re).collect();
        let im: Vec<f64> = reference.iter().map(|c| c.im).collect();
        let scale = re.iter().chain(&im).fold(0.0f64, |m, v| m.max(v.abs())) * 0.5;
        report += &format!(
            "## {name} medium ({} steps)\n\n| model | relative L2 |\n|---|---|\n",
            exp.steps
        );
        let mut panels = Vec::new();
        for (model, config) in f.models(2, 2, 256)? {
            let label = format!("helmholtz {name} {model}");
            let net = train_helmholtz::<f32, D>(
                config,
                &exp,
                helmholtz_slowness(hetero),
                dev,
                progress(&dir, f.quiet, &label, exp.steps)?,
            )?;
            net.save(dir.join(format!("helmholtz_{name}_{model}.safetensors")))?;
            let (err, field) = helmholtz_error(&net, &exp.problem, &reference, n)?;
            report += &format!("| {model} | {err:.3} |\n");
            json.push(serde_json::json!({"problem": "helmholtz", "medium": name, "model": model, "relative_l2": err}));
            fields.push(Field::new(
                format!("helmholtz/{name}/{model}"),
                vec![n, n, 2],
                field.iter().flat_map(|v| [v.0, v.1]).collect(),
            )?);
            panels.push(vec![
                field.iter().map(|v| v.0).collect(),
                field.iter().map(|v| v.1).collect(),
            ]);
        }
        fields.push(Field::new(
            format!("helmholtz/{name}/reference"),
            vec![n, n, 2],
            re.iter().zip(&im).flat_map(|(a, b)| [*a, *b]).collect(),
        )?);
        panels.push(vec![re, im]);
        field_grid(
            &dir.join(format!("helmholtz_{name}.png")),
            &panels,
            n,
            &[scale, scale],
        )?;
        report += &format!("\n`helmholtz_{name}.png`: rows: the models in the table, then the reference; columns Re u, Im u (PML included).\n\n");
    }
    write_fields(
        &dir,
        &fields,
        "helmholtz/MEDIUM/MODEL and helmholtz/MEDIUM/reference: (Re u, Im u) at (x, y) on `grid`, PML included",
    )?;
    crate::plots::curves_from_log(&dir, "none")?;
    write_report(&dir, &report, &json)
}
