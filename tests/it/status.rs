//! `status`: every exit code, the human and JSON output, rows written the way Prisma writes them
//! (read by `status` and by `deploy`), `out_of_order`, and that `status` never writes and never
//! takes the advisory lock.
//!
//! Rows "as Prisma writes them" follow prisma-compat §1.3: the table is created with Prisma's DDL
//! (§1.2, copied below, not imported from `src/`) and rows are inserted with the exact column
//! shapes of a deploy, a failure, `resolve --applied` and `resolve --rolled-back`.

use crate::contract::{self, StatusReport};
use crate::support::*;

/// Prisma's advisory lock key.
const LOCK_KEY: i64 = 72707369;

const UP_TO_DATE: &str = "Database schema is up to date!";
const NOT_YET_APPLIED: &str = "Following migration(s) have not yet been applied:";
const HAVE_FAILED: &str = "Following migration(s) have failed:";

/// One `_prisma_migrations` row in one of the shapes Prisma writes. Timestamps are SQL
/// `timestamptz` literals such as `2025-01-08 02:51:04.844060+00`.
struct PrismaRow<'a> {
    name: &'a str,
    checksum: String,
    started_at: &'a str,
    finished_at: Option<&'a str>,
    rolled_back_at: Option<&'a str>,
    logs: Option<String>,
    applied_steps_count: i32,
}

impl<'a> PrismaRow<'a> {
    /// Applied by `prisma migrate deploy`: `logs` NULL, one step, finished after it started.
    fn applied(name: &'a str, checksum: String, started_at: &'a str, finished_at: &'a str) -> Self {
        PrismaRow {
            name,
            checksum,
            started_at,
            finished_at: Some(finished_at),
            rolled_back_at: None,
            logs: None,
            applied_steps_count: 1,
        }
    }

    /// Failed during `prisma migrate deploy`: not finished, not rolled back, no step, P3018 logs.
    fn failed(name: &'a str, checksum: String, started_at: &'a str) -> Self {
        PrismaRow {
            name,
            checksum,
            started_at,
            finished_at: None,
            rolled_back_at: None,
            logs: Some(p3018_logs(name)),
            applied_steps_count: 0,
        }
    }

    /// A failed row later marked with `prisma migrate resolve --rolled-back`.
    fn rolled_back(
        name: &'a str,
        checksum: String,
        started_at: &'a str,
        rolled_back_at: &'a str,
    ) -> Self {
        PrismaRow {
            rolled_back_at: Some(rolled_back_at),
            ..PrismaRow::failed(name, checksum, started_at)
        }
    }

    /// Written by `prisma migrate resolve --applied`: `logs` '', no step, started = finished.
    fn resolved_applied(name: &'a str, checksum: String, at: &'a str) -> Self {
        PrismaRow {
            name,
            checksum,
            started_at: at,
            finished_at: Some(at),
            rolled_back_at: None,
            logs: Some(String::new()),
            applied_steps_count: 0,
        }
    }

    /// Inserts the row (the table must exist) and returns its id (lowercase UUID v4).
    fn insert(&self, db: &TestDb) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        db.client()
            .execute(
                "INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"finished_at\", \
                 \"migration_name\", \"logs\", \"rolled_back_at\", \"started_at\", \
                 \"applied_steps_count\") VALUES ($1, $2, $3::text::timestamptz, $4, $5, \
                 $6::text::timestamptz, $7::text::timestamptz, $8)",
                &[
                    &id,
                    &self.checksum,
                    &self.finished_at,
                    &self.name,
                    &self.logs,
                    &self.rolled_back_at,
                    &self.started_at,
                    &self.applied_steps_count,
                ],
            )
            .unwrap_or_else(|e| panic!("insert row for {}: {}", self.name, describe(&e)));
        id
    }
}

/// The `logs` text the native Prisma engine stores for a failed migration (P3018 + span trace).
fn p3018_logs(name: &str) -> String {
    format!(
        "A migration failed to apply. New migrations cannot be applied before the error is recovered \
         from. Read more about how to resolve migration issues in a production database: \
         https://pris.ly/d/migrate-resolve\n\nMigration name: {name}\n\nDatabase error code: 42P07\n\n\
         Database error:\nERROR: relation \"Dup\" already exists\n\nDbError {{ severity: \"ERROR\", \
         parsed_severity: Some(Error), code: SqlState(E42P07), message: \"relation \\\"Dup\\\" already \
         exists\", detail: None, hint: None, position: None, where_: None, schema: None, table: None, \
         column: None, datatype: None, constraint: None, file: Some(\"heap.c\"), line: Some(1146), \
         routine: Some(\"heap_create_with_catalog\") }}\n\n   \
         0: sql_schema_connector::apply_migration::apply_script\n           with migration_name=\"{name}\"\n\
         \x20            at schema-engine/connectors/sql-schema-connector/src/apply_migration.rs:106\n"
    )
}

