//! Where a failed migration stopped (pure): the failing statement, how exactly we know, and — for
//! statement-by-statement runs — which statements committed before it and which never ran.
//!
//! Evidence by log format: Prisma's driver adapter quotes the fragment it sent (matched against the
//! adapter's own `split(";")`, [`super::adapter`]); prisma-release logs the statement number; the
//! native engine logs a character position or marks the line in red. Positions and line numbers only
//! mean something when the local file is the one that failed.

use super::adapter::{AdapterRun, CutReason};
use super::logs::{LogFormat, ParsedLog};
use super::{FailedFragment, FailingStatement, LocatedBy};
use crate::sql;

/// What a located failure says about each statement, under statement-by-statement semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub failing: FailingStatement,
    /// 0-based index of the failing statement.
    pub index: usize,
    /// Statements run one by one, each committed on its own (adapter, prisma-release), so everything
    /// before the failing statement committed and nothing after it ran.
    pub sequential: bool,
    /// Fragments of the failing statement that ran before the failing fragment (the adapter cut it).
    pub ran_partly: bool,
    /// Earlier statements the adapter cut and ran piece by piece (1-based), so their effect is unclear.
    pub cut_before: Vec<usize>,
}

impl Location {
    /// Did statement `index` (0-based) run? `Some(true)` committed, `Some(false)` never ran, `None`
    /// unknown (not sequential, or the failing statement ran in part).
    pub fn ran(&self, index: usize) -> Option<bool> {
        if !self.sequential || !self.failing.exact {
            return None;
        }
        match index.cmp(&self.index) {
            std::cmp::Ordering::Less => Some(true),
            std::cmp::Ordering::Equal if self.ran_partly => None,
            _ => Some(false),
        }
    }
}

/// The located failure, or why there is none (for the "not located" line).
pub fn locate(
    script: &str,
    statements: &[sql::Statement],
    parsed: &ParsedLog,
    unchanged: bool,
) -> Result<Location, String> {
    if !unchanged {
        return by_object(script, statements, parsed).ok_or_else(|| {
            "the file changed since the failure and the error names nothing in it".into()
        });
    }
    match parsed.format {
        LogFormat::DriverAdapter => by_adapter_fragment(script, statements, parsed),
        LogFormat::PrismaRelease => by_logged_statement(script, statements, parsed)
            .ok_or_else(|| "prisma-release's log names no statement".into()),
        LogFormat::Empty => {
            Err("the logs are empty: the process died before it could say where".into())
        }
        LogFormat::NativeEngine | LogFormat::Unrecognized => {
            by_position(script, statements, parsed)
                .or_else(|| by_object(script, statements, parsed))
                .ok_or_else(|| "the log has no position and names nothing in the file".into())
        }
    }
}

fn failing(
    script: &str,
    statements: &[sql::Statement],
    index: usize,
    located_by: LocatedBy,
) -> Option<FailingStatement> {
    statements.get(index).map(|s| FailingStatement {
        statement: crate::outcome::FailingStatement {
            index: index + 1,
            line: s.line,
            text: s.text(script).to_string(),
        },
        located_by,
        exact: false,
        fragment: None,
        cut: None,
    })
}

fn not_sequential(failing: FailingStatement) -> Location {
    Location {
        index: failing.statement.index - 1,
        failing,
        sequential: false,
        ran_partly: false,
        cut_before: Vec::new(),
    }
}

fn by_logged_statement(
    script: &str,
    statements: &[sql::Statement],
    parsed: &ParsedLog,
) -> Option<Location> {
    let k = parsed.failing_statement.filter(|k| *k >= 1)?;
    let mut failing = failing(script, statements, k - 1, LocatedBy::LoggedStatement)?;
    failing.exact = true;
    Some(Location {
        index: k - 1,
        failing,
        sequential: true,
        ran_partly: false,
        cut_before: Vec::new(),
    })
}

fn by_position(
    script: &str,
    statements: &[sql::Statement],
    parsed: &ParsedLog,
) -> Option<Location> {
    if let Some(i) = parsed
        .error
        .position
        .and_then(|p| statement_at_char(script, statements, p))
    {
        let mut found = failing(script, statements, i, LocatedBy::Position)?;
        found.exact = true;
        return Some(not_sequential(found));
    }
    let line = parsed.failing_line?;
    let i = statements.iter().rposition(|s| s.line <= line)?;
    failing(script, statements, i, LocatedBy::PositionExcerpt).map(not_sequential)
}

fn by_object(script: &str, statements: &[sql::Statement], parsed: &ParsedLog) -> Option<Location> {
    let message = parsed.error.message.as_deref()?;
    let object = super::adapter::named_object(message)?;
    let i = statements
        .iter()
        .position(|s| super::adapter::mentions(s.text(script), object))?;
    failing(script, statements, i, LocatedBy::ObjectInMessage).map(not_sequential)
}

