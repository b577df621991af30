//! Helpers for the workspace integration tests in `tests/tests/`.

use std::path::PathBuf;

/// The shared real-data folder: `SIREN_DATA`, else `../shared/data` beside the repository.
/// `None` (and a message on stderr saying how to provide it) when neither exists.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("SIREN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if candidate.is_dir() {
        Some(candidate)
    } else {
        eprintln!(
            "skipping {test}: no real data at {} (set SIREN_DATA to the shared data folder)",
            candidate.display()
        );
        None
    }
}
