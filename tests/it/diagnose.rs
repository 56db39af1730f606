//! `diagnose` and the recovery paths of `deploy --resolve-failed` end to end, each failed state built
//! the way Prisma leaves it (prisma-compat §1, §4.5–4.6; peers §1.1):
//!
//! - the history table has Prisma's exact DDL (copied below from prisma-compat §1.2, not imported from
//!   `src/`), or a first `deploy` created it by applying an earlier migration;
//! - the failed row is inserted as Prisma's engine writes it: a lowercase UUID v4 `id`, the checksum of
//!   the file *as it was when it failed*, `started_at`, `finished_at` and `rolled_back_at` NULL,
//!   `applied_steps_count` 0 and `logs` in the engine's own text;
//! - whatever the engine would have left in the catalog is created by hand with SQL. For the native
//!   engine the failing script is even sent the way Prisma sends it (one simple query, one implicit
//!   transaction), and its `logs` are rendered from the real server error exactly as
//!   `apply_migration_script` does (P3018 text, `Position:` excerpt, `DbError` debug form).
//!
//! Helpers are `pub(crate)` because `resolve.rs` builds its failed rows the same way.

use crate::contract::{self, DiagnoseReport, FailedRow};
use crate::support::*;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------
// How Prisma leaves a failed migration
// ---------------------------------------------------------------------------------------------------

/// Prisma's advisory lock key.
pub(crate) const LOCK_KEY: i64 = 72707369;

/// The first paragraph of Prisma's P3018 (`ApplyMigrationError`, prisma-compat §4.6).
pub(crate) const P3018_HEAD: &str = "A migration failed to apply. New migrations cannot be applied \
before the error is recovered from. Read more about how to resolve migration issues in a production \
database: https://pris.ly/d/migrate-resolve";

/// Prisma's P3009 paragraph (prisma-compat §4.5).
const P3009_TEXT: &str = "migrate found failed migrations in the target database, new migrations \
will not be applied. Read more about how to resolve migration issues in a production database: \
https://pris.ly/d/migrate-resolve";

/// A `started_at` as Prisma's client clock writes it, and how Prisma's P3009 line prints it.
pub(crate) const STARTED_AT: &str = "2025-01-08 02:51:04.84406+00";
pub(crate) const STARTED_AT_DISPLAY: &str = "2025-01-08 02:51:04.844060 UTC";

/// The span trace the engine's `ConnectorError` Display appends after the message.
fn span_trace(name: &str) -> String {
    format!(
        "   0: sql_schema_connector::apply_migration::apply_script\n           with \
         migration_name=\"{name}\"\n             at schema-engine/connectors/sql-schema-connector/\
         src/apply_migration.rs:106\n   1: schema_core::commands::apply_migrations::Applying \
         migration\n           with migration_name=\"{name}\"\n"
    )
}

/// The `logs` value of the native engine: `ConnectorError` Display = the P3018 message (`Database
/// error:` = `{DbError}{position}\n\n{DbError:?}`), a newline, the span trace. A port of
/// `apply_migration_script` in prisma-engines' `flavour/postgres/connector/native/mod.rs`.
pub(crate) fn native_engine_logs(name: &str, script: &str, error: &postgres::Error) -> String {
    let db_error = error
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {error}"));
    let position = match db_error.position() {
        Some(postgres::error::ErrorPosition::Original(position)) => {
            position_excerpt(script, *position as usize)
        }
        _ => String::new(),
    };
    let database_error = format!("{db_error}{position}\n\n{db_error:?}");
    format!(
        "{P3018_HEAD}\n\nMigration name: {name}\n\nDatabase error code: {}\n\nDatabase \
         error:\n{database_error}\n\n{}",
        db_error.code().code(),
        span_trace(name)
    )
}

/// The engine's ANSI `Position:` excerpt: up to 5 preceding lines and the failing one in bold red.
fn position_excerpt(script: &str, position: usize) -> String {
    let mut previous: [&str; 5] = [""; 5];
    let mut byte_index = 0;
    for (line_idx, line) in script.lines().enumerate() {
        let line_number = line_idx + 1;
        byte_index += line.len() + 1;
        if position <= byte_index {
            let numbered: Vec<String> = previous
                .iter()
                .enumerate()
                .filter_map(|(idx, l)| {
                    line_number
                        .checked_sub(previous.len() - idx)
                        .map(|n| (n, l))
                })
                .map(|(n, l)| {
                    format!(
                        "\x1b[1m{n:>3}\x1b[0m{}{l}",
                        if l.is_empty() { "" } else { " " }
                    )
                })
                .collect();
            return format!(
                "\n\nPosition:\n{}\n\x1b[1m{line_number:>3}\x1b[1;31m {line}\x1b[0m",
                numbered.join("\n")
            );
        }
        previous = [previous[1], previous[2], previous[3], previous[4], line];
    }
    String::new()
}

/// Sends `script` the way the native engine does (the whole file as one simple query, so one
/// implicit transaction) and returns the error it must fail with.
pub(crate) fn run_like_native_engine(db: &TestDb, script: &str) -> postgres::Error {
    match db.client().simple_query(script) {
        Ok(_) => panic!("the script was supposed to fail:\n{script}"),
        Err(e) => e,
    }
}

/// The `logs` a driver adapter (or the split mode of current Prisma) leaves: the P3018 text whose
/// database error is the adapter's `Error querying the database: ERROR: …` line.
pub(crate) fn adapter_logs(name: &str, code: &str, message: &str) -> String {
    format!(
        "{P3018_HEAD}\n\nMigration name: {name}\n\nDatabase error code: {code}\n\nDatabase \
         error:\nError querying the database: ERROR: {message}\n\n{}",
        span_trace(name)
    )
}

/// Creates `_prisma_migrations` with Prisma's DDL.
pub(crate) fn create_prisma_table(db: &TestDb) {
    db.execute(PRISMA_DDL);
}