/// Creates `_prisma_migrations` with Prisma's DDL.
fn create_prisma_table(db: &TestDb) {
    db.execute(PRISMA_DDL);
}

/// (finished, rolled back, logs, applied_steps_count) of each row named `name`, by `started_at`.
type RowShape = (bool, bool, Option<String>, i32);

fn rows_named(db: &TestDb, name: &str) -> Vec<RowShape> {
    db.client()
        .query(
            "SELECT finished_at IS NOT NULL, rolled_back_at IS NOT NULL, logs, applied_steps_count \
             FROM _prisma_migrations WHERE migration_name = $1 ORDER BY started_at, id",
            &[&name],
        )
        .unwrap_or_else(|e| panic!("rows named {name}: {}", describe(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

fn status(db: &TestDb, m: &Migrations, extra: &[&str]) -> Run {
    let mut args = vec!["status"];
    args.extend_from_slice(extra);
    run(db.url(), m.path(), &args)
}

fn status_json(db: &TestDb, m: &Migrations, extra: &[&str]) -> (Run, StatusReport) {
    let mut args = vec!["--json", "status"];
    args.extend_from_slice(extra);
    let run = run(db.url(), m.path(), &args);
    let report = contract::status(&run.stdout);
    (run, report)
}

#[track_caller]
fn migration<'r>(report: &'r StatusReport, name: &str, run: &Run) -> &'r contract::Migration {
    report
        .migrations
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no migration `{name}` in the report\n{run}"))
}

/// (name, state) of every migration of the report, in report order.
fn states(report: &StatusReport) -> Vec<(String, String)> {
    report
        .migrations
        .iter()
        .map(|m| (m.name.clone(), m.state.clone()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Whether the human stdout has a line naming `name` together with `state`.
fn human_line_has(stdout: &str, name: &str, state: &str) -> bool {
    stdout.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.contains(&name) && words.contains(&state)
    })
}

/// The warnings of a report as (id, migration).
fn warning_ids(report: &StatusReport) -> Vec<(String, Option<String>)> {
    report
        .warnings
        .iter()
        .map(|w| (w.id.clone(), w.migration.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Exit codes, human text and JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn status_exit_0_when_everything_is_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_b", "CREATE TABLE \"B\" (id int);\n");
    let deploy = run(db.url(), m.path(), &["deploy"]);
    deploy.success();

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains(UP_TO_DATE), "{human}");
    assert!(!human.output().contains(NOT_YET_APPLIED), "{human}");
    assert!(!human.output().contains(HAVE_FAILED), "{human}");
    for name in ["20240101000000_a", "20240102000000_b"] {
        assert!(human_line_has(&human.stdout, name, "applied"), "{human}");
    }

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report.schema_version, 1, "{run}");
    assert_eq!(report.command, "status", "{run}");
    assert!(report.ok, "{run}");
    assert_eq!(report.exit_code, 0, "{run}");
    assert!(report.error.is_none(), "{run}");
    assert!(report.has_migrations_table, "{run}");
    assert!(report.warnings.is_empty(), "{run}");
    assert!(report.failed.is_empty(), "{run}");
    let database = report.database.as_ref().expect("database");
    assert_eq!(database.name, db.name(), "{run}");
    assert_eq!(database.schema, "public", "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240102000000_b", "applied")
        ]),
        "{run}"
    );
    for name in ["20240101000000_a", "20240102000000_b"] {
        let entry = migration(&report, name, &run);
        assert!(!entry.out_of_order, "{run}");
        assert_eq!(
            entry.checksum.as_deref(),
            Some(m.checksum(name).as_str()),
            "{run}"
        );
        assert_eq!(entry.recorded_checksum, entry.checksum, "{run}");
        let started = entry.started_at.as_deref().expect("started_at");
        let finished = entry.finished_at.as_deref().expect("finished_at");
        assert!(started.ends_with('Z') && started.contains('T'), "{run}");
        assert!(finished >= started, "{run}");
    }
    let c = &report.counts;
    assert_eq!(
        (
            c.applied,
            c.pending,
            c.failed,
            c.modified,
            c.missing_locally
        ),
        (2, 0, 0, 0, 0),
        "{run}"
    );
}

