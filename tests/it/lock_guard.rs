//! The advisory lock as a guard value (`prisma_release::lock::LockGuard`): dropping the guard releases
//! the lock there and then, not whenever the server gets round to ending the session.
//!
//! Unlike the other tests this one calls the library, not the binary: what happens *inside* a live
//! process when the guard goes out of scope is not visible from outside, because the process exits
//! (and its session ends, which releases a session lock anyway) right after. The difference the
//! guard's `Drop` makes is the time of the release: a backend that must clean up before it exits
//! (here: a few thousand temporary tables to drop) keeps a session lock until it is done, while the
//! guard's unlock has taken effect before `drop` returns.

use crate::support::*;
use prisma_release::connect::{self, ConnectSpec, Retry};
use prisma_release::lock::{LockGuard, KEY};
use std::time::{Duration, Instant};

fn try_lock(client: &mut postgres::Client) -> bool {
    client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&KEY])
        .expect("pg_try_advisory_lock")
        .get(0)
}

#[test]
fn dropping_the_lock_guard_releases_the_lock_before_the_session_ends() {
    let db = fresh_db();
    let spec = ConnectSpec::parse(db.url(), None, None).expect("spec");
    let session = connect::connect(&spec, Retry::first_contact(&spec), &mut |_, _| {}).unwrap();
    let mut guard = LockGuard::acquire(session, Duration::ZERO, |_| {}).expect("lock");
    assert!(guard.is_held());
    // A session that takes long to end: its backend drops these tables before it lets go of its
    // locks.
    guard
        .client
        .batch_execute(
            "DO $$ BEGIN FOR i IN 1..3000 LOOP \
               EXECUTE format('CREATE TEMP TABLE t%s (id int)', i); \
             END LOOP; END $$",
        )
        .expect("temporary tables");
    let mut other = db.client();
    assert!(!try_lock(&mut other), "the guard holds the lock");

    let dropped = Instant::now();
    drop(guard);
    assert!(
        try_lock(&mut other),
        "the lock is free as soon as the guard is dropped ({:?} ago), not only once the session has ended",
        dropped.elapsed()
    );
}
