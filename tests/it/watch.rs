//! Watchable releases (issue 12): a blocked migration names its blocker live and in JSON, retries
//! under `lock_timeout` until a budget runs out (exit 11, nothing written); a long
//! `CREATE INDEX CONCURRENTLY` reports its phase (in a log and on a terminal); `--deadline` stops
//! between migrations and cancels a transactional one; the monitor's connection dying changes
//! nothing; `--dry-run` names the size and lock of a table rewrite.
//!
//! The blocker is a second session the test controls. Waits are driven by events (a line on the
//! tool's stderr, a row in `pg_stat_activity`); the tuning variables `PRISMA_RELEASE_WATCH_AFTER`
//! and `PRISMA_RELEASE_WATCH_LOG_EVERY` keep the runs short.

use crate::contract;
use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Show progress at once and log every 300 ms, so short runs produce lines.
const FAST_WATCH: &[(&str, &str)] = &[
    ("PRISMA_RELEASE_WATCH_AFTER", "0s"),
    ("PRISMA_RELEASE_WATCH_LOG_EVERY", "300ms"),
];

/// `"Order"` deployed, and a pending migration that changes a column's type (ACCESS EXCLUSIVE).
fn order_and_alter(db: &TestDb) -> Migrations {
    let m = Migrations::new();
    m.add(
        "20240101000000_order",
        "CREATE TABLE \"Order\" (id serial PRIMARY KEY, total int, note text);\n",
    );
    run(db.url(), m.path(), &["deploy"]).success();
    m.add(
        "20240301000000_total_bigint",
        "ALTER TABLE \"Order\" ALTER COLUMN \"total\" SET DATA TYPE BIGINT;\n",
    );
    m
}

/// A session `idle in transaction` holding a lock on "Order" (ACCESS SHARE is enough to block
/// the ALTER), with its pid.
fn idle_holder(db: &TestDb, application_name: &str) -> (postgres::Client, i32) {
    let mut client = db.client();
    let pid = client
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pid")
        .get(0);
    client
        .batch_execute(&format!(
            "SET application_name = '{application_name}'; BEGIN; SELECT count(*) FROM \"Order\""
        ))
        .unwrap_or_else(|e| panic!("hold Order: {}", describe(&e)));
    (client, pid)
}

fn total_type(db: &TestDb) -> String {
    db.scalar_string(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'Order' AND column_name = 'total'",
    )
    .expect("column total")
}