/// Inserts a failed row as Prisma's engine leaves it (`finished_at`/`rolled_back_at` NULL,
/// `applied_steps_count` 0) and returns its id.
pub(crate) fn insert_failed_row(
    db: &TestDb,
    name: &str,
    checksum: &str,
    logs: Option<&str>,
    started_at: &str,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    db.client()
        .execute(
            "INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"started_at\", \
             \"migration_name\", \"logs\", \"applied_steps_count\") \
             VALUES ($1, $2, $3::text::timestamptz, $4, $5, 0)",
            &[&id, &checksum, &started_at, &name, &logs],
        )
        .unwrap_or_else(|e| panic!("insert failed row {name}: {}", describe(&e)));
    id
}

/// Inserts a row as `prisma migrate deploy` leaves an applied migration and returns its id.
pub(crate) fn insert_applied_row(db: &TestDb, name: &str, checksum: &str, at: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    db.client()
        .execute(
            "INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"started_at\", \
             \"finished_at\", \"migration_name\", \"logs\", \"applied_steps_count\") \
             VALUES ($1, $2, $3::text::timestamptz, $3::text::timestamptz + interval '1 second', \
             $4, NULL, 1)",
            &[&id, &checksum, &at, &name],
        )
        .unwrap_or_else(|e| panic!("insert applied row {name}: {}", describe(&e)));
    id
}

/// One history row, as far as these tests care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistRow {
    pub id: String,
    pub checksum: String,
    pub finished: bool,
    pub rolled_back: bool,
    pub logs: Option<String>,
    pub steps: i32,
    pub started_is_finished: bool,
}

/// The rows named `name`, by `started_at`.
pub(crate) fn rows_named(db: &TestDb, name: &str) -> Vec<HistRow> {
    db.client()
        .query(
            "SELECT id::text, checksum::text, finished_at IS NOT NULL, rolled_back_at IS NOT NULL, \
                    logs, applied_steps_count, started_at = finished_at IS TRUE \
             FROM _prisma_migrations WHERE migration_name = $1 ORDER BY started_at, id",
            &[&name],
        )
        .unwrap_or_else(|e| panic!("rows named {name}: {}", describe(&e)))
        .iter()
        .map(|r| HistRow {
            id: r.get(0),
            checksum: r.get(1),
            finished: r.get(2),
            rolled_back: r.get(3),
            logs: r.get(4),
            steps: r.get(5),
            started_is_finished: r.get(6),
        })
        .collect()
}

/// `prisma-release --migrations <m> <args...>` against `db`.
pub(crate) fn cli(db: &TestDb, m: &Migrations, args: &[&str]) -> Run {
    run(db.url(), m.path(), args)
}

/// `diagnose --format json`, parsed by the contract struct (`deny_unknown_fields`).
fn diagnose_json(db: &TestDb, m: &Migrations) -> (Run, DiagnoseReport) {
    let run = cli(db, m, &["diagnose", "--format", "json"]);
    let _ = run.json();
    let report = contract::diagnose(&run.stdout);
    assert_eq!(report.schema_version, 1, "{run}");
    assert_eq!(report.command, "diagnose", "{run}");
    assert_eq!(
        i32::from(report.exit_code),
        run.code,
        "exit_code field\n{run}"
    );
    (run, report)
}

/// The only diagnosis of a report that must have exactly one.
#[track_caller]
fn only<'r>(report: &'r DiagnoseReport, run: &Run) -> &'r FailedRow {
    assert_eq!(report.failed.len(), 1, "exactly one failed row\n{run}");
    &report.failed[0]
}

/// `deploy --format json <extra...>`, parsed by the contract struct.
pub(crate) fn deploy_json(
    db: &TestDb,
    m: &Migrations,
    extra: &[&str],
) -> (Run, contract::DeployReport) {
    let mut args = vec!["deploy", "--format", "json"];
    args.extend_from_slice(extra);
    let run = cli(db, m, &args);
    let _ = run.json();
    let report = contract::deploy(&run.stdout);
    (run, report)
}

/// Whether a relation (table or index) of this exact name exists in `public`.
fn relation_exists(db: &TestDb, name: &str) -> bool {
    db.scalar_bool(&format!(
        "SELECT to_regclass('public.{}') IS NOT NULL",
        quote_ident(name)
    ))
    .unwrap_or(false)
}

fn constraint_exists(db: &TestDb, name: &str) -> bool {
    db.client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1)",
            &[&name],
        )
        .map(|r| r.get(0))
        .unwrap_or_else(|e| panic!("constraint_exists({name}): {}", describe(&e)))
}

/// Asserts that `needle` occurs in `haystack`, showing the whole run otherwise.
#[track_caller]
fn assert_has(haystack: &str, needle: &str, run: &Run) {
    assert!(
        haystack.contains(needle),
        "expected to find {needle:?}\n{run}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------------

const INIT: &str = "20240101000000_init";
const INIT_SQL: &str = "-- CreateTable\nCREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"email\" TEXT NOT NULL,\n\n    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);\n";

const ADD_POST: &str = "20240102000000_add_post";
/// As Prisma ran it: the foreign key names a table that does not exist (42P01).
const ADD_POST_BROKEN: &str = "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"authorId\" INTEGER NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n\
-- AddForeignKey\nALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") \
REFERENCES \"Nope\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n";
/// The same migration, fixed after the failure.
const ADD_POST_FIXED: &str = "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"authorId\" INTEGER NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n\
-- AddForeignKey\nALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") \
REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n";

const SPLIT: &str = "20240103000000_split";
/// Three statements; current Prisma sends them one at a time, so 1 and 2 stay committed when 3
/// fails on the missing table.
const SPLIT_SQL: &str =
    "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"title\" TEXT NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n\
-- CreateIndex\nCREATE INDEX \"Post_title_idx\" ON \"Post\"(\"title\");\n\n\
-- AlterTable\nALTER TABLE \"Nope\" ADD COLUMN \"views\" INTEGER NOT NULL DEFAULT 0;\n";
/// What statements 1 and 2 left behind.
const SPLIT_EFFECTS: &str = "CREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"title\" TEXT NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\
CREATE INDEX \"Post_title_idx\" ON \"Post\"(\"title\");\n";

