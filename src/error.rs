//! The one error type of the crate. Every variant has a stable id (part of the JSON contract), a stable
//! exit code (part of the CLI contract, listed in the README) and a remedy, so that every refusal tells
//! the user what to do next. Messages never contain a password or a full connection string: variants
//! name the database by its [`Target`](crate::connect::Target) text: host, port and database only.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

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
    pub const DEADLINE: u8 = 14;
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
    #[error("migration `{name}`: statement {statement} (line {line}) cannot be run by this tool: {reason}")]
    MigrationUnrunnable {
        name: String,
        statement: usize,
        line: usize,
        reason: String,
    },
    #[error("the migration advisory lock 72707369 was released by migration `{name}`, and {what}; nothing more was applied")]
    LockLost { name: String, what: String },
    #[error("migration_lock.toml cannot be read: {cause} (P3019)")]
    LockFileUnreadable { cause: String },
    #[error("migration_lock.toml says provider `{found}`, but this tool only migrates `postgresql` (P3019)")]
    ProviderMismatch { found: String },
    #[error("the database schema `{schema}` is not empty (P3005): it has tables ({tables}) but no _prisma_migrations table")]
    SchemaNotEmpty { schema: String, tables: String },
    #[error("the existing _prisma_migrations table is not Prisma's: {problems}")]
    HistoryTableIncompatible { problems: String },
    #[error("cannot connect to {target}: {cause}")]
    Connect {
        target: String,
        cause: String,
        kind: ConnectFailure,
    },
    #[error("{target} is read-only ({reason}); deploy needs a writable primary")]
    ReadOnly { target: String, reason: String },
    #[error("lost the connection to {target} while {context}: {cause}")]
    ConnectionLost {
        target: String,
        context: String,
        cause: String,
    },
    #[error("timed out after {} (--lock-timeout) waiting for the migration advisory lock 72707369{holder} (P1002)", crate::duration::display(*timeout))]
    LockTimeout { timeout: Duration, holder: String },
    #[error("{} failed migration(s) recorded in the database: {} (P3009)", names.len(), names.join(", "))]
    FailedMigrationsInDatabase { names: Vec<String> },
    #[error("migration `{name}` cannot be completed: {}", reasons.join("; "))]
    CompleteRefused { name: String, reasons: Vec<String> },
    #[error("migration `{}` failed: {}", .0.migration, .0.summary())]
    MigrationFailed(Box<crate::outcome::MigrationFailure>),
    #[error(
        "migration `{}` could not get its lock: {} attempt(s) in {:.1}s each ended in lock_timeout ({} ms); {}",
        .0.failure.migration, .0.attempts, .0.waited_ms as f64 / 1000.0, .0.lock_timeout_ms, .0.blockers_text()
    )]
    LockWaitExhausted(Box<crate::lock_wait::LockWaitExhausted>),
    #[error("the deploy deadline ({deadline}) passed{}: {applied} migration(s) applied, {} left{}",
        during.as_ref().map(|m| format!(" while `{m}` ran (cancelled and rolled back)"))
            .or_else(|| lock_holder.as_ref().map(|h| format!(" while waiting for the migration lock{h}")))
            .unwrap_or_default(),
        left.len(), if left.is_empty() { String::new() } else { format!(": {}", left.join(", ")) })]
    DeadlineReached {
        deadline: String,
        during: Option<String>,
        /// Who held the migration lock when the deadline passed while waiting for it (`" (held by
        /// pid …)"`, or empty when unknown), as [`Error::LockTimeout`] names it.
        lock_holder: Option<String>,
        applied: usize,
        left: Vec<String>,
    },
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
    #[error("{0}")]
    Project(crate::project::Problem),
}

/// What the CLI contract says about one error, in one place: the exit code (README table), the id
/// (JSON `error.id`), the Prisma code a Prisma user greps for, and the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub exit_code: u8,
    pub id: &'static str,
    pub prisma_code: Option<&'static str>,
    pub hint: Cow<'static, str>,
}

fn describe(
    exit_code: u8,
    id: &'static str,
    prisma_code: Option<&'static str>,
    hint: impl Into<Cow<'static, str>>,
) -> Descriptor {
    Descriptor {
        exit_code,
        id,
        prisma_code,
        hint: hint.into(),
    }
}

