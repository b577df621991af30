//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong when building, loading or saving a network.
///
/// Messages say what was wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid network config: {0}")]
    InvalidConfig(String),
    /// Input data has the wrong shape or values.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Training produced a non-finite loss.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// A run was asked to stop (a signal) and stopped after a step, its checkpoint saved.
    #[error("stopped: {0}")]
    Interrupted(String),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file exists but cannot be used: not a model file, a corrupt image, a mismatched
    /// checkpoint.
    #[error("{path} is not a valid {what}: {reason}")]
    BadFile {
        /// The file concerned.
        path: PathBuf,
        /// What it should have been ("siren-rs model file", "PNG or JPEG image", ...).
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