/// The adapter's fragment that the logged message quotes (or names), mapped to our statement.
fn by_adapter_fragment(
    script: &str,
    statements: &[sql::Statement],
    parsed: &ParsedLog,
) -> Result<Location, String> {
    let message = parsed
        .error
        .message
        .as_deref()
        .ok_or("the adapter's log holds no error message")?;
    let run = AdapterRun::model(script);
    let found = run
        .locate(script, message)
        .ok_or("the error message quotes no fragment and names no object of the file")?;
    let fragment = &run.fragments[found.fragment];
    let index = fragment
        .statement
        .ok_or("the quoted fragment lies after the last statement")?;
    let of_statement = run.fragments_of(index);
    let ran_partly = of_statement
        .first()
        .is_some_and(|first| first.number < fragment.number);
    let mut failing = failing(script, statements, index, LocatedBy::AdapterFragment)
        .ok_or("the quoted fragment maps to no statement")?;
    failing.exact = found.exact;
    failing.cut = (!run.runs_intact(index))
        .then(|| run.cut_in(index))
        .flatten();
    failing.fragment = Some(FailedFragment {
        number: fragment.number,
        of: run.fragments.len(),
        text: run.text(script, found.fragment).to_string(),
    });
    let cut_before = (0..index)
        .filter(|i| !run.runs_intact(*i) && run.fragments_of(*i).len() > 1)
        .map(|i| i + 1)
        .collect();
    Ok(Location {
        index,
        failing,
        sequential: true,
        ran_partly,
        cut_before,
    })
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

/// What happened at the failing statement, in words.
pub fn describe(location: &Location, parsed: &ParsedLog) -> String {
    let f = &location.failing;
    let at = format!(
        "statement {} (line {})",
        f.statement.index, f.statement.line
    );
    match (&f.fragment, f.cut) {
        (Some(fragment), Some(cut)) => {
            let mut text = format!(
                "Prisma's splitter cut {at} at {}; fragment {} of {} failed. The SQL itself is valid and \
                 `prisma-release deploy` applies it as written.",
                cut.describe(),
                fragment.number,
                fragment.of
            );
            if location.ran_partly {
                text.push_str(&format!(
                    " Fragments of {at} before the failing one ran and committed."
                ));
            }
            if cut == CutReason::Nesting {
                text = text.replace("The SQL itself is valid and", "If the SQL itself is valid,");
            }
            text
        }
        (Some(fragment), None) => format!(
            "Prisma's adapter sent {at} whole as fragment {} of {} and PostgreSQL rejected it: {}.",
            fragment.number,
            fragment.of,
            parsed.error.message.as_deref().unwrap_or("no message")
        ),
        (None, _) => format!("The failure is at {at}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::logs;

    #[test]
    fn locate_by_object_and_position() {
        let script = "CREATE TABLE \"A\" (id int);\nALTER TABLE \"Nope\" ADD COLUMN x int;\n";
        let statements = sql::statements(script);
        let mut parsed = logs::parse(Some("Database error code: 42P01\n\nDatabase error:\nERROR: relation \"Nope\" does not exist\n"));
        let found = locate(script, &statements, &parsed, false).unwrap();
        assert_eq!(
            (
                found.failing.statement.index,
                found.failing.statement.line,
                found.failing.located_by
            ),
            (2, 2, LocatedBy::ObjectInMessage)
        );
        parsed.error.position = Some(40);
        let found = locate(script, &statements, &parsed, true).unwrap();
        assert_eq!(
            (found.failing.statement.index, found.failing.located_by),
            (2, LocatedBy::Position)
        );
        assert_eq!(found.ran(0), None, "the native engine is not sequential");
    }

    #[test]
    fn an_adapter_failure_says_what_committed() {
        let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
        let statements = sql::statements(script);
        let parsed = logs::parse(Some("external connector error\nError querying the database: ERROR: unterminated dollar-quoted string at or near \"$$ SELECT 1\"\n   0: sql_schema_connector::apply_migration::apply_script\n"));
        let found = locate(script, &statements, &parsed, true).unwrap();
        assert_eq!(found.failing.statement.index, 2);
        assert!(found.failing.exact);
        assert_eq!(found.failing.cut, Some(CutReason::DollarQuote));
        assert_eq!(
            (found.ran(0), found.ran(1), found.ran(2)),
            (Some(true), Some(false), Some(false))
        );
        assert!(describe(&found, &parsed).starts_with("Prisma's splitter cut statement 2 (line 2) at a `;` inside a `$$` body; fragment 2 of 4 failed."));
    }
}