impl Error {
    /// The whole contract of this error: one exhaustive match, so a new variant cannot forget a part.
    pub fn descriptor(&self) -> Descriptor {
        use exit::{CONFIG, CONNECT, FAILED_IN_DATABASE, INTERNAL, LOCK_TIMEOUT, MIGRATION_FAILED};
        match self {
            Error::UrlMissing { var } => describe(CONFIG, "config/url_missing", None, format!(
                "set {var} (or pass --database-url, or --url-env NAME to read another variable)"
            )),
            Error::UrlInvalid { .. } => describe(CONFIG, "config/url_invalid", None,
                "use the form postgres://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME"),
            Error::MigrationsDirMissing { .. } => describe(CONFIG, "migrations/dir_missing", None,
                "run from the app's root directory or pass --migrations DIR (or --schema PATH / --config PATH); a release without its migrations folder must not deploy nothing"),
            Error::MigrationsDirUnreadable { .. } => describe(CONFIG, "migrations/dir_unreadable", None,
                "check the folder's permissions"),
            Error::MigrationFileMissing { .. } => describe(CONFIG, "migrations/file_missing", Some("P3015"),
                "restore the migration file or delete the directory"),
            Error::MigrationFileUnreadable { .. } => describe(CONFIG, "migrations/file_unreadable", None,
                "check the file's permissions"),
            Error::MigrationFileNotUtf8 { .. } => describe(CONFIG, "migrations/file_not_utf8", None,
                "save migration.sql as UTF-8"),
            Error::MigrationUnrunnable { .. } => describe(CONFIG, "migrations/unrunnable_statement", None,
                "remove or rewrite that statement in migration.sql (load data with INSERT … VALUES or a server-side COPY FROM 'file'); nothing was written"),
            Error::LockLost { .. } => describe(LOCK_TIMEOUT, "lock/lost", None,
                "remove pg_advisory_unlock…/DISCARD ALL from that migration; run prisma-release status, then deploy again"),
            Error::LockFileUnreadable { .. } => describe(CONFIG, "migrations/lock_file_unreadable", Some("P3019"),
                "migration_lock.toml must be a readable UTF-8 file saying provider = \"postgresql\""),
            Error::ProviderMismatch { .. } => describe(CONFIG, "migrations/provider_mismatch", Some("P3019"),
                "this tool only migrates PostgreSQL; check migration_lock.toml"),
            Error::SchemaNotEmpty { .. } => describe(CONFIG, "history/schema_not_empty", Some("P3005"),
                "baseline the existing database first: npx prisma migrate resolve --applied <first migration> (https://pris.ly/d/migrate-baseline)"),
            Error::HistoryTableIncompatible { .. } => describe(CONFIG, "history/incompatible_table", None,
                "the table was created by something else; fix or rename it — nothing was written"),
            Error::Connect { kind, .. } => describe(CONNECT, "connect/failed", None, kind.hint()),
            Error::ReadOnly { .. } => describe(CONNECT, "connect/read_only", None,
                "point DATABASE_URL at the primary (not a follower), or wait for maintenance to end"),
            Error::ConnectionLost { context, .. } if context.contains("commit state unknown") => describe(CONNECT, "connect/lost", None,
                "run prisma-release status to learn whether that migration was applied, then deploy again"),
            Error::ConnectionLost { .. } => describe(CONNECT, "connect/lost", None,
                "run the command again; transactional migrations that did not commit left nothing behind"),
            Error::LockTimeout { .. } => describe(LOCK_TIMEOUT, "lock/timeout", Some("P1002"),
                "another deploy is running; wait for it, or raise --lock-timeout"),
            Error::FailedMigrationsInDatabase { names } => describe(FAILED_IN_DATABASE, "history/failed_migration", Some("P3009"), format!(
                "read the diagnosis above; when it says not_applied, run prisma-release deploy --resolve-failed safe; \
                 when it says complete is possible, prisma-release deploy --resolve-failed complete; \
                 otherwise fix the database and run prisma-release resolve --rolled-back \"{}\" (or --applied)",
                names.first().map(String::as_str).unwrap_or("<name>")
            )),
            Error::CompleteRefused { name, .. } => describe(FAILED_IN_DATABASE, "resolve/complete_refused", None, format!(
                "nothing was changed; run the next steps prisma-release diagnose lists for \"{name}\" \
                 (--resolve-failed safe when nothing of it was applied, else its reverts)"
            )),
            Error::MigrationFailed(failure) => describe(MIGRATION_FAILED, "migration/failed", Some("P3018"), failure.hint()),
            Error::LockWaitExhausted(exhausted) => describe(MIGRATION_FAILED, "migration/lock_timeout", Some("P3018"), exhausted.hint()),
            Error::DeadlineReached { .. } => describe(exit::DEADLINE, "deploy/deadline", None,
                "nothing is half-applied: deploy again (with a longer --deadline, or at a quieter time) to apply the migrations left"),
            Error::ResolveNeverApplied { .. } => describe(CONFIG, "resolve/never_applied", Some("P3011"),
                "pass the whole directory name, e.g. 20201207184859_initial_migration"),
            Error::ResolveNotFailed { .. } => describe(CONFIG, "resolve/not_failed", Some("P3012"),
                "only a failed migration can be rolled back; run prisma-release status"),
            Error::ResolveMigrationNotFound { .. } => describe(CONFIG, "resolve/migration_not_found", Some("P3017"),
                "make sure the migration directory exists and pass its whole name (example: \"20201207184859_initial_migration\")"),
            Error::ResolveAlreadyApplied { .. } => describe(CONFIG, "resolve/already_applied", Some("P3008"),
                "nothing to do; run prisma-release status"),
            Error::ResolveNothingToDelete { .. } => describe(CONFIG, "resolve/nothing_to_delete", None,
                "run prisma-release diagnose to see the failed rows"),
            Error::ResolveConflict { .. } => describe(CONFIG, "resolve/concurrent_change", None,
                "run prisma-release diagnose and decide again"),
            Error::ConfirmationRequired { .. } => describe(CONFIG, "resolve/confirmation_required", None,
                "pass --yes to confirm non-interactively"),
            Error::ConfirmationDeclined { .. } => describe(CONFIG, "resolve/confirmation_declined", None,
                "type the migration name exactly to confirm"),
            Error::Query { .. } => describe(INTERNAL, "internal/query", None,
                "this is a bug in prisma-release; please report it with the output of -v"),
            Error::Project(problem) => describe(CONFIG, problem.id(), None, problem.hint()),
        }
    }

