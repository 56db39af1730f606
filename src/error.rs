//! The one error type of the crate. Every variant has a stable id (part of the JSON contract), a stable
//! exit code (part of the CLI contract, listed in the README) and a remedy, so that every refusal tells
//! the user what to do next. Messages never contain a password or a full connection string: variants
//! name the database by its [`Target`](crate::connect::Target) text: host, port and database only.

use std::path::PathBuf;

/// Exit codes of the CLI contract (SPEC "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONFIG: u8 = 3;
    pub const CONNECT: u8 = 4;
    pub const LOCK_TIMEOUT: u8 = 5;
    pub const FAILED_IN_DATABASE: u8 = 10;
    pub const MIGRATION_FAILED: u8 = 11;
    pub const PENDING: u8 = 12;
    pub const DRIFT: u8 = 13;
}

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no database URL: the environment variable `{var}` is not set or empty")]
    UrlMissing { var: String },
    #[error("the database URL is not valid: {reason}")]
    UrlInvalid { reason: String },
    #[error("the migrations folder `{}` does not exist", path.display())]
    MigrationsDirMissing { path: PathBuf },
    #[error("the migrations folder `{}` cannot be read: {cause}", path.display())]
    MigrationsDirUnreadable { path: PathBuf, cause: String },
    #[error("migration `{name}` has no migration.sql (P3015)")]
    MigrationFileMissing { name: String },
    #[error("migration `{name}`: migration.sql cannot be read: {cause}")]
    MigrationFileUnreadable { name: String, cause: String },
    #[error(
        "migration `{name}`: migration.sql is not valid UTF-8 (first bad byte at offset {offset})"
    )]
    MigrationFileNotUtf8 { name: String, offset: usize },
    #[error("migration_lock.toml says provider `{found}`, but this tool only migrates `postgresql` (P3019)")]
    ProviderMismatch { found: String },
    #[error("the database schema `{schema}` is not empty (P3005): it has tables ({tables}) but no _prisma_migrations table")]
    SchemaNotEmpty { schema: String, tables: String },
    #[error("the existing _prisma_migrations table is not Prisma's: {problems}")]
    HistoryTableIncompatible { problems: String },
    #[error("cannot connect to {target}: {cause}")]
    Connect { target: String, cause: String },
    #[error("{target} is read-only ({reason}); deploy needs a writable primary")]
    ReadOnly { target: String, reason: String },
    #[error("lost the connection to {target} while {context}: {cause}")]
    ConnectionLost {
        target: String,
        context: String,
        cause: String,
    },
    #[error("timed out after {waited_ms} ms waiting for the migration advisory lock 72707369{holder} (P1002)")]
    LockTimeout { waited_ms: u128, holder: String },
    #[error("{} failed migration(s) recorded in the database: {} (P3009)", names.len(), names.join(", "))]
    FailedMigrationsInDatabase { names: Vec<String> },
    #[error("migration `{}` failed: {}", .0.migration, .0.summary())]
    MigrationFailed(Box<crate::apply::MigrationFailure>),
    #[error("Migration `{name}` cannot be rolled back because it was never applied to the database (P3011)")]
    ResolveNeverApplied { name: String },
    #[error(
        "Migration `{name}` cannot be rolled back because it is not in a failed state (P3012)"
    )]
    ResolveNotFailed { name: String },
    #[error("The migration {name} could not be found in the migrations folder (P3017)")]
    ResolveMigrationNotFound { name: String },
    #[error("The migration `{name}` is already recorded as applied in the database (P3008)")]
    ResolveAlreadyApplied { name: String },
    #[error("migration `{name}` has no failed rows to delete")]
    ResolveNothingToDelete { name: String },
    #[error("the failed row {id} of `{name}` changed while we were resolving it (someone else wrote to _prisma_migrations); nothing more was changed")]
    ResolveConflict { name: String, id: String },
    #[error("refusing to {action} `{name}` without confirmation: stdin is not a terminal")]
    ConfirmationRequired { action: &'static str, name: String },
    #[error("confirmation did not match `{name}`; nothing was changed")]
    ConfirmationDeclined { name: String },
    #[error("unexpected database error while {context}: {cause}")]
    Query { context: String, cause: String },
}