/// Builds the split-mode failure: `_prisma_migrations` by Prisma's DDL, the init migration applied,
/// statements 1..2 of [`SPLIT_SQL`] committed, the row failed with the adapter's log.
fn split_mode_failure(db: &TestDb, m: &Migrations) -> String {
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(SPLIT, SPLIT_SQL);
    create_prisma_table(db);
    db.execute(INIT_SQL);
    insert_applied_row(db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    db.execute(SPLIT_EFFECTS);
    let logs = adapter_logs(SPLIT, "42P01", "relation \"Nope\" does not exist");
    insert_failed_row(db, SPLIT, &m.checksum(SPLIT), Some(&logs), STARTED_AT)
}

// ---------------------------------------------------------------------------------------------------
// Native engine: nothing applied, file fixed since → not_applied, `--resolve-failed safe` retries it
// ---------------------------------------------------------------------------------------------------

#[test]
fn native_engine_failure_is_not_applied_and_resolve_failed_safe_retries_the_fixed_file() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(INIT, INIT_SQL);
    // A first deploy creates the history table and applies the init migration.
    cli(&db, &m, &["deploy"]).success();

    // Prisma's deploy of the broken file: row started, script failed in its implicit transaction.
    m.add(ADD_POST, ADD_POST_BROKEN);
    let failed_checksum = m.checksum(ADD_POST);
    let error = run_like_native_engine(&db, ADD_POST_BROKEN);
    let logs = native_engine_logs(ADD_POST, ADD_POST_BROKEN, &error);
    // The fixture has Prisma's exact layout.
    assert!(logs.starts_with(&format!(
        "{P3018_HEAD}\n\nMigration name: {ADD_POST}\n\nDatabase error code: 42P01\n\nDatabase \
         error:\nERROR: relation \"Nope\" does not exist\n\nDbError {{ severity: \"ERROR\", \
         parsed_severity: Some(Error), code: SqlState(E42P01), message: \"relation \\\"Nope\\\" \
         does not exist\", detail: None, hint: None, position: None,"
    )));
    let id = insert_failed_row(&db, ADD_POST, &failed_checksum, Some(&logs), "now");
    assert!(!relation_exists(&db, "Post"), "no effect in the catalog");
    // The developer fixes the file afterwards.
    m.add(ADD_POST, ADD_POST_FIXED);
    let fixed_checksum = m.checksum(ADD_POST);
    assert_ne!(fixed_checksum, failed_checksum);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.migration, ADD_POST, "{run}");
    assert_eq!(f.id, id, "{run}");
    assert_eq!(f.checksum, failed_checksum, "recorded checksum\n{run}");
    assert_eq!(f.logs.as_deref(), Some(logs.as_str()), "raw logs\n{run}");
    assert_eq!(f.log_format, "native_engine", "{run}");
    assert_eq!(f.error.sqlstate.as_deref(), Some("42P01"), "{run}");
    assert_eq!(
        f.error.condition.as_deref(),
        Some("undefined_table"),
        "{run}"
    );
    assert_eq!(
        f.error.message.as_deref(),
        Some("relation \"Nope\" does not exist"),
        "{run}"
    );
    assert_eq!(f.error.detail, None, "{run}");
    assert_eq!(f.error.hint, None, "{run}");
    assert!(f.local_file.present, "{run}");
    assert_eq!(
        f.local_file.checksum.as_deref(),
        Some(fixed_checksum.as_str()),
        "{run}"
    );
    assert_eq!(f.local_file.changed_since_failure, Some(true), "{run}");
    assert_eq!(f.statements, 2, "{run}");
    assert_eq!(f.effects.len(), 2, "{run}");
    assert!(
        f.effects.iter().all(|e| e.present == Some(false)),
        "no effect present\n{run}"
    );
    assert_eq!(f.effects[0].kind, "create_table", "{run}");
    assert_eq!(f.effects[0].object.as_deref(), Some("\"Post\""), "{run}");
    assert_eq!(f.verdict, "not_applied", "{run}");
    assert!(
        f.explanation.contains("edited since the failure"),
        "the explanation mentions the edit\n{run}"
    );
    let commands: Vec<&str> = f.next_steps.iter().map(|s| s.command.as_str()).collect();
    assert!(
        commands.contains(&"prisma-release deploy --resolve-failed safe"),
        "{commands:?}\n{run}"
    );
    assert!(
        commands
            .contains(&format!("npx prisma migrate resolve --rolled-back \"{ADD_POST}\"").as_str()),
        "{commands:?}\n{run}"
    );
    let state = report
        .migrations
        .iter()
        .find(|mig| mig.name == ADD_POST)
        .map(|mig| mig.state.as_str());
    assert_eq!(state, Some("failed"), "{run}");

    // The human form says the same.
    let human = cli(&db, &m, &["diagnose"]);
    human.expect_code(10);
    assert_has(
        &human.stdout,
        &format!("Diagnosis of `{ADD_POST}` (row {id}"),
        &human,
    );
    assert_has(
        &human.stdout,
        "error:       42P01 undefined_table: relation \"Nope\" does not exist",
        &human,
    );
    assert_has(
        &human.stdout,
        "local file:  present, edited since the failure",
        &human,
    );
    assert_has(&human.stdout, "verdict:     not_applied", &human);
    assert_has(
        &human.stdout,
        &format!("npx prisma migrate resolve --rolled-back \"{ADD_POST}\""),
        &human,
    );

    // `--resolve-failed safe`: marked rolled back, the fixed file applied.
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.success();
    assert!(report.ok, "{run}");
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert_eq!(report.resolved[0].migration, ADD_POST, "{run}");
    assert_eq!(report.resolved[0].id, id, "{run}");
    assert_eq!(report.resolved[0].verdict, "not_applied", "{run}");
    assert_eq!(report.resolved[0].action, "rolled_back", "{run}");
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, [ADD_POST], "{run}");

    let rows = rows_named(&db, ADD_POST);
    assert_eq!(rows.len(), 2, "the failed row and a new one\n{rows:#?}");
    let old = &rows[0];
    assert_eq!(old.id, id);
    assert!(
        old.rolled_back && !old.finished,
        "old row rolled back: {old:?}"
    );
    assert_eq!(
        old.logs.as_deref(),
        Some(logs.as_str()),
        "old row keeps its logs"
    );
    assert_eq!(old.checksum, failed_checksum, "old row keeps its checksum");
    let new = &rows[1];
    assert_ne!(new.id, id);
    assert!(new.finished && !new.rolled_back, "new row applied: {new:?}");
    assert_eq!(new.checksum, fixed_checksum);
    assert_eq!(new.logs, None);
    assert_eq!(new.steps, 1);
    assert!(relation_exists(&db, "Post"));
    assert!(constraint_exists(&db, "Post_authorId_fkey"));

    let after = cli(&db, &m, &["diagnose"]);
    after.success();
    assert_has(&after.stdout, "No failed migrations.", &after);
}

