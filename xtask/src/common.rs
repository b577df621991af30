//! What the reproduction's sections share: the scale, the workspace root, reading results.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum Scale {
    /// A first look: under 20 minutes in all on a 2-core CPU (may miss the targets).
    Quick,
    /// The CPU scale whose results are held to the paper's (at most 2 hours on 2 cores).
    Default,
    /// The original settings (a GPU and hours).
    Paper,
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// A result file's text, or a note that it could not be read.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| format!("({} unreadable: {e})", path.display()))
}

/// PSNR at given steps from a `metrics.jsonl`.
pub fn psnr_at(path: &Path, steps: &[u64]) -> Vec<Option<f64>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut found = vec![None; steps.len()];
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(step), Some(p)) = (v["step"].as_u64(), v["psnr"].as_f64()) else {
            continue;
        };
        if let Some(i) = steps.iter().position(|&s| s == step) {
            found[i] = Some(p);
        }
    }
    found
}

/// Builds the `siren` binary (release) and returns its path.
pub fn build_siren() -> Result<PathBuf, String> {
    eprintln!("building the siren binary (release)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "--quiet", "-p", "siren-cli"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building siren failed".into());
    }
    Ok(root().join("target/release/siren"))
}