/// Polls `sql` (a `count(*)`) until it is positive, for at most a minute.
fn wait_until(db: &TestDb, sql: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = db.client();
    loop {
        let n: i64 = client.query_one(sql, &[]).expect(sql).get(0);
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A gate a migration waits at (`SELECT pg_advisory_lock(GATE)`) until the test opens it: the test
/// decides when the migration goes on, instead of guessing with a sleep.
const GATE: i64 = 4242;

/// Holds the gate closed (on its own session) until dropped or [`open_gate`].
fn close_gate(db: &TestDb) -> postgres::Client {
    let mut client = db.client();
    client
        .execute("SELECT pg_advisory_lock($1)", &[&GATE])
        .expect("close the gate");
    client
}

fn open_gate(mut gate: postgres::Client) {
    gate.execute("SELECT pg_advisory_unlock($1)", &[&GATE])
        .expect("open the gate");
}

/// Until some backend of this database waits at the gate.
fn wait_at_gate(db: &TestDb) {
    wait_until(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
        "a migration waiting at the gate",
    );
}

fn rows_named(db: &TestDb, name: &str) -> i64 {
    db.client()
        .query_one(
            "SELECT count(*) FROM _prisma_migrations WHERE migration_name = $1",
            &[&name],
        )
        .expect("count rows")
        .get(0)
}

#[test]
fn an_idle_in_transaction_holder_is_named_live_and_in_json_and_the_deploy_succeeds_once_it_commits()
{
    let db = fresh_db();
    let m = order_and_alter(&db);
    let (mut holder, pid) = idle_holder(&db, "nightly-report");

    let mut deploy = Watched::spawn(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--ddl-lock-timeout",
            "500ms",
            "--lock-retry-budget",
            "60s",
        ],
        FAST_WATCH,
    );
    // The live output (a log: stderr is a pipe) names the holder while the deploy waits …
    let live = deploy.wait_for_stderr(&format!("blocked by pid {pid} "));
    assert!(live.contains("application_name `nightly-report`"), "{live}");
    assert!(live.contains("idle in transaction"), "{live}");
    // … and it retries after lock_timeout rather than waiting in the lock queue.
    deploy.wait_for_stderr("retrying in");
    holder.batch_execute("COMMIT").expect("holder commits");
    let run = deploy.finish();

    assert_eq!(run.code, 0, "{run}");
    let report = contract::deploy(&run.stdout);
    assert_eq!(report.applied.len(), 1, "{run}");
    assert!(report.applied[0].retries >= 1, "{run}");
    let observation = &report.observations[0];
    assert_eq!(
        observation.migration, "20240301000000_total_bigint",
        "{run}"
    );
    assert!(observation.lock_timeouts >= 1, "{run}");
    assert!(observation.waited_for_lock_ms > 0, "{run}");
    let blocker = observation
        .blockers
        .iter()
        .find(|b| b.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} in the observations\n{run}"));
    assert_eq!(blocker.application_name, "nightly-report", "{run}");
    assert_eq!(blocker.state, "idle in transaction", "{run}");
    assert!(blocker.query.contains("SELECT count(*)"), "{run}");
    assert_eq!(total_type(&db), "bigint", "{run}");
    assert_eq!(rows_named(&db, "20240301000000_total_bigint"), 1, "{run}");
}

#[test]
fn a_holder_that_never_commits_exhausts_the_budget_exit_11_nothing_written_blocker_named() {
    let db = fresh_db();
    let m = order_and_alter(&db);
    let (mut holder, pid) = idle_holder(&db, "stuck-console");

    let started = Instant::now();
    let run = run_with_env(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--ddl-lock-timeout",
            "400ms",
            "--lock-retry-budget",
            "2s",
        ],
        FAST_WATCH,
    );
    let elapsed = started.elapsed();
    holder.batch_execute("ROLLBACK").expect("holder ends");

    assert_eq!(run.code, 11, "{run}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}\n{run}");
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "migration/lock_timeout", "{run}");
    assert_eq!(error.prisma_code.as_deref(), Some("P3018"), "{run}");
    assert!(
        error.message.contains(&format!("blocked by pid {pid} "))
            && error.message.contains("stuck-console"),
        "{run}"
    );
    assert!(
        error
            .hint
            .contains(&format!("SELECT pg_terminate_backend({pid});")),
        "{run}"
    );
    let failure = error.failure.as_ref().expect("failure");
    assert_eq!(failure.sqlstate.as_deref(), Some("55P03"), "{run}");
    assert!(failure.rolled_back, "{run}");
    assert_eq!(report.left, ["20240301000000_total_bigint"], "{run}");
    assert!(report.observations[0].lock_timeouts >= 2, "{run}");
    assert!(run.stderr.contains("retrying in"), "{run}");
    // Nothing written, and the holder was never touched.
    assert_eq!(rows_named(&db, "20240301000000_total_bigint"), 0, "{run}");
    assert_eq!(total_type(&db), "integer", "{run}");
}

#[test]
fn cancel_blockers_after_terminates_an_idle_in_transaction_holder() {
    let db = fresh_db();
    let m = order_and_alter(&db);
    let (_holder, pid) = idle_holder(&db, "forgotten-psql");

    let run = run(
        db.url(),
        m.path(),
        &[
            "deploy",
            "--ddl-lock-timeout",
            "400ms",
            "--cancel-blockers-after",
            "0s",
        ],
    );

    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr
            .contains(&format!("terminated the blocking session pid {pid} ")),
        "{run}"
    );
    assert_eq!(total_type(&db), "bigint", "{run}");
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"
        )),
        Some(0),
        "{run}"
    );
}

/// A table whose index build takes a few seconds however fast the machine is: the indexed
/// expression sleeps 2 ms per row.
fn slow_index_migrations(db: &TestDb) -> Migrations {
    let m = Migrations::new();
    m.add(
        "20240101000000_items",
        "CREATE TABLE items (id int PRIMARY KEY);\n\
         CREATE FUNCTION slow_key(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \
         $$BEGIN PERFORM pg_sleep(0.002); RETURN $1; END$$;\n\
         INSERT INTO items SELECT generate_series(1, 1000);\n",
    );
    run(db.url(), m.path(), &["deploy"]).success();
    m.add(
        "20240201000000_items_key",
        "CREATE INDEX CONCURRENTLY items_key ON items (slow_key(id));\n",
    );
    m
}

