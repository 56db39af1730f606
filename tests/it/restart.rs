//! A database that goes away in the middle of a deploy and comes back (a restart, a failover): the
//! deploy reconnects within its connect budget (three `connect_timeout`s), takes the lock again and
//! finishes the release, applying every migration exactly once.

use crate::contract;
use crate::support::*;
use std::time::{Duration, Instant};

/// How long the "restart" keeps the port closed: long enough that a few quick retries cannot
/// bridge it, shorter than the 15 s budget of `--connect-timeout 5s`.
const OUTAGE: Duration = Duration::from_secs(10);

#[test]
fn a_ten_second_restart_during_deploy_does_not_fail_the_release() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_a", "CREATE TABLE a (id INT);\n")
        .add(
            "20240102000000_slow",
            "SELECT pg_sleep(2);\nCREATE TABLE b (id INT);\n",
        )
        .add("20240103000000_c", "CREATE TABLE c (id INT);\n");
    let mut proxy = Proxy::start(db.url());
    let mut deploy = Watched::spawn(
        &proxy.url(db.url()),
        m.path(),
        &["--json", "-v", "deploy", "--connect-timeout", "5s"],
        &[],
    );
    // The first migration is in; the slow one is running (or about to be sent) when the
    // connection dies and the server stops answering.
    deploy.wait_for_stderr("20240101000000_a (transaction");
    proxy.cut();
    let cut = Instant::now();
    deploy.wait_for_stderr("retrying in");
    std::thread::sleep(OUTAGE.saturating_sub(cut.elapsed()));
    proxy.resume();
    let run = deploy.finish();

    run.success();
    assert!(
        cut.elapsed() >= OUTAGE,
        "it waited through the outage\n{run}"
    );
    let report = contract::deploy(&run.stdout);
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        applied,
        [
            "20240101000000_a",
            "20240102000000_slow",
            "20240103000000_c"
        ],
        "{run}"
    );
    for table in ["a", "b", "c"] {
        assert!(db.table_exists(table), "table {table}\n{run}");
    }
    let rows = db.column_strings(
        "SELECT migration_name || ':' || (finished_at IS NOT NULL)::text || ':' || \
                (rolled_back_at IS NULL)::text \
         FROM _prisma_migrations ORDER BY migration_name",
    );
    assert_eq!(
        rows,
        [
            "20240101000000_a",
            "20240102000000_slow",
            "20240103000000_c"
        ]
        .map(|name| Some(format!("{name}:true:true"))),
        "one finished row per migration, nothing failed\n{run}"
    );
}
