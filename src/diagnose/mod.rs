//! The diagnosis of a failed row (SPEC "Diagnosis"): what failed, with which error, whether the local
//! file changed since, which statement failed, which statements left effects in the database (the
//! catalog probe), a verdict, and the exact commands that fix it.
//!
//! This replaces the blind `DELETE FROM _prisma_migrations` people do today with evidence: only a
//! `not_applied` verdict is safe to mark rolled back and retry automatically, and only an exactly
//! located failure of a statement-by-statement run can be finished ([`complete`]).
//!
//! Parts: [`logs`] (who wrote the log, the error in it), [`adapter`] (Prisma's driver adapter's
//! `split(";")`), [`locate`] (the failing statement and what committed before it), [`classify`] (pure:
//! what each statement does) and [`probe`] (catalog I/O: is it there), `verdict`, `remedy` (next
//! steps), [`complete`].

pub mod adapter;
pub mod classify;
pub mod complete;
pub mod locate;
pub mod logs;
pub mod probe;
mod remedy;
pub mod sqlstate;
mod verdict;

use crate::connect::Session;
use crate::error::Result;
use crate::history::HistoryRow;
use crate::migrations::LocalMigration;
use crate::outcome;
use crate::sql;
use crate::timestamp::Timestamp;
use adapter::CutReason;
use classify::EffectKind;
use complete::Completion;
use locate::Location;
use logs::{LogFormat, LoggedError};
use serde::Serialize;

pub use verdict::verdict;

/// How much of a failed migration is in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No effect present: safe to mark rolled back and retry.
    NotApplied,
    /// Effects of some statements present, others absent: revert them, or complete the migration.
    PartiallyApplied,
    /// Every effect present (e.g. a hotfix applied by hand): mark it applied.
    FullyApplied,
    /// The probe cannot tell.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotApplied => "not_applied",
            Verdict::PartiallyApplied => "partially_applied",
            Verdict::FullyApplied => "fully_applied",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The local `migration.sql` compared with the failed row.
#[derive(Debug, Clone, Serialize)]
pub struct LocalFile {
    pub present: bool,
    pub checksum: Option<String>,
    /// The file differs from the one that failed (the checksum recorded when it started).
    pub changed_since_failure: Option<bool>,
}

/// How the failing statement was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocatedBy {
    /// prisma-release's own log names it.
    LoggedStatement,
    /// The native engine's character position.
    Position,
    /// The native engine's red line in its `Position:` excerpt.
    PositionExcerpt,
    /// The first statement naming the object the error names.
    ObjectInMessage,
    /// The fragment Prisma's driver adapter sent, quoted (or named) in its log.
    AdapterFragment,
}

/// The fragment Prisma's adapter sent when it failed (its `split(";")`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailedFragment {
    /// 1-based, among the fragments sent.
    pub number: usize,
    /// How many fragments the adapter makes of the file.
    pub of: usize,
    pub text: String,
}

/// The statement that failed: where ([`outcome::FailingStatement`], the same data a failed deploy
/// reports) and how we know.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailingStatement {
    #[serde(flatten)]
    pub statement: outcome::FailingStatement,
    pub located_by: LocatedBy,
    /// The evidence allows no other statement (`complete` and `safe` rely only on exact locations).
    pub exact: bool,
    /// For Prisma's driver adapter: the fragment it sent.
    pub fragment: Option<FailedFragment>,
    /// Why the adapter's splitter cut this statement, when it did.
    pub cut: Option<CutReason>,
}

/// One statement's effect.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Effect {
    pub index: usize,
    pub line: usize,
    pub kind: EffectKind,
    pub object: Option<String>,
    /// `true` present, `false` absent, `null` unknown.
    pub present: Option<bool>,
    pub note: Option<String>,
    /// Harmless to run again (`IF NOT EXISTS`, `OR REPLACE`, `IF EXISTS`): never damage.
    pub idempotent: bool,
    /// From the located failure: `true` committed before it, `false` never ran, `null` unknown.
    pub ran: Option<bool>,
    /// Present but broken (an INVALID index).
    #[serde(skip)]
    pub invalid: bool,
    /// SQL that undoes it.
    #[serde(skip)]
    pub revert: Option<String>,
}

impl Effect {
    /// Something of this statement may be in the database and matters: not idempotent, not a read, and
    /// it ran (or may have run and its effect is not provably absent).
    pub fn is_damage(&self) -> bool {
        if self.idempotent || self.kind.has_no_effect() {
            return false;
        }
        match self.ran {
            Some(ran) => ran,
            None => self.present != Some(false),
        }
    }
}

/// Who runs a next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Tool {
    #[serde(rename = "prisma-release")]
    PrismaRelease,
    #[serde(rename = "prisma")]
    Prisma,
    #[serde(rename = "sql")]
    Sql,
}

/// A command that moves the user forward.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NextStep {
    pub tool: Tool,
    pub command: String,
    pub why: String,
}

