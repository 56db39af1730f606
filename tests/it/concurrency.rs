//! Concurrency: the advisory lock (many deploys at once, timeouts, the holder named, Prisma's
//! `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK`), a deploy killed with SIGKILL mid-migration, a waiting
//! deploy that must not block the holder's `CREATE INDEX CONCURRENTLY`, and retries after a
//! transient lock timeout.
//!
//! Waits are driven by events (a line on the tool's stderr, a row in `pg_stat_activity`), never by
//! sleeping and hoping; durations are only checked against generous upper bounds.

use crate::contract;
use crate::support::*;
use std::process::Child;
use std::time::{Duration, Instant};

/// Prisma's advisory lock key.
const LOCK_KEY: i64 = 72707369;

/// Upper bound for anything we wait for (a 2-core CI machine running tests in parallel).
const WAIT: Duration = Duration::from_secs(60);

/// A client of `db` holding the migration advisory lock, with `application_name` set; returns it
/// with its backend pid.
fn hold_lock(db: &TestDb, application_name: &str) -> (postgres::Client, i32) {
    let mut client = db.client();
    client
        .batch_execute(&format!(
            "SET application_name = '{application_name}'; SELECT pg_advisory_lock({LOCK_KEY})"
        ))
        .unwrap_or_else(|e| panic!("take the advisory lock: {}", describe(&e)));
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pg_backend_pid")
        .get(0);
    (client, pid)
}