#[test]
fn status_exit_0_with_a_modified_migration_and_13_with_strict() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_b", "CREATE TABLE \"B\" (id int);\n");
    run(db.url(), m.path(), &["deploy"]).success();
    let recorded = m.checksum("20240102000000_b");
    m.add(
        "20240102000000_b",
        "CREATE TABLE \"B\" (id int, edited int);\n",
    );

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 0, "modified is only a warning\n{human}");
    assert!(human.stdout.contains(UP_TO_DATE), "{human}");
    assert!(
        human_line_has(&human.stdout, "20240102000000_b", "modified"),
        "{human}"
    );
    assert!(
        human.stderr.contains("20240102000000_b") && human.stderr.contains("modified"),
        "the warning goes to stderr\n{human}"
    );

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(report.ok, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240102000000_b", "modified")
        ]),
        "{run}"
    );
    let b = migration(&report, "20240102000000_b", &run);
    assert_eq!(
        b.recorded_checksum.as_deref(),
        Some(recorded.as_str()),
        "{run}"
    );
    assert_eq!(
        b.checksum.as_deref(),
        Some(m.checksum("20240102000000_b").as_str()),
        "{run}"
    );
    assert_ne!(b.checksum, b.recorded_checksum, "{run}");
    assert_eq!(
        warning_ids(&report),
        [(
            "migration/modified".to_string(),
            Some("20240102000000_b".to_string())
        )],
        "{run}"
    );
    assert_eq!(
        (report.counts.applied, report.counts.modified),
        (1, 1),
        "{run}"
    );

    let strict = status(&db, &m, &["--strict"]);
    assert_eq!(strict.code, 13, "{strict}");
    assert!(strict.stderr.contains("modified"), "{strict}");
    assert!(
        strict.stderr.contains("Drift (--strict)") && !strict.stdout.contains("up to date"),
        "exit 13 must not claim the schema is up to date\n{strict}"
    );

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 13, "{run}");
    assert_eq!(report.exit_code, 13, "{run}");
    assert!(!report.ok, "{run}");
    assert_eq!(report.counts.modified, 1, "{run}");
    assert_eq!(
        migration(&report, "20240102000000_b", &run).state,
        "modified",
        "{run}"
    );
}

#[test]
fn status_exit_0_when_rows_are_missing_locally() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_a",
        m.checksum("20240101000000_a"),
        "2024-01-01 10:00:00.000100+00",
        "2024-01-01 10:00:00.250000+00",
    )
    .insert(&db);
    let gone_checksum = sha256_hex(b"CREATE TABLE \"Gone\" (id int);\n");
    PrismaRow::applied(
        "20240201000000_rolled_back_release",
        gone_checksum.clone(),
        "2024-02-01 10:00:00+00",
        "2024-02-01 10:00:01+00",
    )
    .insert(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains(UP_TO_DATE), "{human}");
    assert!(
        human_line_has(
            &human.stdout,
            "20240201000000_rolled_back_release",
            "missing_locally"
        ),
        "{human}"
    );
    assert!(
        human.stderr.contains("20240201000000_rolled_back_release"),
        "a warning names the missing migration\n{human}"
    );

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(report.ok, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240201000000_rolled_back_release", "missing_locally")
        ]),
        "{run}"
    );
    let gone = migration(&report, "20240201000000_rolled_back_release", &run);
    assert_eq!(gone.checksum, None, "no local file\n{run}");
    assert_eq!(
        gone.recorded_checksum.as_deref(),
        Some(gone_checksum.as_str()),
        "{run}"
    );
    assert_eq!(
        gone.started_at.as_deref(),
        Some("2024-02-01T10:00:00.000000Z"),
        "{run}"
    );
    assert_eq!(
        gone.finished_at.as_deref(),
        Some("2024-02-01T10:00:01.000000Z"),
        "{run}"
    );
    let a = migration(&report, "20240101000000_a", &run);
    assert_eq!(
        a.started_at.as_deref(),
        Some("2024-01-01T10:00:00.000100Z"),
        "{run}"
    );
    assert_eq!(
        a.finished_at.as_deref(),
        Some("2024-01-01T10:00:00.250000Z"),
        "{run}"
    );
    assert_eq!(
        warning_ids(&report),
        [(
            "migration/missing_locally".to_string(),
            Some("20240201000000_rolled_back_release".to_string())
        )],
        "{run}"
    );
    let c = &report.counts;
    assert_eq!(
        (
            c.applied,
            c.pending,
            c.failed,
            c.modified,
            c.missing_locally
        ),
        (1, 0, 0, 0, 1),
        "{run}"
    );
    let strict = status(&db, &m, &["--strict"]);
    assert_eq!(strict.code, 0, "missing_locally is not drift\n{strict}");
}

