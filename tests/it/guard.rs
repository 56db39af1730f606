//! `guard`, the boot guard: it `exec`s the app (same PID, environment, arguments, signals, exit code;
//! stdout untouched), closes its connection first, takes no lock, refuses failed (10), pending (12)
//! and, with `--strict`, modified (13) migrations, gives up on an unreachable database within its
//! budget (4), waits with `--wait`, and reports a missing command like a shell (127).
//!
//! Waits are driven by events (a line on the guard's stderr or the app's stdout); durations are only
//! checked against bounds derived from the budget under test.

use crate::support::*;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// Prisma's advisory lock key.
const LOCK_KEY: i64 = 72707369;

/// A folder with two migrations and the PostgreSQL lock file.
fn two_migrations() -> Migrations {
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_init",
            "CREATE TABLE \"User\" (\"id\" SERIAL NOT NULL, CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\"));\n",
        )
        .add(
            "20240102000000_email",
            "ALTER TABLE \"User\" ADD COLUMN \"email\" TEXT;\n",
        );
    m
}

/// A database with every migration of `m` applied.
fn deployed(m: &Migrations) -> TestDb {
    let db = fresh_db();
    run(db.url(), m.path(), &["deploy"]).success();
    db
}

fn guard(db: &TestDb, m: &Migrations, args: &[&str]) -> Run {
    let mut all = vec!["guard"];
    all.extend_from_slice(args);
    run(db.url(), m.path(), &all)
}

// ---- exec: the app becomes the process

#[test]
fn exec_keeps_the_pid_and_leaves_stdout_to_the_app() {
    let m = two_migrations();
    let db = deployed(&m);
    let child = spawn(
        db.url(),
        m.path(),
        &["guard", "--", "sh", "-c", "echo $$"],
        &[],
    );
    let pid = child.id();
    let run = finish(child);
    run.success();
    assert_eq!(
        run.stdout,
        format!("{pid}\n"),
        "the app must run as the guard's own process and stdout must hold only its output\n{run}"
    );
    assert!(run.stderr.contains("is up to date"), "{run}");
}

#[test]
fn exec_passes_the_apps_exit_code_and_death_by_signal_through() {
    let m = two_migrations();
    let db = deployed(&m);
    guard(&db, &m, &["--", "sh", "-c", "exit 7"]).expect_code(7);
    guard(&db, &m, &["--", "sh", "-c", "kill -TERM $$"]).expect_code(128 + 15);
}

#[test]
fn exec_preserves_arguments_and_environment() {
    let m = two_migrations();
    let db = deployed(&m);
    let mut cmd = command(
        db.url(),
        m.path(),
        &[
            "guard",
            "--",
            "sh",
            "-c",
            "printf '<%s>' \"$GUARD_TEST_VAR\" \"$@\"; echo",
            "argv0",
            "two words",
            "",
            "--strict",
        ],
    );
    cmd.env("GUARD_TEST_VAR", "kept");
    let run = run_command(cmd);
    run.success();
    assert_eq!(run.stdout, "<kept><two words><><--strict>\n", "{run}");
}

#[test]
fn signals_reach_the_app_directly() {
    let m = two_migrations();
    let db = deployed(&m);
    let app = "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done";
    let mut guard = Watched::spawn(db.url(), m.path(), &["guard", "--", "sh", "-c", app], &[]);
    guard.wait_for_stdout("ready");
    let pid = guard.pid().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    let run = guard.finish();
    run.success();
    assert!(run.stdout.contains("got TERM"), "{run}");
}

