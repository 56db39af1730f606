//! Applying one migration: the transactional path (the migration and its history row commit together,
//! in one round trip) and the statement-by-statement path for scripts that cannot run in a transaction.
//!
//! The transactional path sends a single simple-protocol batch:
//! `BEGIN; SET LOCAL …; INSERT row; DO marker 1; stmt 1; DO marker 2; stmt 2; …; UPDATE row; COMMIT;`.
//! PostgreSQL stops at the first error and the transaction is rolled back, so a failure writes nothing.
//! The driver's synchronous client cannot tell us how many statements of a batch completed before an
//! error, so each statement is preceded by a `RAISE NOTICE` marker: the last marker received names the
//! failing statement. Syntax errors abort the batch before anything runs; their position names it.

use crate::connect::Session;
use crate::history::NewRow;
use crate::outcome::{Execution, FailingStatement, MigrationFailure};
use crate::sql;
use postgres::error::{DbError, ErrorPosition, SqlState};
use serde::Serialize;
use std::time::{Duration, Instant};

/// `--tx-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxMode {
    /// One transaction per migration unless the script cannot run in one.
    Auto,
    /// Always one transaction (a script that cannot run in one fails and leaves nothing).
    Always,
    /// Never: statement by statement, each autocommitted.
    Never,
}

/// The first line that opts a migration out of the transaction wrapper.
pub const NO_TRANSACTION_DIRECTIVE: &str = "-- prisma-release: no-transaction";

/// How the session lexes SQL text (its `standard_conforming_strings`), for splitting its scripts.
pub fn dialect(session: &Session) -> sql::Dialect {
    sql::Dialect {
        standard_conforming_strings: session.standard_conforming_strings,
    }
}

/// Decides how a script runs under `mode`, with the reason when it is not a transaction.
pub fn choose_execution(
    script: &str,
    mode: TxMode,
    dialect: sql::Dialect,
) -> (Execution, Option<String>) {
    match mode {
        TxMode::Always => (Execution::Transaction, None),
        TxMode::Never => (
            Execution::StatementByStatement,
            Some("--tx-mode never".into()),
        ),
        TxMode::Auto => {
            let first_line = script.lines().next().unwrap_or("").trim_end();
            if first_line == NO_TRANSACTION_DIRECTIVE {
                return (
                    Execution::StatementByStatement,
                    Some(format!(
                        "the script starts with `{NO_TRANSACTION_DIRECTIVE}`"
                    )),
                );
            }
            let blocker = sql::statements_in(script, dialect)
                .iter()
                .find_map(|s| sql::transaction_blocker(s.text(script)));
            match blocker {
                Some(reason) => (Execution::StatementByStatement, Some(reason.to_string())),
                None => match crate::enum_values::added_then_used(script) {
                    Some(reason) => (Execution::StatementByStatement, Some(reason)),
                    None => (Execution::Transaction, None),
                },
            }
        }
    }
}

/// Session-level limits applied inside each transactional migration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
    /// Check, in the same round trip and before `COMMIT`, that the session still holds the deploy
    /// lock; a migration that released it is rolled back (so no concurrent deploy can apply anything
    /// twice).
    pub verify_lock: bool,
}

/// A migration that went through.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub name: String,
    pub id: String,
    pub execution: Execution,
    pub statements: usize,
    pub duration_ms: u64,
    /// Transient failures retried before it went through.
    pub retries: u32,
}

/// Why an attempt did not go through.
#[derive(Debug)]
pub enum AttemptError {
    /// A real failure of the migration: report it (exit 11).
    Failed(Box<MigrationFailure>),
    /// A transient error (serialization, deadlock, lock timeout, shutdown, lost connection): nothing
    /// was committed — except that after a lost connection the commit state is unknown (COMMIT may
    /// have reached the server), which the caller learns from the row `id` after reconnecting — and
    /// the migration may be retried.
    Transient {
        failure: Box<MigrationFailure>,
        connection_lost: bool,
        id: String,
    },
}

