//! `resolve`: parity with `prisma migrate resolve` (prisma-compat §6: P3011, P3012, P3017, P3008,
//! the idempotent `--rolled-back`, the row `--applied` inserts, the success texts), plus `--delete`
//! and the advisory lock that serialises `resolve` with a concurrent `deploy`.
//!
//! Failed rows are built as in `diagnose.rs`: Prisma's DDL, rows inserted in Prisma's shapes.

use crate::contract;
use crate::diagnose::{
    adapter_logs, cli, create_prisma_table, insert_applied_row, insert_failed_row, rows_named,
    LOCK_KEY, STARTED_AT,
};
use crate::support::*;
use std::time::{Duration, Instant};

const INIT: &str = "20240101000000_init";
const INIT_SQL: &str = "CREATE TABLE \"User\" (\"id\" SERIAL NOT NULL, CONSTRAINT \"User_pkey\" \
PRIMARY KEY (\"id\"));\n";
const FAILED: &str = "20240102000000_failed";
const FAILED_SQL: &str = "CREATE TABLE \"Post\" (\"id\" SERIAL NOT NULL, CONSTRAINT \"Post_pkey\" \
PRIMARY KEY (\"id\"));\n";

/// The init migration applied (by Prisma's deploy) and `FAILED` failed with an adapter log.
/// Returns the failed row's id.
fn setup(db: &TestDb, m: &Migrations) -> String {
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(INIT, INIT_SQL)
        .add(FAILED, FAILED_SQL);
    create_prisma_table(db);
    db.execute(INIT_SQL);
    insert_applied_row(db, INIT, &m.checksum(INIT), "2025-01-07 10:00:00+00");
    let logs = adapter_logs(FAILED, "42P01", "relation \"Nope\" does not exist");
    insert_failed_row(db, FAILED, &m.checksum(FAILED), Some(&logs), STARTED_AT)
}

/// `resolve <args...> --format json`, parsed by the contract struct.
fn resolve_json(db: &TestDb, m: &Migrations, args: &[&str]) -> (Run, contract::ResolveReport) {
    let mut all = vec!["resolve", "--format", "json"];
    all.extend_from_slice(args);
    let run = cli(db, m, &all);
    let _ = run.json();
    let report = contract::resolve(&run.stdout);
    assert_eq!(report.command, "resolve", "{run}");
    assert_eq!(i32::from(report.exit_code), run.code, "{run}");
    (run, report)
}

/// Runs `resolve <args...>` and expects a refusal with exit 3 and `code` on stderr, the table
/// untouched.
#[track_caller]
fn expect_refusal(db: &TestDb, m: &Migrations, args: &[&str], code: &str) -> Run {
    let before = history_snapshot(db);
    let mut all = vec!["resolve"];
    all.extend_from_slice(args);
    let run = cli(db, m, &all);
    run.expect_code(3);
    assert!(run.stderr.contains(code), "{code} on stderr\n{run}");
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    assert_eq!(history_snapshot(db), before, "nothing changed\n{run}");
    let (json, report) = resolve_json(db, m, args);
    json.expect_code(3);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.prisma_code.as_deref(), Some(code), "{json}");
    assert!(!report.ok, "{json}");
    assert_eq!(history_snapshot(db), before, "nothing changed\n{json}");
    run
}

#[test]
fn rolled_back_of_a_name_without_rows_is_p3011() {
    let db = fresh_db();
    let m = Migrations::new();
    setup(&db, &m);
    let run = expect_refusal(&db, &m, &["--rolled-back", "20240109000000_never"], "P3011");
    assert!(
        run.stderr.contains(
            "Migration `20240109000000_never` cannot be rolled back because it was never applied \
             to the database"
        ),
        "Prisma's text\n{run}"
    );
}

#[test]
fn rolled_back_of_an_applied_migration_is_p3012() {
    let db = fresh_db();
    let m = Migrations::new();
    setup(&db, &m);
    let run = expect_refusal(&db, &m, &["--rolled-back", INIT], "P3012");
    assert!(
        run.stderr.contains(&format!(
            "Migration `{INIT}` cannot be rolled back because it is not in a failed state"
        )),
        "Prisma's text\n{run}"
    );
}

#[test]
fn applied_of_a_name_without_local_directory_is_p3017() {
    let db = fresh_db();
    let m = Migrations::new();
    setup(&db, &m);
    // A failed row exists, but the directory is gone: Prisma refuses with P3017.
    m.remove(FAILED);
    let run = expect_refusal(&db, &m, &["--applied", FAILED], "P3017");
    assert!(run.stderr.contains(FAILED), "{run}");
    expect_refusal(&db, &m, &["--applied", "20240109000000_nowhere"], "P3017");
}