/// Advisory locks held in `db` right now (advisory locks are per database).
fn advisory_locks(db: &TestDb) -> i64 {
    db.scalar_i64(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .expect("count")
}

/// Rows of `_prisma_migrations` named `name`: (finished, rolled back, logs is NULL, steps).
fn rows_named(db: &TestDb, name: &str) -> Vec<(bool, bool, bool, i32)> {
    db.client()
        .query(
            "SELECT finished_at IS NOT NULL, rolled_back_at IS NOT NULL, logs IS NULL, \
                    applied_steps_count \
             FROM _prisma_migrations WHERE migration_name = $1 ORDER BY started_at, id",
            &[&name],
        )
        .unwrap_or_else(|e| panic!("rows named {name}: {}", describe(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// Failed rows (neither finished nor rolled back).
fn failed_rows(db: &TestDb) -> i64 {
    db.scalar_i64(
        "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL",
    )
    .expect("count")
}

/// Number of relations called `name` in schema `public`.
fn relations_named(db: &TestDb, name: &str) -> i64 {
    db.client()
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relname = $1",
            &[&name],
        )
        .expect("pg_class")
        .get(0)
}

/// Polls `sql` (a `count(*)`-style query on `db`) until it returns a positive number.
fn wait_until(db: &TestDb, sql: &str, what: &str) {
    let deadline = Instant::now() + WAIT;
    let mut client = db.client();
    loop {
        let n: i64 = client
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
            .get(0);
        if n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Many deploys at once
// ---------------------------------------------------------------------------------------------

#[test]
fn eight_concurrent_deploys_apply_every_migration_exactly_once() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML);
    let names: Vec<String> = (1..=5)
        .map(|i| format!("2024010{i}000000_step{i}"))
        .collect();
    m.add(
        &names[0],
        "CREATE TABLE \"Applied\" (n int NOT NULL);\nINSERT INTO \"Applied\" VALUES (1);\nCREATE TABLE \"T1\" (id int);\n",
    );
    for (i, name) in names.iter().enumerate().skip(1) {
        let n = i + 1;
        m.add(
            name,
            &format!("CREATE TABLE \"T{n}\" (id int);\nINSERT INTO \"Applied\" VALUES ({n});\n"),
        );
    }

    let children: Vec<Child> = (0..8)
        .map(|_| {
            spawn(
                db.url(),
                m.path(),
                &["--json", "deploy", "--lock-timeout", "100s"],
                &[],
            )
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    let all = runs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");

    let mut applied = Vec::new();
    for run in &runs {
        assert_eq!(run.code, 0, "every deploy succeeds\n{all}");
        let report = contract::deploy(&run.stdout);
        assert!(report.ok && report.error.is_none(), "{run}");
        applied.extend(report.applied.iter().map(|a| a.name.clone()));
    }
    applied.sort();
    assert_eq!(
        applied, names,
        "each migration applied by exactly one deploy\n{all}"
    );
    for name in &names {
        assert_eq!(
            rows_named(&db, name),
            [(true, false, true, 1)],
            "one finished row for {name}\n{all}"
        );
    }
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations"),
        Some(5),
        "{all}"
    );
    assert_eq!(
        db.scalar_string("SELECT string_agg(n::text, ',' ORDER BY n) FROM \"Applied\"")
            .as_deref(),
        Some("1,2,3,4,5"),
        "each script ran exactly once\n{all}"
    );
    for n in 1..=5 {
        assert_eq!(relations_named(&db, &format!("T{n}")), 1, "{all}");
    }
    assert_eq!(
        advisory_locks(&db),
        0,
        "no advisory lock left behind\n{all}"
    );
}

// ---------------------------------------------------------------------------------------------
// Lock timeout
// ---------------------------------------------------------------------------------------------

#[test]
fn lock_timeout_exits_5_with_p1002_names_the_holder_and_writes_nothing() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    let (_holder, pid) = hold_lock(&db, "lock-holder-test");

    let human = run(db.url(), m.path(), &["deploy", "--lock-timeout", "1s"]);
    assert_eq!(human.code, 5, "{human}");
    assert!(human.stderr.contains("P1002"), "{human}");
    assert!(
        human.stderr.contains(
            "timed out after 1s (--lock-timeout) waiting for the migration advisory lock"
        ),
        "the timeout is named as the flag that sets it\n{human}"
    );
    assert!(
        human.stderr.contains(&format!("pid {pid}")),
        "the holder's pid is named\n{human}"
    );
    assert!(
        human.stderr.contains("lock-holder-test"),
        "the holder's application_name is named\n{human}"
    );
    assert!(!db.table_exists("_prisma_migrations"), "{human}");
    assert!(!db.table_exists("A"), "{human}");

    let json = run(
        db.url(),
        m.path(),
        &["--json", "deploy", "--lock-timeout", "1s"],
    );
    assert_eq!(json.code, 5, "{json}");
    let report = contract::deploy(&json.stdout);
    assert_eq!(report.exit_code, 5, "{json}");
    assert!(!report.ok, "{json}");
    assert!(report.applied.is_empty(), "{json}");
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "lock/timeout", "{json}");
    assert_eq!(error.prisma_code.as_deref(), Some("P1002"), "{json}");
    assert!(error.message.contains(&format!("pid {pid}")), "{json}");
    assert!(error.message.contains("lock-holder-test"), "{json}");
    assert!(!db.table_exists("_prisma_migrations"), "{json}");
    assert!(db.table_names().is_empty(), "{json}");
}

#[test]
fn lock_timeout_zero_tries_once_and_fails_fast() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    let (_holder, pid) = hold_lock(&db, "lock-holder-test");

    let started = Instant::now();
    let run = run(
        db.url(),
        m.path(),
        &["--json", "deploy", "--lock-timeout", "0"],
    );
    let elapsed = started.elapsed();
    assert_eq!(run.code, 5, "{run}");
    assert!(
        elapsed < Duration::from_secs(15),
        "--lock-timeout 0 must not wait (took {elapsed:?}; the default is 60s)\n{run}"
    );
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "lock/timeout", "{run}");
    assert_eq!(error.prisma_code.as_deref(), Some("P1002"), "{run}");
    assert!(error.message.contains(&format!("pid {pid}")), "{run}");
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
}

#[test]
fn deploy_proceeds_when_the_holder_releases_within_the_timeout() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
    let (mut holder, pid) = hold_lock(&db, "lock-holder-test");

    let mut deploy = Watched::spawn(
        db.url(),
        m.path(),
        &["--json", "deploy", "--lock-timeout", "20s"],
        &[],
    );
    let line = deploy.wait_for_stderr("waiting for the migration advisory lock");
    assert!(
        line.contains(&format!("pid {pid}")) && line.contains("lock-holder-test"),
        "the wait names the holder: {line}"
    );
    // The holder finishes its work a second later.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        let released: bool = holder
            .query_one("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            .expect("unlock")
            .get(0);
        assert!(released);
        holder
    });
    let run = deploy.finish();
    let _holder = releaser.join().expect("releaser");
    assert_eq!(run.code, 0, "{run}");
    let report = contract::deploy(&run.stdout);
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, ["20240101000000_a"], "{run}");
    assert!(db.table_exists("A"), "{run}");
    assert_eq!(
        rows_named(&db, "20240101000000_a"),
        [(true, false, true, 1)],
        "{run}"
    );
    assert_eq!(advisory_locks(&db), 0, "{run}");
}

// ---------------------------------------------------------------------------------------------
// PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK
// ---------------------------------------------------------------------------------------------