/// Runs one migration as a single transaction together with its history row. `Ok` means committed.
pub fn apply_transactional(
    session: &mut Session,
    name: &str,
    checksum: &str,
    script: &str,
    limits: Limits,
) -> Result<Applied, AttemptError> {
    let row = NewRow::new(session, checksum, name);
    let statements = sql::statements_in(script, dialect(session));
    let batch = Batch::build(&row, script, &statements, limits);
    session.take_notices();
    let started = Instant::now();
    match session.client.batch_execute(&batch.text) {
        Ok(()) => Ok(Applied {
            name: name.to_string(),
            id: row.id.clone(),
            execution: Execution::Transaction,
            statements: statements.len(),
            duration_ms: started.elapsed().as_millis() as u64,
            retries: 0,
        }),
        Err(error) => {
            // Only a dead connection counts as lost: a client-side error on a live one (a driver
            // refusal, an unexpected protocol message) is a failure of the migration, not transient.
            let mut lost = error.is_closed() || session.client.is_closed();
            if !lost {
                let rollback = session.client.batch_execute("ROLLBACK");
                // Errors such as 57P01 (admin shutdown) end the session even though the server sent them.
                lost = session.client.is_closed()
                    || rollback.is_err_and(|e| e.is_closed() || e.as_db_error().is_none());
            }
            let marker = last_marker(&session.take_notices());
            let failure = Box::new(batch.locate(&error, marker, name, script, &statements));
            let server_code = error.as_db_error().map(|db| db.code());
            Err(if is_retryable(lost, server_code) {
                AttemptError::Transient {
                    failure,
                    connection_lost: lost,
                    id: row.id.clone(),
                }
            } else {
                AttemptError::Failed(failure)
            })
        }
    }
}

/// The SQL text of one transactional batch, and where each statement sits in it.
struct Batch {
    text: String,
    /// (first char, one past last char) of each script statement inside `text`, in characters.
    statement_chars: Vec<(usize, usize)>,
}

const MARKER_PREFIX: &str = "prisma-release statement ";

impl Batch {
    fn build(row: &NewRow, script: &str, statements: &[sql::Statement], limits: Limits) -> Batch {
        let mut text = String::with_capacity(script.len() + 256 + statements.len() * 80);
        // The cheap marker relies on this level; a script that changes it gets the guarded marker.
        let guarded = script.to_ascii_lowercase().contains("client_min_messages");
        text.push_str("BEGIN;\nSET LOCAL client_min_messages = notice;\n");
        if let Some(t) = limits.lock_timeout {
            text.push_str(&format!(
                "SET LOCAL lock_timeout = '{}ms';\n",
                t.as_millis()
            ));
        }
        if let Some(t) = limits.statement_timeout {
            text.push_str(&format!(
                "SET LOCAL statement_timeout = '{}ms';\n",
                t.as_millis()
            ));
        }
        text.push_str(&row.insert_started());
        text.push_str(";\n");
        let mut statement_chars = Vec::with_capacity(statements.len());
        let mut chars = text.chars().count();
        for (i, statement) in statements.iter().enumerate() {
            let marker = marker_sql(i + 1, guarded);
            chars += marker.chars().count();
            text.push_str(&marker);
            let body = statement.text(script);
            let len = body.chars().count();
            statement_chars.push((chars, chars + len));
            text.push_str(body);
            let terminator = if body.ends_with(';') { "\n" } else { ";\n" };
            text.push_str(terminator);
            chars += len + terminator.len();
        }
        text.push_str(&marker_sql(statements.len() + 1, guarded));
        if limits.verify_lock {
            text.push_str(&lock_check_sql());
        }
        text.push_str(&row.mark_finished());
        text.push_str(";\nCOMMIT;\n");
        Batch {
            text,
            statement_chars,
        }
    }

    /// Builds the failure report of a batch error, naming the failing statement by the error's
    /// position (syntax errors) or else by the last marker notice that arrived.
    fn locate(
        &self,
        error: &postgres::Error,
        marker: Option<usize>,
        name: &str,
        script: &str,
        statements: &[sql::Statement],
    ) -> MigrationFailure {
        let mut failure = driver_failure(error, name, statements.len());
        failure.execution = Execution::Transaction;
        failure.rolled_back = true;
        let by_position = match error.as_db_error().and_then(DbError::position) {
            Some(ErrorPosition::Original(p)) => self.locate_char(*p as usize),
            _ => None,
        };
        let index = match (by_position, marker) {
            (Some((i, pos)), _) => {
                failure.position = Some(pos);
                Some(i)
            }
            (None, Some(m)) if m >= 1 && m <= statements.len() => Some(m - 1),
            _ => None,
        };
        failure.statement = index.map(|i| failing_statement(script, &statements[i], i));
        failure
    }