#[test]
fn a_long_create_index_concurrently_reports_its_phase_in_the_log_and_json() {
    let db = fresh_db();
    let m = slow_index_migrations(&db);

    let run = run_with_env(db.url(), m.path(), &["--json", "deploy"], FAST_WATCH);

    assert_eq!(run.code, 0, "{run}");
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("migration `20240201000000_items_key`: "))
        .collect();
    assert!(
        progress
            .iter()
            .any(|l| l.contains("CREATE INDEX CONCURRENTLY: building index")),
        "{run}"
    );
    assert!(
        !run.stderr.contains('\r'),
        "no terminal control in a log\n{run}"
    );
    let report = contract::deploy(&run.stdout);
    let phase = report.observations[0]
        .longest_phase
        .as_ref()
        .expect("a phase");
    assert!(
        phase.phase.starts_with("CREATE INDEX CONCURRENTLY: "),
        "{run}"
    );
    assert!(phase.ms > 0, "{run}");
    assert!(db.index_is_valid("items_key"), "{run}");
}

/// Runs the binary under `script`, in a pseudo-terminal; returns what the terminal showed.
fn run_in_terminal(db: &TestDb, m: &Migrations, args: &str) -> Run {
    run_in_terminal_sized(db, m, args, None)
}

/// [`run_in_terminal`] in a terminal `columns` wide (set with `stty`, as a window resize does).
fn run_in_terminal_sized(db: &TestDb, m: &Migrations, args: &str, columns: Option<u16>) -> Run {
    let size = columns
        .map(|c| format!("stty cols {c}; "))
        .unwrap_or_default();
    let line = format!(
        "{size}'{}' --migrations '{}' {args}",
        bin().display(),
        m.path().display()
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str() {
            if key.starts_with("PRISMA_") || key.ends_with("DATABASE_URL") {
                cmd.env_remove(key);
            }
        }
    }
    cmd.env("DATABASE_URL", db.url())
        .env("PRISMA_RELEASE_WATCH_AFTER", "0s")
        .env_remove("COLUMNS")
        // A pipe that stays open while it runs: on EOF of its stdin, `script` may stop copying
        // the terminal's output before the command ends.
        .stdin(Stdio::piped());
    run_command(cmd)
}

#[test]
fn on_a_terminal_progress_is_one_line_updated_in_place_and_quiet_hides_it() {
    let db = fresh_db();
    let m = slow_index_migrations(&db);

    let run = run_in_terminal(&db, &m, "deploy");

    assert_eq!(run.code, 0, "{run}");
    let shown = run.output();
    assert!(
        shown.contains("\r\x1b[2Kmigration `20240201000000_items_key`: "),
        "the line is rewritten in place\n{run}"
    );
    assert!(shown.contains("CREATE INDEX CONCURRENTLY: "), "{run}");
    for rewritten in shown.split("\r\x1b[2K").skip(1) {
        let line = rewritten.split(['\r', '\n']).next().unwrap_or("");
        assert!(
            line.chars().count() < 80,
            "fits 80 columns: {line:?}\n{run}"
        );
    }
    assert!(shown.contains("All migrations have been successfully applied."));

    let db = fresh_db();
    let m = slow_index_migrations(&db);
    let quiet = run_in_terminal(&db, &m, "-q deploy");
    assert_eq!(quiet.code, 0, "{quiet}");
    assert!(
        !quiet.output().contains("\x1b[2K")
            && !quiet
                .output()
                .contains("migration `20240201000000_items_key`: "),
        "no progress with -q\n{quiet}"
    );
}

#[test]
fn on_a_narrow_terminal_the_live_line_fits_the_window_and_leaves_nothing_behind() {
    let db = fresh_db();
    let m = slow_index_migrations(&db);

    let run = run_in_terminal_sized(&db, &m, "deploy", Some(50));

    assert_eq!(run.code, 0, "{run}");
    let shown = run.output();
    // The text between two "erase line"s: a live line must be alone there (nothing printed after
    // it on its row) and narrower than the window (a wrapped line's first row is never erased).
    let live: Vec<&str> = shown
        .split("\r\x1b[2K")
        .filter(|between| between.starts_with("migration `20240201000000_items_key`: "))
        .collect();
    assert!(!live.is_empty(), "a live line\n{run}");
    for line in live {
        assert!(!line.contains('\n'), "nothing after it: {line:?}\n{run}");
        assert!(
            line.chars().count() < 50,
            "fits 50 columns: {line:?}\n{run}"
        );
    }
    assert!(
        shown.contains("All migrations have been successfully applied."),
        "{run}"
    );
}

