//! `siren helmholtz`: the Helmholtz equation with a PML against the sparse-LU reference.

use clap::{Args, ValueEnum};
use siren_core::Backend;
use siren_core::{Network, Result};
use siren_pde::export::Field;
use siren_pde::report::settings_line;

use super::{medium_outline, write_fields, write_report, Log, PdeFlags};
use crate::out_dir;
use crate::plots::{field_figure, square_outline, FieldFigure, Outline};
use siren_pde::helmholtz_net::{
    helmholtz_error, helmholtz_reference, train_helmholtz, HelmholtzLoss,
};

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
    f.check(super::helmholtz_bytes_per_node)?;
    let dir = out_dir(&f.out)?;
    let n = f.grid;
    let mut report = String::from(
        "# Helmholtz: relative L2 error against the reference over the physical domain\n\n",
    );
    let mut json = Vec::new();
    let mut fields = vec![Field::grid(n)?];
    for (name, hetero) in f.media() {
        let mut exp = super::helmholtz_experiment(f.scale(), hetero);
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