#[test]
fn applied_of_an_already_applied_migration_is_p3008() {
    let db = fresh_db();
    let m = Migrations::new();
    setup(&db, &m);
    let run = expect_refusal(&db, &m, &["--applied", INIT], "P3008");
    assert!(
        run.stderr.contains(&format!(
            "The migration `{INIT}` is already recorded as applied in the database"
        )),
        "Prisma's text\n{run}"
    );
}

#[test]
fn rolled_back_marks_the_failed_row_and_is_idempotent() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = setup(&db, &m);
    let logs_before = rows_named(&db, FAILED)[0].logs.clone();

    let run = cli(&db, &m, &["resolve", "--rolled-back", FAILED]);
    run.success();
    assert!(
        run.stdout
            .contains(&format!("Migration {FAILED} marked as rolled back.")),
        "Prisma's success line\n{run}"
    );
    let rows = rows_named(&db, FAILED);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].id, id);
    assert!(rows[0].rolled_back && !rows[0].finished, "{rows:#?}");
    assert_eq!(rows[0].logs, logs_before, "logs kept");
    assert_eq!(rows[0].steps, 0);

    // Again: Prisma succeeds silently and changes nothing.
    let after_first = history_snapshot(&db);
    let again = cli(&db, &m, &["resolve", "--rolled-back", FAILED]);
    again.success();
    assert_eq!(
        history_snapshot(&db),
        after_first,
        "nothing changes\n{again}"
    );
    let (json, report) = resolve_json(&db, &m, &["--rolled-back", FAILED]);
    json.success();
    assert!(report.ok, "{json}");
    assert!(report.rows.is_empty(), "no row touched\n{json}");
    assert_eq!(
        history_snapshot(&db),
        after_first,
        "nothing changes\n{json}"
    );

    // The next deploy applies it again as a new row.
    cli(&db, &m, &["deploy"]).success();
    let rows = rows_named(&db, FAILED);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[1].finished && !rows[1].rolled_back);
}

#[test]
fn applied_inserts_prismas_row_shape_and_marks_the_failed_rows_rolled_back() {
    let db = fresh_db();
    let m = Migrations::new();
    let first = setup(&db, &m);
    // A second failed attempt of the same migration (someone deleted nothing, Prisma retried).
    let second = insert_failed_row(
        &db,
        FAILED,
        &m.checksum(FAILED),
        None,
        "2025-01-08 05:00:00+00",
    );
    db.execute(FAILED_SQL);

    let (run, report) = resolve_json(&db, &m, &["--applied", FAILED]);
    run.success();
    assert!(report.ok, "{run}");
    assert_eq!(report.action.as_deref(), Some("applied"), "{run}");
    assert_eq!(report.migration.as_deref(), Some(FAILED), "{run}");
    let rows = rows_named(&db, FAILED);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert_eq!(
        (rows[0].id.as_str(), rows[1].id.as_str()),
        (first.as_str(), second.as_str())
    );
    for failed in &rows[..2] {
        assert!(failed.rolled_back && !failed.finished, "{rows:#?}");
    }
    let new = &rows[2];
    assert!(new.finished && !new.rolled_back, "{rows:#?}");
    assert_eq!(new.logs.as_deref(), Some(""), "logs = '' (not NULL)");
    assert_eq!(new.steps, 0, "applied_steps_count 0");
    assert!(new.started_is_finished, "started_at = finished_at");
    assert_eq!(new.checksum, m.checksum(FAILED), "sha256 of the local file");
    assert_eq!(new.id.len(), 36);
    assert_eq!(
        new.id,
        new.id.to_lowercase(),
        "lowercase UUID like Prisma's"
    );
    assert_eq!(
        report.rows,
        [first.clone(), second.clone(), new.id.clone()],
        "the rows touched\n{run}"
    );

    // Human success line (on a fresh database: baselining creates the table like Prisma).
    let db2 = fresh_db();
    db2.execute(INIT_SQL);
    let run = cli(&db2, &m, &["resolve", "--applied", INIT]);
    run.success();
    assert!(
        run.stdout
            .contains(&format!("Migration {INIT} marked as applied.")),
        "{run}"
    );
    assert_eq!(db2.applied_migrations(), [INIT]);
}

#[test]
fn delete_without_yes_is_refused_when_not_a_tty() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = setup(&db, &m);
    let before = history_snapshot(&db);
    // stdin is null (not a TTY), as in a release phase.
    let run = cli(&db, &m, &["resolve", "--delete", FAILED]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("--yes"),
        "the refusal names --yes\n{run}"
    );
    assert_eq!(history_snapshot(&db), before, "{run}");
    assert_eq!(rows_named(&db, FAILED)[0].id, id);
}

