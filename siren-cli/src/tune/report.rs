//! What a search leaves: `tune.json` (every trial, its settings, its metric over steps, the
//! winner), `tune.md`, `tune.png` (the metric against each searched parameter, one colour per
//! rung) and `winner.toml` (the winner's resolved config, rerun by `siren COMMAND --config`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use siren_core::io::write_atomic;
use siren_core::{Error, Result};

use super::halving::Rung;
use super::space::{Param, Range};
use crate::plots::{chart_panels, ChartPanel, Series};

/// One trial.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialRecord {
    /// `trial-NNN`, also its folder's name.
    pub id: String,
    /// Its run folder.
    pub dir: PathBuf,
    /// The searched options' values.
    pub settings: BTreeMap<String, String>,
    /// Steps it trained in all.
    pub steps: usize,
    /// Its score at each rung it reached: `(steps, metric)`; `None` for a failed trial.
    pub scores: Vec<(usize, Option<f64>)>,
    /// The metric at every step it was measured: `(step, metric)`.
    pub history: Vec<(usize, f64)>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TuneRecord {
    /// The search's command line.
    pub command: String,
    /// The tuned subcommand.
    pub tuned: String,
    /// The metric and whether higher is better.
    pub metric: String,
    pub maximize: bool,
    pub eta: usize,
    /// Steps of a trial that reaches the last rung.
    pub budget: usize,
    pub rungs: Vec<Rung>,
    pub search: Vec<Param>,
    pub trials: Vec<TrialRecord>,
    /// Index of the winner in `trials`: the best of those that trained the whole budget.
    pub winner: Option<usize>,
    /// Steps trained over all trials.
    pub total_steps: usize,
    /// Wall time of the search (0 when gathered from a cluster).
    pub wall_s: f64,
    pub notes: Vec<String>,
}

impl TuneRecord {
    /// Sums the steps and picks the winner.
    pub fn finish(&mut self, wall_s: f64) {
        self.wall_s = wall_s;
        self.total_steps = self.trials.iter().map(|t| t.steps).sum();
        let last = |t: &TrialRecord| t.scores.last().and_then(|s| s.1).filter(|v| v.is_finite());
        let key = |v: f64| if self.maximize { -v } else { v };
        self.winner = self
            .trials
            .iter()
            .enumerate()
            .filter(|(_, t)| t.steps == self.budget && t.error.is_none())
            .filter_map(|(i, t)| last(t).map(|v| (i, v)))
            .min_by(|a, b| key(a.1).total_cmp(&key(b.1)))
            .map(|(i, _)| i);
    }