#[test]
fn status_exit_12_with_pending_migrations() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_b", "CREATE TABLE \"B\" (id int);\n")
        .add("20240103000000_c", "CREATE TABLE \"C\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_a",
        m.checksum("20240101000000_a"),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:00:00.5+00",
    )
    .insert(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 12, "{human}");
    assert!(
        human.stdout.contains(&format!(
            "{NOT_YET_APPLIED}\n20240102000000_b\n20240103000000_c\n"
        )),
        "{human}"
    );
    assert!(!human.stdout.contains(UP_TO_DATE), "{human}");

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 12, "{run}");
    assert!(!report.ok, "{run}");
    assert_eq!(report.exit_code, 12, "{run}");
    assert!(report.has_migrations_table, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240102000000_b", "pending"),
            ("20240103000000_c", "pending")
        ]),
        "{run}"
    );
    let b = migration(&report, "20240102000000_b", &run);
    assert!(!b.out_of_order, "{run}");
    assert_eq!(b.recorded_checksum, None, "{run}");
    assert_eq!(b.started_at, None, "{run}");
    assert_eq!(b.finished_at, None, "{run}");
    assert_eq!(
        b.checksum.as_deref(),
        Some(m.checksum("20240102000000_b").as_str()),
        "{run}"
    );
    assert!(report.warnings.is_empty(), "in order: no warning\n{run}");
    let c = &report.counts;
    assert_eq!(
        (
            c.applied,
            c.pending,
            c.failed,
            c.modified,
            c.missing_locally
        ),
        (1, 2, 0, 0, 0),
        "{run}"
    );
}

#[test]
fn status_exit_12_on_a_fresh_database_without_history_table() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_b", "CREATE TABLE \"B\" (id int);\n");

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 12, "{human}");
    assert!(
        human.stdout.contains(&format!(
            "{NOT_YET_APPLIED}\n20240101000000_a\n20240102000000_b\n"
        )),
        "{human}"
    );

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 12, "{run}");
    assert!(!report.has_migrations_table, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "pending"),
            ("20240102000000_b", "pending")
        ]),
        "{run}"
    );
    assert_eq!(report.counts.pending, 2, "{run}");
    assert!(report.failed.is_empty(), "{run}");
    assert!(
        !db.table_exists("_prisma_migrations"),
        "status must not create the history table\n{run}"
    );
    assert!(db.table_names().is_empty(), "{run}");
}

#[test]
fn status_exit_10_with_a_failed_row() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_broken", "CREATE TABLE \"Dup\" (id int);\n")
        .add("20240103000000_c", "CREATE TABLE \"C\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_a",
        m.checksum("20240101000000_a"),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:00:00.5+00",
    )
    .insert(&db);
    let failed_id = PrismaRow::failed(
        "20240102000000_broken",
        m.checksum("20240102000000_broken"),
        "2025-01-08 02:51:04.844060+00",
    )
    .insert(&db);
    let before = history_snapshot(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 10, "failed wins over pending\n{human}");
    assert!(
        human
            .stderr
            .contains(&format!("{HAVE_FAILED}\n20240102000000_broken\n")),
        "{human}"
    );
    assert!(human.stderr.contains("20240102000000_broken"), "{human}");
    assert!(!human.stdout.contains(UP_TO_DATE), "{human}");
    assert!(
        human_line_has(&human.stdout, "20240102000000_broken", "failed"),
        "{human}"
    );

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 10, "{run}");
    assert_eq!(report.exit_code, 10, "{run}");
    assert!(!report.ok, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240102000000_broken", "failed"),
            ("20240103000000_c", "pending")
        ]),
        "{run}"
    );
    let c = &report.counts;
    assert_eq!(
        (
            c.applied,
            c.pending,
            c.failed,
            c.modified,
            c.missing_locally
        ),
        (1, 1, 1, 0, 0),
        "{run}"
    );
    assert_eq!(report.failed.len(), 1, "{run}");
    let failed = &report.failed[0];
    assert_eq!(failed.migration, "20240102000000_broken", "{run}");
    assert_eq!(failed.id, failed_id, "{run}");
    assert_eq!(failed.started_at, "2025-01-08T02:51:04.844060Z", "{run}");
    assert_eq!(
        failed.checksum,
        m.checksum("20240102000000_broken"),
        "{run}"
    );
    assert_eq!(
        failed.logs.as_deref(),
        Some(p3018_logs("20240102000000_broken").as_str()),
        "{run}"
    );
    let entry = migration(&report, "20240102000000_broken", &run);
    assert_eq!(entry.finished_at, None, "{run}");
    assert_eq!(
        entry.started_at.as_deref(),
        Some("2025-01-08T02:51:04.844060Z"),
        "{run}"
    );
    assert_eq!(history_snapshot(&db), before, "status must not touch rows");
}

