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
pub fn metrics_log(dir: &std::path::Path) -> siren_core::Result<std::fs::File> {
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