    fn settings_text(t: &TrialRecord) -> String {
        t.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writes only `tune.json` (an emitted search, before its trials ran).
pub fn write_plan(out: &Path, record: &TuneRecord) -> Result<()> {
    let json = serde_json::to_string_pretty(record).expect("a search record serialises");
    write_atomic(&out.join("tune.json"), json.as_bytes())
}

/// Writes `tune.json`, `tune.md`, `tune.png` and `winner.toml`.
pub fn write(out: &Path, record: &TuneRecord) -> Result<()> {
    write_plan(out, record)?;
    let better = if record.maximize { "higher" } else { "lower" };
    let full = record.trials.len() * record.budget;
    let mut md = format!(
        "# siren tune: siren {}\n\n```sh\n{}\n```\n\nScored by `{}` ({better} is better), a \
         validation metric the command logs to `metrics.jsonl`, never its test numbers. {} \
         trials; rungs: {}.\n\nCost: {} steps trained in all, against {} to train every trial \
         to the budget ({:.0}%){}.\n\n",
        record.tuned,
        record.command,
        record.metric,
        record.trials.len(),
        record
            .rungs
            .iter()
            .map(|r| format!("{} trials to {} steps", r.trials, r.steps))
            .collect::<Vec<_>>()
            .join(", "),
        record.total_steps,
        full,
        100.0 * record.total_steps as f64 / full.max(1) as f64,
        if record.wall_s > 0.0 {
            format!("; {:.1} min of wall time", record.wall_s / 60.0)
        } else {
            String::new()
        }
    );
    for n in &record.notes {
        md += &format!("- {n}\n");
    }
    if !record.notes.is_empty() {
        md += "\n";
    }
    match record.winner {
        Some(w) => {
            let t = &record.trials[w];
            let value = t.scores.last().and_then(|s| s.1).unwrap_or(f64::NAN);
            md += &format!(
                "**Winner: {} ({})**, {} {value:.4} after {} steps. Rerun it: `siren {} --config {}`.\n\n",
                t.id,
                TuneRecord::settings_text(t),
                record.metric,
                t.steps,
                record.tuned,
                out.join("winner.toml").display()
            );
            write_winner(out, record, t)?;
        }
        None => md += "No trial trained the whole budget without failing: no winner.\n\n",
    }
    md += &format!(
        "| trial | settings | steps | {} at each rung | note |\n|---|---|---|---|---|\n",
        record.metric
    );
    let mut order: Vec<&TrialRecord> = record.trials.iter().collect();
    let last = |t: &TrialRecord| t.scores.last().and_then(|s| s.1).unwrap_or(f64::NAN);
    order.sort_by(|a, b| {
        b.steps.cmp(&a.steps).then_with(|| {
            let (x, y) = (last(a), last(b));
            let (x, y) = if record.maximize { (-x, -y) } else { (x, y) };
            x.total_cmp(&y)
        })
    });
    for t in order {
        let scores = t
            .scores
            .iter()
            .map(|(s, v)| match v {
                Some(v) => format!("{v:.4} @{s}"),
                None => format!("failed @{s}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        md += &format!(
            "| {} | {} | {} | {} | {} |\n",
            t.id,
            TuneRecord::settings_text(t),
            t.steps,
            scores,
            t.error.as_deref().unwrap_or("")
        );
    }
    if plot(out, record).is_ok() {
        md += &format!(
            "\n![{} against each searched parameter](tune.png)\n\n`tune.png`: every trial's `{}` at each rung it reached, against each searched parameter (one colour per rung).\n",
            record.metric, record.metric
        );
    }
    write_atomic(&out.join("tune.md"), md.as_bytes())?;
    println!(
        "{}",
        md.lines()
            .find(|l| l.starts_with("**Winner"))
            .unwrap_or("no winner")
    );
    println!("wrote {}", out.join("tune.md").display());
    Ok(())
}

/// The winner's resolved `config.toml`, made to rerun from scratch into `OUT/winner`.
fn write_winner(out: &Path, record: &TuneRecord, t: &TrialRecord) -> Result<()> {
    let path = t.dir.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "cannot read the winner's config",
        path: path.clone(),
        source,
    })?;
    let mut table: toml::Table = text.parse().map_err(|e| Error::BadFile {
        path: path.clone(),
        what: "run config",
        reason: format!("{e}"),
    })?;
    table.insert("resume".into(), toml::Value::Boolean(false));
    table.insert("steps".into(), toml::Value::Integer(record.budget as i64));
    table.insert(
        "out".into(),
        toml::Value::String(out.join("winner").display().to_string()),
    );
    let body = format!(
        "# The winner of `{}` ({}): `siren {} --config {}` reruns it into {}.\n{}",
        record.command.split(" --").next().unwrap_or(""),
        TuneRecord::settings_text(t),
        record.tuned,
        out.join("winner.toml").display(),
        out.join("winner").display(),
        toml::to_string(&table).expect("a TOML table serialises")
    );
    write_atomic(&out.join("winner.toml"), body.as_bytes())
}

/// `tune.png`: per searched parameter, the metric at each rung against its value.
fn plot(out: &Path, record: &TuneRecord) -> Result<()> {
    let panels: Vec<ChartPanel> = record
        .search
        .iter()
        .map(|p| {
            let series = record
                .rungs
                .iter()
                .map(|r| Series {
                    name: format!("after {} steps", r.steps),
                    points: record
                        .trials
                        .iter()
                        .filter_map(|t| {
                            let v = t.scores.iter().find(|s| s.0 == r.steps)?.1?;
                            Some((position(p, &t.settings[&p.name]), v))
                        })
                        .collect(),
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            ChartPanel {
                x_label: axis(p),
                y_label: record.metric.clone(),
                series,
                dots: true,
            }
        })
        .collect();
    chart_panels(
        &out.join("tune.png"),
        &format!(
            "siren tune {}: {} of every trial",
            record.tuned, record.metric
        ),
        &panels,
    )
}

/// The x axis of a parameter's panel: its name, `log10` of it for a log range, or its
/// choices numbered.
fn axis(p: &Param) -> String {
    match &p.range {
        Range::Choice { values } => format!(
            "{} ({})",
            p.name,
            values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{i} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ if p.is_log() => format!("log10 {}", p.name),
        _ => p.name.clone(),
    }
}

/// Where a value of `p` sits on its [`axis`].
fn position(p: &Param, value: &str) -> f64 {
    match &p.range {
        Range::Choice { values } => values
            .iter()
            .position(|c| c == value)
            .map_or(f64::NAN, |i| i as f64),
        _ if p.is_log() => value.parse::<f64>().map_or(f64::NAN, f64::log10),
        _ => value.parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// `siren tune --collect DIR`: gathers an emitted search's trials (each trained the full
/// budget in its own array task) and writes the report.
pub fn collect(dir: &Path) -> Result<()> {
    let path = dir.join("tune.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "cannot read the search (run siren tune --emit slurm first)",
        path: path.clone(),
        source,
    })?;
    let mut record: TuneRecord = serde_json::from_str(&text).map_err(|e| Error::BadFile {
        path: path.clone(),
        what: "siren tune record",
        reason: e.to_string(),
    })?;
    let mut missing = Vec::new();
    for t in &mut record.trials {
        t.history = metric_history(&t.dir, &record.metric);
        let steps = last_step(&t.dir);
        t.steps = steps;
        t.scores = match t.history.last() {
            Some(&(_, v)) => vec![(steps, Some(v))],
            None => Vec::new(),
        };
        t.error = if steps == record.budget {
            None
        } else {
            missing.push(t.id.clone());
            Some(
                crate::child::last_error(&t.dir)
                    .unwrap_or_else(|| format!("trained {steps} of {} steps", record.budget)),
            )
        };
    }
    if !missing.is_empty() {
        record.notes.push(format!(
            "not finished when gathered: {} (rerun their array tasks, then --collect again)",
            missing.join(", ")
        ));
    }
    record.finish(0.0);
    write(dir, &record)
}

/// The metric's values in a trial's `metrics.jsonl`, `(step, value)` in order.
pub fn metric_history(dir: &Path, metric: &str) -> Vec<(usize, f64)> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["step"].as_u64()? as usize, v[metric].as_f64()?)))
        .collect()
}

/// The last step a run folder's `metrics.jsonl` records.
fn last_step(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["step"].as_u64())
        .max()
        .unwrap_or(0) as usize
}
