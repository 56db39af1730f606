//! Reading the `logs` column of a failed row: which engine wrote it, and the database error inside.
//!
//! Formats (prisma-compat §4.6, peers §1.1): the native engine's P3018 text (`Database error code:`,
//! `ERROR: …` with `DETAIL:`/`HINT:`, an optional ANSI `Position:` excerpt whose red line is the failing
//! one, then the driver's `DbError { … }` debug form); the driver-adapter text (`Error querying the
//! database: ERROR: …`, `external connector error`); an empty or NULL log (the process died before it
//! could write one); and this tool's own log for non-transactional failures. Pure text work.

use super::sqlstate::condition_name;
use serde::Serialize;

/// Who wrote the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// NULL or blank: the migrating process died (or was killed) mid-migration.
    Empty,
    /// Prisma's native schema engine (P3018 text with the driver's `DbError`).
    NativeEngine,
    /// Prisma with a driver adapter (`Error querying the database: …`).
    DriverAdapter,
    /// prisma-release, for a failed non-transactional migration.
    PrismaRelease,
    /// Text we do not recognise; the raw log is still shown.
    Unrecognized,
}

/// The database error extracted from a log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoggedError {
    pub sqlstate: Option<String>,
    /// PostgreSQL's condition name for the SQLSTATE, e.g. `undefined_table`.
    pub condition: Option<&'static str>,
    pub message: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position of the error in the text the engine sent, when logged.
    pub position: Option<usize>,
}

/// Everything a log tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLog {
    pub format: LogFormat,
    pub error: LoggedError,
    /// Line of `migration.sql` the native engine marked in red in its `Position:` excerpt.
    pub failing_line: Option<usize>,
    /// prisma-release's own record: the failing statement (1-based) and how many were committed.
    pub failing_statement: Option<usize>,
    pub statements_committed: Option<usize>,
}

/// Parses a `logs` value.
pub fn parse(logs: Option<&str>) -> ParsedLog {
    let raw = logs.unwrap_or("");
    let failing_line = red_line_number(raw);
    let text = strip_ansi(raw);
    let format = detect_format(&text);
    let mut error = LoggedError::default();
    if format != LogFormat::Empty {
        fill_from_debug_form(&text, &mut error);
        fill_from_display_form(&text, &mut error);
    }
    error.condition = error.sqlstate.as_deref().and_then(condition_name);
    ParsedLog {
        format,
        error,
        failing_line,
        failing_statement: number_after(&text, "Failing statement "),
        statements_committed: own_committed_count(&text),
    }
}

fn detect_format(text: &str) -> LogFormat {
    if text.trim().is_empty() {
        LogFormat::Empty
    } else if text.contains("prisma-release: non-transactional migration") {
        LogFormat::PrismaRelease
    } else if text.contains("Error querying the database")
        || text.contains("external connector error")
        || text.contains("DriverAdapterError")
    {
        LogFormat::DriverAdapter
    } else if text.contains("Database error code:") || text.contains("DbError {") {
        LogFormat::NativeEngine
    } else {
        LogFormat::Unrecognized
    }
}

/// Removes ANSI escape sequences (`ESC [ … letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The native engine prints the failing line as `ESC[1m  7ESC[1;31m text`: return 7.
fn red_line_number(raw: &str) -> Option<usize> {
    let red = raw.find("\u{1b}[1;31m")?;
    let before = &raw[..red];
    let start = before.rfind("\u{1b}[1m")? + "\u{1b}[1m".len();
    before[start..].trim().parse().ok()
}

/// `DbError { … code: SqlState(E42P01), message: "…", detail: Some("…"), … position: Some(Original(12)) … }`.
fn fill_from_debug_form(text: &str, error: &mut LoggedError) {
    let Some(start) = text.find("DbError {") else {
        return;
    };
    let debug = &text[start..];
    if let Some(code) = debug.split("SqlState(E").nth(1).and_then(|s| s.get(..5)) {
        error.sqlstate = Some(code.to_string());
    }
    error.message = error
        .message
        .take()
        .or_else(|| quoted_field(debug, "message: \""));
    error.detail = error
        .detail
        .take()
        .or_else(|| quoted_field(debug, "detail: Some(\""));
    error.hint = error
        .hint
        .take()
        .or_else(|| quoted_field(debug, "hint: Some(\""));
    error.position = number_after(debug, "position: Some(Original(");
}

