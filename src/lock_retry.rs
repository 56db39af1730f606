//! Bounded lock waits (issue 12 item 2): every migration's DDL runs under `lock_timeout`
//! (`--ddl-lock-timeout`, 5s by default), so it never sits in the lock queue in front of the app's
//! queries for long; a lock timeout (55P03) is retried with capped, jittered backoff until
//! `--lock-retry-budget` is spent. A transactional attempt that timed out rolled back, so retrying
//! is safe; the statement-by-statement path retries only the statement that timed out.
//!
//! When the budget runs out the error ([`crate::lock_wait::LockWaitExhausted`]) names the blockers
//! the monitor saw and the exact `pg_cancel_backend` / `pg_terminate_backend` a person could choose
//! to run. We never run them ourselves, except `pg_terminate_backend` for a session `idle in transaction` longer than
//! `--cancel-blockers-after`, when that flag is given.

use crate::backoff::Backoff;
use crate::lock_wait::Blocker;
use crate::outcome::MigrationFailure;
use std::time::{Duration, Instant};

/// The first pause after a lock timeout; it doubles up to [`MAX_PAUSE`], with the crate's jitter
/// ([`Backoff`]) so that the release does not retry in lockstep with the app's traffic.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The retry budget of one migration.
#[derive(Debug)]
pub struct LockRetry {
    budget: Duration,
    /// Each attempt may wait this long, so a retry must fit it in the budget too.
    lock_timeout: Duration,
    started: Instant,
    /// Lock timeouts so far.
    pub timeouts: u32,
    pauses: Backoff,
}

impl LockRetry {
    /// Starts the clock: the budget counts from the migration's first attempt, and bounds the
    /// whole wait — a retry starts only if its pause and its `lock_timeout` still fit.
    pub fn start(budget: Duration, lock_timeout: Duration) -> LockRetry {
        LockRetry {
            budget,
            lock_timeout,
            started: Instant::now(),
            timeouts: 0,
            pauses: Backoff::new(FIRST_PAUSE, MAX_PAUSE),
        }
    }

    /// After a lock timeout: whether to try again, after which pause.
    pub fn after_timeout(&mut self, deadline: Option<Instant>) -> Next {
        self.timeouts += 1;
        let pause = self.pauses.next().unwrap_or(MAX_PAUSE);
        if self.started.elapsed() + pause + self.lock_timeout > self.budget {
            Next::BudgetSpent
        } else if deadline.is_some_and(|d| Instant::now() + pause >= d) {
            Next::DeadlineNear
        } else {
            Next::RetryAfter(pause)
        }
    }

    /// Time since the first attempt.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What to do after a lock timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryAfter(Duration),
    BudgetSpent,
    /// The next attempt would start at or after `--deadline`.
    DeadlineNear,
}

/// Whether a failure is a lock timeout (`lock_not_available`, what `lock_timeout` raises).
pub fn is_lock_timeout(failure: &MigrationFailure) -> bool {
    failure.sqlstate.as_deref() == Some("55P03")
}

/// The blockers `--cancel-blockers-after` allows us to terminate: `idle in transaction` (also
/// `(aborted)`) with a transaction open at least that long. Active queries are never touched.
pub fn terminable(blockers: &[Blocker], after: Duration) -> Vec<i32> {
    blockers
        .iter()
        .filter(|b| b.state.starts_with("idle in transaction"))
        .filter(|b| {
            b.transaction_ms
                .is_some_and(|ms| ms >= after.as_millis() as u64)
        })
        .map(|b| b.pid)
        .collect()
}

/// `pg_terminate_backend` for each of `pids` (`--cancel-blockers-after`); returns those ended.
pub fn terminate(session: &mut crate::connect::Session, pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|pid| {
            session
                .client
                .query_one("SELECT pg_terminate_backend($1)", &[pid])
                .is_ok_and(|row| row.get::<_, bool>(0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocker(pid: i32, state: &str, transaction_ms: u64) -> Blocker {
        Blocker {
            pid,
            application_name: "app".into(),
            state: state.into(),
            transaction_ms: Some(transaction_ms),
            query_ms: None,
            query: String::new(),
        }
    }

    #[test]
    fn the_budget_and_the_deadline_stop_retries() {
        let mut none = LockRetry::start(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(none.after_timeout(None), Next::BudgetSpent);
        let mut short = LockRetry::start(Duration::from_secs(2), Duration::from_secs(5));
        assert_eq!(
            short.after_timeout(None),
            Next::BudgetSpent,
            "no room for one more wait"
        );
        let mut some = LockRetry::start(Duration::from_secs(60), Duration::from_secs(1));
        assert!(matches!(some.after_timeout(None), Next::RetryAfter(_)));
        assert_eq!(some.after_timeout(Some(Instant::now())), Next::DeadlineNear);
        assert_eq!(some.timeouts, 2);
    }

    #[test]
    fn only_long_idle_transactions_may_be_terminated() {
        let blockers = [
            blocker(1, "idle in transaction", 10_000),
            blocker(2, "idle in transaction", 100),
            blocker(3, "active", 60_000),
            blocker(4, "idle in transaction (aborted)", 20_000),
        ];
        assert_eq!(terminable(&blockers, Duration::from_secs(5)), [1, 4]);
    }
}
