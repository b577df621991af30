//! Training runs as `siren` processes: how `siren serve` and `siren tune` start them and read
//! why one failed. A run folder's `stderr.log` holds the process's errors.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use siren_core::{Error, Result};

/// Starts `exe args` (a `siren` command writing the run folder `dir`, made here) with
/// `threads` threads, its errors to `dir/stderr.log`.
pub(crate) fn spawn_siren(
    exe: &Path,
    args: &[String],
    dir: &Path,
    threads: usize,
) -> Result<Child> {
    crate::out_dir(dir)?;
    let log = dir.join("stderr.log");
    let stderr = std::fs::File::create(&log).map_err(|source| Error::Io {
        action: "cannot create",
        path: log.clone(),
        source,
    })?;
    Command::new(exe)
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|source| Error::Io {
            action: "cannot start",
            path: exe.to_path_buf(),
            source,
        })
}

/// The last error line a run's process wrote to `dir/stderr.log`, without `error: `.
pub(crate) fn last_error(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("stderr.log")).ok()?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim_start_matches("error: ").to_string())
}
