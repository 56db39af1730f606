//! Failures Prisma's driver adapter leaves, end to end: `diagnose` locates them, its printed steps
//! work when followed literally, `--resolve-failed complete` / `resolve --complete` finish every
//! exactly-located one and refuse (exit 10, nothing touched) every uncertain case.
//!
//! Each failed state is built by replaying what `@prisma/adapter-pg` 6.19 does (its `executeScript`):
//! `script.split(";")`, trim, drop empty pieces, send each piece on its own in autocommit (simple
//! query protocol), stop at the first error, then write the row Prisma writes — `finished_at` NULL,
//! `applied_steps_count` 0 and the `logs` text the real Prisma CLI 6.19.3 wrote in the same situation
//! (captured with `scripts/interop`, which also runs these scenarios against the real CLI).

use crate::contract::{self, FailedRow};
use crate::diagnose::{
    cli, create_prisma_table, deploy_json, insert_applied_row, insert_failed_row,
    native_engine_logs, rows_named, run_like_native_engine, STARTED_AT,
};
use crate::support::*;

const INIT: &str = "20240101000000_init";
const INIT_SQL: &str = "-- CreateTable\nCREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n    \
\"email\" TEXT NOT NULL,\n\n    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);\n";
const NAME: &str = "20240102000000_change";

/// The span trace the Wasm schema engine appends, verbatim from a real Prisma 6.19.3 run.
fn engine_trace(name: &str) -> String {
    format!(
        "   0: sql_schema_connector::apply_migration::apply_script\n           with migration_name=\"{name}\"\n             \
         at schema-engine/connectors/sql-schema-connector/src/apply_migration.rs:113\n   1: \
         schema_commands::commands::apply_migrations::Applying migration\n           with migration_name=\"{name}\"\n             \
         at schema-engine/commands/src/commands/apply_migrations.rs:95\n   2: schema_engine_wasm::wasm::engine::ApplyMigrations\n             \
         at schema-engine/schema-engine-wasm/src/wasm/engine.rs:167"
    )
}

/// The `logs` the adapter leaves for a server error: `external connector error`, the adapter's
/// rendering of the error (`No such table: X` for 42P01, `Error querying the database: ERROR: …`
/// otherwise), the span trace.
fn adapter_logs(name: &str, error: &postgres::Error) -> String {
    let db = error.as_db_error().expect("a server error");
    let rendered = match db.code().code() {
        "42P01" => format!(
            "No such table: {}",
            db.message().split('"').nth(1).unwrap_or("")
        ),
        _ => format!("Error querying the database: ERROR: {}", db.message()),
    };
    format!(
        "external connector error\n{rendered}\n{}",
        engine_trace(name)
    )
}

/// Runs `sql` the way the adapter does and returns the error it stopped at.
fn run_like_adapter(db: &TestDb, sql: &str) -> postgres::Error {
    let mut client = db.client();
    for fragment in sql.split(';').map(str::trim).filter(|f| !f.is_empty()) {
        if let Err(e) = client.batch_execute(fragment) {
            return e;
        }
    }
    panic!("the adapter was supposed to fail on:\n{sql}");
}