/// A Rust-debug-quoted string value after `prefix`, unescaped.
fn quoted_field(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            '"' => return Some(out),
            other => out.push(other),
        }
    }
    None
}

/// `Database error code: 42P01` and the `ERROR: …` / `DETAIL: …` / `HINT: …` lines.
fn fill_from_display_form(text: &str, error: &mut LoggedError) {
    if let Some(code) = value_after(text, "Database error code: ") {
        if code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric()) {
            error.sqlstate = Some(code);
        }
    }
    if error.sqlstate.is_none() {
        error.sqlstate = json_code(text);
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if let Some(first) = after_marker(line, "ERROR: ") {
            if error.message.is_none() {
                error.message = Some(continued(first, &lines[i + 1..]));
            }
        } else if let Some(detail) = after_marker(line, "DETAIL: ") {
            error.detail.get_or_insert(detail);
        } else if let Some(hint) = after_marker(line, "HINT: ") {
            error.hint.get_or_insert(hint);
        }
    }
    if error.message.is_none() {
        error.message = adapter_error_line(&lines);
    }
}

/// A message continues over the following lines (PostgreSQL quotes whole fragments, newlines
/// included, in `at or near "…"`) until a blank line, `DETAIL:`/`HINT:`/`Position:`, or the
/// engine's backtrace (`   0: sql_schema_connector::…`).
fn continued(first: String, rest: &[&str]) -> String {
    let mut message = first;
    for line in rest {
        let trimmed = line.trim_start();
        let ends = line.trim().is_empty()
            || ["DETAIL: ", "HINT: ", "Position:", "DbError {"]
                .iter()
                .any(|m| trimmed.starts_with(m))
            || is_backtrace_line(trimmed);
        if ends {
            break;
        }
        message.push('\n');
        message.push_str(line);
    }
    message
}

/// `0: sql_schema_connector::apply_migration::apply_script`: a frame of the engine's span trace.
fn is_backtrace_line(trimmed: &str) -> bool {
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && trimmed[digits..].starts_with(": ")
}

/// The adapter's typed errors carry no `ERROR:` line: `external connector error` is followed by the
/// message itself (`No such table: Nope`).
fn adapter_error_line(lines: &[&str]) -> Option<String> {
    let at = lines
        .iter()
        .position(|l| l.trim() == "external connector error")?;
    let first = lines.get(at + 1)?.trim();
    (!first.is_empty() && !is_backtrace_line(first))
        .then(|| continued(first.to_string(), &lines[at + 2..]))
}