/// A native log with a `Position:` excerpt and `position: Some(Original(n))`, file unchanged: the
/// failing statement is found from the position.
#[test]
fn native_engine_log_with_position_locates_the_failing_statement() {
    const NAME: &str = "20240102000000_status";
    const SQL: &str = "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n\n    \
CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- AlterTable\nALTER TABLE \"Post\" ADD COLUMN \
\"status\" \"Status\" NOT NULL;\n";
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(NAME, SQL);
    create_prisma_table(&db);
    let error = run_like_native_engine(&db, SQL);
    let logs = native_engine_logs(NAME, SQL, &error);
    assert!(
        logs.contains("\n\nPosition:\n") && logs.contains("position: Some(Original("),
        "the server reported a position, so the log has the excerpt:\n{logs}"
    );
    assert!(
        logs.contains("\x1b[1m  9\x1b[1;31m ALTER TABLE"),
        "{logs:?}"
    );
    let id = insert_failed_row(&db, NAME, &m.checksum(NAME), Some(&logs), STARTED_AT);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.id, id);
    assert_eq!(f.log_format, "native_engine", "{run}");
    assert_eq!(f.error.sqlstate.as_deref(), Some("42704"), "{run}");
    assert_eq!(
        f.error.condition.as_deref(),
        Some("undefined_object"),
        "{run}"
    );
    assert_eq!(
        f.error.message.as_deref(),
        Some("type \"Status\" does not exist"),
        "{run}"
    );
    assert!(f.error.position.is_some(), "{run}");
    assert_eq!(f.local_file.changed_since_failure, Some(false), "{run}");
    let failing = f
        .failing_statement
        .as_ref()
        .unwrap_or_else(|| panic!("failing statement located\n{run}"));
    assert_eq!((failing.index, failing.line), (2, 9), "{run}");
    assert_eq!(failing.located_by, "position", "{run}");
    assert!(failing.text.contains("ADD COLUMN \"status\""), "{run}");
    assert_eq!(f.verdict, "not_applied", "{run}");
}

// ---------------------------------------------------------------------------------------------------
// Split mode: statements 1..k committed → partially_applied, `--resolve-failed safe` refuses
// ---------------------------------------------------------------------------------------------------

#[test]
fn split_mode_failure_is_partially_applied_names_the_objects_and_safe_refuses() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = split_mode_failure(&db, &m);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.id, id, "{run}");
    assert_eq!(f.log_format, "driver_adapter", "{run}");
    assert_eq!(f.error.sqlstate.as_deref(), Some("42P01"), "{run}");
    assert_eq!(
        f.error.condition.as_deref(),
        Some("undefined_table"),
        "{run}"
    );
    assert_eq!(
        f.error.message.as_deref(),
        Some("relation \"Nope\" does not exist"),
        "{run}"
    );
    assert_eq!(f.local_file.changed_since_failure, Some(false), "{run}");
    assert_eq!(f.statements, 3, "{run}");
    let failing = f
        .failing_statement
        .as_ref()
        .unwrap_or_else(|| panic!("failing statement located by the object\n{run}"));
    assert_eq!(failing.index, 3, "{run}");
    assert_eq!(failing.located_by, "adapter_fragment", "{run}");
    assert!(failing.exact, "only statement 3 names \"Nope\"\n{run}");
    let effects: Vec<(usize, &str, Option<&str>, Option<bool>)> = f
        .effects
        .iter()
        .map(|e| (e.index, e.kind.as_str(), e.object.as_deref(), e.present))
        .collect();
    assert_eq!(
        effects,
        [
            (1, "create_table", Some("\"Post\""), Some(true)),
            (2, "create_index", Some("\"Post_title_idx\""), Some(true)),
            (3, "add_column", Some("\"Nope\".\"views\""), Some(false)),
        ],
        "{run}"
    );
    assert_eq!(f.verdict, "partially_applied", "{run}");
    assert!(
        f.explanation.contains("\"Post\"") && f.explanation.contains("\"Post_title_idx\""),
        "the explanation names what is present\n{run}"
    );

    let human = cli(&db, &m, &["diagnose"]);
    human.expect_code(10);
    assert_has(&human.stdout, "verdict:     partially_applied", &human);
    let present_lines: Vec<&str> = human
        .stdout
        .lines()
        .filter(|l| l.contains(" present, committed before the failure"))
        .collect();
    assert!(
        present_lines.len() == 2
            && present_lines[0].contains("create_table")
            && present_lines[0].contains("\"Post\"")
            && present_lines[1].contains("create_index")
            && present_lines[1].contains("\"Post_title_idx\""),
        "the human output lists the applied objects: {present_lines:?}\n{human}"
    );
    assert_has(&human.stdout, "failed at:   statement 3 (line 13)", &human);

    // `--resolve-failed safe` refuses (exit 10) and changes nothing.
    let before = history_snapshot(&db);
    let tables = db.table_names();
    let refused = cli(&db, &m, &["deploy", "--resolve-failed", "safe"]);
    refused.expect_code(10);
    assert_has(&refused.stderr, "P3009", &refused);
    assert_has(&refused.stderr, "partially_applied", &refused);
    assert_eq!(history_snapshot(&db), before, "rows unchanged\n{refused}");
    assert_eq!(db.table_names(), tables, "objects unchanged\n{refused}");
    assert!(db.index_exists("Post_title_idx"));
    assert!(!db.column_exists("Post", "views"));

    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.expect_code(10);
    assert!(report.resolved.is_empty(), "nothing resolved\n{run}");
    assert!(report.applied.is_empty(), "{run}");
    assert_eq!(report.failed.len(), 1, "{run}");
    assert_eq!(report.failed[0].verdict, "partially_applied", "{run}");
    assert_eq!(
        report.error.as_ref().and_then(|e| e.prisma_code.as_deref()),
        Some("P3009"),
        "{run}"
    );
    assert_eq!(history_snapshot(&db), before, "rows unchanged\n{run}");
}