/// The migrations folder holds `init` and `sql` (as `NAME`), and Prisma has applied `init`.
fn init_applied(db: &TestDb, m: &Migrations, sql: &str) {
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(NAME, sql);
    create_prisma_table(db);
    db.execute(INIT_SQL);
    insert_applied_row(db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
}

/// `init` applied by Prisma, then `sql` failed through the native engine (one transaction).
fn native_engine_failure(db: &TestDb, m: &Migrations, sql: &str) {
    init_applied(db, m, sql);
    let error = run_like_native_engine(db, sql);
    let logs = native_engine_logs(NAME, sql, &error);
    insert_failed_row(db, NAME, &m.checksum(NAME), Some(&logs), STARTED_AT);
}

/// `init` applied by Prisma, statement 1 of `DOLLAR` committed, and a failed row with `logs`.
fn dollar_failure_logged(db: &TestDb, m: &Migrations, logs: Option<&str>) {
    init_applied(db, m, DOLLAR);
    db.execute("ALTER TABLE \"User\" ADD COLUMN \"updatedAt\" TIMESTAMP(3);");
    insert_failed_row(db, NAME, &m.checksum(NAME), logs, STARTED_AT);
}

/// `init` applied by Prisma, then `sql` failed through the adapter: returns the failed row's id.
fn adapter_failure(db: &TestDb, m: &Migrations, sql: &str) -> String {
    init_applied(db, m, sql);
    let error = run_like_adapter(db, sql);
    let logs = adapter_logs(NAME, &error);
    insert_failed_row(db, NAME, &m.checksum(NAME), Some(&logs), STARTED_AT)
}

fn diagnosis(db: &TestDb, m: &Migrations) -> (Run, FailedRow) {
    let run = cli(db, m, &["diagnose", "--format", "json"]);
    run.expect_code(10);
    let mut report = contract::diagnose(&run.stdout);
    assert_eq!(report.failed.len(), 1, "{run}");
    (run, report.failed.remove(0))
}

/// Runs the listed steps literally: SQL with psql semantics (one simple query), prisma-release
/// commands through the binary; the Prisma CLI equivalents are alternatives and are skipped.
fn follow(db: &TestDb, m: &Migrations, steps: &[contract::NextStep]) {
    for step in steps {
        match step.tool.as_str() {
            "sql" => db
                .try_execute(&step.command)
                .unwrap_or_else(|e| panic!("step `{}` failed: {}", step.command, describe(&e))),
            "prisma-release" => {
                let words: Vec<String> = step
                    .command
                    .split_whitespace()
                    .skip(1)
                    .map(|w| w.trim_matches('"').to_string())
                    .collect();
                let args: Vec<&str> = words.iter().map(String::as_str).collect();
                cli(db, m, &args).success();
            }
            _ => {}
        }
    }
}

/// `deploy --resolve-failed complete`: succeeds, keeps the failed row rolled back with its logs and
/// adds one finished row, and the migration is applied.
fn complete_and_check(db: &TestDb, m: &Migrations, id: &str) -> Run {
    let (run, report) = deploy_json(db, m, &["--resolve-failed", "complete"]);
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert_eq!(report.resolved[0].action, "completed", "{run}");
    let rows = rows_named(db, NAME);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0].id == id && rows[0].rolled_back && !rows[0].finished);
    assert!(rows[0]
        .logs
        .as_deref()
        .is_some_and(|l| l.starts_with("external connector error")));
    assert!(
        rows[1].finished && !rows[1].rolled_back && rows[1].steps == 1,
        "{rows:#?}"
    );
    assert_eq!(rows[1].checksum, m.checksum(NAME));
    let status = cli(db, m, &["status"]);
    status.success();
    run
}

/// Refuses with exit 10 and changes nothing in the history table.
fn assert_complete_refused(db: &TestDb, m: &Migrations, reason: &str) {
    let before = history_snapshot(db);
    let run = cli(db, m, &["deploy", "--resolve-failed", "complete"]);
    run.expect_code(10);
    assert!(
        run.stderr.contains("cannot be completed") && run.stderr.contains(reason),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("nothing was changed; run the next steps prisma-release diagnose lists"),
        "{run}"
    );
    assert_eq!(history_snapshot(db), before, "nothing touched\n{run}");
    let run = cli(db, m, &["resolve", "--complete", NAME, "--format", "json"]);
    run.expect_code(10);
    let report = contract::resolve(&run.stdout);
    let error = report.error.as_ref().expect("an error");
    assert_eq!(error.id, "resolve/complete_refused", "{run}");
    assert!(error.message.contains(reason), "{run}");
    assert_eq!(history_snapshot(db), before, "nothing touched\n{run}");
}

// ---------------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------------

/// A column, then a trigger function whose `$$` body holds `;`, then a trigger using it.
const DOLLAR: &str = "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"updatedAt\" TIMESTAMP(3);\n\n\
-- CreateFunction\nCREATE FUNCTION touch_updated_at() RETURNS trigger AS $$\nBEGIN\n  NEW.\"updatedAt\" = now();\n  \
RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\n-- CreateTrigger\nCREATE TRIGGER \"User_touch\" BEFORE UPDATE ON \"User\" \
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();\n";

/// A type, a column using it plus another column (one statement), a third column, then a cut.
const TYPE_AND_COLUMNS: &str = "-- CreateEnum\nCREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');\n\n\
-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"role\" \"Role\" NOT NULL DEFAULT 'USER',\nADD COLUMN \"nick\" TEXT;\n\n\
-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"bio\" TEXT;\n\n\
UPDATE \"User\" SET \"bio\" = 'none';\n\n\
CREATE FUNCTION one() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n";

