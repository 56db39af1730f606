//! The migration advisory lock: key 72707369, the same as Prisma's, so our deploy and Prisma's
//! exclude each other.
//!
//! It is a *session* lock polled with `pg_try_advisory_lock` in autocommit mode, so a waiter never sits
//! inside a transaction (an open transaction of a waiter would block the holder's
//! `CREATE INDEX CONCURRENTLY`), and so we can report who holds it while we wait.

use crate::backoff::Backoff;
use crate::connect::Session;
use crate::error::{Error, Result};
use postgres::types::Type;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Prisma's advisory lock key ([pg.rs] `acquire_lock`).
pub const KEY: i64 = 72707369;

/// Who holds the lock, from `pg_locks` × `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub pid: i32,
    pub application_name: String,
    pub client_addr: Option<String>,
    /// When the holder's session connected (a session lock lives as long as its session).
    pub since: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if !self.application_name.is_empty() {
            write!(f, ", application_name `{}`", self.application_name)?;
        }
        write!(
            f,
            ", client {}",
            self.client_addr.as_deref().unwrap_or("local socket")
        )?;
        if let Some(since) = &self.since {
            write!(f, ", connected since {since}")?;
        }
        Ok(())
    }
}

/// Whether `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` disables locking: any value but `""` and `"0"`, as
/// in Prisma ([sql-lib] `acquire_lock`) — so `false` and `no` disable it too.
pub fn disabled_by_env() -> bool {
    std::env::var_os("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK")
        .is_some_and(|v| !v.is_empty() && v != "0")
}

/// A session holding the migration lock, released when this value is dropped — on every path, errors
/// and early returns included (sqlx's `PgAdvisoryLockGuard` is the model). When
/// `PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK` disables locking it holds the session without the lock.
/// Dereferences to the [`Session`], so work under the lock uses it like any session.
pub struct LockGuard {
    session: Session,
    held: bool,
}

impl LockGuard {
    /// Takes the lock on `session` (unless [`disabled_by_env`]), polling until `timeout` (zero = try
    /// once). `on_wait` is called whenever the holder we see changes, so the user learns who is in
    /// the way.
    pub fn acquire(
        session: Session,
        timeout: Duration,
        on_wait: impl FnMut(&Holder),
    ) -> Result<Self> {
        let mut guard = LockGuard {
            session,
            held: false,
        };
        if !disabled_by_env() {
            poll(&mut guard.session, timeout, on_wait)?;
            guard.held = true;
        }
        Ok(guard)
    }

    /// Whether this guard holds the lock (false when the environment disabled locking).
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Takes the lock again on the same session after a migration released it
    /// (`pg_advisory_unlock…`, `DISCARD ALL`; see [`still_held`]). Nothing to do without locking.
    pub fn retake(&mut self, timeout: Duration, on_wait: impl FnMut(&Holder)) -> Result<()> {
        if self.held {
            poll(&mut self.session, timeout, on_wait)?;
        }
        Ok(())
    }

    /// Continues on `session` after the guarded one was lost (the server released the lock with
    /// it): the lock is taken again there before anything else runs.
    pub fn reacquire_on(
        &mut self,
        session: Session,
        timeout: Duration,
        on_wait: impl FnMut(&Holder),
    ) -> Result<()> {
        self.session = session;
        if self.held {
            self.held = false;
            poll(&mut self.session, timeout, on_wait)?;
            self.held = true;
        }
        Ok(())
    }
}

impl std::ops::Deref for LockGuard {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl std::ops::DerefMut for LockGuard {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl Drop for LockGuard {
    /// Best effort: on a lost connection the server has released the lock already, and closing the
    /// session (which follows) releases it too.
    fn drop(&mut self) {
        if self.held {
            let _ = self
                .session
                .client
                .query_typed_one("SELECT pg_advisory_unlock($1)", &[(&KEY, Type::INT8)]);
        }
    }
}

/// Polls `pg_try_advisory_lock` until it succeeds or `timeout` has passed, with a short capped
/// backoff (a deploy waiting behind another wants the lock soon after it is released).
fn poll(session: &mut Session, timeout: Duration, mut on_wait: impl FnMut(&Holder)) -> Result<()> {
    let started = Instant::now();
    let mut last_holder: Option<Holder> = None;
    let mut pauses = Backoff::new(Duration::from_millis(20), Duration::from_millis(250));
    loop {
        if try_lock(session)? {
            return Ok(());
        }
        let holder = holder(session)?;
        if let Some(h) = &holder {
            if last_holder.as_ref() != Some(h) {
                on_wait(h);
            }
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::LockTimeout {
                timeout,
                holder: holder
                    .as_ref()
                    .map(|h| format!(" (held by {h})"))
                    .unwrap_or_default(),
            });
        }
        last_holder = holder;
        let pause = pauses.next().unwrap_or_default();
        std::thread::sleep(pause.min(timeout - waited));
    }
}

fn try_lock(session: &mut Session) -> Result<bool> {
    session
        .client
        .query_typed_one("SELECT pg_try_advisory_lock($1)", &[(&KEY, Type::INT8)])
        .map(|row| row.get(0))
        .map_err(|e| session.query_error("taking the advisory lock", e))
}

/// The condition "this session holds the lock", as SQL. A migration can release a session lock
/// (`pg_advisory_unlock(72707369)`, `pg_advisory_unlock_all()`, `DISCARD ALL`), after which a
/// concurrent deploy could apply the next migration a second time; deploy checks this condition.
pub const HELD_BY_THIS_SESSION: &str = "EXISTS (SELECT 1 FROM pg_catalog.pg_locks \
     WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid() AND granted \
     AND classid = 0 AND objid = 72707369 AND objsubid = 1)";

/// Whether this session still holds the lock, asked of the server (see [`HELD_BY_THIS_SESSION`]).
pub fn still_held(session: &mut Session) -> Result<bool> {
    session
        .client
        .query_typed_one(&format!("SELECT {HELD_BY_THIS_SESSION}"), &[])
        .map(|row| row.get(0))
        .map_err(|e| session.query_error("checking the advisory lock", e))
}

/// The session holding the lock now, if it is still held.
pub fn holder(session: &mut Session) -> Result<Option<Holder>> {
    // A bigint key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    let row = session
        .client
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), host(a.client_addr), \
                    to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 \
               AND l.objid = $1::bigint::oid AND l.objsubid = 1 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             LIMIT 1",
            &[&KEY],
        )
        .map_err(|e| session.query_error("looking up the lock holder", e))?;
    Ok(row.map(|r| Holder {
        pid: r.get(0),
        application_name: r.get(1),
        client_addr: r.get(2),
        since: r.get(3),
    }))
}