/// The revert SQL a partial diagnosis suggests, run as listed, undoes what was applied; then the
/// verdict is `not_applied` and `--resolve-failed safe` retries the migration.
#[test]
fn partial_revert_steps_run_as_listed_restore_the_database() {
    const FIXED: &str =
        "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"title\" TEXT NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n\
-- CreateIndex\nCREATE INDEX \"Post_title_idx\" ON \"Post\"(\"title\");\n\n\
-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"views\" INTEGER NOT NULL DEFAULT 0;\n";
    let db = fresh_db();
    let m = Migrations::new();
    split_mode_failure(&db, &m);
    m.add(SPLIT, FIXED);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.verdict, "partially_applied", "{run}");
    let reverts: Vec<&str> = f
        .next_steps
        .iter()
        .filter(|s| s.tool == "sql")
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(reverts.len(), 2, "one revert per present effect\n{run}");
    for sql in &reverts {
        if let Err(e) = db.try_execute(sql) {
            panic!(
                "the suggested revert `{sql}` fails when run in the listed order {reverts:?}: {}\n{run}",
                describe(&e)
            );
        }
    }
    assert!(!relation_exists(&db, "Post") && !db.index_exists("Post_title_idx"));

    let (run, report) = diagnose_json(&db, &m);
    assert_eq!(only(&report, &run).verdict, "not_applied", "{run}");
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert!(db.column_exists("User", "views"));
}

// ---------------------------------------------------------------------------------------------------
// Killed process: empty logs
// ---------------------------------------------------------------------------------------------------

#[test]
fn killed_process_null_or_empty_logs_say_the_process_died_and_the_probe_decides() {
    for logs in [None, Some("")] {
        let db = fresh_db();
        let m = Migrations::new();
        m.lock_file(POSTGRES_LOCK_TOML)
            .add(INIT, INIT_SQL)
            .add(ADD_POST, ADD_POST_FIXED);
        create_prisma_table(&db);
        db.execute(INIT_SQL);
        insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
        // Killed mid-script: the implicit transaction died with the connection, nothing is left.
        let id = insert_failed_row(&db, ADD_POST, &m.checksum(ADD_POST), logs, STARTED_AT);

        let (run, report) = diagnose_json(&db, &m);
        run.expect_code(10);
        let f = only(&report, &run);
        assert_eq!(f.id, id, "{run}");
        assert_eq!(f.logs.as_deref(), logs, "raw logs as stored\n{run}");
        assert_eq!(f.log_format, "empty", "logs {logs:?}\n{run}");
        assert_eq!(f.error.sqlstate, None, "{run}");
        assert_eq!(f.error.message, None, "{run}");
        assert!(
            f.explanation.contains("died") && f.explanation.contains("mid-migration"),
            "the explanation says the process died mid-migration\n{run}"
        );
        assert_eq!(f.local_file.changed_since_failure, Some(false), "{run}");
        assert!(f.effects.iter().all(|e| e.present == Some(false)), "{run}");
        assert_eq!(f.verdict, "not_applied", "logs {logs:?}\n{run}");

        let human = cli(&db, &m, &["diagnose"]);
        human.expect_code(10);
        assert_has(&human.stdout, "error:       none recorded", &human);
        assert_has(&human.stdout, "died", &human);
        assert_has(&human.stdout, "verdict:     not_applied", &human);
    }
}

/// Killed after statement 1 of a split-mode run: empty logs, but the probe sees the table.
#[test]
fn killed_process_with_effects_present_is_partially_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(ADD_POST, ADD_POST_FIXED);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    db.execute(
        "CREATE TABLE \"Post\" (\"id\" SERIAL NOT NULL, \"authorId\" INTEGER NOT NULL, \
         CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\"));",
    );
    insert_failed_row(&db, ADD_POST, &m.checksum(ADD_POST), None, STARTED_AT);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.log_format, "empty", "{run}");
    assert_eq!(f.effects[0].present, Some(true), "{run}");
    assert_eq!(f.effects[1].present, Some(false), "{run}");
    assert_eq!(f.verdict, "partially_applied", "{run}");
}

// ---------------------------------------------------------------------------------------------------
// Hotfix applied by hand → fully_applied → `resolve --applied`
// ---------------------------------------------------------------------------------------------------