#[test]
fn status_exit_10_with_a_failed_row_whose_directory_is_missing_locally() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_a",
        m.checksum("20240101000000_a"),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:00:01+00",
    )
    .insert(&db);
    let gone_checksum = sha256_hex(b"CREATE TABLE \"Dup\" (id int);\n");
    let failed_id = PrismaRow::failed(
        "20240105000000_gone",
        gone_checksum.clone(),
        "2024-01-05 12:00:00+00",
    )
    .insert(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 10, "{human}");
    assert!(
        human
            .stderr
            .contains(&format!("{HAVE_FAILED}\n20240105000000_gone\n")),
        "{human}"
    );
    assert!(!human.stdout.contains(UP_TO_DATE), "{human}");

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 10, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_a", "applied"),
            ("20240105000000_gone", "failed")
        ]),
        "{run}"
    );
    let gone = migration(&report, "20240105000000_gone", &run);
    assert_eq!(gone.checksum, None, "{run}");
    assert_eq!(
        gone.recorded_checksum.as_deref(),
        Some(gone_checksum.as_str()),
        "{run}"
    );
    assert_eq!(report.counts.failed, 1, "{run}");
    assert_eq!(report.counts.missing_locally, 0, "{run}");
    assert_eq!(report.failed.len(), 1, "{run}");
    assert_eq!(report.failed[0].migration, "20240105000000_gone", "{run}");
    assert_eq!(report.failed[0].id, failed_id, "{run}");
    assert_eq!(
        report.failed[0].started_at, "2024-01-05T12:00:00.000000Z",
        "{run}"
    );
    assert_eq!(report.failed[0].checksum, gone_checksum, "{run}");
}

// ---------------------------------------------------------------------------------------------
// Rows written by Prisma, read by `status` and `deploy`
// ---------------------------------------------------------------------------------------------

#[test]
fn resolve_applied_row_counts_as_applied_and_deploy_does_not_reapply_it() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_baseline",
        "CREATE TABLE \"Baseline\" (id int);\n",
    )
    .add("20240102000000_next", "CREATE TABLE \"Next\" (id int);\n");
    create_prisma_table(&db);
    let resolved_id = PrismaRow::resolved_applied(
        "20240101000000_baseline",
        m.checksum("20240101000000_baseline"),
        "2024-01-01 09:30:00.123456+00",
    )
    .insert(&db);
    let resolved_row = history_snapshot(&db);

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 12, "{run}");
    assert_eq!(
        states(&report),
        pairs(&[
            ("20240101000000_baseline", "applied"),
            ("20240102000000_next", "pending")
        ]),
        "{run}"
    );
    let baseline = migration(&report, "20240101000000_baseline", &run);
    assert_eq!(baseline.started_at, baseline.finished_at, "{run}");

    let deploy = run_json_deploy(&db, &m, &[]);
    assert_eq!(deploy.0.code, 0, "{}", deploy.0);
    let applied: Vec<&str> = deploy.1.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, ["20240102000000_next"], "{}", deploy.0);
    assert!(
        !db.table_exists("Baseline"),
        "a resolve --applied migration must not be applied again\n{}",
        deploy.0
    );
    assert!(db.table_exists("Next"), "{}", deploy.0);
    assert_eq!(
        rows_named(&db, "20240101000000_baseline"),
        [(true, false, Some(String::new()), 0)],
        "the resolve --applied row stays as Prisma wrote it"
    );
    assert_eq!(
        history_snapshot(&db)
            .into_iter()
            .filter(|r| r[0].as_deref() == Some(resolved_id.as_str()))
            .collect::<Vec<_>>(),
        resolved_row
    );
    assert_eq!(
        rows_named(&db, "20240102000000_next"),
        [(true, false, None, 1)]
    );

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report.counts.applied, 2, "{run}");
}

#[test]
fn rolled_back_only_row_is_pending_and_deploy_applies_it_as_a_new_row() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_retry", "CREATE TABLE \"Retry\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_a",
        m.checksum("20240101000000_a"),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:00:01+00",
    )
    .insert(&db);
    let old_id = PrismaRow::rolled_back(
        "20240102000000_retry",
        m.checksum("20240102000000_retry"),
        "2024-01-02 10:00:00+00",
        "2024-01-02 11:00:00+00",
    )
    .insert(&db);
    let before = history_snapshot(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 12, "{human}");
    assert!(
        human
            .stdout
            .contains(&format!("{NOT_YET_APPLIED}\n20240102000000_retry\n")),
        "{human}"
    );
    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 12, "{run}");
    assert_eq!(
        migration(&report, "20240102000000_retry", &run).state,
        "pending",
        "{run}"
    );
    assert!(
        report.failed.is_empty(),
        "a rolled-back row is not failed\n{run}"
    );
    assert_eq!(report.counts.failed, 0, "{run}");

    let (deploy, deployed) = run_json_deploy(&db, &m, &[]);
    assert_eq!(deploy.code, 0, "{deploy}");
    let applied: Vec<&str> = deployed.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, ["20240102000000_retry"], "{deploy}");
    assert_ne!(deployed.applied[0].id, old_id, "a NEW row\n{deploy}");
    assert!(db.table_exists("Retry"), "{deploy}");
    assert_eq!(
        rows_named(&db, "20240102000000_retry"),
        [
            (false, true, Some(p3018_logs("20240102000000_retry")), 0),
            (true, false, None, 1)
        ],
        "the old row stays, a new applied row follows\n{deploy}"
    );
    let after = history_snapshot(&db);
    for row in &before {
        assert!(after.contains(row), "row {row:?} changed\n{deploy}");
    }
    assert_eq!(after.len(), 3, "{deploy}");

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        migration(&report, "20240102000000_retry", &run).state,
        "applied",
        "{run}"
    );
}