impl Error {
    /// The stable process exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::UrlMissing { .. }
            | Error::UrlInvalid { .. }
            | Error::MigrationsDirMissing { .. }
            | Error::MigrationsDirUnreadable { .. }
            | Error::MigrationFileMissing { .. }
            | Error::MigrationFileUnreadable { .. }
            | Error::MigrationFileNotUtf8 { .. }
            | Error::ProviderMismatch { .. }
            | Error::SchemaNotEmpty { .. }
            | Error::HistoryTableIncompatible { .. }
            | Error::ResolveNeverApplied { .. }
            | Error::ResolveNotFailed { .. }
            | Error::ResolveMigrationNotFound { .. }
            | Error::ResolveAlreadyApplied { .. }
            | Error::ResolveNothingToDelete { .. }
            | Error::ResolveConflict { .. }
            | Error::ConfirmationRequired { .. }
            | Error::ConfirmationDeclined { .. } => exit::CONFIG,
            Error::Connect { .. } | Error::ReadOnly { .. } | Error::ConnectionLost { .. } => {
                exit::CONNECT
            }
            Error::LockTimeout { .. } => exit::LOCK_TIMEOUT,
            Error::FailedMigrationsInDatabase { .. } => exit::FAILED_IN_DATABASE,
            Error::MigrationFailed(_) => exit::MIGRATION_FAILED,
            Error::Query { .. } => exit::INTERNAL,
        }
    }

    /// The stable machine-readable id of this error (JSON `error.id`).
    pub fn id(&self) -> &'static str {
        match self {
            Error::UrlMissing { .. } => "config/url_missing",
            Error::UrlInvalid { .. } => "config/url_invalid",
            Error::MigrationsDirMissing { .. } => "migrations/dir_missing",
            Error::MigrationsDirUnreadable { .. } => "migrations/dir_unreadable",
            Error::MigrationFileMissing { .. } => "migrations/file_missing",
            Error::MigrationFileUnreadable { .. } => "migrations/file_unreadable",
            Error::MigrationFileNotUtf8 { .. } => "migrations/file_not_utf8",
            Error::ProviderMismatch { .. } => "migrations/provider_mismatch",
            Error::SchemaNotEmpty { .. } => "history/schema_not_empty",
            Error::HistoryTableIncompatible { .. } => "history/incompatible_table",
            Error::Connect { .. } => "connect/failed",
            Error::ReadOnly { .. } => "connect/read_only",
            Error::ConnectionLost { .. } => "connect/lost",
            Error::LockTimeout { .. } => "lock/timeout",
            Error::FailedMigrationsInDatabase { .. } => "history/failed_migration",
            Error::MigrationFailed(_) => "migration/failed",
            Error::ResolveNeverApplied { .. } => "resolve/never_applied",
            Error::ResolveNotFailed { .. } => "resolve/not_failed",
            Error::ResolveMigrationNotFound { .. } => "resolve/migration_not_found",
            Error::ResolveAlreadyApplied { .. } => "resolve/already_applied",
            Error::ResolveNothingToDelete { .. } => "resolve/nothing_to_delete",
            Error::ResolveConflict { .. } => "resolve/concurrent_change",
            Error::ConfirmationRequired { .. } => "resolve/confirmation_required",
            Error::ConfirmationDeclined { .. } => "resolve/confirmation_declined",
            Error::Query { .. } => "internal/query",
        }
    }

    /// The Prisma error code a Prisma user (or a script grepping the log) expects here, if any.
    pub fn prisma_code(&self) -> Option<&'static str> {
        match self {
            Error::MigrationFileMissing { .. } => Some("P3015"),
            Error::ProviderMismatch { .. } => Some("P3019"),
            Error::SchemaNotEmpty { .. } => Some("P3005"),
            Error::LockTimeout { .. } => Some("P1002"),
            Error::FailedMigrationsInDatabase { .. } => Some("P3009"),
            Error::MigrationFailed(_) => Some("P3018"),
            Error::ResolveNeverApplied { .. } => Some("P3011"),
            Error::ResolveNotFailed { .. } => Some("P3012"),
            Error::ResolveMigrationNotFound { .. } => Some("P3017"),
            Error::ResolveAlreadyApplied { .. } => Some("P3008"),
            Error::UrlMissing { .. }
            | Error::UrlInvalid { .. }
            | Error::MigrationsDirMissing { .. }
            | Error::MigrationsDirUnreadable { .. }
            | Error::MigrationFileUnreadable { .. }
            | Error::MigrationFileNotUtf8 { .. }
            | Error::HistoryTableIncompatible { .. }
            | Error::Connect { .. }
            | Error::ReadOnly { .. }
            | Error::ConnectionLost { .. }
            | Error::ResolveNothingToDelete { .. }
            | Error::ResolveConflict { .. }
            | Error::ConfirmationRequired { .. }
            | Error::ConfirmationDeclined { .. }
            | Error::Query { .. } => None,
        }
    }

    /// What the user should do next, in one line.
    pub fn hint(&self) -> String {
        match self {
            Error::UrlMissing { var } => format!(
                "set {var} (or pass --database-url, or --url-env NAME to read another variable)"
            ),
            Error::UrlInvalid { .. } => {
                "use the form postgres://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME".into()
            }
            Error::MigrationsDirMissing { .. } => "run from the app's root directory or pass --migrations DIR; a release without its migrations folder must not deploy nothing".into(),
            Error::MigrationsDirUnreadable { .. } => "check the folder's permissions".into(),
            Error::MigrationFileMissing { .. } => "restore the migration file or delete the directory".into(),
            Error::MigrationFileUnreadable { .. } => "check the file's permissions".into(),
            Error::MigrationFileNotUtf8 { .. } => "save migration.sql as UTF-8".into(),
            Error::ProviderMismatch { .. } => "this tool only migrates PostgreSQL; check migration_lock.toml".into(),
            Error::SchemaNotEmpty { .. } => "baseline the existing database first: npx prisma migrate resolve --applied <first migration> (https://pris.ly/d/migrate-baseline)".into(),
            Error::HistoryTableIncompatible { .. } => "the table was created by something else; fix or rename it — nothing was written".into(),
            Error::Connect { cause, .. } => connect_hint(cause).into(),
            Error::ReadOnly { .. } => "point DATABASE_URL at the primary (not a follower), or wait for maintenance to end".into(),
            Error::ConnectionLost { .. } => "run the command again; transactional migrations that did not commit left nothing behind".into(),
            Error::LockTimeout { .. } => "another deploy is running; wait for it, or raise --lock-timeout".into(),
            Error::FailedMigrationsInDatabase { names } => format!(
                "read the diagnosis above; when it says not_applied, run prisma-release deploy --resolve-failed safe, \
                 otherwise fix the database and run prisma-release resolve --rolled-back \"{}\" (or --applied)",
                names.first().map(String::as_str).unwrap_or("<name>")
            ),
            Error::MigrationFailed(failure) => failure.hint(),
            Error::ResolveNeverApplied { .. } => "pass the whole directory name, e.g. 20201207184859_initial_migration".into(),
            Error::ResolveNotFailed { .. } => "only a failed migration can be rolled back; run prisma-release status".into(),
            Error::ResolveMigrationNotFound { .. } => "make sure the migration directory exists and pass its whole name (example: \"20201207184859_initial_migration\")".into(),
            Error::ResolveAlreadyApplied { .. } => "nothing to do; run prisma-release status".into(),
            Error::ResolveNothingToDelete { .. } => "run prisma-release diagnose to see the failed rows".into(),
            Error::ResolveConflict { .. } => "run prisma-release diagnose and decide again".into(),
            Error::ConfirmationRequired { .. } => "pass --yes to confirm non-interactively".into(),
            Error::ConfirmationDeclined { .. } => "type the migration name exactly to confirm".into(),
            Error::Query { .. } => "this is a bug in prisma-release; please report it with the output of -v".into(),
        }
    }
}

/// The next step for a connection failure, chosen by what failed.
fn connect_hint(cause: &str) -> &'static str {
    if cause.contains("sslmode=disable") {
        "the server requires TLS: remove sslmode=disable from the URL (and PGSSLMODE=disable from the environment)"
    } else if cause.contains("certificate") {
        "give the server's CA with sslrootcert=FILE, or use sslmode=require to encrypt without verifying (as Heroku Postgres needs)"
    } else if cause.contains("authentication failed") || cause.contains("28P01") {
        "check the user and password in the URL (on Heroku: heroku pg:credentials:url)"
    } else if cause.contains("timed out") || cause.contains("timeout") {
        "the server did not answer in time: check host and port, or raise connect_timeout / --connect-timeout"
    } else {
        "check that the database is reachable at that host and port and that the URL is right"
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
