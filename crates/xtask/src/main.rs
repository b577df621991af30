//! Project automation: `cargo xtask <command>`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "siren-rs project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reproduce the paper's experiments into report/README.md (experiments are wired in as
    /// their crates land).
    Reproduce,
}

fn main() {
    match Cli::parse().command {
        Command::Reproduce => {
            eprintln!(
                "xtask reproduce: no experiment is wired in yet; siren-core {} is built and tested \
                 by `cargo test --workspace`",
                env!("CARGO_PKG_VERSION")
            );
            std::process::exit(2);
        }
    }
}