    /// Maps a 1-based character position in the batch to (statement index, position in statement).
    fn locate_char(&self, position: usize) -> Option<(usize, usize)> {
        let zero_based = position.checked_sub(1)?;
        self.statement_chars
            .iter()
            .position(|&(start, end)| zero_based >= start && zero_based < end)
            .map(|i| (i, zero_based - self.statement_chars[i].0 + 1))
    }
}

/// A statement that sends notice `MARKER_PREFIX<index>`. The plain form relies on the batch's
/// `SET LOCAL client_min_messages = notice`; the `guarded` form (for scripts that change that setting,
/// as pg_dump output does) raises the level just for the notice and restores the script's value. It
/// costs ~0.1 ms more per statement, so it is used only when needed.
fn marker_sql(index: usize, guarded: bool) -> String {
    if guarded {
        format!(
            "DO $prisma_release$DECLARE level text := current_setting('client_min_messages'); BEGIN \
             PERFORM set_config('client_min_messages', 'notice', true); \
             RAISE NOTICE '{MARKER_PREFIX}{index}'; \
             PERFORM set_config('client_min_messages', level, true); END$prisma_release$;\n"
        )
    } else {
        format!("DO $prisma_release$BEGIN RAISE NOTICE '{MARKER_PREFIX}{index}'; END$prisma_release$;\n")
    }
}

/// Aborts the batch's transaction unless the session still holds the deploy lock.
fn lock_check_sql() -> String {
    format!(
        "DO $prisma_release$BEGIN IF NOT {} THEN RAISE EXCEPTION '{LOCK_RELEASED}' \
         USING HINT = 'remove pg_advisory_unlock(72707369), pg_advisory_unlock_all() or DISCARD ALL \
         from migration.sql'; END IF; END$prisma_release$;\n",
        crate::lock::HELD_BY_THIS_SESSION
    )
}

/// The message of a migration rolled back because it released the deploy lock.
pub const LOCK_RELEASED: &str = "this migration released the migration advisory lock 72707369, so \
     another deploy could have run at the same time; it was rolled back";

/// The index carried by the last marker notice, if any arrived.
fn last_marker(notices: &[DbError]) -> Option<usize> {
    notices.iter().rev().find_map(|n| marker_index(n.message()))
}

/// The statement index of a marker notice's message; `None` for any other notice.
fn marker_index(message: &str) -> Option<usize> {
    message.strip_prefix(MARKER_PREFIX)?.parse().ok()
}

/// Whether a failed attempt may be retried: only after a lost connection or a transient server
/// error. An error without a server code on a live connection (the driver refused to send, or met a
/// message it cannot handle) happens again on every try, so it is a failure of the migration.
fn is_retryable(connection_lost: bool, server_code: Option<&SqlState>) -> bool {
    connection_lost || server_code.is_some_and(is_transient)
}

/// Errors worth retrying the whole (rolled back) migration for, per SPEC.
fn is_transient(code: &SqlState) -> bool {
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
    ]
    .contains(code)
}

fn failure_from_db(
    db: &DbError,
    name: &str,
    execution: Execution,
    total: usize,
) -> MigrationFailure {
    MigrationFailure {
        migration: name.to_string(),
        execution,
        sqlstate: Some(db.code().code().to_string()),
        message: db.message().to_string(),
        detail: db.detail().map(str::to_string),
        hint: db.hint().map(str::to_string),
        position: None,
        statement: None,
        statements_total: total,
        statements_committed: 0,
        rolled_back: false,
        invalid_index: None,
    }
}

fn failing_statement(script: &str, statement: &sql::Statement, index: usize) -> FailingStatement {
    FailingStatement {
        index: index + 1,
        line: statement.line,
        text: statement.text(script).to_string(),
    }
}

