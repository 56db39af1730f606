//! Finishing a half-applied migration (`deploy --resolve-failed complete`, `resolve --complete NAME`).
//!
//! When Prisma's driver adapter (or prisma-release itself) ran a migration statement by statement and
//! the failing statement is located exactly, everything before it committed and it and everything
//! after it never ran. If the catalog agrees — each recognisable earlier effect is present, no later
//! effect is already there, nothing was run in pieces — the way out is to run the rest: the remaining
//! statements, split by our own splitter (so a `$$` body stays whole), in one transaction together
//! with the history rows whenever they can run in one. The failed row is kept, marked rolled back (the
//! audit trail of the failed attempt, as `prisma migrate resolve` keeps it), and a finished row is
//! added the way a successful deploy writes it, so Prisma sees the migration applied.
//!
//! [`assess`] (pure) decides and says why not; [`run`] does it. Any doubt refuses, touching nothing.

use super::locate::Location;
use super::logs::{LogFormat, ParsedLog};
use super::{Diagnosis, Effect, LocalFile};
use crate::apply;
use crate::connect::Session;
use crate::error::{Error, Result};
use crate::history;
use crate::migrations::LocalMigration;
use crate::outcome::{self, Execution, MigrationFailure};
use crate::sql;
use serde::Serialize;

/// Whether `complete` can finish the migration.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Completion {
    pub possible: bool,
    /// The first statement (1-based) `complete` would run; every later one follows.
    pub from_statement: Option<usize>,
    /// The last statement of the file.
    pub to_statement: Option<usize>,
    /// Why it cannot, one reason each (empty when it can).
    pub refused_because: Vec<String>,
}

impl Completion {
    /// "statements 4–6" / "statement 6".
    pub fn remaining_text(&self) -> String {
        match (self.from_statement, self.to_statement) {
            (Some(from), Some(to)) if from < to => format!("statements {from}–{to}"),
            (Some(from), _) => format!("statement {from}"),
            _ => "none".into(),
        }
    }
}

/// Decides whether the migration can be completed (pure).
pub fn assess(
    parsed: &ParsedLog,
    local: &LocalFile,
    located: Option<&Location>,
    effects: &[Effect],
    location: Option<&std::result::Result<Location, String>>,
) -> Completion {
    let mut reasons = Vec::new();
    if let Some(why) = format_refusal(parsed.format) {
        reasons.push(why.to_string());
    }
    if !local.present {
        reasons.push("the local migration.sql is missing".into());
    } else if local.changed_since_failure == Some(true) {
        reasons.push(
            "the local migration.sql changed since the failure, so its statements are not the ones that ran"
                .into(),
        );
    }
    if reasons.is_empty() {
        match (located, location) {
            (Some(l), _) => reasons.extend(location_refusals(l, effects)),
            (None, Some(Err(why))) => {
                reasons.push(format!("the failing statement is not located: {why}"))
            }
            (None, _) => reasons.push("the failing statement is not located".into()),
        }
    }
    let from = located.map(|l| l.failing.statement.index);
    Completion {
        possible: reasons.is_empty(),
        from_statement: from.filter(|_| reasons.is_empty()),
        to_statement: (!effects.is_empty() && reasons.is_empty()).then_some(effects.len()),
        refused_because: reasons,
    }
}

fn format_refusal(format: LogFormat) -> Option<&'static str> {
    match format {
        LogFormat::DriverAdapter | LogFormat::PrismaRelease => None,
        LogFormat::NativeEngine => Some(
            "Prisma's native engine ran the file as one transaction, so none of it committed: there is \
             nothing to finish (when the verdict is not_applied, use --resolve-failed safe)",
        ),
        LogFormat::Empty => Some(
            "the logs are empty: the process died mid-migration and nothing says where it stopped",
        ),
        LogFormat::Unrecognized => Some("the logs are in a format this tool does not recognise"),
    }
}

/// The location must be exact and the catalog must agree with it, statement by statement.
fn location_refusals(location: &Location, effects: &[Effect]) -> Vec<String> {
    let k = location.failing.statement.index;
    let mut reasons = Vec::new();
    if !location.sequential {
        reasons.push("the migration did not run statement by statement".into());
    }
    if !location.failing.exact {
        reasons.push(format!(
            "the failing statement is not located exactly: the logged error fits statement {k} and others"
        ));
    }
    if location.ran_partly {
        reasons.push(format!(
            "Prisma's splitter cut statement {k} and ran its first piece(s) before the failing one: what they did is unknown"
        ));
    }
    for index in &location.cut_before {
        reasons.push(format!(
            "Prisma's splitter cut statement {index} and ran it piece by piece: what that did is unknown"
        ));
    }
    for e in effects {
        if e.invalid {
            reasons.push(format!("statement {} left an INVALID index", e.index));
        }
        let matters = !e.idempotent && !e.kind.has_no_effect();
        let before = e.index < k;
        if matters && before && e.present == Some(false) {
            reasons.push(format!(
                "statement {} ({}) committed before the failure, but its effect is not in the database{}",
                e.index,
                e.kind.as_str(),
                e.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
            ));
        }
        if matters && !before && e.present == Some(true) {
            reasons.push(format!(
                "statement {} ({}) never ran, yet its effect is already in the database (made by hand?)",
                e.index,
                e.kind.as_str()
            ));
        }
    }
    reasons
}