    /// The stable process exit code of this error.
    pub fn exit_code(&self) -> u8 {
        self.descriptor().exit_code
    }

    /// The stable machine-readable id of this error (JSON `error.id`).
    pub fn id(&self) -> &'static str {
        self.descriptor().id
    }

    /// The Prisma error code a Prisma user (or a script grepping the log) expects here, if any.
    pub fn prisma_code(&self) -> Option<&'static str> {
        self.descriptor().prisma_code
    }

    /// What the user should do next, in one line.
    pub fn hint(&self) -> String {
        self.descriptor().hint.into_owned()
    }
}

/// What kind of connection failure: decided where the driver's error is still typed (never by
/// reading the message), it picks the hint and tells retry loops whether another attempt can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Refused, reset, unreachable, DNS "try again", or the server said "later" (starting up,
    /// shutting down, too many clients): a later attempt may work.
    Unavailable,
    /// No complete connection within `connect_timeout`: may work later too.
    TimedOut,
    /// Wrong user or password, or no password where the server wants one.
    Auth,
    /// The server only accepts TLS, and the URL turned TLS off.
    TlsRequired,
    /// The server's certificate is not trusted or not valid for the host.
    TlsCertificate,
    /// Another TLS failure (a handshake error, a server without TLS where TLS is required).
    Tls,
    /// What only a change of the URL or of the server fixes: unknown host, no such database, a role
    /// the server refuses.
    Config,
}

impl ConnectFailure {
    /// Whether another attempt may succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(self, ConnectFailure::Unavailable | ConnectFailure::TimedOut)
    }

    /// The next step.
    fn hint(self) -> &'static str {
        match self {
            ConnectFailure::TlsRequired => "the server requires TLS: remove sslmode=disable from the URL (and PGSSLMODE=disable from the environment)",
            ConnectFailure::TlsCertificate => "give the server's CA with sslrootcert=FILE, or use sslmode=require to encrypt without verifying (as Heroku Postgres needs)",
            ConnectFailure::Auth => "check the user and password in the URL (on Heroku: heroku pg:credentials:url)",
            ConnectFailure::TimedOut => "the server did not answer in time: check host and port, or raise connect_timeout / --connect-timeout",
            ConnectFailure::Tls => "check the URL's sslmode against what the server offers",
            ConnectFailure::Unavailable | ConnectFailure::Config => "check that the database is reachable at that host and port and that the URL is right",
        }
    }
}

impl Error {
    /// Whether retrying may help: the server was unreachable, busy, slow, or the connection dropped.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { kind, .. } => kind.is_transient(),
            Error::ConnectionLost { .. } => true,
            _ => false,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_error(kind: ConnectFailure) -> Error {
        Error::Connect {
            target: "database `d` at h:5432".into(),
            cause: "whatever the driver said".into(),
            kind,
        }
    }

    #[test]
    fn only_unavailable_timed_out_and_lost_connections_are_worth_a_retry() {
        use ConnectFailure::*;
        for kind in [Unavailable, TimedOut] {
            assert!(connect_error(kind).is_transient(), "{kind:?}");
        }
        for kind in [Auth, TlsRequired, TlsCertificate, Tls, Config] {
            assert!(!connect_error(kind).is_transient(), "{kind:?}");
        }
        let lost = Error::ConnectionLost {
            target: "t".into(),
            context: "reading".into(),
            cause: "closed".into(),
        };
        assert!(lost.is_transient());
        assert!(!Error::UrlMissing { var: "X".into() }.is_transient());
    }

    #[test]
    fn the_connect_hint_follows_the_kind_not_the_message() {
        let hint = |kind| connect_error(kind).hint();
        assert!(hint(ConnectFailure::Auth).contains("user and password"));
        assert!(hint(ConnectFailure::TlsRequired).contains("remove sslmode=disable"));
        assert!(hint(ConnectFailure::TlsCertificate).contains("sslrootcert=FILE"));
        assert!(hint(ConnectFailure::TimedOut).contains("--connect-timeout"));
        let d = connect_error(ConnectFailure::Config).descriptor();
        assert_eq!(
            (d.exit_code, d.id, d.prisma_code),
            (4, "connect/failed", None)
        );
    }
}
