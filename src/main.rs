//! The `prisma-release` binary: parse, run, exit. All logic lives in the library crate.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match prisma_release::cli::parse(std::env::args_os()) {
        Ok(cli) => prisma_release::run(cli),
        Err(code) => code,
    };
    ExitCode::from(code)
}