#[test]
fn several_rows_per_name_rolled_back_then_applied_count_as_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_multi", "CREATE TABLE \"Multi\" (id int);\n");
    create_prisma_table(&db);
    let checksum = m.checksum("20240101000000_multi");
    // The usual story: the first version failed, was marked rolled back, the file was fixed, and
    // the fixed version was deployed. The rolled-back row keeps the checksum of the broken file.
    PrismaRow::rolled_back(
        "20240101000000_multi",
        sha256_hex(b"CREATE TABLE \"Multi\" (id int, broken);\n"),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:05:00+00",
    )
    .insert(&db);
    PrismaRow::applied(
        "20240101000000_multi",
        checksum.clone(),
        "2024-01-01 10:06:00+00",
        "2024-01-01 10:06:00.75+00",
    )
    .insert(&db);
    let before = history_snapshot(&db);

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains(UP_TO_DATE), "{human}");

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 0, "{run}");
    let multi = migration(&report, "20240101000000_multi", &run);
    assert_eq!(multi.state, "applied", "{run}");
    assert_eq!(
        multi.finished_at.as_deref(),
        Some("2024-01-01T10:06:00.750000Z"),
        "{run}"
    );
    assert_eq!(report.counts.applied, 1, "{run}");
    assert!(report.failed.is_empty(), "{run}");

    let (deploy, deployed) = run_json_deploy(&db, &m, &[]);
    assert_eq!(deploy.code, 0, "{deploy}");
    assert!(deployed.applied.is_empty(), "{deploy}");
    assert!(!db.table_exists("Multi"), "not applied again\n{deploy}");
    assert_eq!(history_snapshot(&db), before, "{deploy}");
}

#[test]
fn failed_row_blocks_deploy_with_p3009_and_nothing_is_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20250101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20250108000000_broken", "CREATE TABLE \"Dup\" (id int);\n")
        .add("20250109000000_next", "CREATE TABLE \"Next\" (id int);\n");
    create_prisma_table(&db);
    PrismaRow::applied(
        "20250101000000_a",
        m.checksum("20250101000000_a"),
        "2025-01-01 10:00:00+00",
        "2025-01-01 10:00:01+00",
    )
    .insert(&db);
    let failed_id = PrismaRow::failed(
        "20250108000000_broken",
        m.checksum("20250108000000_broken"),
        "2025-01-08 02:51:04.844060+00",
    )
    .insert(&db);
    // A second failed row, started later, with no fraction of a second and no local directory.
    PrismaRow::failed(
        "20250107000000_elsewhere",
        sha256_hex(b"SELECT 1;\n"),
        "2025-01-09 00:00:00+00",
    )
    .insert(&db);
    let before = history_snapshot(&db);

    let human = run(db.url(), m.path(), &["deploy"]);
    assert_eq!(human.code, 10, "{human}");
    assert!(human.stderr.contains("P3009"), "{human}");
    assert!(
        human.stderr.contains(
            "migrate found failed migrations in the target database, new migrations will not be applied."
        ),
        "{human}"
    );
    assert!(
        human.stderr.contains(
            "The `20250108000000_broken` migration started at 2025-01-08 02:51:04.844060 UTC failed"
        ),
        "Prisma's P3009 line, with chrono's timestamp format\n{human}"
    );
    let second =
        "The `20250107000000_elsewhere` migration started at 2025-01-09 00:00:00 UTC failed";
    let first_at = human
        .stderr
        .find("The `20250108000000_broken` migration started at");
    let second_at = human.stderr.find(second);
    assert!(
        second_at.is_some() && first_at < second_at,
        "one line per failed row, in started_at order, zero fraction dropped\n{human}"
    );
    assert!(!db.table_exists("Next"), "{human}");
    assert!(!db.table_exists("Dup"), "{human}");
    assert_eq!(history_snapshot(&db), before, "{human}");

    let (run, report) = run_json_deploy(&db, &m, &[]);
    assert_eq!(run.code, 10, "{run}");
    assert_eq!(report.exit_code, 10, "{run}");
    assert!(!report.ok, "{run}");
    assert!(report.applied.is_empty(), "{run}");
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "history/failed_migration", "{run}");
    assert_eq!(error.prisma_code.as_deref(), Some("P3009"), "{run}");
    let failed: Vec<&str> = report.failed.iter().map(|f| f.migration.as_str()).collect();
    assert_eq!(
        failed,
        ["20250108000000_broken", "20250107000000_elsewhere"],
        "{run}"
    );
    assert_eq!(report.failed[0].id, failed_id, "{run}");
    assert_eq!(
        report.failed[0].started_at, "2025-01-08T02:51:04.844060Z",
        "{run}"
    );
    assert_eq!(
        report.failed[0].logs.as_deref(),
        Some(p3018_logs("20250108000000_broken").as_str()),
        "{run}"
    );
    assert!(!db.table_exists("Next"), "{run}");
    assert_eq!(history_snapshot(&db), before, "{run}");
}

