//! The diagnosis of a failed row (SPEC "Diagnosis"): what failed, with which error, whether the local
//! file changed since, which statement failed, which statements left effects in the database (the
//! catalog probe), a verdict, and the exact commands that fix it.
//!
//! This replaces the blind `DELETE FROM _prisma_migrations` people do today with evidence: only a
//! `not_applied` verdict is safe to mark rolled back and retry automatically.

pub mod logs;
pub mod probe;
pub mod sqlstate;

use crate::connect::Session;
use crate::error::Result;
use crate::history::HistoryRow;
use crate::migrations::LocalMigration;
use crate::sql;
use logs::{LogFormat, LoggedError};
use serde::Serialize;

/// How much of a failed migration is in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No effect present: safe to mark rolled back and retry.
    NotApplied,
    /// Effects of some statements present, others absent: a person must revert or complete them.
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

/// The statement that failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailingStatement {
    pub index: usize,
    pub line: usize,
    pub text: String,
    /// How it was located: `logged_statement`, `position`, `position_excerpt` or `object_in_message`.
    pub located_by: &'static str,
}

/// One statement's effect.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Effect {
    pub index: usize,
    pub line: usize,
    /// `create_table`, `add_column`, `create_index`, … or `other`.
    pub kind: &'static str,
    pub object: Option<String>,
    /// `true` present, `false` absent, `null` unknown.
    pub present: Option<bool>,
    pub note: Option<String>,
}

/// A command that moves the user forward.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NextStep {
    /// `prisma-release`, `prisma` or `sql`.
    pub tool: &'static str,
    pub command: String,
    pub why: String,
}