#[test]
fn on_a_terminal_a_warning_written_meanwhile_never_lands_on_the_live_line() {
    let db = fresh_db();
    let m = order_and_alter(&db);
    let (mut holder, _pid) = idle_holder(&db, "stuck-console");

    // Lock-timeout warnings come from the apply thread while the monitor's line is shown.
    let run = run_in_terminal(
        &db,
        &m,
        "deploy --ddl-lock-timeout 300ms --lock-retry-budget 2s",
    );
    holder.batch_execute("ROLLBACK").expect("holder ends");

    assert_eq!(run.code, 11, "{run}");
    let shown = run.output();
    assert!(shown.contains("retrying in"), "{run}");
    let live: Vec<&str> = shown
        .split("\r\x1b[2K")
        .filter(|between| between.starts_with("migration `20240301000000_total_bigint`: "))
        .collect();
    assert!(!live.is_empty(), "a live line\n{run}");
    for line in live {
        assert!(
            !line.contains('\n') && !line.contains("warning:"),
            "nothing written on the live line: {line:?}\n{run}"
        );
    }
}

#[test]
fn a_deadline_between_migrations_starts_nothing_more_and_reports_what_is_left() {
    let db = fresh_db();
    let m = Migrations::new();
    // Statement by statement: never cancelled, so the deadline passes while it waits at the gate.
    m.add(
        "20240101000000_slow",
        "-- prisma-release: no-transaction\nSELECT pg_advisory_lock(4242);\n\
         SELECT pg_advisory_unlock(4242);\nCREATE TABLE a (id int);\n",
    )
    .add("20240102000000_b", "CREATE TABLE b (id int);\n")
    .add("20240103000000_c", "CREATE TABLE c (id int);\n");
    let gate = close_gate(&db);

    let spawned = Instant::now();
    let deploy = Watched::spawn(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--deadline",
            "4s",
            "--ddl-lock-timeout",
            "0",
        ],
        &[],
    );
    wait_at_gate(&db);
    // The deadline counts from the process's start, a little after the spawn: leave a margin.
    std::thread::sleep(
        (spawned + Duration::from_secs(6)).saturating_duration_since(Instant::now()),
    );
    open_gate(gate);
    let run = deploy.finish();

    assert_eq!(run.code, 14, "{run}");
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "deploy/deadline", "{run}");
    assert!(
        error.message.contains("1 migration(s) applied, 2 left"),
        "{run}"
    );
    assert_eq!(report.applied.len(), 1, "{run}");
    assert_eq!(
        report.left,
        ["20240102000000_b", "20240103000000_c"],
        "{run}"
    );
    assert!(db.table_exists("a") && !db.table_exists("b"), "{run}");
    assert_eq!(db.applied_migrations(), ["20240101000000_slow"], "{run}");
}

#[test]
fn a_deadline_during_a_transactional_migration_cancels_it_and_nothing_is_half_applied() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE a (id int);\n").add(
        "20240102000000_slow",
        "CREATE TABLE half (id int);\nSELECT pg_sleep(60);\n",
    );

    let started = Instant::now();
    let run = run_with_env(
        db.url(),
        m.path(),
        &["--json", "deploy"],
        // Long enough that the first migration starts before it on a loaded machine.
        &[("PRISMA_RELEASE_DEADLINE", "4s")],
    );

    assert_eq!(run.code, 14, "{run}");
    assert!(started.elapsed() < Duration::from_secs(30), "{run}");
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "deploy/deadline", "{run}");
    assert!(
        error
            .message
            .contains("while `20240102000000_slow` ran (cancelled and rolled back)"),
        "{run}"
    );
    assert_eq!(report.left, ["20240102000000_slow"], "{run}");
    assert!(db.table_exists("a"), "{run}");
    assert!(!db.table_exists("half"), "rolled back\n{run}");
    assert_eq!(rows_named(&db, "20240102000000_slow"), 0, "{run}");
    assert!(run.stderr.contains("deadline"), "{run}");
}

#[test]
fn a_deadline_passing_while_another_deploy_holds_the_lock_exits_14_with_everything_left() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE a (id int);\n");
    run(db.url(), m.path(), &["deploy"]).success();
    m.add("20240102000000_b", "CREATE TABLE b (id int);\n");
    let mut holder = db.client();
    holder
        .execute("SELECT pg_advisory_lock(72707369)", &[])
        .expect("hold the migration lock");

    let run = run(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--deadline",
            "1s",
            "--lock-timeout",
            "60s",
        ],
    );

    assert_eq!(
        run.code, 14,
        "the deadline's exit, not the lock timeout's\n{run}"
    );
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "deploy/deadline", "{run}");
    assert!(
        error
            .message
            .contains("while waiting for the migration lock (held by pid ")
            && error
                .message
                .contains("0 migration(s) applied, 1 left: 20240102000000_b"),
        "{run}"
    );
    assert_eq!(report.left, ["20240102000000_b"], "{run}");
    assert!(!db.table_exists("b"), "{run}");
}

