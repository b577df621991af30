//! The `siren` command line. Subcommands arrive as the experiment crates land (see the
//! issues); for now it reports its version and the model-file format it reads.

use clap::Parser;

/// SIREN experiments from the command line.
#[derive(Parser)]
#[command(name = "siren", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    println!(
        "siren {}: no experiment subcommands yet (model files: safetensors format {})",
        env!("CARGO_PKG_VERSION"),
        siren_core::io::FORMAT_VERSION
    );
}
