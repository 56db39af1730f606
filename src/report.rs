//! Reports: what a command did, as data. These types *are* the JSON contract (`--format json`); the
//! human rendering in [`crate::output`] reads the same values. A failing run still yields a complete
//! report: what was done before the error, plus the error.

use crate::apply::Applied;
use crate::connect::Target;
use crate::diagnose::{Diagnosis, Verdict};
use crate::error::Error;
use crate::history::{HistoryRow, ResolveAs};
use crate::migrations::ScriptProblem;
use crate::outcome::{Execution, MigrationFailure};
use crate::plan::{Plan, Refusal, State};
use crate::timestamp::Timestamp;
use serde::Serialize;
use std::time::Duration;

/// Bumped only on incompatible changes of the JSON documents.
pub const SCHEMA_VERSION: u32 = 1;

/// The envelope every command prints; `B` holds the command's own fields.
#[derive(Debug, Serialize)]
pub struct Report<B> {
    pub schema_version: u32,
    pub command: CommandName,
    pub ok: bool,
    pub exit_code: u8,
    /// Host, port, database name and schema — never the user or the password.
    pub database: Option<Target>,
    pub migrations_dir: String,
    /// Where the config file, schema, migrations folder and URL came from (README "How prisma-release
    /// finds your project").
    pub project: Option<crate::project::ProjectReport>,
    pub migrations: Vec<MigrationReport>,
    pub warnings: Vec<Warning>,
    pub error: Option<ErrorReport>,
    #[serde(flatten)]
    pub body: B,
}

impl<B> Report<B> {
    pub fn new(command: CommandName, migrations_dir: &std::path::Path, body: B) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            ok: true,
            exit_code: 0,
            database: None,
            migrations_dir: migrations_dir.display().to_string(),
            project: None,
            migrations: Vec::new(),
            warnings: Vec::new(),
            error: None,
            body,
        }
    }

    /// Records the outcome: an error sets `error` and its exit code; otherwise `outcome_code`.
    pub fn finish(mut self, result: Result<u8, Error>) -> Self {
        match result {
            Ok(code) => self.exit_code = code,
            Err(error) => {
                self.exit_code = error.exit_code();
                self.error = Some(ErrorReport::from(error));
            }
        }
        self.ok = self.exit_code == 0;
        self
    }
}

/// The command a report belongs to (JSON `command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandName {
    Deploy,
    Status,
    Diagnose,
    Resolve,
}

/// One migration and its state.
#[derive(Debug, Serialize)]
pub struct MigrationReport {
    pub name: String,
    pub state: State,
    pub out_of_order: bool,
    /// Checksum of the local `migration.sql` (null when there is no readable local file).
    pub checksum: Option<String>,
    /// Checksum recorded in `_prisma_migrations` (null when there is no row).
    pub recorded_checksum: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl MigrationReport {
    pub fn from_plan(plan: &Plan) -> Vec<MigrationReport> {
        plan.entries
            .iter()
            .map(|e| MigrationReport {
                name: e.name.to_string(),
                state: e.state,
                out_of_order: e.out_of_order,
                checksum: e.local.and_then(|m| m.checksum()).map(str::to_string),
                recorded_checksum: e.row.map(|r| r.checksum.clone()),
                started_at: e.row.map(|r| r.started_at),
                finished_at: e.row.and_then(|r| r.finished_at),
            })
            .collect()
    }
}

/// A failed row that this run resolved (or, with `--dry-run`, would resolve).
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedRow {
    pub migration: String,
    pub id: String,
    pub verdict: Verdict,
    pub action: ResolveAs,
}

/// Something the user should know that does not stop the command.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub id: WarningId,
    pub migration: Option<String>,
    pub message: String,
}

/// The stable id of a [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WarningId {
    /// An applied migration's checksum no longer matches its local file.
    #[serde(rename = "migration/modified")]
    Modified,
    /// A migration recorded in the database has no local directory.
    #[serde(rename = "migration/missing_locally")]
    MissingLocally,
    /// A pending migration sorts before the newest applied one.
    #[serde(rename = "migration/out_of_order")]
    OutOfOrder,
    /// An applied migration's `migration.sql` cannot be read, so its checksum was not checked.
    #[serde(rename = "migration/unreadable")]
    Unreadable,
}

/// The error that stopped the command.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub id: &'static str,
    pub message: String,
    pub hint: String,
    /// The Prisma error code Prisma would print here (P1002, P3005, P3009, P3015, P3018, P3019).
    pub prisma_code: Option<&'static str>,
    /// Details of a migration that failed during this run (exit 11).
    pub failure: Option<MigrationFailure>,
}

impl From<Error> for ErrorReport {
    fn from(error: Error) -> Self {
        ErrorReport {
            id: error.id(),
            message: error.to_string(),
            hint: error.hint(),
            prisma_code: error.prisma_code(),
            failure: match error {
                Error::MigrationFailed(failure) => Some(*failure),
                Error::LockWaitExhausted(exhausted) => Some(exhausted.failure),
                _ => None,
            },
        }
    }
}

/// `deploy`'s own fields.
#[derive(Debug, Default, Serialize)]
pub struct DeployBody {
    pub dry_run: bool,
    /// Migrations applied by this run, in order.
    pub applied: Vec<Applied>,
    /// Failed rows this run resolved (`--resolve-failed`).
    pub resolved: Vec<ResolvedRow>,
    /// The diagnosis of every failed row found in the database (P3009).
    pub failed: Vec<Diagnosis>,
    /// What would be (or was going to be) applied, in order.
    pub plan: Vec<PlannedMigration>,
    /// Planned migrations this run did not apply because it stopped (error or deadline).
    pub left: Vec<String>,
    /// What the release monitor saw of each migration that waited or ran long.
    pub observations: Vec<crate::monitor::Observation>,
    /// Statements that rewrite or scan an existing table, with its size and the lock taken.
    pub preflight: Vec<crate::preflight::Finding>,
}

