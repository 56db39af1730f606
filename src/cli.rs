//! The command line (clap derive). Parsing only: turning flags into a [`crate::config::Config`] and
//! running commands happens elsewhere. The database URL is deliberately not a clap `env` fallback, so
//! clap can never print its value in help or error messages.

use crate::apply::TxMode;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "prisma-release",
    version,
    about = "Applies Prisma migrations safely at release time (Prisma-compatible _prisma_migrations)",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes (SPEC "Configuration").
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// PostgreSQL URL; default: the variable named by --url-env (DATABASE_URL).
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Read the URL from this environment variable instead (e.g. DIRECT_URL).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "DATABASE_URL"
    )]
    pub url_env: String,
    /// The migrations folder.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "PRISMA_MIGRATIONS_DIR",
        default_value = "prisma/migrations"
    )]
    pub migrations: PathBuf,
    /// Schema to migrate; overrides the URL's ?schema=.
    #[arg(long, global = true, value_name = "NAME")]
    pub schema: Option<String>,
    /// Output format.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "PRISMA_RELEASE_FORMAT",
        default_value = "human"
    )]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout of each connection attempt (500ms, 30s, 2m or seconds; 0 = none).
    #[arg(long, global = true, value_name = "DUR", value_parser = crate::duration::parse)]
    pub connect_timeout: Option<Duration>,
    /// Less output: errors and the final result only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output: SQL, timings, transaction modes.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (the release-phase command).
    Deploy(DeployArgs),
    /// Show every migration's state; never writes, never locks.
    Status(StatusArgs),
}

#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    /// How long to wait for the migration advisory lock (0 = try once).
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = crate::duration::parse)]
    pub lock_timeout: Duration,
    /// Transaction per migration: auto (unless the script cannot run in one), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub tx_mode: TxMode,
    /// Retries of a transactional migration after a transient error.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// lock_timeout inside each transactional migration, so DDL never queues behind a long query.
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub ddl_lock_timeout: Option<Duration>,
    /// statement_timeout inside each transactional migration.
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub statement_timeout: Option<Duration>,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Exit 13 when an applied migration was modified locally.
    #[arg(long)]
    pub strict: bool,
}