/// What `complete` did.
#[derive(Debug, Clone, Serialize)]
pub struct Completed {
    /// The new finished row.
    pub row: String,
    pub execution: Execution,
    /// Statements run (the failing one and those after it).
    pub statements: usize,
    /// The first statement run (1-based); the last is the file's last.
    pub from: usize,
}

/// Runs the remaining statements and records the migration applied, keeping the failed row marked
/// rolled back. Refuses (exit 10, nothing touched) unless the diagnosis says it is possible.
pub fn run(session: &mut Session, d: &Diagnosis, local: &LocalMigration) -> Result<Completed> {
    let from = match (d.complete.possible, d.complete.from_statement) {
        (true, Some(from)) => from,
        _ => {
            return Err(Error::CompleteRefused {
                name: d.migration.clone(),
                reasons: d.complete.refused_because.clone(),
            })
        }
    };
    let script = local.sql_for_apply()?;
    let checksum = local.checksum().unwrap_or(&d.checksum).to_string();
    let statements = sql::statements(script);
    let remaining = Remaining {
        script,
        statements: &statements,
        from: from - 1,
        execution: execution_for(script, &statements[from - 1..]),
    };
    remaining.apply(session, d)?;
    let open = remaining.execution == Execution::Transaction;
    let row = record_and_commit(session, d, &checksum, (from, statements.len()), open)?;
    Ok(Completed {
        row,
        execution: remaining.execution,
        statements: statements.len() - remaining.from,
        from,
    })
}