#[test]
fn the_monitor_connection_killed_mid_run_does_not_fail_the_deploy() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_slow",
        "CREATE TABLE a (id int);\nSELECT pg_advisory_xact_lock(4242);\n",
    );
    let gate = close_gate(&db);

    let deploy = Watched::spawn(
        db.url(),
        m.path(),
        &["deploy", "--ddl-lock-timeout", "0"],
        FAST_WATCH,
    );
    let monitor = "SELECT count(*) FROM pg_stat_activity \
                   WHERE application_name = 'prisma-release monitor' AND datname = current_database()";
    wait_until(&db, monitor, "the monitor's connection");
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'prisma-release monitor' AND datname = current_database()",
    );
    // The migration is still running (held at the gate) when its monitor dies.
    wait_at_gate(&db);
    open_gate(gate);
    let run = deploy.finish();

    assert_eq!(run.code, 0, "{run}");
    assert!(db.table_exists("a"), "{run}");
    assert_eq!(db.applied_migrations(), ["20240101000000_slow"], "{run}");
}

#[test]
fn dry_run_names_the_table_its_size_and_the_lock_of_a_column_type_change() {
    let db = fresh_db();
    let m = order_and_alter(&db);
    db.execute(
        "INSERT INTO \"Order\" (total, note) SELECT g, md5(g::text) FROM generate_series(1, 20000) g; \
         ANALYZE \"Order\"",
    );
    let size = db
        .scalar_i64("SELECT pg_total_relation_size('\"Order\"')")
        .expect("size");

    let human = run(db.url(), m.path(), &["deploy", "--dry-run"]);
    let json = run(db.url(), m.path(), &["--json", "deploy", "--dry-run"]);

    assert_eq!(human.code, 0, "{human}");
    let pretty = format!("{:.1} MB", size as f64 / 1024.0 / 1024.0);
    assert!(
        human.stderr.contains(&format!(
            "ALTER COLUMN … TYPE rewrites \"Order\" ({pretty}, ~20000 rows) holding its ACCESS EXCLUSIVE lock"
        )),
        "{human}"
    );
    let report = contract::deploy(&json.stdout);
    let finding = &report.preflight[0];
    assert_eq!(finding.migration, "20240301000000_total_bigint", "{json}");
    assert_eq!(finding.table, "\"Order\"", "{json}");
    assert_eq!(finding.lock, "ACCESS EXCLUSIVE", "{json}");
    assert_eq!(finding.effect, "rewrite", "{json}");
    assert_eq!(finding.size_bytes, Some(size), "{json}");
    assert_eq!(finding.estimated_rows, Some(20000), "{json}");
    assert_eq!(
        rows_named(&db, "20240301000000_total_bigint"),
        0,
        "dry run writes nothing"
    );
    assert_eq!(total_type(&db), "integer");
}

#[test]
fn statement_by_statement_retries_only_the_statement_that_timed_out() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_order",
        "CREATE TABLE \"Order\" (id serial PRIMARY KEY, total int);\n",
    );
    run(db.url(), m.path(), &["deploy"]).success();
    // Run again as a whole, the first statement would fail ("already exists").
    m.add(
        "20240201000000_side_and_column",
        "-- prisma-release: no-transaction\n\
         CREATE TABLE side (id int);\n\
         ALTER TABLE \"Order\" ADD COLUMN note text;\n",
    );
    let (mut holder, pid) = idle_holder(&db, "slow-batch");

    let mut deploy = Watched::spawn(
        db.url(),
        m.path(),
        &["--json", "deploy", "--ddl-lock-timeout", "300ms"],
        FAST_WATCH,
    );
    // The monitor has seen the blocker (on a loaded machine the first timeout can come before its
    // first look), then a timeout is retried: only then may the holder go.
    deploy.wait_for_stderr(&format!("blocked by pid {pid} "));
    deploy.wait_for_stderr("retrying in");
    holder.batch_execute("COMMIT").expect("holder commits");
    let run = deploy.finish();

    assert_eq!(run.code, 0, "{run}");
    let report = contract::deploy(&run.stdout);
    assert_eq!(
        report.applied[0].execution, "statement_by_statement",
        "{run}"
    );
    assert!(report.observations[0].lock_timeouts >= 1, "{run}");
    assert!(
        report.observations[0].blockers.iter().any(|b| b.pid == pid),
        "{run}"
    );
    assert!(
        db.table_exists("side") && db.column_exists("Order", "note"),
        "{run}"
    );
    assert_eq!(
        db.applied_migrations(),
        ["20240101000000_order", "20240201000000_side_and_column"],
        "{run}"
    );
}