#[test]
fn the_database_connection_is_closed_before_the_app_starts() {
    let m = two_migrations();
    let db = deployed(&m);
    let flag = tempfile::tempdir().expect("tempdir");
    let go = flag.path().join("go");
    let app = format!(
        "echo ready; while [ ! -e '{}' ]; do sleep 0.05; done",
        go.display()
    );
    let mut guard = Watched::spawn(db.url(), m.path(), &["guard", "--", "sh", "-c", &app], &[]);
    guard.wait_for_stdout("ready");
    // The backend may take a moment to leave pg_stat_activity after the client's Terminate.
    let deadline = Instant::now() + Duration::from_secs(2);
    let sessions = loop {
        let n = db
            .scalar_i64(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'prisma-release'",
            )
            .expect("count");
        if n == 0 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::write(&go, "").expect("write flag");
    let run = guard.finish();
    run.success();
    assert_eq!(
        sessions, 0,
        "the guard's session is still open while the app runs\n{run}"
    );
}

#[test]
fn without_a_command_it_only_checks() {
    let m = two_migrations();
    let db = deployed(&m);
    let run = guard(&db, &m, &[]);
    run.success();
    assert_eq!(run.stdout, "", "{run}");
    let quiet = run_raw(
        [
            "--migrations",
            m.path().to_str().unwrap(),
            "-q",
            "guard",
            "--database-url",
            db.url(),
        ],
        &[],
    );
    quiet.success();
    assert_eq!(quiet.output(), "", "-q prints nothing on success\n{quiet}");
}

#[test]
fn missing_command_exits_127_like_a_shell() {
    let m = two_migrations();
    let db = deployed(&m);
    let run = guard(&db, &m, &["--", "prisma-release-no-such-command", "x"]);
    run.expect_code(127);
    assert!(
        run.stderr
            .contains("prisma-release-no-such-command: command not found"),
        "{run}"
    );
    assert_eq!(run.stdout, "");

    let dir = tempfile::tempdir().expect("tempdir");
    let not_executable = dir.path().join("server");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").expect("write");
    let run = guard(&db, &m, &["--", not_executable.to_str().unwrap()]);
    run.expect_code(126);
    assert!(run.stderr.contains("permission denied"), "{run}");
}

#[test]
fn takes_no_lock_and_writes_nothing() {
    let m = two_migrations();
    let db = deployed(&m);
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .expect("lock");
    let started = Instant::now();
    let run = guard(&db, &m, &["--", "true"]);
    run.success();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the guard must not wait for the migration lock"
    );
    drop(holder);
    // Read-only: even a missing history table is not created.
    let empty = fresh_db();
    let run = guard(&empty, &m, &[]);
    run.expect_code(12);
    assert!(!empty.table_exists("_prisma_migrations"), "{run}");
}

// ---- refusals

#[test]
fn pending_migrations_are_refused_with_12_and_the_app_is_not_started() {
    let m = two_migrations();
    let db = fresh_db();
    run(db.url(), m.path(), &["deploy"]).success();
    m.add("20240103000000_more", "CREATE TABLE more (id int);\n");
    let run = guard(&db, &m, &["--", "sh", "-c", "echo started"]);
    run.expect_code(12);
    assert_eq!(run.stdout, "", "the app must not start\n{run}");
    assert!(run.stderr.contains("20240103000000_more"), "{run}");
    assert!(run.stderr.contains("not yet applied"), "{run}");
    assert!(run.stderr.contains("--allow-pending"), "{run}");
}

#[test]
fn allow_pending_starts_the_app_with_a_warning() {
    let m = two_migrations();
    let db = fresh_db();
    let run = guard(
        &db,
        &m,
        &["--allow-pending", "--", "sh", "-c", "echo started"],
    );
    run.success();
    assert_eq!(run.stdout, "started\n", "{run}");
    assert!(run.stderr.contains("warning:"), "{run}");
    assert!(run.stderr.contains("20240101000000_init"), "{run}");
}

#[test]
fn failed_migration_is_refused_with_10_naming_it_on_stderr() {
    let m = two_migrations();
    let db = deployed(&m);
    db.execute(
        "UPDATE _prisma_migrations SET finished_at = NULL, applied_steps_count = 0, \
         logs = 'boom' WHERE migration_name = '20240102000000_email'",
    );
    // --allow-pending does not let a failed row through.
    let run = guard(
        &db,
        &m,
        &["--allow-pending", "--", "sh", "-c", "echo started"],
    );
    run.expect_code(10);
    assert_eq!(run.stdout, "", "the app must not start\n{run}");
    assert!(run.stderr.contains("P3009"), "{run}");
    assert!(
        run.stderr
            .contains("The `20240102000000_email` migration started at"),
        "{run}"
    );
    assert!(run.stderr.contains("deploy --resolve-failed safe"), "{run}");
}

#[test]
fn modified_migration_warns_and_is_refused_with_13_only_under_strict() {
    let m = two_migrations();
    let db = deployed(&m);
    m.add(
        "20240102000000_email",
        "ALTER TABLE \"User\" ADD COLUMN \"email\" TEXT; -- edited\n",
    );
    let run = guard(&db, &m, &["--", "true"]);
    run.success();
    assert!(run.stderr.contains("modified"), "{run}");
    let run = guard(&db, &m, &["--strict", "--", "sh", "-c", "echo started"]);
    run.expect_code(13);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("20240102000000_email"), "{run}");
}

#[test]
fn missing_locally_only_warns_even_with_strict() {
    let m = two_migrations();
    let db = deployed(&m);
    m.remove("20240102000000_email");
    let run = guard(&db, &m, &["--strict", "--", "sh", "-c", "echo started"]);
    run.success();
    assert_eq!(run.stdout, "started\n");
    assert!(
        run.stderr.contains("missing from the migrations folder"),
        "{run}"
    );
}

// ---- unreachable database: exit 4 within the budget

