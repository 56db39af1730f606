//! The command line (clap derive). Parsing only: turning flags into settings ([`crate::commands::Context`]) and
//! running commands happens elsewhere. The database URL is deliberately not a clap `env` fallback, so
//! clap can never print its value in help or error messages.

use crate::apply::TxMode;
use crate::history::ResolveAs;
use crate::output::Format;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Parses the command line. Help, version and usage errors come back as clap's error, for `main` to
/// render (as text, or as one JSON document when [`format_asked`] says so): parsing prints nothing.
/// `PRISMA_MIGRATIONS_DIR` and `PRISMA_RELEASE_FORMAT` fill in flags that were not given.
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.global
        .apply_env(&matches, &|name| std::env::var_os(name))?;
    Ok(cli)
}

/// The output format the (possibly invalid) command line or the environment asks for, read without
/// clap so that a usage error can still be rendered as JSON.
pub fn format_asked(args: &[OsString]) -> Format {
    if wants_json(args) {
        Format::Json
    } else {
        Format::Human
    }
}

fn wants_json(args: &[OsString]) -> bool {
    let from_args = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--json" || a == "--format=json");
    from_args
        || std::env::var_os(FORMAT_ENV)
            .is_some_and(|v| v.to_string_lossy().trim().eq_ignore_ascii_case("json"))
}

/// The variables behind `--migrations` and `--format`. They are read here rather than through clap's
/// `env`, because clap validates them even when the flag is given and names the flag in the error.
const MIGRATIONS_ENV: &str = "PRISMA_MIGRATIONS_DIR";
const FORMAT_ENV: &str = "PRISMA_RELEASE_FORMAT";

impl GlobalArgs {
    /// Fills `--migrations` and `--format` from their variables when the flag is not given. An
    /// explicit flag always wins (and the variable is then not even read); an empty variable counts
    /// as unset (Heroku config vars can be `""`); an invalid value is a usage error naming the
    /// variable. The format's value is matched case-insensitively (`JSON` works).
    fn apply_env(
        &mut self,
        matches: &ArgMatches,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<(), clap::Error> {
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let set = |name: &str| env(name).filter(|v| !v.to_string_lossy().trim().is_empty());
        if !given("migrations") {
            if let Some(dir) = set(MIGRATIONS_ENV) {
                self.migrations = Some(PathBuf::from(dir));
            }
        }
        if !given("format") && !self.json {
            if let Some(value) = set(FORMAT_ENV) {
                self.format = format_from_env(&value.to_string_lossy())?;
            }
        }
        Ok(())
    }
}

fn format_from_env(value: &str) -> Result<Format, clap::Error> {
    Format::from_str(value.trim(), true).map_err(|_| {
        let shown: String = value.chars().take(32).collect();
        clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            format!(
                "the environment variable {FORMAT_ENV} is `{shown}`, expected `human` or `json`; \
                 fix or unset it (an explicit --format wins over it)\n"
            ),
        )
    })
}

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
    /// PostgreSQL URL; default: the Prisma project's migration URL (see README), else DATABASE_URL.
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Read the URL from this environment variable (e.g. DIRECT_URL), whatever the project declares.
    #[arg(long, global = true, value_name = "NAME")]
    pub url_env: Option<String>,
    /// The migrations folder; default: the Prisma project's (see README), else prisma/migrations
    /// [env: PRISMA_MIGRATIONS_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The Prisma schema: a schema.prisma file or a folder of *.prisma files (as `prisma --schema`).
    #[arg(long, global = true, value_name = "PATH")]
    pub schema: Option<PathBuf>,
    /// The Prisma config file (as `prisma --config`); default: prisma.config.* in the current folder.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// PostgreSQL schema to migrate; overrides the URL's ?schema=.
    #[arg(long, global = true, value_name = "NAME")]
    pub db_schema: Option<String>,
    /// Output format [env: PRISMA_RELEASE_FORMAT].
    #[arg(long, global = true, value_enum, default_value = "human")]
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (the release-phase command).
    Deploy(DeployArgs),
    /// Show every migration's state; never writes, never locks.
    Status(StatusArgs),
    /// Print the diagnosis of every failed migration; never writes.
    Diagnose(DiagnoseArgs),
    /// Mark a failed migration rolled back or applied (Prisma's semantics), or delete its failed rows.
    Resolve(ResolveArgs),
    /// Boot guard: refuse to start the app on a failed or pending migration, else exec it.
    Guard(GuardArgs),
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
    /// lock_timeout of each migration's statements, so DDL never queues behind a long transaction
    /// (0 = wait as long as it takes).
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = crate::duration::parse)]
    pub ddl_lock_timeout: Duration,
    /// Total time to keep retrying a migration whose DDL hit --ddl-lock-timeout (0 = no retry).
    #[arg(long, value_name = "DUR", default_value = "3m", value_parser = crate::duration::parse)]
    pub lock_retry_budget: Duration,
    /// Terminate a blocking session that has been `idle in transaction` for this long (off by default).
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub cancel_blockers_after: Option<Duration>,
    /// Start no migration after this long, and cancel (roll back) a transactional one running then.
    #[arg(long, value_name = "DUR", env = "PRISMA_RELEASE_DEADLINE", value_parser = crate::duration::parse)]
    pub deadline: Option<Duration>,
    /// statement_timeout inside each transactional migration.
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub statement_timeout: Option<Duration>,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// What to do with failed migrations recorded in the database (P3009).
    #[arg(long, value_enum, default_value = "never")]
    pub resolve_failed: ResolveFailed,
    /// How a failed row is resolved: Prisma's rolled-back mark (keeps the audit trail) or deletion.
    #[arg(long, value_enum, default_value = "rolled-back")]
    pub resolve_as: ResolveAs,
}