#[test]
fn dollar_body_is_located_explained_and_completed() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = adapter_failure(&db, &m, DOLLAR);
    assert!(
        db.column_exists("User", "updatedAt"),
        "statement 1 committed"
    );

    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.log_format, "driver_adapter", "{run}");
    assert_eq!(f.error.sqlstate, None, "{run}");
    assert_eq!(
        f.error.message.as_deref(),
        Some("unterminated dollar-quoted string at or near \"$$\nBEGIN\n  NEW.\"updatedAt\" = now()\""),
        "the whole message, not its first line\n{run}"
    );
    let failing = f.failing_statement.as_ref().expect("located");
    assert_eq!(
        (failing.index, failing.line, failing.exact),
        (2, 5, true),
        "{run}"
    );
    assert_eq!(failing.located_by, "adapter_fragment", "{run}");
    assert_eq!(failing.cut.as_deref(), Some("dollar_quote"), "{run}");
    let fragment = failing.fragment.as_ref().expect("fragment");
    assert_eq!((fragment.number, fragment.of), (2, 6), "{run}");
    assert!(
        fragment.text.ends_with("NEW.\"updatedAt\" = now()"),
        "{run}"
    );
    let states: Vec<(&str, Option<bool>, Option<bool>)> = f
        .effects
        .iter()
        .map(|e| (e.kind.as_str(), e.present, e.ran))
        .collect();
    assert_eq!(
        states,
        [
            ("add_column", Some(true), Some(true)),
            ("create_function", Some(false), Some(false)),
            ("create_trigger", Some(false), Some(false)),
        ],
        "{run}"
    );
    assert_eq!(f.verdict, "partially_applied", "{run}");
    assert!(
        f.explanation
            .contains("Prisma's splitter cut statement 2 (line 5) at a `;` inside a `$$` body"),
        "{run}"
    );
    assert!(
        f.explanation
            .contains("Statement 1 committed before the failure; statements 2–3 never ran."),
        "{run}"
    );
    assert!(f.complete.possible, "{run}");
    assert_eq!(
        (f.complete.from_statement, f.complete.to_statement),
        (Some(2), Some(3)),
        "{run}"
    );
    assert_eq!(
        f.next_steps[0].command, "prisma-release deploy --resolve-failed complete",
        "{run}"
    );

    let human = cli(&db, &m, &["diagnose"]);
    human.expect_code(10);
    for needle in [
        "error:       no SQLSTATE in the log: unterminated dollar-quoted string at or near \"$$",
        "local file:  present, unchanged since the failure; 3 statements\n",
        "failed at:   statement 2 (line 5), in fragment 2 of the 6 Prisma's adapter sent:",
        "present, committed before the failure",
        "complete:    possible: prisma-release deploy --resolve-failed complete runs statements 2–3",
        "ALTER TABLE \"User\" DROP COLUMN \"updatedAt\";",
    ] {
        assert!(human.stdout.contains(needle), "missing {needle:?}\n{human}");
    }
    assert!(!human.stdout.contains("?????"), "{human}");

    complete_and_check(&db, &m, &id);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_trigger WHERE tgname = 'User_touch'"),
        Some(1)
    );
}

#[test]
fn the_revert_steps_followed_literally_let_the_next_deploy_succeed() {
    for script in [DOLLAR, TYPE_AND_COLUMNS] {
        let db = fresh_db();
        let m = Migrations::new();
        adapter_failure(&db, &m, script);
        let (run, f) = diagnosis(&db, &m);
        assert_eq!(f.verdict, "partially_applied", "{run}");
        follow(&db, &m, &f.revert_steps);
        cli(&db, &m, &["deploy"]).success();
        assert_eq!(rows_named(&db, NAME).len(), 2);
    }
}

#[test]
fn columns_using_a_type_are_reverted_before_the_type_and_updates_say_revert_by_hand() {
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, TYPE_AND_COLUMNS);
    let (run, f) = diagnosis(&db, &m);
    let sql: Vec<&str> = f
        .revert_steps
        .iter()
        .filter(|s| s.tool == "sql")
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(
        sql,
        [
            "-- no automatic revert for statement 4 (other): revert it by hand",
            "ALTER TABLE \"User\" DROP COLUMN \"bio\";",
            "ALTER TABLE \"User\" DROP COLUMN \"nick\", DROP COLUMN \"role\";",
            "DROP TYPE \"Role\";",
        ],
        "{run}"
    );
    assert_eq!(
        f.failing_statement.as_ref().map(|s| s.index),
        Some(5),
        "{run}"
    );
    let id = f.id.clone();
    complete_and_check(&db, &m, &id);
}

