//! Helpers shared by the command-line tests.

#![allow(dead_code)] // each test binary uses a subset

pub mod server;

use std::path::Path;
use std::process::Command;

/// Runs the `siren` binary; returns whether it succeeded and its stdout + stderr.
pub fn siren(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_siren"))
        .args(args)
        .output()
        .expect("run siren");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The JSON config stored in a saved model's metadata.
pub fn saved_config(model: &Path) -> String {
    let bytes = std::fs::read(model).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    header.metadata().as_ref().unwrap()["siren_rs.config"].clone()
}