#[test]
fn delete_yes_removes_only_the_failed_rows_of_that_name() {
    const OTHER: &str = "20240103000000_other";
    let db = fresh_db();
    let m = Migrations::new();
    let failed = setup(&db, &m);
    m.add(OTHER, "CREATE TABLE other (id int);\n");
    // An earlier attempt of FAILED, rolled back with Prisma's resolve: history to keep.
    let old = insert_failed_row(
        &db,
        FAILED,
        &m.checksum(FAILED),
        None,
        "2025-01-07 12:00:00+00",
    );
    db.execute(&format!(
        "UPDATE _prisma_migrations SET rolled_back_at = '2025-01-07 12:30:00+00' WHERE id = '{old}'"
    ));
    let other = insert_failed_row(
        &db,
        OTHER,
        &m.checksum(OTHER),
        None,
        "2025-01-09 00:00:00+00",
    );
    let before = history_snapshot(&db);

    let run = cli(&db, &m, &["resolve", "--delete", FAILED, "--yes"]);
    run.success();
    assert!(
        run.stdout
            .contains(&format!("Deleted 1 failed row of migration {FAILED}.")),
        "{run}"
    );
    let after = history_snapshot(&db);
    let expected: Vec<_> = before
        .into_iter()
        .filter(|row| row[0].as_deref() != Some(failed.as_str()))
        .collect();
    assert_eq!(
        after, expected,
        "only the failed row of {FAILED} is gone\n{run}"
    );
    let ids: Vec<String> = rows_named(&db, FAILED).into_iter().map(|r| r.id).collect();
    assert_eq!(ids, [old], "the rolled-back row stays");
    assert_eq!(rows_named(&db, OTHER)[0].id, other, "other names untouched");

    // Nothing failed any more under that name: a second delete is refused.
    cli(&db, &m, &["resolve", "--delete", FAILED, "--yes"]).expect_code(3);
}

/// On a terminal, `--delete` asks for the migration name: a wrong answer changes nothing, the right
/// one deletes the failed row. (`script` gives the binary a pseudo-terminal.)
#[test]
fn delete_on_a_tty_asks_for_the_migration_name() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = setup(&db, &m);
    let before = history_snapshot(&db);
    let in_tty = |answer: &str| -> Run {
        let line = format!(
            "'{}' --migrations '{}' resolve --delete {FAILED}",
            bin().display(),
            m.path().display()
        );
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-q", "-e", "-c", &line, "/dev/null"]);
        scrub_env(&mut cmd);
        cmd.env("DATABASE_URL", db.url())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run `script` (util-linux)");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        }
        wait_with_timeout(child, Duration::from_secs(60), "resolve --delete in a pty")
    };

    let declined = in_tty("20240102000000_typo");
    declined.expect_code(3);
    assert!(
        declined
            .stdout
            .contains("Type the migration name to confirm")
            && declined.stdout.contains(&id),
        "the prompt lists the rows\n{declined}"
    );
    assert_eq!(history_snapshot(&db), before, "nothing changed\n{declined}");

    let confirmed = in_tty(FAILED);
    confirmed.success();
    assert!(rows_named(&db, FAILED).is_empty(), "{confirmed}");
    assert_eq!(rows_named(&db, INIT).len(), 1, "{confirmed}");
}