/// The diagnosis of one failed row.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub migration: String,
    pub id: String,
    pub started_at: String,
    pub checksum: String,
    pub logs: Option<String>,
    pub log_format: LogFormat,
    pub error: LoggedError,
    pub local_file: LocalFile,
    /// Statements in the local file (0 when it is missing).
    pub statements: usize,
    pub failing_statement: Option<FailingStatement>,
    pub effects: Vec<Effect>,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in words.
    pub explanation: String,
    pub next_steps: Vec<NextStep>,
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
    let failing = script.and_then(|s| locate_failing(s, &statements, &parsed, unchanged));
    let effects = match script {
        Some(s) => probe_effects(session, s, &statements)?,
        None => Vec::new(),
    };
    let verdict = verdict(&effects);
    let explanation = explain(&parsed, &local_file, &effects, verdict);
    let next_steps = next_steps(&row.migration_name, verdict, &effects);
    Ok(Diagnosis {
        migration: row.migration_name.clone(),
        id: row.id.clone(),
        started_at: row.started_at.clone(),
        checksum: row.checksum.clone(),
        logs: row.logs.clone(),
        log_format: parsed.format,
        error: parsed.error,
        local_file,
        statements: statements.len(),
        failing_statement: failing,
        effects,
        verdict,
        explanation,
        next_steps,
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

/// Position in the log, else the object named in the message, else nothing. Positions and line
/// numbers only mean something when the file is the one that failed.
fn locate_failing(
    script: &str,
    statements: &[sql::Statement],
    parsed: &logs::ParsedLog,
    unchanged: bool,
) -> Option<FailingStatement> {
    let found = |index: usize, located_by| {
        statements.get(index).map(|s| FailingStatement {
            index: index + 1,
            line: s.line,
            text: s.text(script).to_string(),
            located_by,
        })
    };
    if unchanged {
        if let Some(k) = parsed.failing_statement.filter(|k| *k >= 1) {
            return found(k - 1, "logged_statement");
        }
        if let Some(i) = parsed
            .error
            .position
            .and_then(|p| statement_at_char(script, statements, p))
        {
            return found(i, "position");
        }
        if let Some(line) = parsed.failing_line {
            if let Some(i) = statements.iter().rposition(|s| s.line <= line) {
                return found(i, "position_excerpt");
            }
        }
    }
    let object = parsed.error.message.as_deref().and_then(first_quoted)?;
    let quoted = format!("\"{object}\"");
    let i = statements.iter().position(|s| {
        let text = s.text(script);
        text.contains(&quoted)
            || text
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == object)
    })?;
    found(i, "object_in_message")
}

/// The statement containing 1-based character `position` of the script.
fn statement_at_char(
    script: &str,
    statements: &[sql::Statement],
    position: usize,
) -> Option<usize> {
    let byte = script
        .char_indices()
        .nth(position.checked_sub(1)?)
        .map(|(b, _)| b)?;
    statements.iter().position(|s| s.span.contains(&byte))
}

/// The first `"quoted"` name in an error message (`relation "User" already exists` → `User`).
fn first_quoted(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let end = start + message[start..].find('"')?;
    Some(&message[start..end])
}

fn probe_effects(
    session: &mut Session,
    script: &str,
    statements: &[sql::Statement],
) -> Result<Vec<Effect>> {
    let mut effects = Vec::with_capacity(statements.len());
    for (i, statement) in statements.iter().enumerate() {
        let classified = probe::classify(statement.text(script));
        let (kind, object, check) = match classified {
            Some(c) => (c.kind, c.object, c.check),
            None => ("other", None, None),
        };
        let observed = match &check {
            Some(check) => Some(probe::evaluate(session, check)?),
            None => None,
        };
        effects.push(Effect {
            index: i + 1,
            line: statement.line,
            kind,
            object,
            present: observed.as_ref().map(|o| o.present),
            note: observed.and_then(|o| o.note),
        });
    }
    Ok(effects)
}

/// The verdict from the probed effects (pure):
/// - a present effect with a note (an INVALID index) → `partially_applied`;
/// - some present and some absent → `partially_applied` (certain, whatever the unknowns);
/// - all known present → `fully_applied` if nothing is unknown, else `unknown`;
/// - none present → `not_applied` if no unknown statement comes before the first absent one
///   (statements run in order, so nothing after an absent effect ran), else `unknown`;
/// - nothing known (no file, or only unrecognised statements) → `unknown`.
pub fn verdict(effects: &[Effect]) -> Verdict {
    // A present-but-broken effect (an INVALID index) blocks both a retry and "applied".
    if effects
        .iter()
        .any(|e| e.present == Some(true) && e.note.is_some())
    {
        return Verdict::PartiallyApplied;
    }
    let present = effects.iter().filter(|e| e.present == Some(true)).count();
    let first_absent = effects.iter().position(|e| e.present == Some(false));
    let first_unknown = effects.iter().position(|e| e.present.is_none());
    match (present, first_absent, first_unknown) {
        (p, Some(_), _) if p > 0 => Verdict::PartiallyApplied,
        (p, None, None) if p > 0 => Verdict::FullyApplied,
        (p, None, Some(_)) if p > 0 => Verdict::Unknown,
        (_, Some(absent), Some(unknown)) if unknown < absent => Verdict::Unknown,
        (_, Some(_), _) => Verdict::NotApplied,
        _ => Verdict::Unknown,
    }
}

fn explain(
    parsed: &logs::ParsedLog,
    local: &LocalFile,
    effects: &[Effect],
    verdict: Verdict,
) -> String {
    let mut parts = Vec::new();
    parts.push(match parsed.format {
        LogFormat::Empty => "The logs are empty: the migrating process died (or was killed) mid-migration, before it could record an error.".to_string(),
        LogFormat::NativeEngine => "Prisma's native engine recorded the failure (it runs a file as one implicit transaction, unless the file has its own transaction control).".to_string(),
        LogFormat::DriverAdapter => "Prisma recorded the failure through a driver adapter (statement by statement: earlier statements may have been committed).".to_string(),
        LogFormat::PrismaRelease => match parsed.statements_committed {
            Some(k) => format!("prisma-release ran this migration statement by statement; {k} statement(s) were committed before the failure."),
            None => "prisma-release ran this migration statement by statement.".to_string(),
        },
        LogFormat::Unrecognized => "The logs are in a format this tool does not recognise; see the raw text.".to_string(),
    });
    if !local.present {
        parts.push("The migration's local migration.sql is missing, so its statements cannot be probed; only the log is evidence.".into());
    } else if local.changed_since_failure == Some(true) {
        parts.push("The local migration.sql was edited since the failure; the probe checks the current file.".into());
    }
    let present: Vec<String> = effects
        .iter()
        .filter(|e| e.present == Some(true))
        .map(|e| format!("{} {}", e.kind, e.object.as_deref().unwrap_or("?")))
        .collect();
    parts.push(match verdict {
        Verdict::NotApplied => "No effect of the migration is in the database: it is safe to mark it rolled back and apply it again.".into(),
        Verdict::PartiallyApplied => format!("Some statements left effects in the database ({}): revert them or complete the migration by hand before resolving.", present.join(", ")),
        Verdict::FullyApplied => "Every effect of the migration is in the database (applied by hand?): mark it applied.".into(),
        Verdict::Unknown => "The probe cannot tell what the migration left behind (statements it does not understand, or no local file): inspect the database before resolving.".into(),
    });
    if let Some(note) = effects.iter().find_map(|e| e.note.as_ref()) {
        parts.push(note.clone());
    }
    parts.join(" ")
}

fn next_steps(name: &str, verdict: Verdict, effects: &[Effect]) -> Vec<NextStep> {
    let step = |tool, command: String, why: &str| NextStep {
        tool,
        command,
        why: why.to_string(),
    };
    let rolled_back = [
        step(
            "prisma-release",
            format!("prisma-release resolve --rolled-back \"{name}\""),
            "mark it rolled back; the next deploy applies it again",
        ),
        step(
            "prisma",
            format!("npx prisma migrate resolve --rolled-back \"{name}\""),
            "the same with the Prisma CLI",
        ),
    ];
    let applied = [
        step(
            "prisma-release",
            format!("prisma-release resolve --applied \"{name}\""),
            "record it as applied without running it",
        ),
        step(
            "prisma",
            format!("npx prisma migrate resolve --applied \"{name}\""),
            "the same with the Prisma CLI",
        ),
    ];
    let mut steps = Vec::new();
    for effect in effects.iter().filter(|e| e.note.is_some()) {
        if let Some(object) = &effect.object {
            steps.push(step(
                "sql",
                format!("DROP INDEX CONCURRENTLY IF EXISTS {object};"),
                "remove the invalid index a failed CREATE INDEX CONCURRENTLY left",
            ));
        }
    }
    match verdict {
        Verdict::NotApplied => {
            steps.push(step(
                "prisma-release",
                "prisma-release deploy --resolve-failed safe".into(),
                "resolve it (nothing was applied) and deploy again",
            ));
            steps.extend(rolled_back);
        }
        Verdict::FullyApplied => steps.extend(applied),
        Verdict::PartiallyApplied | Verdict::Unknown => {
            // Newest first: dropping a table first would already have dropped its indexes.
            steps.extend(effects.iter().rev().filter_map(|e| {
                revert_sql(e).map(|sql| {
                    step(
                        "sql",
                        sql,
                        &format!(
                            "reverts statement {} (line {}) — review before running",
                            e.index, e.line
                        ),
                    )
                })
            }));
            steps.extend(rolled_back.into_iter().map(|mut s| {
                s.why = format!("after reverting what it applied by hand: {}", s.why);
                s
            }));
            steps.extend(applied.into_iter().map(|mut s| {
                s.why = format!(
                    "after completing the remaining statements by hand: {}",
                    s.why
                );
                s
            }));
        }
    }
    steps
}

/// The SQL that undoes a present effect, for the kinds where the object alone says what to drop.
fn revert_sql(effect: &Effect) -> Option<String> {
    if effect.present != Some(true) || effect.note.is_some() {
        return None;
    }
    let object = effect.object.as_deref()?;
    match effect.kind {
        "create_table" => Some(format!("DROP TABLE {object};")),
        "create_index" | "create_unique_index" => Some(format!("DROP INDEX {object};")),
        "create_enum" => Some(format!("DROP TYPE {object};")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects(states: &[Option<bool>]) -> Vec<Effect> {
        states
            .iter()
            .enumerate()
            .map(|(i, present)| Effect {
                index: i + 1,
                line: i + 1,
                kind: "other",
                object: None,
                present: *present,
                note: None,
            })
            .collect()
    }

    #[test]
    fn verdicts() {
        use Verdict::*;
        assert_eq!(verdict(&effects(&[Some(false), Some(false)])), NotApplied);
        assert_eq!(
            verdict(&effects(&[Some(false), None, Some(false)])),
            NotApplied,
            "unknowns after an absent effect never ran"
        );
        assert_eq!(
            verdict(&effects(&[None, Some(false)])),
            Unknown,
            "an unknown before the first absent effect may have run"
        );
        assert_eq!(
            verdict(&effects(&[Some(true), Some(false)])),
            PartiallyApplied
        );
        assert_eq!(
            verdict(&effects(&[Some(true), None, Some(false)])),
            PartiallyApplied
        );
        assert_eq!(verdict(&effects(&[Some(true), Some(true)])), FullyApplied);
        assert_eq!(verdict(&effects(&[Some(true), None])), Unknown);
        assert_eq!(verdict(&effects(&[None])), Unknown);
        assert_eq!(verdict(&[]), Unknown, "no file, no evidence");
        let mut broken = effects(&[Some(true)]);
        broken[0].note = Some("INVALID index".into());
        assert_eq!(
            verdict(&broken),
            PartiallyApplied,
            "an invalid index is neither applied nor absent"
        );
    }

    #[test]
    fn first_quoted_name() {
        assert_eq!(
            first_quoted("relation \"User\" already exists"),
            Some("User")
        );
        assert_eq!(first_quoted("no quotes"), None);
    }

    #[test]
    fn locate_by_object_and_position() {
        let script = "CREATE TABLE \"A\" (id int);\nALTER TABLE \"Nope\" ADD COLUMN x int;\n";
        let statements = sql::statements(script);
        let mut parsed = logs::parse(Some("Database error code: 42P01\n\nDatabase error:\nERROR: relation \"Nope\" does not exist\n"));
        let found = locate_failing(script, &statements, &parsed, false).unwrap();
        assert_eq!(
            (found.index, found.line, found.located_by),
            (2, 2, "object_in_message")
        );
        parsed.error.position = Some(40);
        let found = locate_failing(script, &statements, &parsed, true).unwrap();
        assert_eq!((found.index, found.located_by), (2, "position"));
    }
}