/// Writes the rows ([`record`]) and commits: in the transaction the statements ran in when `open`,
/// else in a new one. The pair is (first statement run, last statement).
fn record_and_commit(
    session: &mut Session,
    d: &Diagnosis,
    checksum: &str,
    (from, total): (usize, usize),
    open: bool,
) -> Result<String> {
    if !open {
        simple(session, "BEGIN", "recording the completion")?;
    }
    match record(session, d, checksum, from, total) {
        Ok(row) => {
            simple(session, "COMMIT", "committing the completion")?;
            Ok(row)
        }
        Err(e) => {
            let _ = session.client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

/// A statement-by-statement completion stopped partway: the statements before the failing one are
/// committed now, so the failed row's logs must say so, or the next diagnosis would read Prisma's old
/// log, take what `complete` committed for changes made by hand and refuse for the wrong reason. The
/// new logs are prisma-release's own (the failing statement and the count committed, so `diagnose`
/// locates it exactly and `complete` can run again once the cause is fixed), followed by a note on
/// the earlier attempt. Written only while the row is still failed; best effort, like a failed deploy.
fn record_partial_completion(
    session: &mut Session,
    d: &Diagnosis,
    from: usize,
    failure: &MigrationFailure,
) {
    let earlier = match &d.error.message {
        Some(message) => format!(", where the logged error was: {}", first_line(message)),
        None => String::new(),
    };
    let logs = format!(
        "{}\nprisma-release: this was a completion (`--resolve-failed complete`) running statements \
         {from}–{} after an earlier failed attempt that had stopped at statement {from}{earlier}.\n",
        failure.logs(),
        failure.statements_total,
    );
    let _ = history::record_failed_logs(session, &d.id, &logs);
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The statements `complete` runs: from `from` (0-based) to the end of `script`.
struct Remaining<'a> {
    script: &'a str,
    statements: &'a [sql::Statement],
    from: usize,
    execution: Execution,
}

impl Remaining<'_> {
    /// Runs the remaining statements: in one transaction left open for the rows, or one by one. On
    /// an error the transaction is rolled back, or (one by one) the failed row's logs say how far
    /// it got; the error is that of a failed deploy (exit 11).
    fn apply(&self, session: &mut Session, d: &Diagnosis) -> Result<()> {
        let transaction = self.execution == Execution::Transaction;
        if transaction {
            simple(session, "BEGIN", "starting the completion")?;
        }
        let Err((index, error)) = self.execute(session) else {
            return Ok(());
        };
        let failure = self.failure(&d.migration, index, &error);
        if transaction {
            let _ = session.client.batch_execute("ROLLBACK");
        } else {
            record_partial_completion(session, d, self.from + 1, &failure);
        }
        Err(Error::MigrationFailed(Box::new(failure)))
    }

    /// Runs each remaining statement; the first error stops, with its statement's index.
    fn execute(&self, session: &mut Session) -> std::result::Result<(), (usize, postgres::Error)> {
        for (index, statement) in self.statements.iter().enumerate().skip(self.from) {
            session
                .client
                .batch_execute(statement.text(self.script))
                .map_err(|e| (index, e))?;
        }
        Ok(())
    }

    /// A failed statement, in the shape of a failed deploy.
    fn failure(&self, migration: &str, index: usize, error: &postgres::Error) -> MigrationFailure {
        let statement = &self.statements[index];
        let db = error.as_db_error();
        let transaction = self.execution == Execution::Transaction;
        MigrationFailure {
            migration: migration.to_string(),
            execution: self.execution,
            sqlstate: db.map(|e| e.code().code().to_string()),
            message: db.map_or_else(|| error.to_string(), |e| e.message().to_string()),
            detail: db.and_then(|e| e.detail().map(str::to_string)),
            hint: db.and_then(|e| e.hint().map(str::to_string)),
            position: None,
            statement: Some(outcome::FailingStatement {
                index: index + 1,
                line: statement.line,
                text: statement.text(self.script).to_string(),
            }),
            statements_total: self.statements.len(),
            statements_committed: if transaction { self.from } else { index },
            rolled_back: transaction,
            invalid_index: None,
        }
    }
}

/// One transaction unless the file opts out or a remaining statement cannot run in one.
fn execution_for(script: &str, remaining: &[sql::Statement]) -> Execution {
    let opted_out =
        script.lines().next().map(str::trim_end) == Some(apply::NO_TRANSACTION_DIRECTIVE);
    let blocked = remaining
        .iter()
        .any(|s| sql::transaction_blocker(s.text(script)).is_some());
    if opted_out || blocked {
        Execution::StatementByStatement
    } else {
        Execution::Transaction
    }
}

/// Marks the failed row rolled back (compare-and-set) and adds the finished row.
fn record(
    session: &mut Session,
    d: &Diagnosis,
    checksum: &str,
    from: usize,
    total: usize,
) -> Result<String> {
    if !history::mark_rolled_back(session, &d.id)? {
        return Err(Error::ResolveConflict {
            name: d.migration.clone(),
            id: d.id.clone(),
        });
    }
    let committed = match from {
        1 => "none of its statements had committed".to_string(),
        2 => "statement 1 had committed".to_string(),
        _ => format!("statements 1–{} had committed", from - 1),
    };
    let note = format!(
        "prisma-release: completed after the failed attempt {} ({committed}; prisma-release ran \
         statements {from}–{total} of {total})",
        d.id
    );
    history::insert_completed(session, &d.migration, checksum, &note)
}

fn simple(session: &mut Session, sql: &str, context: &str) -> Result<()> {
    session
        .client
        .batch_execute(sql)
        .map_err(|e| session.query_error(context, e))
}

impl Completed {
    /// The progress line.
    pub fn summary(&self, migration: &str) -> String {
        let how = match self.execution {
            Execution::Transaction => "in one transaction with its history rows",
            Execution::StatementByStatement => "statement by statement",
        };
        let ran = match self.statements {
            1 => format!("statement {}, which had never run,", self.from),
            n => format!(
                "statements {}–{}, which had never run,",
                self.from,
                self.from + n - 1
            ),
        };
        format!(
            "Completed failed migration `{migration}`: ran {ran} {how}; the failed row is kept, marked rolled back"
        )
    }
}

/// `--resolve-failed complete` goes ahead only when every failed row can be completed.
pub fn check_all(diagnoses: &[Diagnosis]) -> Result<()> {
    match diagnoses.iter().find(|d| !d.complete.possible) {
        Some(d) => Err(Error::CompleteRefused {
            name: d.migration.clone(),
            reasons: d.complete.refused_because.clone(),
        }),
        None => Ok(()),
    }
}

/// Completes the failed row `id`, diagnosed in `diagnoses`, from its local directory in `local`.
pub fn finish(
    session: &mut Session,
    diagnoses: &[Diagnosis],
    id: &str,
    local: &[LocalMigration],
) -> Result<Completed> {
    let d = diagnoses
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| Error::Query {
            context: "completing".into(),
            cause: format!("no diagnosis for the failed row {id}"),
        })?;
    let migration = local
        .iter()
        .find(|m| m.name == d.migration)
        .ok_or_else(|| Error::CompleteRefused {
            name: d.migration.clone(),
            reasons: vec!["the local migration directory is missing".into()],
        })?;
    run(session, d, migration)
}
