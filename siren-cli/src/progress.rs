//! Progress bars (indicatif) with the loss, a metric and the ETA; hidden with `--quiet` or
//! when stderr is not a terminal (the run's `metrics.jsonl` has every step either way).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One training run's bar.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` steps labelled `label`.
    pub fn new(label: &str, total: usize, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Self { bar }
    }

    /// Step `step` done with `loss`; `extra` (e.g. "PSNR 30.1 dB") is kept until replaced.
    pub fn update(&self, step: usize, loss: f64, extra: Option<String>) {
        self.bar.set_position(step as u64);
        let msg = match extra {
            Some(e) => format!("loss {loss:.3e}  {e}"),
            None => {
                let old = self.bar.message();
                let kept = old.split_once("  ").map(|(_, e)| e.to_string());
                match kept {
                    Some(e) => format!("loss {loss:.3e}  {e}"),
                    None => format!("loss {loss:.3e}"),
                }
            }
        };
        self.bar.set_message(msg);
    }

    /// Leaves the final state on screen.
    pub fn finish(&self) {
        self.bar.finish();
    }
}

/// Opens the run folder's `metrics.jsonl` for appending (a resumed run adds to it); a
/// symbolic link or anything but a regular file there is an error, not written through.
fn metrics_log(dir: &std::path::Path) -> siren_core::Result<std::fs::File> {
    let path = dir.join("metrics.jsonl");
    siren_core::io::check_replaceable(&path)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| siren_core::Error::Io {
            action: "cannot write",
            path,
            source,
        })
}

/// A run folder's `metrics.jsonl`: one JSON line per logged step. A resumed run restarts at
/// its checkpoint's step, so before its first line the lines it is about to rewrite (same
/// run, that step or later: logged after the checkpoint by the killed run) and any torn line
/// are removed; each step then appears once.
pub struct MetricsLog {
    dir: std::path::PathBuf,
    file: std::fs::File,
    started: std::collections::HashSet<String>,
}

impl MetricsLog {
    /// Opens (or makes) `dir/metrics.jsonl` for appending.
    pub fn open(dir: &std::path::Path) -> siren_core::Result<Self> {
        Ok(Self {
            dir: dir.to_path_buf(),
            file: metrics_log(dir)?,
            started: Default::default(),
        })
    }

    /// Appends `line` (which carries `step`) for the run named `run` (`""` when the folder
    /// holds one run).
    pub fn write(&mut self, run: &str, step: usize, line: &serde_json::Value) {
        use std::io::Write;
        if self.started.insert(run.to_string()) {
            // Logging must not stop a run: a failure here leaves the old lines.
            let _ = self.drop_from(run, step);
        }
        let _ = writeln!(self.file, "{line}");
    }

    fn drop_from(&mut self, run: &str, step: usize) -> siren_core::Result<()> {
        let path = self.dir.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let keep = |l: &str| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) => {
                let same_run = v["run"].as_str().unwrap_or("") == run;
                !(same_run && v["step"].as_u64().is_some_and(|s| s as usize >= step))
            }
            Err(_) => false,
        };
        if text.lines().all(keep) && (text.is_empty() || text.ends_with('\n')) {
            return Ok(());
        }
        let kept: String = text
            .lines()
            .filter(|l| keep(l))
            .map(|l| format!("{l}\n"))
            .collect();
        siren_core::io::write_atomic(&path, kept.as_bytes())?;
        // The rename replaced the file: append to the new one.
        self.file = metrics_log(&self.dir)?;
        Ok(())
    }
}