#[test]
fn all_effects_present_is_fully_applied_and_resolve_applied_then_works() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(ADD_POST, ADD_POST_FIXED);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    // The deploy failed (a lock timeout, say) and someone then ran the file by hand.
    let logs = adapter_logs(ADD_POST, "55P03", "canceling statement due to lock timeout");
    let failed_id = insert_failed_row(
        &db,
        ADD_POST,
        &m.checksum(ADD_POST),
        Some(&logs),
        STARTED_AT,
    );
    db.execute(ADD_POST_FIXED);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(
        f.error.condition.as_deref(),
        Some("lock_not_available"),
        "{run}"
    );
    assert!(f.effects.iter().all(|e| e.present == Some(true)), "{run}");
    assert_eq!(f.verdict, "fully_applied", "{run}");
    let commands: Vec<&str> = f.next_steps.iter().map(|s| s.command.as_str()).collect();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("prisma-release ") && c.contains("resolve --applied")),
        "{commands:?}\n{run}"
    );
    assert!(
        commands.contains(&format!("npx prisma migrate resolve --applied \"{ADD_POST}\"").as_str()),
        "{commands:?}\n{run}"
    );
    assert!(
        !commands.iter().any(|c| c.contains("--rolled-back")),
        "rolling back a fully applied migration would re-run it: {commands:?}\n{run}"
    );
    let human = cli(&db, &m, &["diagnose"]);
    assert_has(&human.stdout, "verdict:     fully_applied", &human);
    assert_has(
        &human.stdout,
        &format!("prisma-release resolve --applied \"{ADD_POST}\""),
        &human,
    );

    // `--resolve-failed safe` will not touch it: it is not `not_applied`.
    cli(&db, &m, &["deploy", "--resolve-failed", "safe"]).expect_code(10);

    // `resolve --applied` needs no --yes.
    let resolved = cli(&db, &m, &["resolve", "--applied", ADD_POST]);
    resolved.success();
    assert_has(
        &resolved.stdout,
        &format!("Migration {ADD_POST} marked as applied."),
        &resolved,
    );
    let rows = rows_named(&db, ADD_POST);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0].id, failed_id);
    assert!(rows[0].rolled_back && !rows[0].finished, "{rows:#?}");
    assert_eq!(rows[0].logs.as_deref(), Some(logs.as_str()));
    assert!(rows[1].finished && !rows[1].rolled_back, "{rows:#?}");
    assert_eq!(rows[1].logs.as_deref(), Some(""), "Prisma's --applied row");
    assert_eq!(rows[1].steps, 0);
    assert!(rows[1].started_is_finished, "{rows:#?}");
    assert_eq!(rows[1].checksum, m.checksum(ADD_POST));

    cli(&db, &m, &["diagnose"]).success();
    let deploy = cli(&db, &m, &["deploy"]);
    deploy.success();
    assert_has(&deploy.stdout, "No pending migrations to apply.", &deploy);
}

// ---------------------------------------------------------------------------------------------------
// A failed CREATE INDEX CONCURRENTLY left an INVALID index
// ---------------------------------------------------------------------------------------------------

#[test]
fn failed_create_index_concurrently_names_the_invalid_index() {
    const NAME: &str = "20240102000000_unique_col";
    const SQL: &str = "-- CreateIndex\nCREATE UNIQUE INDEX CONCURRENTLY \"ix\" ON t (col);\n";
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_t", "CREATE TABLE t (col int);\n");
    cli(&db, &m, &["deploy"]).success();
    db.execute("INSERT INTO t VALUES (1), (1), (2);");
    m.add(NAME, SQL);
    // A lone CIC runs outside a transaction even through Prisma: it fails on the duplicate and
    // leaves the index behind, INVALID.
    let error = run_like_native_engine(&db, SQL);
    assert_eq!(
        error.as_db_error().map(|e| e.code().code()),
        Some("23505"),
        "{error}"
    );
    assert!(db.index_exists("ix") && !db.index_is_valid("ix"));
    let logs = native_engine_logs(NAME, SQL, &error);
    insert_failed_row(&db, NAME, &m.checksum(NAME), Some(&logs), STARTED_AT);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(f.error.sqlstate.as_deref(), Some("23505"), "{run}");
    assert_eq!(
        f.error.condition.as_deref(),
        Some("unique_violation"),
        "{run}"
    );
    assert!(
        f.error
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("is duplicated")),
        "{run}"
    );
    assert_eq!(f.effects.len(), 1, "{run}");
    let effect = &f.effects[0];
    assert_eq!(effect.kind, "create_unique_index", "{run}");
    assert_eq!(effect.object.as_deref(), Some("\"ix\""), "{run}");
    let note = effect
        .note
        .as_deref()
        .unwrap_or_else(|| panic!("a note on the invalid index\n{run}"));
    assert!(
        note.contains("INVALID") && note.contains("\"ix\""),
        "{note}"
    );
    assert!(
        f.next_steps
            .iter()
            .any(|s| s.tool == "sql" && s.command == "DROP INDEX CONCURRENTLY IF EXISTS \"ix\";"),
        "{run}"
    );
    let human = cli(&db, &m, &["diagnose"]);
    assert_has(&human.stdout, "INVALID", &human);
    assert_has(
        &human.stdout,
        "DROP INDEX CONCURRENTLY IF EXISTS \"ix\";",
        &human,
    );
    // An invalid index is not the migration's effect: neither "mark it applied" nor "safe to retry".
    assert!(
        f.verdict != "fully_applied" && f.verdict != "not_applied",
        "verdict {} for a migration whose only statement failed and left an INVALID index\n{run}",
        f.verdict
    );
    assert!(
        !f.next_steps
            .iter()
            .any(|s| s.command.contains("resolve --applied") && !s.why.contains("after")),
        "marking it applied is not a plain next step while the index is INVALID\n{run}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Missing directory; two failed rows
// ---------------------------------------------------------------------------------------------------

#[test]
fn failed_row_whose_directory_is_missing_locally_is_unknown() {
    const GONE: &str = "20240105000000_gone";
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(INIT, INIT_SQL);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let logs = adapter_logs(GONE, "42P01", "relation \"Nope\" does not exist");
    let id = insert_failed_row(&db, GONE, &sha256_hex("gone"), Some(&logs), STARTED_AT);

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let f = only(&report, &run);
    assert_eq!(
        (f.migration.as_str(), f.id.as_str()),
        (GONE, id.as_str()),
        "{run}"
    );
    assert!(!f.local_file.present, "{run}");
    assert_eq!(f.local_file.checksum, None, "{run}");
    assert_eq!(f.local_file.changed_since_failure, None, "{run}");
    assert_eq!(f.statements, 0, "{run}");
    assert!(f.effects.is_empty(), "{run}");
    assert!(f.failing_statement.is_none(), "{run}");
    assert_eq!(
        f.error.sqlstate.as_deref(),
        Some("42P01"),
        "the log still speaks\n{run}"
    );
    assert!(
        f.explanation.contains("missing"),
        "the explanation says the file is missing\n{run}"
    );
    assert_eq!(f.verdict, "unknown", "{run}");

    let human = cli(&db, &m, &["diagnose"]);
    human.expect_code(10);
    assert_has(&human.stdout, "local file:  missing locally", &human);
    assert_has(&human.stdout, "verdict:     unknown", &human);
}

#[test]
fn two_failed_rows_are_both_diagnosed_and_p3009_names_both() {
    const GONE: &str = "20240105000000_gone";
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(ADD_POST, ADD_POST_FIXED);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let first = insert_failed_row(&db, ADD_POST, &m.checksum(ADD_POST), None, STARTED_AT);
    let logs = adapter_logs(GONE, "42P01", "relation \"Nope\" does not exist");
    let second = insert_failed_row(
        &db,
        GONE,
        &sha256_hex("gone"),
        Some(&logs),
        "2025-01-09 08:00:00+00",
    );

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    assert_eq!(report.failed.len(), 2, "{run}");
    let diagnosed: Vec<(&str, &str, &str)> = report
        .failed
        .iter()
        .map(|f| (f.migration.as_str(), f.id.as_str(), f.verdict.as_str()))
        .collect();
    assert_eq!(
        diagnosed,
        [
            (ADD_POST, first.as_str(), "not_applied"),
            (GONE, second.as_str(), "unknown")
        ],
        "in started_at order\n{run}"
    );
    let human = cli(&db, &m, &["diagnose"]);
    human.expect_code(10);
    assert_has(&human.stdout, &format!("Diagnosis of `{ADD_POST}`"), &human);
    assert_has(&human.stdout, &format!("Diagnosis of `{GONE}`"), &human);

    let before = history_snapshot(&db);
    let deploy = cli(&db, &m, &["deploy"]);
    deploy.expect_code(10);
    assert_has(&deploy.stderr, "P3009", &deploy);
    assert_has(
        &deploy.stderr,
        &format!("The `{ADD_POST}` migration started at {STARTED_AT_DISPLAY} failed"),
        &deploy,
    );
    assert_has(
        &deploy.stderr,
        &format!("The `{GONE}` migration started at 2025-01-09 08:00:00 UTC failed"),
        &deploy,
    );

    // `safe` is all or nothing: one row is `unknown`, so even the `not_applied` one stays.
    let refused = cli(&db, &m, &["deploy", "--resolve-failed", "safe"]);
    refused.expect_code(10);
    assert_has(&refused.stderr, "unknown", &refused);
    assert_eq!(history_snapshot(&db), before, "nothing resolved\n{refused}");
}

// ---------------------------------------------------------------------------------------------------
// `diagnose`: exit codes, read-only
// ---------------------------------------------------------------------------------------------------

#[test]
fn diagnose_exits_0_without_failed_rows() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(INIT, INIT_SQL);

    // No history table at all.
    let run = cli(&db, &m, &["diagnose"]);
    run.success();
    assert_has(&run.stdout, "No failed migrations.", &run);
    assert!(
        !db.table_exists("_prisma_migrations"),
        "diagnose never creates the table"
    );

    // Everything applied.
    cli(&db, &m, &["deploy"]).success();
    let run = cli(&db, &m, &["diagnose"]);
    run.success();
    assert_eq!(run.stdout, "No failed migrations.\n", "{run}");
    let (run, report) = diagnose_json(&db, &m);
    run.success();
    assert!(report.ok, "{run}");
    assert!(report.failed.is_empty(), "{run}");
    assert!(report.error.is_none(), "{run}");
    let database = report.database.as_ref().expect("database");
    assert_eq!(database.name, db.name(), "{run}");
}