/// Exactly one of `--rolled-back`, `--applied`, `--delete` (Prisma: "Pass either --applied or
/// --rolled-back, not both."); the other options combine with any of them. Usage errors exit 2
/// before connecting.
#[test]
fn resolve_needs_exactly_one_action_and_its_options_combine_with_it() {
    /// A URL the binary rejects at once (exit 3), so a valid command line fails fast after parsing.
    const NOWHERE: &str = "mysql://nobody@127.0.0.1:1/x";
    let usage = |args: &[&str]| {
        let mut all = vec!["resolve", "--database-url", NOWHERE];
        all.extend_from_slice(args);
        let run = run_raw(&all, &[]);
        assert_eq!(run.code, 2, "usage error for {args:?}\n{run}");
    };
    usage(&[]);
    usage(&["--yes"]);
    usage(&["--lock-timeout", "5s"]);
    usage(&["--rolled-back", INIT, "--applied", INIT]);
    usage(&["--delete", INIT, "--rolled-back", INIT]);
    // Valid combinations get past argument parsing (then fail on the folder or the URL).
    for args in [
        &["--rolled-back", INIT, "--lock-timeout", "5s"][..],
        &["--applied", INIT, "--lock-timeout", "0"][..],
        &["--applied", INIT, "--yes"][..],
        &["--delete", INIT, "--yes"][..],
        &["--delete", INIT, "-y", "--lock-timeout", "1s"][..],
    ] {
        let mut all = vec![
            "resolve",
            "--database-url",
            NOWHERE,
            "--connect-timeout",
            "1s",
        ];
        all.extend_from_slice(args);
        let run = run_raw(&all, &[]);
        assert!(
            run.code != 2 && !run.stderr.contains("cannot be used with"),
            "{args:?} is valid usage\n{run}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// The lock
// ---------------------------------------------------------------------------------------------------

#[test]
fn resolve_waits_for_the_advisory_lock_held_by_a_deploy() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = setup(&db, &m);
    let before = history_snapshot(&db);

    // A deploy (Prisma's or ours) holds the migration lock.
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);

    let mut resolve = Watched::spawn(
        db.url(),
        m.path(),
        &["resolve", "--rolled-back", FAILED, "--lock-timeout", "20s"],
        &[],
    );
    let line = resolve.wait_for_stderr("waiting for the migration advisory lock");
    assert!(line.contains(&format!("pid {holder_pid}")), "{line}");
    assert!(
        resolve.is_running(),
        "resolve must wait for the lock, not finish"
    );
    assert_eq!(
        history_snapshot(&db),
        before,
        "nothing written while waiting"
    );

    let released = Instant::now();
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .unwrap();
    let run = resolve.finish();
    run.success();
    assert!(
        released.elapsed() < Duration::from_secs(10),
        "it proceeds promptly once the lock is free\n{run}"
    );
    assert!(
        run.stderr
            .contains("waiting for the migration advisory lock")
            && run.stderr.contains(&format!("pid {holder_pid}")),
        "it says who holds the lock\n{run}"
    );
    let rows = rows_named(&db, FAILED);
    assert_eq!(rows[0].id, id);
    assert!(rows[0].rolled_back, "{run}");
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        Some(0),
        "the lock is released\n{run}"
    );
}

#[test]
fn resolve_times_out_with_exit_5_while_the_lock_is_held() {
    let db = fresh_db();
    let m = Migrations::new();
    setup(&db, &m);
    let before = history_snapshot(&db);
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .unwrap();

    let started = Instant::now();
    let run = cli(
        &db,
        &m,
        &["resolve", "--rolled-back", FAILED, "--lock-timeout", "1s"],
    );
    run.expect_code(5);
    assert!(started.elapsed() >= Duration::from_secs(1), "{run}");
    assert!(run.stderr.contains("P1002"), "{run}");
    assert_eq!(history_snapshot(&db), before, "nothing written\n{run}");

    // --applied waits the same way.
    let run = cli(
        &db,
        &m,
        &["resolve", "--applied", FAILED, "--lock-timeout", "1s"],
    );
    run.expect_code(5);
    assert_eq!(history_snapshot(&db), before, "nothing written\n{run}");
    drop(holder);
}

/// `resolve` and `deploy --resolve-failed safe` started together on the same failed row: the lock
/// serialises them, whichever goes first, and the row is resolved exactly once (no conflict, no
/// second new row).
#[test]
fn resolve_racing_deploy_is_serialised_by_the_lock() {
    let db = fresh_db();
    let m = Migrations::new();
    let id = setup(&db, &m);
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .unwrap();
    let mut deploy = Watched::spawn(
        db.url(),
        m.path(),
        &["deploy", "--resolve-failed", "safe"],
        &[],
    );
    let mut resolve = Watched::spawn(
        db.url(),
        m.path(),
        &["resolve", "--rolled-back", FAILED],
        &[],
    );
    // Both are queued behind the lock before it is released (not "probably, after a sleep").
    deploy.wait_for_stderr("waiting for the migration advisory lock");
    resolve.wait_for_stderr("waiting for the migration advisory lock");
    holder
        .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .unwrap();
    let deploy = deploy.finish();
    let resolve = resolve.finish();
    deploy.success();
    resolve.success();
    let rows = rows_named(&db, FAILED);
    assert_eq!(rows.len(), 2, "{rows:#?}\n{deploy}\n{resolve}");
    assert_eq!(rows[0].id, id);
    assert!(rows[0].rolled_back && !rows[0].finished, "{rows:#?}");
    assert!(rows[1].finished && !rows[1].rolled_back, "{rows:#?}");
    assert!(db.table_exists("Post"));
}