/// Runs a migration that cannot be in a transaction: the row is inserted first (autocommit), each
/// statement autocommits, and the row is finished at the end. On error the row keeps `finished_at`
/// NULL with `logs` saying what was committed: the database may be partially changed, so a person must
/// decide (exit 11).
///
/// `lock_timeout` applies to each statement except `… CONCURRENTLY` ones (their waits for other
/// transactions are expected and block nobody; timing them out would leave an INVALID index). A
/// statement that hits it outside the script's own transaction committed nothing, so it is retried
/// alone while `retry_lock_timeout` says so (it also does the waiting).
pub fn apply_statement_by_statement(
    session: &mut Session,
    name: &str,
    checksum: &str,
    script: &str,
    lock_timeout: Option<Duration>,
    retry_lock_timeout: &mut dyn FnMut(&MigrationFailure) -> bool,
) -> Result<Applied, Box<MigrationFailure>> {
    let row = NewRow::new(session, checksum, name);
    let statements = sql::statements_in(script, dialect(session));
    let started = Instant::now();
    let fail = |session: &mut Session, failure: MigrationFailure| {
        // A failure inside the script's own BEGIN … COMMIT leaves the session in an aborted
        // transaction; end it so the logs can be written (outside a transaction this only warns).
        let _ = session.client.batch_execute("ROLLBACK");
        let _ = session.client.batch_execute("RESET lock_timeout");
        let _ = session
            .client
            .batch_execute(&row.record_logs(&failure.logs()));
        Box::new(failure)
    };
    let limit = lock_timeout.map(|t| format!("SET lock_timeout = '{}ms'", t.as_millis()));
    let mut start = row.insert_started();
    if let Some(limit) = &limit {
        start = format!("{start};\n{limit}");
    }
    if let Err(e) = session.client.batch_execute(&start) {
        return Err(Box::new(driver_failure(&e, name, statements.len())));
    }
    let mut committed = CommitCounter::default();
    for (i, statement) in statements.iter().enumerate() {
        let exempt = limit.is_some()
            && sql::leading_words(statement.text(script), 12)
                .iter()
                .any(|w| w == "CONCURRENTLY");
        let result = loop {
            let result = run_exempt(session, statement.text(script), exempt, limit.as_deref());
            match result {
                Err(e) if lock_timed_out(&e) && !committed.open => {
                    let failure = driver_failure(&e, name, statements.len());
                    if !retry_lock_timeout(&failure) {
                        break Err(e);
                    }
                }
                other => break other,
            }
        };
        if let Err(e) = result {
            let mut failure = driver_failure(&e, name, statements.len());
            failure.statements_committed = committed.committed;
            failure.statement = Some(failing_statement(script, statement, i));
            failure.invalid_index = invalid_index_left(session, statement.text(script));
            if let Some(ErrorPosition::Original(p)) = e.as_db_error().and_then(DbError::position) {
                failure.position = Some(*p as usize);
            }
            if e.as_db_error().is_none() && (e.is_closed() || session.client.is_closed()) {
                // The statement may or may not have committed before the connection died.
                failure.message = format!(
                    "the connection was lost while statement {} ran; commit state unknown — run \
                     `prisma-release status` and `prisma-release diagnose` ({})",
                    i + 1,
                    failure.message
                );
            }
            return Err(fail(session, failure));
        }
        committed.succeeded(statement.text(script));
    }
    let mut finish = row.mark_finished();
    if limit.is_some() {
        finish.push_str(";\nRESET lock_timeout");
    }
    if let Err(e) = session.client.batch_execute(&finish) {
        let mut failure = driver_failure(&e, name, statements.len());
        failure.statements_committed = statements.len();
        return Err(fail(session, failure));
    }
    Ok(Applied {
        name: name.to_string(),
        id: row.id.clone(),
        execution: Execution::StatementByStatement,
        statements: statements.len(),
        duration_ms: started.elapsed().as_millis() as u64,
        retries: 0,
    })
}

/// The index a failed `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name` left behind, if it
/// is there and INVALID (PostgreSQL keeps it after a failure in the build phase). Best effort: an
/// unnamed or quoted index name is not looked up.
fn invalid_index_left(session: &mut Session, text: &str) -> Option<String> {
    let words = sql::leading_words(text, 8);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let rest = match words.as_slice() {
        ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", rest @ ..]
        | ["CREATE", "INDEX", "CONCURRENTLY", rest @ ..] => rest,
        _ => return None,
    };
    let name = match rest {
        ["IF", "NOT", "EXISTS", name, ..] | [name, ..] if *name != "ON" => name.to_lowercase(),
        _ => return None,
    };
    let _ = session.client.batch_execute("ROLLBACK");
    let row = session
        .client
        .query_typed_opt(
            "SELECT 1 FROM pg_catalog.pg_index WHERE indexrelid = to_regclass($1) AND NOT indisvalid",
            &[(&name, postgres::types::Type::TEXT)],
        )
        .ok()??;
    drop(row);
    Some(name)
}