#[test]
fn crlf_file_with_checksum_of_its_lf_version_is_applied_not_modified() {
    let db = fresh_db();
    let m = Migrations::new();
    let lf = "CREATE TABLE \"Crlf\" (id int);\nCREATE TABLE \"Crlf2\" (id int);\n";
    let crlf = lf.replace('\n', "\r\n");
    m.add("20240101000000_crlf", &crlf);
    let lf_checksum = sha256_hex(lf.as_bytes());
    assert_ne!(m.checksum("20240101000000_crlf"), lf_checksum);
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_crlf",
        lf_checksum.clone(),
        "2024-01-01 10:00:00+00",
        "2024-01-01 10:00:01+00",
    )
    .insert(&db);

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 0, "{run}");
    let entry = migration(&report, "20240101000000_crlf", &run);
    assert_eq!(
        entry.state, "applied",
        "CRLF/LF variants are accepted\n{run}"
    );
    assert_eq!(
        entry.recorded_checksum.as_deref(),
        Some(lf_checksum.as_str()),
        "{run}"
    );
    assert_eq!(
        entry.checksum.as_deref(),
        Some(sha256_hex(crlf.as_bytes()).as_str()),
        "{run}"
    );
    assert_eq!(report.counts.modified, 0, "{run}");
    assert!(report.warnings.is_empty(), "{run}");

    let (deploy, deployed) = run_json_deploy(&db, &m, &[]);
    assert_eq!(deploy.code, 0, "{deploy}");
    assert!(deployed.applied.is_empty(), "{deploy}");
    assert!(deployed.warnings.is_empty(), "{deploy}");
    assert!(!db.table_exists("Crlf"), "{deploy}");
}

#[test]
fn legacy_unpadded_checksum_is_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    // A script whose digest has a byte below 0x10, so the legacy form differs from the padded one.
    let (sql, legacy) = (0..100)
        .map(|i| format!("CREATE TABLE \"Legacy\" (id int);\n-- variant {i}\n"))
        .map(|sql| {
            let legacy = legacy_unpadded_checksum(sql.as_bytes());
            (sql, legacy)
        })
        .find(|(_, legacy)| legacy.len() != 64)
        .expect("some variant has a byte below 0x10");
    m.add("20240101000000_legacy", &sql);
    create_prisma_table(&db);
    PrismaRow::applied(
        "20240101000000_legacy",
        legacy.clone(),
        "2021-01-01 10:00:00+00",
        "2021-01-01 10:00:01+00",
    )
    .insert(&db);

    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 0, "{run}");
    let entry = migration(&report, "20240101000000_legacy", &run);
    assert_eq!(entry.state, "applied", "{run}");
    assert_eq!(
        entry.recorded_checksum.as_deref(),
        Some(legacy.as_str()),
        "{run}"
    );
    assert_eq!(report.counts.modified, 0, "{run}");

    // Control: a legacy checksum of other content is `modified`.
    m.add("20240101000000_legacy", &format!("{sql}-- edited\n"));
    let (run, report) = status_json(&db, &m, &["--strict"]);
    assert_eq!(run.code, 13, "{run}");
    assert_eq!(
        migration(&report, "20240101000000_legacy", &run).state,
        "modified",
        "{run}"
    );
}

/// Prisma's legacy checksum format: each byte of the SHA-256 as `{:x}`, without zero padding.
fn legacy_unpadded_checksum(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:x}"))
        .collect()
}

fn run_json_deploy(db: &TestDb, m: &Migrations, extra: &[&str]) -> (Run, contract::DeployReport) {
    let mut args = vec!["--json", "deploy"];
    args.extend_from_slice(extra);
    let run = run(db.url(), m.path(), &args);
    let report = contract::deploy(&run.stdout);
    (run, report)
}

// ---------------------------------------------------------------------------------------------
// status never writes, never locks
// ---------------------------------------------------------------------------------------------