#[test]
fn disable_advisory_lock_env_skips_the_lock_for_any_value_but_empty_and_0() {
    for value in ["1", "false"] {
        let db = fresh_db();
        let m = Migrations::new();
        m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
        let (_holder, _pid) = hold_lock(&db, "lock-holder-test");

        let run = run_with_env(
            db.url(),
            m.path(),
            &["--json", "deploy", "--lock-timeout", "1s"],
            &[("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK", value)],
        );
        assert_eq!(
            run.code, 0,
            "PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK={value:?} must skip the lock\n{run}"
        );
        assert!(
            run.stderr.contains("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK"),
            "deploying without the lock is announced\n{run}"
        );
        let report = contract::deploy(&run.stdout);
        assert_eq!(report.applied.len(), 1, "{run}");
        assert!(db.table_exists("A"), "{run}");
        assert_eq!(
            rows_named(&db, "20240101000000_a"),
            [(true, false, true, 1)],
            "{run}"
        );
    }
}

#[test]
fn disable_advisory_lock_env_empty_or_0_keeps_the_lock() {
    for value in ["0", ""] {
        let db = fresh_db();
        let m = Migrations::new();
        m.add("20240101000000_a", "CREATE TABLE \"A\" (id int);\n");
        let (_holder, pid) = hold_lock(&db, "lock-holder-test");

        let run = run_with_env(
            db.url(),
            m.path(),
            &["deploy", "--lock-timeout", "1s"],
            &[("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK", value)],
        );
        assert_eq!(
            run.code, 5,
            "PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK={value:?} must keep the lock\n{run}"
        );
        assert!(run.stderr.contains("P1002"), "{run}");
        assert!(run.stderr.contains(&format!("pid {pid}")), "{run}");
        assert!(!db.table_exists("A"), "{run}");
        assert!(!db.table_exists("_prisma_migrations"), "{run}");
    }
}

// ---------------------------------------------------------------------------------------------
// kill -9 in the middle of a migration
// ---------------------------------------------------------------------------------------------

#[test]
fn kill_9_mid_migration_leaves_nothing_and_the_next_deploy_applies_it_once() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_first", "CREATE TABLE \"First\" (id int);\n");
    run(db.url(), m.path(), &["deploy"]).success();
    db.execute("CREATE SCHEMA slow_marker");
    let slow = "20240102000000_slow";
    m.add(
        slow,
        "CREATE TABLE \"Slow\" (id int);\n\
         SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'slow_marker') THEN 30 ELSE 0 END);\n\
         CREATE TABLE \"After\" (id int);\n",
    );

    let mut child = spawn(db.url(), m.path(), &["--json", "deploy"], &[]);
    // Kill only once the backend is inside the 30 s sleep (wait event PgSleep), i.e. after the
    // CASE has read the marker: dropping the marker earlier would let the orphan finish and commit.
    wait_until(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'prisma-release' AND state = 'active' AND query LIKE '%pg_sleep%' \
         AND wait_event = 'PgSleep'",
        "the deploy to sleep inside the migration",
    );
    child.kill().expect("SIGKILL the deploy");
    let status = child.wait().expect("wait for the killed deploy");
    assert_eq!(exit_code(status), 128 + 9, "killed by SIGKILL");
    db.execute("DROP SCHEMA slow_marker");

    // The killed deploy's backend holds the lock and the open transaction until the server notices
    // the dead client. Were it left running, it would sleep its 30 s and only then give up the
    // lock: the 20 s lock timeout (≫ the ~1 s the server needs, thanks to the tool's
    // client_connection_check_interval) turns that into exit 5 instead of a slow pass.
    let started = Instant::now();
    let again = run(
        db.url(),
        m.path(),
        &["--json", "deploy", "--lock-timeout", "20s"],
    );
    let elapsed = started.elapsed();
    assert_eq!(again.code, 0, "{again}");
    assert!(
        elapsed < WAIT,
        "the orphaned backend must not hold the lock for long (took {elapsed:?})\n{again}"
    );
    let report = contract::deploy(&again.stdout);
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        applied,
        [slow],
        "the second deploy applied it (the killed one committed nothing)\n{again}"
    );
    assert_eq!(relations_named(&db, "Slow"), 1, "{again}");
    assert_eq!(relations_named(&db, "After"), 1, "{again}");
    assert_eq!(rows_named(&db, slow), [(true, false, true, 1)], "{again}");
    assert_eq!(failed_rows(&db), 0, "{again}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations"),
        Some(2),
        "{again}"
    );
}

// ---------------------------------------------------------------------------------------------
// A waiting deploy must not block the holder's CREATE INDEX CONCURRENTLY
// ---------------------------------------------------------------------------------------------