#[test]
fn diagnose_exits_10_with_a_failed_row_and_never_writes_or_locks() {
    let db = fresh_db();
    let m = Migrations::new();
    let _ = split_mode_failure(&db, &m);
    let before = history_snapshot(&db);
    let tables = db.table_names();

    // Even on a session where every transaction is read-only, and while someone holds the lock.
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .unwrap();
    let read_only_url = format!(
        "{}?options=-c%20default_transaction_read_only%3Don",
        db.url()
    );
    let started = Instant::now();
    let run = run(&read_only_url, m.path(), &["diagnose"]);
    run.expect_code(10);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "diagnose does not wait for the lock\n{run}"
    );
    assert_has(&run.stdout, "verdict:     partially_applied", &run);
    // The URL's options do reach the server: a deploy through it is refused as read-only.
    let deploy = crate::support::run(&read_only_url, m.path(), &["deploy"]);
    deploy.expect_code(4);
    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    assert!(!report.ok, "{run}");
    assert_eq!(report.exit_code, 10, "{run}");
    assert_eq!(report.failed.len(), 1, "{run}");
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .unwrap();

    assert_eq!(history_snapshot(&db), before, "rows unchanged");
    assert_eq!(db.table_names(), tables, "objects unchanged");
}

// ---------------------------------------------------------------------------------------------------
// deploy on a failed row
// ---------------------------------------------------------------------------------------------------

#[test]
fn deploy_without_flag_prints_p3009_then_the_diagnosis_and_exits_10() {
    const LATER: &str = "20240109000000_later";
    let db = fresh_db();
    let m = Migrations::new();
    let id = split_mode_failure(&db, &m);
    m.add(LATER, "CREATE TABLE \"Later\" (id int);\n");
    let before = history_snapshot(&db);

    let run = cli(&db, &m, &["deploy"]);
    run.expect_code(10);
    let err = &run.stderr;
    let p3009 = err.find("P3009").unwrap_or_else(|| panic!("P3009\n{run}"));
    assert_has(err, P3009_TEXT, &run);
    let line = format!("The `{SPLIT}` migration started at {STARTED_AT_DISPLAY} failed");
    let prisma_line = err.find(&line).unwrap_or_else(|| panic!("{line}\n{run}"));
    let diagnosis = err
        .find(&format!("Diagnosis of `{SPLIT}` (row {id}"))
        .unwrap_or_else(|| panic!("the diagnosis\n{run}"));
    let verdict = err
        .find("verdict:     partially_applied")
        .unwrap_or_else(|| panic!("the verdict line\n{run}"));
    assert!(
        p3009 < prisma_line && prisma_line < diagnosis && diagnosis < verdict,
        "P3009, Prisma's line, then the diagnosis\n{run}"
    );
    assert_eq!(history_snapshot(&db), before, "nothing written\n{run}");
    assert!(!relation_exists(&db, "Later"), "nothing applied\n{run}");

    let (run, report) = deploy_json(&db, &m, &[]);
    run.expect_code(10);
    assert!(!report.ok, "{run}");
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.prisma_code.as_deref(), Some("P3009"), "{run}");
    assert_eq!(error.id, "history/failed_migration", "{run}");
    assert_eq!(report.failed.len(), 1, "{run}");
    assert_eq!(report.failed[0].verdict, "partially_applied", "{run}");
    assert!(
        report.resolved.is_empty() && report.applied.is_empty(),
        "{run}"
    );
    assert_eq!(history_snapshot(&db), before, "nothing written\n{run}");
}

