//! prisma-release: applies Prisma migrations at release time, byte-compatible with Prisma's
//! `_prisma_migrations` table, committing each migration together with its history row.
//!
//! The binary (`main.rs`) only parses arguments and calls [`run`]; everything else lives here so that
//! tests call the same code. One module per noun; `commands` orchestrate them.

pub mod apply;
pub mod backoff;
pub mod cli;
pub mod collation;
pub mod commands;
pub mod connect;
pub mod diagnose;
pub mod duration;
pub mod enum_values;
pub mod error;
pub mod history;
pub mod lock;
pub mod lock_retry;
pub mod lock_wait;
pub mod migrations;
pub mod monitor;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod project;
pub mod report;
pub mod sql;
pub mod timestamp;

use cli::{Cli, Command};
use commands::Context;
use output::{Format, Out, Verbosity};

/// Runs the parsed command line, prints its report, and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let out = Out {
        format: if cli.global.json {
            Format::Json
        } else {
            cli.global.format
        },
        verbosity: match (cli.global.quiet, cli.global.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        },
    };
    let ctx = Context::new(&cli.global, out);
    match &cli.command {
        Command::Deploy(args) => {
            let report = commands::deploy::run(&ctx, args);
            out.report(&report, output::human_deploy);
            report.exit_code
        }
        Command::Status(args) => {
            let report = commands::status::run(&ctx, args);
            out.report(&report, output::human_status);
            report.exit_code
        }
        Command::Diagnose(args) => {
            let report = commands::diagnose::run(&ctx, args);
            out.report(&report, output::human_diagnose);
            report.exit_code
        }
        Command::Resolve(args) => {
            let report = commands::resolve::run(&ctx, args);
            out.report(&report, output::human_resolve);
            report.exit_code
        }
        Command::Guard(args) => commands::guard::run(&ctx, args),
    }
}