#[test]
fn a_waiting_deploy_does_not_block_the_holders_create_index_concurrently() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_items",
        "CREATE TABLE \"Item\" (id int PRIMARY KEY, v int);\n\
         INSERT INTO \"Item\" SELECT g, g % 7 FROM generate_series(1, 1000) g;\n",
    );
    run(db.url(), m.path(), &["deploy"]).success();
    // Deploy A's migration holds the lock until deploy B is seen polling for it (so B is certainly
    // waiting while A builds the index), sleeps a little more, then builds the index concurrently.
    let cic = "20240102000000_item_v_index";
    m.add(
        cic,
        "-- prisma-release: no-transaction\n\
         DO $$\n\
         BEGIN\n\
           FOR i IN 1..600 LOOP\n\
             PERFORM pg_stat_clear_snapshot();\n\
             EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity\n\
               WHERE datname = current_database() AND pid <> pg_backend_pid()\n\
                 AND application_name = 'prisma-release' AND query LIKE '%advisory%');\n\
             PERFORM pg_sleep(0.1);\n\
           END LOOP;\n\
         END\n\
         $$;\n\
         SELECT pg_sleep(2);\n\
         CREATE INDEX CONCURRENTLY \"Item_v_idx\" ON \"Item\" (\"v\");\n",
    );

    let a_started = Instant::now();
    let a = spawn(db.url(), m.path(), &["--json", "deploy"], &[]);
    wait_until(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'prisma-release' AND state = 'active' \
         AND query LIKE '%pg_stat_clear_snapshot%'",
        "deploy A to run its migration",
    );
    let b = Watched::spawn(
        db.url(),
        m.path(),
        &["--json", "deploy", "--lock-timeout", "30s"],
        &[],
    );
    let a_run = finish(a);
    let a_elapsed = a_started.elapsed();
    let b_run = b.finish();
    let both = format!("deploy A:\n{a_run}\ndeploy B:\n{b_run}");

    assert_eq!(a_run.code, 0, "{both}");
    assert_eq!(b_run.code, 0, "{both}");
    assert!(
        a_elapsed < Duration::from_secs(25),
        "A took {a_elapsed:?}: its CREATE INDEX CONCURRENTLY waited for B (B's lock timeout is 30s)\n{both}"
    );
    assert!(
        b_run
            .stderr
            .contains("waiting for the migration advisory lock"),
        "B waited for A\n{both}"
    );
    let a_report = contract::deploy(&a_run.stdout);
    assert_eq!(a_report.applied.len(), 1, "{both}");
    assert_eq!(a_report.applied[0].name, cic, "{both}");
    assert_eq!(
        a_report.applied[0].execution, "statement_by_statement",
        "{both}"
    );
    let b_report = contract::deploy(&b_run.stdout);
    assert!(b_report.applied.is_empty(), "nothing left for B\n{both}");
    assert!(db.index_exists("Item_v_idx"), "{both}");
    assert!(db.index_is_valid("Item_v_idx"), "{both}");
    assert_eq!(rows_named(&db, cic), [(true, false, true, 1)], "{both}");
    assert_eq!(advisory_locks(&db), 0, "{both}");
}

// ---------------------------------------------------------------------------------------------
// Transient errors
// ---------------------------------------------------------------------------------------------

/// A migration that needs an ACCESS EXCLUSIVE lock on "T", with "T" already deployed.
fn table_t_and_alter(db: &TestDb) -> Migrations {
    let m = Migrations::new();
    m.add("20240101000000_t", "CREATE TABLE \"T\" (id int);\n");
    run(db.url(), m.path(), &["deploy"]).success();
    m.add(
        "20240102000000_add_c",
        "ALTER TABLE \"T\" ADD COLUMN c int;\n",
    );
    m
}

/// A client inside an open transaction holding ACCESS EXCLUSIVE on "T".
fn lock_table_t(db: &TestDb) -> postgres::Client {
    let mut client = db.client();
    client
        .batch_execute(
            "SET application_name = 'table-lock-test'; BEGIN; LOCK TABLE \"T\" IN ACCESS EXCLUSIVE MODE",
        )
        .unwrap_or_else(|e| panic!("lock T: {}", describe(&e)));
    client
}

