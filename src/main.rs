//! The `prisma-release` binary: parse, run, exit. All logic lives in the library crate.

use prisma_release::{cli, output};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match cli::parse(&args) {
        Ok(cli) => prisma_release::run(cli),
        Err(error) => output::command_line_error(&error, cli::format_asked(&args)),
    };
    ExitCode::from(code)
}
