//! The `prisma-release` binary: parse, run, exit. All logic lives in the library crate.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = prisma_release::cli::Cli::parse();
    ExitCode::from(prisma_release::run(cli))
}