#[test]
fn a_semicolon_in_a_comment_or_a_string_is_located_and_completed() {
    let comment = "-- AddColumn\nALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\n-- note: this; that\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
    let string = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nINSERT INTO \"User\" (\"email\") VALUES ('x;y');\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
    for (script, cut, message) in [
        (comment, "line_comment", "syntax error at or near \"that\""),
        (
            string,
            "string_literal",
            "unterminated quoted string at or near \"'x\"",
        ),
    ] {
        let db = fresh_db();
        let m = Migrations::new();
        let id = adapter_failure(&db, &m, script);
        let (run, f) = diagnosis(&db, &m);
        assert_eq!(f.error.message.as_deref(), Some(message), "{run}");
        let failing = f.failing_statement.as_ref().expect("located");
        assert_eq!((failing.index, failing.exact), (2, true), "{run}");
        assert_eq!(failing.cut.as_deref(), Some(cut), "{run}");
        assert_eq!(f.verdict, "partially_applied", "{run}");
        let human = cli(&db, &m, &["diagnose"]);
        let words = format!(
            "Prisma's splitter cut statement 2 (line {}) at a `;` inside a",
            failing.line
        );
        assert!(human.stdout.contains(&words), "{human}");
        complete_and_check(&db, &m, &id);
        assert!(db.column_exists("User", "b"));
    }
}

#[test]
fn resolve_complete_finishes_it_too() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = adapter_failure(&db, &m, DOLLAR);
    let run = cli(&db, &m, &["resolve", "--complete", NAME]);
    run.success();
    assert!(
        run.stdout.contains(&format!("Migration {NAME} completed")),
        "{run}"
    );
    let rows = rows_named(&db, NAME);
    assert!(
        rows[0].id == id && rows[0].rolled_back && rows[1].finished,
        "{rows:#?}"
    );
    cli(&db, &m, &["deploy"]).success();
}

// ---------------------------------------------------------------------------------------------------
// Constraints dropped and re-added, idempotent statements
// ---------------------------------------------------------------------------------------------------

const AB: &str = "CREATE TABLE \"A\" (\"id\" SERIAL NOT NULL, CONSTRAINT \"A_pkey\" PRIMARY KEY (\"id\"));\n\
CREATE TABLE \"B\" (\"id\" SERIAL NOT NULL, \"a\" INTEGER NOT NULL, CONSTRAINT \"B_pkey\" PRIMARY KEY (\"id\"));\n\
ALTER TABLE \"B\" ADD CONSTRAINT \"B_a_fkey\" FOREIGN KEY (\"a\") REFERENCES \"A\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n";
const READD: &str = "-- DropForeignKey\nALTER TABLE \"B\" DROP CONSTRAINT \"B_a_fkey\";\n\n\
-- AddForeignKey\nALTER TABLE \"B\" ADD CONSTRAINT \"B_a_fkey\" FOREIGN KEY (\"a\") REFERENCES \"A\"(\"id\") ON DELETE CASCADE ON UPDATE CASCADE;\n";

fn ab_failure(db: &TestDb, m: &Migrations, sql: &str) -> String {
    m.lock_file(POSTGRES_LOCK_TOML).add(INIT, AB).add(NAME, sql);
    create_prisma_table(db);
    db.execute(AB);
    insert_applied_row(db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let error = run_like_adapter(db, sql);
    insert_failed_row(
        db,
        NAME,
        &m.checksum(NAME),
        Some(&adapter_logs(NAME, &error)),
        STARTED_AT,
    )
}

#[test]
fn a_failure_before_a_drop_and_re_add_is_not_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    ab_failure(&db, &m, &format!("SELECT 1/0;\n{READD}"));
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(
        f.failing_statement.as_ref().map(|s| s.index),
        None,
        "division by zero names nothing\n{run}"
    );
    let present: Vec<Option<bool>> = f.effects.iter().map(|e| e.present).collect();
    assert_eq!(
        present,
        [None, Some(false), Some(false)],
        "the old constraint is not the re-added one\n{run}"
    );
    assert_eq!(f.verdict, "not_applied", "{run}");
    assert!(!f.complete.possible, "{run}");
    // Fixed, the migration retries under `safe`.
    m.add(NAME, READD);
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.success();
    assert_eq!(report.applied.len(), 1, "{run}");
    assert_eq!(
        db.scalar_string(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'B_a_fkey'"
        )
        .as_deref(),
        Some("FOREIGN KEY (a) REFERENCES \"A\"(id) ON UPDATE CASCADE ON DELETE CASCADE")
    );
}

