//! `siren wave`: the wave equation against the leapfrog reference.

use clap::{Args, ValueEnum};
use siren_core::Backend;
use siren_core::{Error, Network, Result};
use siren_pde::export::Field;
use siren_pde::report::{self as tables, settings_line};

use super::{medium_outline, write_fields, write_report, Log, PdeFlags};
use crate::out_dir;
use crate::plots::{field_figure, FieldFigure};
use siren_pde::wave::experiment::{train_wave, wave_errors, wave_reference};
use siren_pde::wave::LossForm;

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
    f.check(super::wave_bytes_per_node)?;
    let dir = out_dir(&f.out)?;
    let times = WAVE_TIMES;
    let n = f.grid;
    let mut report =
        String::from("# Wave equation: relative L2 error against the leapfrog reference\n\n");
    let mut json = Vec::new();
    let mut fields = vec![
        Field::grid(n)?,
        Field::new("wave/times", vec![times.len()], times.to_vec())?,
    ];
    for (name, hetero) in f.media() {
        let mut exp = super::wave_experiment(f.scale(), hetero);
        let medium = exp.medium;
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
        let mut columns = tables::time_columns(&times);
        columns.push("train time".into());
        report += &format!(
            "## {name} medium\n\n{medium:?}; {}.\n\nRelative L2 error:\n\n{}",
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
            tables::header("model", &columns)
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
            let relative: Vec<f64> = errors.iter().map(|e| e.relative_l2).collect();
            let minutes = format!("{:.1} min", seconds / 60.0);
            report += &tables::row(model, &relative, &[minutes]);
            let peak: Vec<f64> = errors.iter().map(|e| e.max_abs).collect();
            peaks += &tables::row(model, &peak, &[]);
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
            "\nPeak amplitude $\\max |u|$ (an amplitude error shows here, a shape error only above):\n\n{}{peaks}{}",
            tables::header("model", &tables::time_columns(&times)),
            tables::row("reference", &scales, &[])
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
                columns: tables::time_columns(&times),
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