/// The diagnosis of one failed row.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub migration: String,
    pub id: String,
    pub started_at: Timestamp,
    pub checksum: String,
    pub logs: Option<String>,
    pub log_format: LogFormat,
    pub error: LoggedError,
    pub local_file: LocalFile,
    /// Statements in the local file (0 when it is missing).
    pub statements: usize,
    pub failing_statement: Option<FailingStatement>,
    /// Why `failing_statement` is null, in words.
    pub not_located_because: Option<String>,
    pub effects: Vec<Effect>,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in words.
    pub explanation: String,
    /// Whether `--resolve-failed complete` can finish this migration, and why not.
    pub complete: Completion,
    /// The way forward, in order.
    pub next_steps: Vec<NextStep>,
    /// Undoing what the migration left instead (when something must be undone), in order.
    pub revert_steps: Vec<NextStep>,
}

/// Diagnoses every failed row, each against its local directory when there is one.
pub fn diagnose_all(
    session: &mut Session,
    failed: &[&HistoryRow],
    local: &[LocalMigration],
) -> Result<Vec<Diagnosis>> {
    failed
        .iter()
        .map(|row| {
            let dir = local.iter().find(|m| m.name == row.migration_name);
            diagnose(session, row, dir)
        })
        .collect()
}

/// Diagnoses one failed row. `local` is the migration directory of that name, if it exists.
pub fn diagnose(
    session: &mut Session,
    row: &HistoryRow,
    local: Option<&LocalMigration>,
) -> Result<Diagnosis> {
    let parsed = logs::parse(row.logs.as_deref());
    let local_file = local_file(row, local);
    let script = local
        .and_then(|m| m.script.as_ref().ok())
        .and_then(|s| s.sql().ok());
    let statements = script.map(sql::statements).unwrap_or_default();
    let unchanged = local_file.changed_since_failure == Some(false);
    let location = script.map(|s| locate::locate(s, &statements, &parsed, unchanged));
    let located = location.as_ref().and_then(|l| l.as_ref().ok());
    let effects = match script {
        Some(s) => probe_effects(session, s, &statements, located)?,
        None => Vec::new(),
    };
    let verdict = verdict(&effects, located);
    let explanation = verdict::explain(&parsed, &local_file, &effects, verdict, located);
    let complete = complete::assess(&parsed, &local_file, located, &effects, location.as_ref());
    let steps = remedy::steps(&row.migration_name, verdict, &effects, &complete);
    Ok(Diagnosis {
        migration: row.migration_name.clone(),
        id: row.id.clone(),
        started_at: row.started_at,
        checksum: row.checksum.clone(),
        logs: row.logs.clone(),
        log_format: parsed.format,
        error: parsed.error,
        local_file,
        statements: statements.len(),
        failing_statement: located.map(|l| l.failing.clone()),
        not_located_because: match &location {
            Some(Err(why)) => Some(why.clone()),
            None => Some("the local migration.sql is missing".into()),
            Some(Ok(_)) => None,
        },
        effects,
        verdict,
        explanation,
        complete,
        next_steps: steps.next,
        revert_steps: steps.revert,
    })
}

fn local_file(row: &HistoryRow, local: Option<&LocalMigration>) -> LocalFile {
    match local.map(|m| m.script.as_ref()) {
        Some(Ok(script)) => LocalFile {
            present: true,
            checksum: Some(script.checksum.clone()),
            changed_since_failure: Some(!script.matches(&row.checksum)),
        },
        _ => LocalFile {
            present: false,
            checksum: None,
            changed_since_failure: None,
        },
    }
}

/// Classifies and probes every statement, then reads the results in the light of the location and of
/// each other (a DROP whose object a later statement re-created is done, not undone).
fn probe_effects(
    session: &mut Session,
    script: &str,
    statements: &[sql::Statement],
    location: Option<&Location>,
) -> Result<Vec<Effect>> {
    let mut effects = Vec::with_capacity(statements.len());
    let mut identities = Vec::with_capacity(statements.len());
    for (i, statement) in statements.iter().enumerate() {
        let classified = classify::classify(statement.text(script));
        let observed = match &classified.check {
            Some(check) => Some(probe::evaluate(session, check)?),
            None => None,
        };
        identities.push(
            classified
                .check
                .as_ref()
                .map(|c| (c.identity(), c.is_removal())),
        );
        effects.push(Effect {
            index: i + 1,
            line: statement.line,
            kind: classified.kind,
            object: classified.object,
            present: observed.as_ref().map(|o| o.present),
            note: observed.as_ref().and_then(|o| o.note.clone()),
            idempotent: classified.idempotent,
            ran: location.and_then(|l| l.ran(i)),
            invalid: observed.is_some_and(|o| o.invalid),
            revert: classified.revert,
        });
    }
    mark_recreated_drops(&mut effects, &identities);
    Ok(effects)
}

/// `DROP CONSTRAINT "X"` followed by `ADD CONSTRAINT "X" …`: once the re-added one is present (with
/// its new definition), the drop is done although an object of that name exists.
fn mark_recreated_drops(effects: &mut [Effect], identities: &[Option<(Option<String>, bool)>]) {
    for i in 0..effects.len() {
        let Some((Some(object), true)) = &identities[i] else {
            continue;
        };
        let recreated = (i + 1..effects.len()).find(|&j| {
            matches!(&identities[j], Some((Some(o), false)) if o == object)
                && effects[j].present == Some(true)
        });
        if let Some(j) = recreated {
            effects[i].present = Some(true);
            effects[i].note = Some(format!("re-created by statement {}", j + 1));
        }
    }
}