#[test]
fn a_failure_after_a_drop_and_re_add_counts_both_and_completes() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = ab_failure(
        &db,
        &m,
        &format!("{READD}\nCREATE FUNCTION two() RETURNS int AS $$ SELECT 2; $$ LANGUAGE sql;\n"),
    );
    let (run, f) = diagnosis(&db, &m);
    let present: Vec<Option<bool>> = f.effects.iter().map(|e| e.present).collect();
    assert_eq!(present, [Some(true), Some(true), Some(false)], "{run}");
    assert_eq!(f.verdict, "partially_applied", "{run}");
    assert!(f.complete.possible, "{run}");
    complete_and_check(&db, &m, &id);
}

#[test]
fn a_located_failure_before_any_effect_is_not_applied_whatever_names_exist() {
    // The constraint is dropped and re-added unchanged after the failing function: by name alone both
    // look done or undone; by location neither ran.
    const SAME: &str = "ALTER TABLE \"B\" DROP CONSTRAINT \"B_a_fkey\";\n\
ALTER TABLE \"B\" ADD CONSTRAINT \"B_a_fkey\" FOREIGN KEY (\"a\") REFERENCES \"A\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n";
    let db = fresh_db();
    let m = Migrations::new();
    ab_failure(
        &db,
        &m,
        &format!("CREATE FUNCTION three() RETURNS int AS $$ SELECT 3; $$ LANGUAGE sql;\n{SAME}"),
    );
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(
        f.failing_statement.as_ref().map(|s| (s.index, s.exact)),
        Some((1, true)),
        "{run}"
    );
    assert!(f.effects.iter().all(|e| e.ran == Some(false)), "{run}");
    assert_eq!(f.verdict, "not_applied", "{run}");
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_proc WHERE proname = 'three'"),
        Some(1)
    );
}

#[test]
fn idempotent_statements_are_not_damage_and_safe_retries() {
    const SQL: &str = "CREATE EXTENSION IF NOT EXISTS plpgsql;\n\
CREATE TABLE IF NOT EXISTS \"Tag\" (\"id\" SERIAL NOT NULL);\n\
CREATE INDEX IF NOT EXISTS \"Tag_id_idx\" ON \"Tag\"(\"id\");\n\
-- backfill; later\nALTER TABLE \"User\" ADD COLUMN \"tag\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, SQL);
    assert!(db.table_exists("Tag"));
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(
        f.failing_statement.as_ref().map(|s| s.index),
        Some(4),
        "{run}"
    );
    assert!(
        f.effects[..3]
            .iter()
            .all(|e| e.idempotent && e.ran == Some(true)),
        "{run}"
    );
    assert_eq!(f.verdict, "not_applied", "{run}");
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "safe"]);
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    assert!(db.column_exists("User", "tag"));
}

// ---------------------------------------------------------------------------------------------------
// What `complete` refuses
// ---------------------------------------------------------------------------------------------------

#[test]
fn complete_refuses_the_native_engines_whole_file_failure() {
    const SQL: &str = "CREATE TABLE \"Post\" (\"id\" SERIAL NOT NULL);\nALTER TABLE \"Nope\" ADD COLUMN \"x\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    native_engine_failure(&db, &m, SQL);
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.verdict, "not_applied", "{run}");
    assert_complete_refused(&db, &m, "native engine ran the file as one transaction");
}

#[test]
fn complete_refuses_a_killed_process() {
    let db = fresh_db();
    let m = Migrations::new();
    dollar_failure_logged(&db, &m, None);
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.log_format, "empty", "{run}");
    assert!(
        !f.next_steps.iter().any(|s| s.command.contains("--applied")),
        "marking it applied is an alternative, not a step after the reverts\n{run}"
    );
    let human = cli(&db, &m, &["diagnose"]);
    assert!(
        human.stdout.contains(&format!(
            "  or, to finish it by hand instead: run the statements that never ran, then\n    prisma-release resolve --applied \"{NAME}\""
        )),
        "{human}"
    );
    assert_complete_refused(&db, &m, "the logs are empty");
}