#[test]
fn refused_connection_exits_4_within_the_budget() {
    let m = two_migrations();
    let url = format!("postgres://postgres@127.0.0.1:{}/app", closed_port());
    let started = Instant::now();
    let run = run(
        &url,
        m.path(),
        &[
            "guard",
            "--connect-budget",
            "2s",
            "--",
            "sh",
            "-c",
            "echo started",
        ],
    );
    let took = started.elapsed();
    run.expect_code(4);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("Connection refused"), "{run}");
    assert!(run.stderr.contains("budget of 2s"), "{run}");
    // Retried for the budget, then stopped: far from the 20 s default, with room for a loaded
    // machine (2 cores shared by parallel tests).
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(10),
        "took {took:?} with a 2s budget\n{run}"
    );
}

#[test]
fn silent_server_exits_4_within_the_budget() {
    // Accepts TCP connections (the kernel's backlog) but never answers the startup message.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let m = two_migrations();
    let url = format!("postgres://postgres@127.0.0.1:{port}/app");
    let started = Instant::now();
    let run = run(
        &url,
        m.path(),
        &[
            "guard",
            "--connect-budget",
            "1500ms",
            "--",
            "sh",
            "-c",
            "echo started",
        ],
    );
    let took = started.elapsed();
    drop(listener);
    run.expect_code(4);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("within the guard's budget of 1.5s"),
        "{run}"
    );
    // The budget, not the 5 s connect_timeout of the attempt nor the 20 s default, ended it (with
    // room for a loaded machine).
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(4500),
        "took {took:?} with a 1.5s budget\n{run}"
    );
}

#[test]
fn a_database_that_comes_up_within_the_budget_is_waited_for() {
    let m = two_migrations();
    let db = deployed(&m);
    // The database is down (its port closed) when the guard starts.
    let mut proxy = Proxy::start(db.url());
    proxy.cut();
    let url = proxy.url(db.url());
    let mut guard = Watched::spawn(
        &url,
        m.path(),
        &[
            "-v",
            "guard",
            "--connect-budget",
            "30s",
            "--",
            "sh",
            "-c",
            "echo started",
        ],
        &[],
    );
    // The first attempts are refused; then the "database" appears on that port.
    guard.wait_for_stderr("retrying");
    proxy.resume();
    let run = guard.finish();
    run.success();
    assert_eq!(run.stdout, "started\n", "{run}");
    // `-v` says how long the check took the way every message shows a duration (`1.5s`, `850ms`).
    let took = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("guard: checked in "))
        .unwrap_or_else(|| panic!("no `checked in` line\n{run}"));
    assert!(
        !took.contains(' ')
            && took.ends_with('s')
            && took.starts_with(|c: char| c.is_ascii_digit()),
        "{took:?}\n{run}"
    );
}

#[test]
fn default_budget_is_20s() {
    let help = run_raw(["guard", "--help"], &[]);
    help.success();
    assert!(help.stdout.contains("[default: 20s]"), "{help}");
}

// ---- --wait

#[test]
fn wait_starts_the_app_once_a_concurrent_deploy_has_applied_everything() {
    let m = two_migrations();
    let db = fresh_db();
    let mut guard = Watched::spawn(
        db.url(),
        m.path(),
        &["guard", "--wait", "50s", "--", "sh", "-c", "echo started"],
        &[],
    );
    guard.wait_for_stderr("waiting up to 50s");
    run(db.url(), m.path(), &["deploy"]).success();
    let run = guard.finish();
    run.success();
    assert_eq!(run.stdout, "started\n", "{run}");
    assert!(run.stderr.contains("after waiting"), "{run}");
}

#[test]
fn wait_gives_up_with_12_when_nothing_changes() {
    let m = two_migrations();
    let db = fresh_db();
    let started = Instant::now();
    let run = guard(
        &db,
        &m,
        &["--wait", "1500ms", "--", "sh", "-c", "echo started"],
    );
    let took = started.elapsed();
    run.expect_code(12);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("after waiting"), "{run}");
    assert!(
        took >= Duration::from_millis(1500),
        "gave up after {took:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

// ---- configuration errors are not connection errors

#[test]
fn missing_url_and_missing_folder_exit_3() {
    let m = two_migrations();
    let mut cmd = command("unused", m.path(), &["guard", "--", "true"]);
    cmd.env_remove("DATABASE_URL");
    let no_url = run_command(cmd);
    no_url.expect_code(3);
    assert!(no_url.stderr.contains("DATABASE_URL"), "{no_url}");
    let db = fresh_db();
    let gone = m.path().join("nope");
    let no_folder = run(db.url(), &gone, &["guard", "--", "true"]);
    no_folder.expect_code(3);
    assert!(no_folder.stderr.contains("does not exist"), "{no_folder}");
}