/// A pending migration and how it will run.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedMigration {
    pub name: String,
    pub execution: Execution,
    /// Why it is not a transaction, when it is not.
    pub reason: Option<String>,
    pub statements: usize,
    pub out_of_order: bool,
}

/// `status`'s own fields.
#[derive(Debug, Default, Serialize)]
pub struct StatusBody {
    pub has_migrations_table: bool,
    pub counts: Counts,
    /// The diagnosis of every failed row.
    pub failed: Vec<Diagnosis>,
}

/// `diagnose`'s own fields.
#[derive(Debug, Default, Serialize)]
pub struct DiagnoseBody {
    pub failed: Vec<Diagnosis>,
}

/// `resolve`'s own fields.
#[derive(Debug, Default, Serialize)]
pub struct ResolveBody {
    pub action: Option<ResolveAction>,
    pub migration: Option<String>,
    /// Ids of the rows changed, deleted or inserted.
    pub rows: Vec<String>,
}

/// What `resolve` did (JSON `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveAction {
    RolledBack,
    Applied,
    Deleted,
    Completed,
}

/// How many migrations are in each state.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub modified: usize,
    pub missing_locally: usize,
}

impl Counts {
    pub fn of(plan: &Plan) -> Counts {
        Counts {
            applied: plan.count(State::Applied),
            pending: plan.count(State::Pending),
            failed: plan.count(State::Failed),
            modified: plan.count(State::Modified),
            missing_locally: plan.count(State::MissingLocally),
        }
    }
}

/// The warnings of SPEC deploy step 6, derived from a plan.
pub fn plan_warnings(plan: &Plan) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for entry in &plan.entries {
        let (id, message) = match entry.state {
            State::Modified => (
                WarningId::Modified,
                format!("migration `{}` was modified after it was applied (its checksum no longer matches)", entry.name),
            ),
            State::Applied => match entry.local.map(|m| &m.script) {
                Some(Err(ScriptProblem::Unreadable(cause))) => (
                    WarningId::Unreadable,
                    format!("migration `{}`: migration.sql cannot be read ({cause}), so its checksum was not checked", entry.name),
                ),
                _ => continue,
            },
            State::MissingLocally => (
                WarningId::MissingLocally,
                format!("migration `{}` is recorded in the database but missing from the migrations folder", entry.name),
            ),
            State::Pending if entry.out_of_order => (
                WarningId::OutOfOrder,
                format!("migration `{}` sorts before the newest applied migration; it will be applied out of order", entry.name),
            ),
            _ => continue,
        };
        warnings.push(Warning {
            id,
            migration: Some(entry.name.to_string()),
            message,
        });
    }
    warnings
}

/// What the boot guard found in the database. Not a JSON document: the guard's output is text on
/// stderr (stdout belongs to the app), rendered by [`crate::output`]'s `guard_*` functions.
#[derive(Debug, Clone)]
pub struct GuardFindings {
    pub target: String,
    pub refusal: Option<Refusal>,
    /// Applied migrations, modified ones included.
    pub applied: usize,
    pub pending: Vec<String>,
    pub modified: Vec<String>,
    pub failed: Vec<HistoryRow>,
    /// What the app starts with anyway (modified, missing locally, out of order, pending allowed).
    pub warnings: Vec<String>,
}

impl GuardFindings {
    /// The findings for one plan, with the guard's tolerance for pending and modified migrations.
    pub fn of(plan: &Plan, target: String, tolerate_pending: bool, strict: bool) -> GuardFindings {
        let names = |state: State| -> Vec<String> {
            plan.entries
                .iter()
                .filter(|e| e.state == state)
                .map(|e| e.name.to_string())
                .collect()
        };
        let pending = names(State::Pending);
        let mut warnings: Vec<String> =
            plan_warnings(plan).into_iter().map(|w| w.message).collect();
        if tolerate_pending && !pending.is_empty() {
            warnings.push(format!(
                "{} migration(s) not yet applied, starting anyway (--allow-pending): {}",
                pending.len(),
                pending.join(", ")
            ));
        }
        GuardFindings {
            target,
            refusal: plan.refusal(tolerate_pending, strict),
            applied: plan.count(State::Applied) + plan.count(State::Modified),
            pending,
            modified: names(State::Modified),
            failed: plan.failed_rows.iter().map(|r| (*r).clone()).collect(),
            warnings,
        }
    }
}

/// The guard's final answer about the migrations.
#[derive(Debug)]
pub struct GuardOutcome {
    pub findings: GuardFindings,
    /// The diagnosis of every failed row, when there are some and it finished in time.
    pub diagnoses: Option<Vec<Diagnosis>>,
    /// How long `--wait` waited, when it did.
    pub waited: Option<Duration>,
}

/// How a guard run ends without an answer about the migrations.
#[derive(Debug)]
pub enum GuardStop {
    /// A final error: configuration, authentication, TLS, a query.
    Error(Error),
    /// A transient error that was still there when the budget ran out.
    GaveUp(Error),
    /// The budget ran out while a step was blocked (no answer from the server).
    TimedOut {
        target: String,
        connecting: bool,
        last_error: Option<String>,
    },
    /// The guard's own machinery failed (a bug).
    Internal(String),
}

impl GuardStop {
    pub fn exit_code(&self) -> u8 {
        match self {
            GuardStop::Error(error) | GuardStop::GaveUp(error) => error.exit_code(),
            GuardStop::TimedOut { .. } => crate::error::exit::CONNECT,
            GuardStop::Internal(_) => crate::error::exit::INTERNAL,
        }
    }
}