#[test]
fn complete_refuses_a_statement_that_ran_in_part_and_an_ambiguous_fragment() {
    // The first piece of statement 2 is valid on its own and commits before `more` fails.
    let partly = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nCREATE TABLE \"X\" (\"id\" INTEGER) -- note; more\n;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, partly);
    assert!(db.table_exists("X"));
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(
        f.failing_statement.as_ref().map(|s| s.index),
        Some(2),
        "{run}"
    );
    assert_complete_refused(&db, &m, "ran its first piece(s) before the failing one");

    let ambiguous = "SELECT 'a;b';\nSELECT 'a;c';\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, ambiguous);
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(
        f.failing_statement.as_ref().map(|s| s.exact),
        Some(false),
        "{run}"
    );
    assert_complete_refused(&db, &m, "not located exactly");
}

#[test]
fn complete_refuses_a_file_changed_since_the_failure_and_a_later_effect_already_present() {
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, DOLLAR);
    m.add(NAME, &format!("{DOLLAR}-- edited\n"));
    assert_complete_refused(&db, &m, "changed since the failure");

    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, DOLLAR);
    db.execute("CREATE FUNCTION touch_updated_at() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;");
    assert_complete_refused(
        &db,
        &m,
        "statement 2 (create_function) never ran, yet its effect is already in the database",
    );
}

#[test]
fn complete_runs_statement_by_statement_when_a_remaining_statement_needs_it() {
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
CREATE FUNCTION four() RETURNS int AS $$ SELECT 4; $$ LANGUAGE sql;\n\
CREATE INDEX CONCURRENTLY \"User_a_idx\" ON \"User\"(\"a\");\n";
    let db = fresh_db();
    let m = Migrations::new();
    let id = adapter_failure(&db, &m, SQL);
    let run = complete_and_check(&db, &m, &id);
    assert!(run.stdout.contains("\"action\": \"completed\""), "{run}");
    assert!(db.index_exists("User_a_idx") && db.index_is_valid("User_a_idx"));
    let human = cli(&db, &m, &["status"]);
    human.success();
}

#[test]
fn a_remaining_statement_that_fails_rolls_the_completion_back() {
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
CREATE FUNCTION five() RETURNS int AS $$ SELECT 5; $$ LANGUAGE sql;\n\
ALTER TABLE \"Nope\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, SQL);
    let before = history_snapshot(&db);
    let run = cli(&db, &m, &["deploy", "--resolve-failed", "complete"]);
    run.expect_code(11);
    assert!(
        run.stderr.contains("relation \"Nope\" does not exist"),
        "{run}"
    );
    assert_eq!(history_snapshot(&db), before, "the row stays failed\n{run}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_proc WHERE proname = 'five'"),
        Some(0),
        "statement 2 rolled back with the rest"
    );
}

#[test]
fn complete_refuses_logs_in_a_format_it_does_not_recognise() {
    let db = fresh_db();
    let m = Migrations::new();
    dollar_failure_logged(
        &db,
        &m,
        Some("deployment aborted by the release script (exit 1)"),
    );
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.log_format, "unrecognized", "{run}");
    assert!(!f.complete.possible, "{run}");
    assert_complete_refused(&db, &m, "logs are in a format this tool does not recognise");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_proc WHERE proname = 'touch_updated_at'"),
        Some(0),
        "nothing of the migration ran"
    );
}

#[test]
fn complete_refuses_when_an_earlier_statement_was_cut_and_run_piece_by_piece() {
    // Statement 1 holds `; SELECT 1` in a trailing comment: the adapter sends `ALTER … -- first` and
    // `SELECT 1` on their own (both succeed), then statement 2 fails on a missing table.
    let sql = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER -- first; SELECT 1\n;\n\
ALTER TABLE \"Nope\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, sql);
    assert!(db.column_exists("User", "a"), "the first piece committed");
    let (run, f) = diagnosis(&db, &m);
    let failing = f.failing_statement.as_ref().expect("located");
    assert_eq!((failing.index, failing.exact), (2, true), "{run}");
    assert!(!f.complete.possible, "{run}");
    assert_complete_refused(
        &db,
        &m,
        "Prisma's splitter cut statement 1 and ran it piece by piece",
    );
}