#[test]
fn transient_lock_timeout_is_retried_until_the_table_is_free() {
    let db = fresh_db();
    let m = table_t_and_alter(&db);
    let mut blocker = lock_table_t(&db);

    let mut deploy = Watched::spawn(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--ddl-lock-timeout",
            "200ms",
            "--retries",
            "5",
        ],
        &[],
    );
    // The first attempt ran into lock_timeout; the blocker's transaction ends now.
    deploy.wait_for_stderr("retrying");
    blocker.batch_execute("COMMIT").expect("release T");
    let run = deploy.finish();

    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("retrying"), "{run}");
    let report = contract::deploy(&run.stdout);
    assert_eq!(report.applied.len(), 1, "{run}");
    assert_eq!(report.applied[0].name, "20240102000000_add_c", "{run}");
    assert!(report.applied[0].retries >= 1, "{run}");
    assert_eq!(report.applied[0].execution, "transaction", "{run}");
    assert!(db.column_exists("T", "c"), "{run}");
    assert_eq!(
        rows_named(&db, "20240102000000_add_c"),
        [(true, false, true, 1)],
        "one row, although the migration was attempted several times\n{run}"
    );
    assert_eq!(failed_rows(&db), 0, "{run}");
}

#[test]
fn each_retry_says_how_long_it_waits_and_the_waits_grow_capped() {
    let db = fresh_db();
    let m = table_t_and_alter(&db);
    let mut blocker = lock_table_t(&db);
    let started = Instant::now();
    // Lock timeouts are retried within --lock-retry-budget (issue 12), not --retries.
    let run = run(
        db.url(),
        m.path(),
        &[
            "deploy",
            "--ddl-lock-timeout",
            "100ms",
            "--lock-retry-budget",
            "3s",
        ],
    );
    let took = started.elapsed();
    blocker.batch_execute("ROLLBACK").expect("release T");

    run.expect_code(11);
    let waits: Vec<Duration> = run
        .stderr
        .lines()
        .filter_map(|line| line.split("retrying in ").nth(1))
        .map(|rest| parse_wait(rest.split(' ').next().unwrap_or_default()))
        .collect();
    assert!(waits.len() >= 3, "one warning per retry\n{run}");
    for (i, line) in run
        .stderr
        .lines()
        .filter(|l| l.contains("retrying in"))
        .enumerate()
    {
        assert!(
            line.contains(&format!("(lock timeout {},", i + 1)),
            "{line}"
        );
    }
    assert!(
        waits.windows(2).all(|w| w[0] <= w[1]),
        "the waits grow: {waits:?}\n{run}"
    );
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(10)),
        "{waits:?}"
    );
    let announced: Duration = waits.iter().sum();
    assert!(
        took >= announced,
        "it really waited what it announced ({announced:?}), took {took:?}\n{run}"
    );
    assert!(!db.column_exists("T", "c"), "{run}");
    assert_eq!(failed_rows(&db), 0, "{run}");
}

/// `250ms`, `1.5s`, `10s` as the tool prints waits.
fn parse_wait(text: &str) -> Duration {
    match text.strip_suffix("ms") {
        Some(ms) => Duration::from_millis(ms.parse().expect("milliseconds")),
        None => Duration::from_secs_f64(
            text.strip_suffix('s')
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("not a wait: {text}")),
        ),
    }
}

#[test]
fn lock_timeout_without_a_retry_budget_fails_with_55p03_and_writes_nothing() {
    let db = fresh_db();
    let m = table_t_and_alter(&db);
    let mut blocker = lock_table_t(&db);

    let run = run(
        db.url(),
        m.path(),
        &[
            "--json",
            "deploy",
            "--ddl-lock-timeout",
            "200ms",
            "--lock-retry-budget",
            "0",
        ],
    );
    blocker.batch_execute("ROLLBACK").expect("release T");

    assert_eq!(run.code, 11, "{run}");
    assert!(!run.stderr.contains("retrying"), "{run}");
    let report = contract::deploy(&run.stdout);
    assert_eq!(report.exit_code, 11, "{run}");
    assert!(report.applied.is_empty(), "{run}");
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "migration/lock_timeout", "{run}");
    assert_eq!(error.prisma_code.as_deref(), Some("P3018"), "{run}");
    let failure = error.failure.as_ref().expect("failure");
    assert_eq!(failure.migration, "20240102000000_add_c", "{run}");
    assert_eq!(failure.sqlstate.as_deref(), Some("55P03"), "{run}");
    assert_eq!(failure.execution, "transaction", "{run}");
    assert!(failure.rolled_back, "{run}");
    assert!(
        rows_named(&db, "20240102000000_add_c").is_empty(),
        "no row\n{run}"
    );
    assert!(!db.column_exists("T", "c"), "{run}");
    assert_eq!(failed_rows(&db), 0, "{run}");
}