/// The text after the first `marker` in a line (`Error querying the database: ERROR: x` → `x`).
fn after_marker(line: &str, marker: &str) -> Option<String> {
    let at = line.find(marker)?;
    let value = line[at + marker.len()..].trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// A driver adapter's serialized error: `"code":"42P01"` or `"originalCode":"42P01"`.
fn json_code(text: &str) -> Option<String> {
    ["\"originalCode\":\"", "\"code\":\"", "code: '"]
        .iter()
        .find_map(|key| {
            let rest = &text[text.find(key)? + key.len()..];
            let code = rest.get(..5)?;
            code.chars()
                .all(|c| c.is_ascii_alphanumeric())
                .then(|| code.to_string())
        })
}

fn value_after(text: &str, key: &str) -> Option<String> {
    let rest = &text[text.find(key)? + key.len()..];
    Some(rest.lines().next().unwrap_or("").trim().to_string())
}

fn number_after(text: &str, key: &str) -> Option<usize> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Our own log says `…; K of N statements were committed before the failure.`
fn own_committed_count(text: &str) -> Option<usize> {
    let line = text
        .lines()
        .find(|l| l.contains("statements were committed before the failure"))?;
    let after = line.split("; ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P3018_PREFIX: &str = "A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: 20240101000000_init\n\n";

    fn native_sample() -> String {
        format!(
            "{P3018_PREFIX}Database error code: 42P01\n\nDatabase error:\nERROR: relation \"Nope\" does not exist\n\n\
             DbError {{ severity: \"ERROR\", parsed_severity: Some(Error), code: SqlState(E42P01), message: \"relation \\\"Nope\\\" does not exist\", \
             detail: None, hint: None, position: None, where_: None, schema: None, table: None, column: None, datatype: None, \
             constraint: None, file: Some(\"namespace.c\"), line: Some(434), routine: Some(\"RangeVarGetRelidExtended\") }}\n\n   \
             0: sql_schema_connector::apply_migration::apply_script\n           with migration_name=\"20240101000000_init\"\n"
        )
    }

    #[test]
    fn native_engine_p3018() {
        let parsed = parse(Some(&native_sample()));
        assert_eq!(parsed.format, LogFormat::NativeEngine);
        assert_eq!(parsed.error.sqlstate.as_deref(), Some("42P01"));
        assert_eq!(parsed.error.condition, Some("undefined_table"));
        assert_eq!(
            parsed.error.message.as_deref(),
            Some("relation \"Nope\" does not exist")
        );
        assert_eq!(parsed.error.detail, None);
    }

    #[test]
    fn native_engine_with_detail_hint_and_position_excerpt() {
        let log = format!(
            "{P3018_PREFIX}Database error code: 23505\n\nDatabase error:\nERROR: could not create unique index \"User_email_key\"\n\
             DETAIL: Key (email)=(a@b.c) is duplicated.\nHINT: Clean up first.\n\nPosition:\n\
             \u{1b}[1m  3\u{1b}[0m -- CreateIndex\n\u{1b}[1m  4\u{1b}[1;31m CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");\u{1b}[0m\n\n\
             DbError {{ severity: \"ERROR\", parsed_severity: Some(Error), code: SqlState(E23505), message: \"could not create unique index \\\"User_email_key\\\"\", \
             detail: Some(\"Key (email)=(a@b.c) is duplicated.\"), hint: Some(\"Clean up first.\"), position: Some(Original(57)), where_: None }}\n"
        );
        let parsed = parse(Some(&log));
        assert_eq!(parsed.format, LogFormat::NativeEngine);
        assert_eq!(parsed.error.sqlstate.as_deref(), Some("23505"));
        assert_eq!(parsed.error.condition, Some("unique_violation"));
        assert_eq!(
            parsed.error.detail.as_deref(),
            Some("Key (email)=(a@b.c) is duplicated.")
        );
        assert_eq!(parsed.error.hint.as_deref(), Some("Clean up first."));
        assert_eq!(parsed.error.position, Some(57));
        assert_eq!(parsed.failing_line, Some(4));
    }

    #[test]
    fn native_engine_25001_concurrently_in_transaction() {
        let log = format!(
            "{P3018_PREFIX}Database error code: 25001\n\nDatabase error:\nERROR: CREATE INDEX CONCURRENTLY cannot run inside a transaction block\n\n\
             DbError {{ severity: \"ERROR\", parsed_severity: Some(Error), code: SqlState(E25001), message: \"CREATE INDEX CONCURRENTLY cannot run inside a transaction block\", \
             detail: None, hint: None, position: None, where_: None, schema: None, table: None, column: None, datatype: None, constraint: None, \
             file: Some(\"xact.c\"), line: Some(3409), routine: Some(\"PreventInTransactionBlock\") }}"
        );
        let parsed = parse(Some(&log));
        assert_eq!(parsed.error.condition, Some("active_sql_transaction"));
        assert_eq!(
            parsed.error.message.as_deref(),
            Some("CREATE INDEX CONCURRENTLY cannot run inside a transaction block")
        );
    }

    #[test]
    fn driver_adapter_text() {
        let log = format!(
            "{P3018_PREFIX}Database error code: 42701\n\nDatabase error:\nError querying the database: ERROR: column \"name\" of relation \"User\" already exists\n"
        );
        let parsed = parse(Some(&log));
        assert_eq!(parsed.format, LogFormat::DriverAdapter);
        assert_eq!(parsed.error.sqlstate.as_deref(), Some("42701"));
        assert_eq!(parsed.error.condition, Some("duplicate_column"));
        assert_eq!(
            parsed.error.message.as_deref(),
            Some("column \"name\" of relation \"User\" already exists")
        );
    }

    #[test]
    fn driver_adapter_external_error_with_json_code() {
        let log = "external connector error\nDriverAdapterError: {\"kind\":\"postgres\",\"code\":\"42P07\",\"severity\":\"ERROR\",\"message\":\"relation \\\"Post\\\" already exists\"}";
        let parsed = parse(Some(log));
        assert_eq!(parsed.format, LogFormat::DriverAdapter);
        assert_eq!(parsed.error.sqlstate.as_deref(), Some("42P07"));
        assert_eq!(parsed.error.condition, Some("duplicate_table"));
    }

    /// Verbatim from Prisma 6.19.3 with `@prisma/adapter-pg` (a `$$` body cut by its `split(";")`).
    const REAL_ADAPTER_LOG: &str = "external connector error\nError querying the database: ERROR: unterminated dollar-quoted string at or near \"$$\nBEGIN\n  NEW.\"updatedAt\" = now()\"\n   0: sql_schema_connector::apply_migration::apply_script\n           with migration_name=\"20240102000000_fn\"\n             at schema-engine/connectors/sql-schema-connector/src/apply_migration.rs:113\n   1: schema_commands::commands::apply_migrations::Applying migration\n           with migration_name=\"20240102000000_fn\"\n             at schema-engine/commands/src/commands/apply_migrations.rs:95\n   2: schema_engine_wasm::wasm::engine::ApplyMigrations\n             at schema-engine/schema-engine-wasm/src/wasm/engine.rs:167";

    #[test]
    fn real_adapter_log_keeps_the_whole_quoted_fragment() {
        let parsed = parse(Some(REAL_ADAPTER_LOG));
        assert_eq!(parsed.format, LogFormat::DriverAdapter);
        assert_eq!(parsed.error.sqlstate, None);
        assert_eq!(
            parsed.error.message.as_deref(),
            Some("unterminated dollar-quoted string at or near \"$$\nBEGIN\n  NEW.\"updatedAt\" = now()\"")
        );
        let typed = parse(Some("external connector error\nNo such table: Nope\n   0: sql_schema_connector::apply_migration::apply_script\n"));
        assert_eq!(typed.error.message.as_deref(), Some("No such table: Nope"));
    }

    #[test]
    fn empty_and_null_logs_mean_the_process_died() {
        assert_eq!(parse(None).format, LogFormat::Empty);
        assert_eq!(parse(Some("  \n")).format, LogFormat::Empty);
        assert_eq!(parse(None).error, LoggedError::default());
    }

    #[test]
    fn our_own_non_transactional_log() {
        let failure = crate::outcome::MigrationFailure {
            migration: "20240101000000_init".into(),
            execution: crate::outcome::Execution::StatementByStatement,
            sqlstate: Some("42P01".into()),
            message: "relation \"Nope\" does not exist".into(),
            detail: Some("d".into()),
            hint: None,
            position: None,
            statement: Some(crate::outcome::FailingStatement {
                index: 2,
                line: 5,
                text: "CREATE INDEX CONCURRENTLY x ON \"Nope\"(a);".into(),
            }),
            statements_total: 3,
            statements_committed: 1,
            rolled_back: false,
            invalid_index: None,
        };
        let parsed = parse(Some(&failure.logs()));
        assert_eq!(parsed.format, LogFormat::PrismaRelease);
        assert_eq!(parsed.error.sqlstate.as_deref(), Some("42P01"));
        assert_eq!(
            parsed.error.message.as_deref(),
            Some("relation \"Nope\" does not exist")
        );
        assert_eq!(parsed.error.detail.as_deref(), Some("d"));
        assert_eq!(parsed.failing_statement, Some(2));
        assert_eq!(parsed.statements_committed, Some(1));
    }

    #[test]
    fn unrecognized_text_is_kept_but_not_guessed() {
        let parsed = parse(Some("something odd happened"));
        assert_eq!(parsed.format, LogFormat::Unrecognized);
        assert_eq!(parsed.error.sqlstate, None);
    }

    #[test]
    fn ansi_is_stripped() {
        assert_eq!(strip_ansi("\u{1b}[1m  4\u{1b}[1;31m x\u{1b}[0m"), "  4 x");
    }
}