#[test]
fn complete_refuses_a_located_failure_that_left_an_invalid_index() {
    // prisma-release's own statement-by-statement run logs the failing statement exactly; the failed
    // CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index behind.
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
INSERT INTO \"User\" (\"email\") VALUES ('x'), ('x');\n\
CREATE UNIQUE INDEX CONCURRENTLY \"User_email_key\" ON \"User\"(\"email\");\n";
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(NAME, SQL);
    cli(&db, &m, &["deploy"]).expect_code(11);
    assert!(db.index_exists("User_email_key") && !db.index_is_valid("User_email_key"));
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.log_format, "prisma_release", "{run}");
    let failing = f.failing_statement.as_ref().expect("located");
    assert_eq!((failing.index, failing.exact), (3, true), "{run}");
    assert_complete_refused(&db, &m, "statement 3 left an INVALID index");
    assert!(!db.index_is_valid("User_email_key"), "nothing touched");
}

#[test]
fn a_statement_by_statement_completion_that_fails_partway_says_so_in_the_logs() {
    // The CIC makes `complete` run statement by statement: 2 and 3 commit, 4 fails.
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
CREATE FUNCTION six() RETURNS int AS $$ SELECT 6; $$ LANGUAGE sql;\n\
CREATE INDEX CONCURRENTLY \"User_a_idx\" ON \"User\"(\"a\");\n\
ALTER TABLE \"Nope\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    let id = adapter_failure(&db, &m, SQL);
    let run = cli(&db, &m, &["deploy", "--resolve-failed", "complete"]);
    run.expect_code(11);
    assert!(db.index_exists("User_a_idx"), "statement 3 committed");
    let rows = rows_named(&db, NAME);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert!(rows[0].id == id && !rows[0].finished && !rows[0].rolled_back);
    let logs = rows[0].logs.as_deref().unwrap_or("");
    for needle in [
        "3 of 4 statements were committed before the failure",
        "Failing statement 4 of 4 (line 4)",
        "this was a completion (`--resolve-failed complete`) running statements 2–4 after an earlier failed attempt that had stopped at statement 2",
    ] {
        assert!(logs.contains(needle), "missing {needle:?} in\n{logs}");
    }

    // The next diagnosis reads the new logs: statement 4 failed, 1–3 are in; fixed, complete finishes.
    let (run, f) = diagnosis(&db, &m);
    assert_eq!(f.log_format, "prisma_release", "{run}");
    let failing = f.failing_statement.as_ref().expect("located");
    assert_eq!((failing.index, failing.exact), (4, true), "{run}");
    assert!(f.complete.possible, "{run}");
    db.execute("CREATE TABLE \"Nope\" (\"id\" INTEGER);");
    let (run, report) = deploy_json(&db, &m, &["--resolve-failed", "complete"]);
    run.success();
    assert_eq!(report.resolved.len(), 1, "{run}");
    let rows = rows_named(&db, NAME);
    assert!(rows[0].rolled_back && rows[1].finished, "{rows:#?}");
    assert!(db.column_exists("Nope", "b"));
}

#[test]
fn human_output_counts_in_words() {
    // One statement left to run: "statement 2", never "1 statement(s)".
    let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n-- note: this; that\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, script);
    let human = cli(&db, &m, &["diagnose"]);
    assert!(
        human
            .stdout
            .contains("unchanged since the failure; 2 statements\n"),
        "{human}"
    );
    let run = cli(&db, &m, &["deploy", "--resolve-failed", "complete"]);
    run.success();
    let done = format!(
        "Completed failed migration `{NAME}`: ran statement 2, which had never run, in one transaction with its history rows"
    );
    assert!(
        run.stderr.contains(&done) || run.stdout.contains(&done),
        "{run}"
    );
    assert!(
        !format!("{}{}", run.stdout, run.stderr).contains("(s)"),
        "{run}"
    );
}

/// Follows `next_steps` literally (a bug in the SQL itself fixed first, as a user would), then
/// `deploy` succeeds and the migration really ran (not merely marked applied).
fn follow_next_steps_then_deploy(db: &TestDb, m: &Migrations, fixed: Option<&str>) {
    let (run, f) = diagnosis(db, m);
    assert!(!f.next_steps.is_empty(), "{run}");
    if let Some(sql) = fixed {
        m.add(NAME, sql);
    }
    follow(db, m, &f.next_steps);
    let deploy = cli(db, m, &["deploy"]);
    deploy.success();
    assert!(
        rows_named(db, NAME)
            .iter()
            .any(|r| r.finished && !r.rolled_back && r.steps == 1),
        "{NAME} run and applied (not merely marked applied) after following\n{run}\n{deploy}"
    );
    cli(db, m, &["status"]).success();
}