#[test]
fn resolve_failed_always_resolves_a_partial_row_loudly_then_deploys() {
    // The index is dropped and created again (not `IF NOT EXISTS`), so its present effect still
    // makes the row partially applied.
    const IDEMPOTENT: &str = "-- CreateTable\nCREATE TABLE IF NOT EXISTS \"Post\" (\n    \
\"id\" SERIAL NOT NULL,\n    \"title\" TEXT NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n\
DROP INDEX IF EXISTS \"Post_title_idx\";\n-- CreateIndex\nCREATE INDEX \"Post_title_idx\" ON \"Post\"(\"title\");\n\n\
-- AlterTable\nALTER TABLE \"Post\" ADD COLUMN \"views\" INTEGER NOT NULL DEFAULT 0;\n";
    let db = fresh_db();
    let m = Migrations::new();
    let id = split_mode_failure(&db, &m);
    // The developer made the migration re-runnable and fixed the table name.
    m.add(SPLIT, IDEMPOTENT);

    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "always"]);
    run.success();
    assert_has(&run.stderr, "warning:", &run);
    assert_has(&run.stderr, "--resolve-failed always", &run);
    assert!(
        run.stderr.to_lowercase().contains("partially_applied"),
        "the warning names the verdict\n{run}"
    );
    assert_has(&run.stderr, SPLIT, &run);
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert_eq!(report.resolved[0].id, id, "{run}");
    assert_eq!(report.resolved[0].verdict, "partially_applied", "{run}");
    assert_eq!(report.resolved[0].action, "rolled_back", "{run}");
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, [SPLIT], "{run}");
    let rows = rows_named(&db, SPLIT);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0].id == id && rows[0].rolled_back && rows[0].logs.is_some());
    assert!(rows[1].finished && !rows[1].rolled_back);
    assert!(db.column_exists("Post", "views"));
}

#[test]
fn resolve_as_delete_deletes_the_failed_row_instead_of_marking_it() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(ADD_POST, ADD_POST_FIXED);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let id = insert_failed_row(&db, ADD_POST, &m.checksum(ADD_POST), Some(""), STARTED_AT);

    let (run, report) = deploy_json(
        &db,
        &m,
        &["--resolve-failed", "safe", "--resolve-as", "delete"],
    );
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert_eq!(report.resolved[0].id, id, "{run}");
    assert_eq!(report.resolved[0].action, "delete", "{run}");
    let rows = rows_named(&db, ADD_POST);
    assert_eq!(
        rows.len(),
        1,
        "the failed row is gone, a new one applied: {rows:#?}"
    );
    assert_ne!(rows[0].id, id);
    assert!(rows[0].finished && !rows[0].rolled_back && rows[0].steps == 1);
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT count(*) FROM _prisma_migrations WHERE id = '{id}'"
        )),
        Some(0)
    );
}

// ---------------------------------------------------------------------------------------------------
// The JSON contract
// ---------------------------------------------------------------------------------------------------

#[test]
fn diagnose_json_matches_the_contract_for_every_log_format() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(ADD_POST, ADD_POST_BROKEN)
        .add(SPLIT, SPLIT_SQL);
    create_prisma_table(&db);
    db.execute(INIT_SQL);
    insert_applied_row(&db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let error = run_like_native_engine(&db, ADD_POST_BROKEN);
    let native = native_engine_logs(ADD_POST, ADD_POST_BROKEN, &error);
    insert_failed_row(
        &db,
        ADD_POST,
        &m.checksum(ADD_POST),
        Some(&native),
        STARTED_AT,
    );
    let adapter = adapter_logs(SPLIT, "42P01", "relation \"Nope\" does not exist");
    insert_failed_row(
        &db,
        SPLIT,
        &m.checksum(SPLIT),
        Some(&adapter),
        "2025-01-08 03:00:00+00",
    );
    insert_failed_row(
        &db,
        "20240107000000_killed",
        &sha256_hex("x"),
        None,
        "2025-01-08 04:00:00+00",
    );
    insert_failed_row(
        &db,
        "20240108000000_odd",
        &sha256_hex("y"),
        Some("something odd happened"),
        "2025-01-08 05:00:00+00",
    );

    let (run, report) = diagnose_json(&db, &m);
    run.expect_code(10);
    let formats: Vec<&str> = report
        .failed
        .iter()
        .map(|f| f.log_format.as_str())
        .collect();
    assert_eq!(
        formats,
        ["native_engine", "driver_adapter", "empty", "unrecognized"],
        "{run}"
    );
    for f in &report.failed {
        assert!(!f.explanation.is_empty(), "{run}");
        assert!(
            !f.next_steps.is_empty(),
            "every diagnosis ends with commands\n{run}"
        );
        for step in &f.next_steps {
            assert!(
                ["prisma-release", "prisma", "sql"].contains(&step.tool.as_str()),
                "{step:?}"
            );
        }
        assert!(
            [
                "not_applied",
                "partially_applied",
                "fully_applied",
                "unknown"
            ]
            .contains(&f.verdict.as_str()),
            "{run}"
        );
    }
    // The JSON of deploy carries the same diagnoses.
    let (run, deploy) = deploy_json(&db, &m, &[]);
    run.expect_code(10);
    assert_eq!(deploy.failed.len(), 4, "{run}");
}