/// `--resolve-failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolveFailed {
    /// Stop with exit 10 and the diagnosis.
    Never,
    /// Resolve only rows whose diagnosis says nothing was applied, then deploy.
    Safe,
    /// Resolve every failed row, loudly, then deploy.
    Always,
    /// Finish every failed row whose failure is located exactly (run the statements that never ran,
    /// record it applied), then deploy; refuse, touching nothing, when any is uncertain.
    Complete,
}

#[derive(Debug, Args, Clone)]
pub struct DiagnoseArgs {}

#[derive(Debug, Args, Clone)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("action").required(true).multiple(false).args(["rolled_back", "applied", "delete", "complete"])))]
pub struct ResolveArgs {
    /// Mark the failed rows of NAME rolled back (Prisma's `migrate resolve --rolled-back`).
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,
    /// Record NAME as applied (Prisma's `migrate resolve --applied`).
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,
    /// Delete the failed rows of NAME.
    #[arg(long, value_name = "NAME")]
    pub delete: Option<String>,
    /// Finish NAME, half-applied by Prisma: run the statements that never ran and record it applied
    /// (only when its failure is located exactly; see `diagnose`).
    #[arg(long, value_name = "NAME")]
    pub complete: Option<String>,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for the migration advisory lock (0 = try once).
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = crate::duration::parse)]
    pub lock_timeout: Duration,
}

#[derive(Debug, Args, Clone)]
pub struct GuardArgs {
    /// Start the app even when migrations are pending.
    #[arg(long)]
    pub allow_pending: bool,
    /// Also refuse when an applied migration was modified locally (exit 13).
    #[arg(long)]
    pub strict: bool,
    /// Poll until the state is acceptable, for at most this long.
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub wait: Option<Duration>,
    /// Total budget for connecting, retries included (boot has 60 s on Heroku).
    #[arg(long, value_name = "DUR", default_value = "20s", value_parser = crate::duration::parse)]
    pub connect_budget: Duration,
    /// The command to exec when the database is acceptable (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Exit 13 when an applied migration was modified locally.
    #[arg(long)]
    pub strict: bool,
}