#[test]
fn every_case_s_next_steps_followed_literally_let_deploy_succeed() {
    const IDEMPOTENT: &str = "CREATE EXTENSION IF NOT EXISTS plpgsql;\n\
CREATE TABLE IF NOT EXISTS \"Tag\" (\"id\" SERIAL NOT NULL);\n\
-- backfill; later\nALTER TABLE \"User\" ADD COLUMN \"tag\" INTEGER;\n";
    let comment = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n-- note: this; that\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
    let string = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nINSERT INTO \"User\" (\"email\") VALUES ('x;y');\n";
    // Adapter failures on the `User` table: completed, or (IF NOT EXISTS) resolved by `safe`.
    for script in [DOLLAR, comment, string, TYPE_AND_COLUMNS, IDEMPOTENT] {
        let db = fresh_db();
        let m = Migrations::new();
        adapter_failure(&db, &m, script);
        follow_next_steps_then_deploy(&db, &m, None);
    }
    // A foreign key dropped and re-added after (then before) a real bug.
    let after =
        format!("{READD}\nCREATE FUNCTION two() RETURNS int AS $$ SELECT 2; $$ LANGUAGE sql;\n");
    for (script, fixed) in [
        (after.clone(), None),
        (format!("SELECT 1/0;\n{READD}"), Some(READD)),
    ] {
        let db = fresh_db();
        let m = Migrations::new();
        ab_failure(&db, &m, &script);
        follow_next_steps_then_deploy(&db, &m, fixed);
    }
    // The native engine's whole-file failure, bug fixed.
    const NATIVE: &str = "CREATE TABLE \"Post\" (\"id\" SERIAL NOT NULL);\nALTER TABLE \"Nope\" ADD COLUMN \"x\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    native_engine_failure(&db, &m, NATIVE);
    follow_next_steps_then_deploy(
        &db,
        &m,
        Some("CREATE TABLE \"Post\" (\"id\" SERIAL NOT NULL);\nALTER TABLE \"User\" ADD COLUMN \"x\" INTEGER;\n"),
    );
    // A process killed after statement 1 committed: the printed reverts, then a plain deploy.
    let db = fresh_db();
    let m = Migrations::new();
    dollar_failure_logged(&db, &m, None);
    follow_next_steps_then_deploy(&db, &m, None);
}

/// The rewritten logs are written schema-qualified: a completed statement that empties `search_path`
/// (a pg_dump-style header) once made that write fail silently, leaving the old logs (issue 8 item 7).
#[test]
fn a_completion_that_empties_search_path_still_rewrites_the_logs() {
    // The adapter stops at statement 2 (it splits the `$$` body); the completion runs 2–5.
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
CREATE FUNCTION six() RETURNS int AS $$ SELECT 6; $$ LANGUAGE sql;\n\
SELECT pg_catalog.set_config('search_path', '', false);\n\
CREATE INDEX CONCURRENTLY \"User_a_idx\" ON public.\"User\"(\"a\");\n\
ALTER TABLE public.\"Nope\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, SQL);
    let run = cli(&db, &m, &["deploy", "--resolve-failed", "complete"]);
    run.expect_code(11);
    assert!(
        db.index_exists("User_a_idx"),
        "statement 4 committed\n{run}"
    );
    let rows = rows_named(&db, NAME);
    let logs = rows[0].logs.as_deref().unwrap_or("");
    assert!(
        logs.contains("Failing statement 5 of 5 (line 5)"),
        "the logs say how far the completion got\n{logs}\n{run}"
    );
}

/// The completed row is inserted schema-qualified too: with an emptied `search_path` among the
/// remaining statements the whole completion once failed on "relation _prisma_migrations does not
/// exist" and was rolled back.
#[test]
fn a_transactional_completion_that_empties_search_path_records_its_row() {
    const SQL: &str = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\
CREATE FUNCTION six() RETURNS int AS $$ SELECT 6; $$ LANGUAGE sql;\n\
SELECT pg_catalog.set_config('search_path', '', false);\n\
ALTER TABLE public.\"User\" ADD COLUMN \"b\" INTEGER;\n";
    let db = fresh_db();
    let m = Migrations::new();
    adapter_failure(&db, &m, SQL);
    let run = cli(&db, &m, &["deploy", "--resolve-failed", "complete"]);
    run.success();
    let rows = rows_named(&db, NAME);
    assert!(rows[0].rolled_back && rows[1].finished, "{rows:#?}\n{run}");
    assert!(db.column_exists("User", "b"), "{run}");
}