#[test]
fn status_never_writes() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");

    let plain = status(&db, &m, &[]);
    assert_eq!(plain.code, 12, "{plain}");
    assert!(!db.table_exists("_prisma_migrations"), "{plain}");

    // With a schema that does not exist: deploy would create it, status must not.
    let (run, report) = status_json(&db, &m, &["--db-schema", "status_only"]);
    assert_eq!(run.code, 12, "{run}");
    assert!(!report.has_migrations_table, "{run}");
    assert_eq!(
        report.database.as_ref().map(|d| d.schema.as_str()),
        Some("status_only"),
        "{run}"
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_namespace WHERE nspname = 'status_only'"),
        Some(0),
        "status created the schema\n{run}"
    );
    assert!(
        !db.table_exists_in("status_only", "_prisma_migrations"),
        "{run}"
    );
    assert!(db.table_names().is_empty(), "{run}");
}

#[test]
fn status_does_not_take_the_advisory_lock() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SET application_name = 'lock-holder-test'; SELECT pg_advisory_lock({LOCK_KEY})"
        ))
        .expect("take the advisory lock");

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 12, "status must not wait for the lock\n{human}");
    assert!(!human.output().contains("P1002"), "{human}");
    assert!(!human.output().contains("advisory lock"), "{human}");

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 12, "{run}");
    assert!(report.error.is_none(), "{run}");

    // The holder still holds it, and nobody else ever got it.
    let held: bool = holder
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid() AND objid = $1::bigint::oid)",
            &[&LOCK_KEY],
        )
        .expect("pg_locks")
        .get(0);
    assert!(held, "{run}");
    // Control: deploy does wait for this lock.
    let deploy = crate::support::run(db.url(), m.path(), &["deploy", "--lock-timeout", "0"]);
    assert_eq!(deploy.code, 5, "{deploy}");
}

// ---------------------------------------------------------------------------------------------
// out_of_order
// ---------------------------------------------------------------------------------------------

#[test]
fn pending_migration_older_than_the_newest_applied_is_out_of_order() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n")
        .add("20240102000000_late", "CREATE TABLE \"Late\" (id int);\n")
        .add("20240103000000_c", "CREATE TABLE \"C\" (id int);\n")
        .add("20240104000000_new", "CREATE TABLE \"New\" (id int);\n");
    create_prisma_table(&db);
    for (name, started, finished) in [
        (
            "20240101000000_a",
            "2024-01-01 10:00:00+00",
            "2024-01-01 10:00:01+00",
        ),
        (
            "20240103000000_c",
            "2024-01-03 10:00:00+00",
            "2024-01-03 10:00:01+00",
        ),
    ] {
        PrismaRow::applied(name, m.checksum(name), started, finished).insert(&db);
    }

    let human = status(&db, &m, &[]);
    assert_eq!(human.code, 12, "{human}");
    let late_line = human
        .stdout
        .lines()
        .find(|l| l.contains("20240102000000_late"))
        .unwrap_or_else(|| panic!("no line for the late migration\n{human}"));
    assert!(late_line.contains("out of order"), "{human}");
    assert!(
        human.stderr.contains("20240102000000_late"),
        "a warning names it\n{human}"
    );

    let (run, report) = status_json(&db, &m, &[]);
    assert_eq!(run.code, 12, "{run}");
    let flags: Vec<(String, String, bool)> = report
        .migrations
        .iter()
        .map(|e| (e.name.clone(), e.state.clone(), e.out_of_order))
        .collect();
    assert_eq!(
        flags,
        [
            ("20240101000000_a".to_string(), "applied".to_string(), false),
            (
                "20240102000000_late".to_string(),
                "pending".to_string(),
                true
            ),
            ("20240103000000_c".to_string(), "applied".to_string(), false),
            (
                "20240104000000_new".to_string(),
                "pending".to_string(),
                false
            ),
        ],
        "{run}"
    );
    assert_eq!(
        warning_ids(&report),
        [(
            "migration/out_of_order".to_string(),
            Some("20240102000000_late".to_string())
        )],
        "{run}"
    );
    assert_eq!(report.counts.pending, 2, "{run}");

    // deploy applies it anyway (in name order), with the same warning.
    let (deploy, deployed) = run_json_deploy(&db, &m, &[]);
    assert_eq!(deploy.code, 0, "{deploy}");
    let planned: Vec<(&str, bool)> = deployed
        .plan
        .iter()
        .map(|p| (p.name.as_str(), p.out_of_order))
        .collect();
    assert_eq!(
        planned,
        [("20240102000000_late", true), ("20240104000000_new", false)],
        "{deploy}"
    );
    let applied: Vec<&str> = deployed.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        applied,
        ["20240102000000_late", "20240104000000_new"],
        "{deploy}"
    );
    assert!(
        deployed
            .warnings
            .iter()
            .any(|w| w.id == "migration/out_of_order"
                && w.migration.as_deref() == Some("20240102000000_late")),
        "{deploy}"
    );
    assert!(
        db.table_exists("Late") && db.table_exists("New"),
        "{deploy}"
    );
    assert!(!db.table_exists("A") && !db.table_exists("C"), "{deploy}");
}