/// Runs one statement; an `exempt` one runs without the migration's `lock_timeout` (`limit`).
fn run_exempt(
    session: &mut Session,
    text: &str,
    exempt: bool,
    limit: Option<&str>,
) -> Result<(), postgres::Error> {
    match (exempt, limit) {
        (true, Some(limit)) => {
            session.client.batch_execute("SET lock_timeout = 0")?;
            let result = session.client.batch_execute(text);
            let restored = session.client.batch_execute(limit);
            result.and(restored)
        }
        _ => session.client.batch_execute(text),
    }
}

fn lock_timed_out(error: &postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// Counts the statements that are really committed when a script runs statement by statement: a
/// statement inside the script's own `BEGIN … COMMIT` counts only once that `COMMIT` succeeds.
#[derive(Debug, Default)]
struct CommitCounter {
    committed: usize,
    in_block: usize,
    open: bool,
}

impl CommitCounter {
    fn succeeded(&mut self, text: &str) {
        let words = sql::leading_words(text, 2);
        let first = words.first().map(String::as_str).unwrap_or("");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        match (first, second) {
            ("BEGIN", w) if w != "ATOMIC" => self.open = true,
            ("START", "TRANSACTION") => self.open = true,
            ("COMMIT" | "END", _) if self.open => {
                self.committed += self.in_block + 1;
                (self.in_block, self.open) = (0, false);
                return;
            }
            ("ROLLBACK" | "ABORT", _) if self.open => {
                (self.in_block, self.open) = (0, false);
            }
            _ => {}
        }
        if self.open {
            self.in_block += 1;
        } else {
            self.committed += 1;
        }
    }
}

fn driver_failure(error: &postgres::Error, name: &str, total: usize) -> MigrationFailure {
    match error.as_db_error() {
        Some(db) => failure_from_db(db, name, Execution::StatementByStatement, total),
        None => MigrationFailure {
            migration: name.to_string(),
            execution: Execution::StatementByStatement,
            sqlstate: None,
            message: crate::connect::describe(error),
            detail: None,
            hint: None,
            position: None,
            statement: None,
            statements_total: total,
            statements_committed: 0,
            rolled_back: false,
            invalid_index: None,
        },
    }
}

/// Puts the session back as it started, so that every migration starts from the same session state
/// whichever migrations ran before it in this process: `RESET ALL` undoes what a migration `SET` for
/// the session (`statement_timeout`, `client_encoding`, … — values from the URL's `options` and
/// `ALTER ROLE/DATABASE … SET` are the defaults it returns to), then the `search_path` the session
/// started with (pg_dump's `set_config('search_path', '', false)`, or the `schema=` we set) and our
/// own setting come back. (The bookkeeping needs no such care: its statements name the history
/// table schema-qualified.) `SET ROLE` is not undone: `RESET ALL` leaves the role alone.
pub fn restore_session(session: &mut Session) -> Result<(), postgres::Error> {
    let search_path = session.initial_search_path.clone();
    session.client.batch_execute("RESET ALL")?;
    session
        .client
        .query_typed(
            "SELECT pg_catalog.set_config('search_path', $1, false)",
            &[(&search_path, postgres::types::Type::TEXT)],
        )
        .map(drop)?;
    prepare_session(session)
}

/// Makes the server abort our transaction soon after this process dies (PostgreSQL ≥ 14), so a
/// `kill -9` during a long migration cannot leave an orphan backend that commits it later.
pub fn prepare_session(session: &mut Session) -> Result<(), postgres::Error> {
    if session.server_version_num >= 140000 {
        session
            .client
            .batch_execute("SET client_connection_check_interval = 1000")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 8 item 2: a client-side error on a live connection (`COPY … TO STDOUT` once gave
    /// "unexpected message from server", a NUL byte "embedded null") is not retried; pre-flight now
    /// refuses those scripts, so through `deploy` this stays a second line of defence.
    #[test]
    fn only_a_lost_connection_or_a_transient_server_error_is_retried() {
        assert!(
            !is_retryable(false, None),
            "client-side error, live connection"
        );
        assert!(is_retryable(true, None), "lost connection");
        assert!(is_retryable(
            false,
            Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        ));
        assert!(is_retryable(false, Some(&SqlState::LOCK_NOT_AVAILABLE)));
        assert!(!is_retryable(false, Some(&SqlState::DUPLICATE_TABLE)));
        assert!(is_retryable(true, Some(&SqlState::DUPLICATE_TABLE)));
    }

    #[test]
    fn auto_mode_detects_blockers_and_directive() {
        let (e, _) = choose_execution(
            "CREATE TABLE a (id int);",
            TxMode::Auto,
            sql::Dialect::default(),
        );
        assert_eq!(e, Execution::Transaction);
        let (e, why) = choose_execution(
            "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY i ON a (id);",
            TxMode::Auto,
            sql::Dialect::default(),
        );
        assert_eq!(e, Execution::StatementByStatement);
        assert!(why.unwrap().contains("CONCURRENTLY"));
        let (e, _) = choose_execution(
            "-- prisma-release: no-transaction\nSELECT 1;",
            TxMode::Auto,
            sql::Dialect::default(),
        );
        assert_eq!(e, Execution::StatementByStatement);
        let (e, _) = choose_execution(
            "SELECT 1;\n-- prisma-release: no-transaction\n",
            TxMode::Auto,
            sql::Dialect::default(),
        );
        assert_eq!(
            e,
            Execution::Transaction,
            "the directive counts only on the first line"
        );
        let (e, _) = choose_execution(
            "CREATE INDEX CONCURRENTLY i ON a (id);",
            TxMode::Always,
            sql::Dialect::default(),
        );
        assert_eq!(e, Execution::Transaction);
        let (e, _) = choose_execution("SELECT 1;", TxMode::Never, sql::Dialect::default());
        assert_eq!(e, Execution::StatementByStatement);
    }

    #[test]
    fn batch_maps_positions_to_statements() {
        let row = NewRow {
            table: "\"public\".\"_prisma_migrations\"".into(),
            id: "00000000-0000-4000-8000-000000000000".into(),
            checksum: "c",
            migration_name: "m",
        };
        let script = "-- é comment\nCREATE TABLE é (id int);\n\nSELEC 1;";
        let statements = sql::statements(script);
        let batch = Batch::build(&row, script, &statements, Limits::default());
        let start_of_second = batch.text.find("SELEC 1").unwrap();
        let char_pos = batch.text[..start_of_second].chars().count() + 1;
        assert_eq!(batch.locate_char(char_pos), Some((1, 1)));
        assert_eq!(
            batch.locate_char(1),
            None,
            "BEGIN is not a script statement"
        );
        assert!(batch.text.ends_with("COMMIT;\n"));
    }

    #[test]
    fn statements_inside_the_scripts_own_transaction_count_only_after_commit() {
        let mut counter = CommitCounter::default();
        for statement in [
            "CREATE TABLE a (id int)",
            "BEGIN",
            "CREATE TABLE b (id int)",
        ] {
            counter.succeeded(statement);
        }
        assert_eq!(counter.committed, 1, "the open block is not committed yet");
        counter.succeeded("COMMIT");
        assert_eq!(counter.committed, 4);
        for statement in ["START TRANSACTION", "SELECT 1", "ROLLBACK", "SELECT 2"] {
            counter.succeeded(statement);
        }
        assert_eq!(counter.committed, 6, "rolled back statements never count");
    }

    #[test]
    fn markers_round_trip() {
        // What the server sends back is the literal after RAISE NOTICE; the parser reads its index.
        for guarded in [false, true] {
            let sql = marker_sql(37, guarded);
            let raised = sql.split("RAISE NOTICE '").nth(1).unwrap();
            let message = raised.split('\'').next().unwrap();
            assert_eq!(marker_index(message), Some(37), "{sql}");
        }
        assert_eq!(
            marker_index("relation \"x\" already exists, skipping"),
            None
        );
        assert_eq!(marker_index("prisma-release statement x"), None);
    }
}
