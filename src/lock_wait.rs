//! What a lock wait looked like (issue 12): the sessions seen blocking a migration, and the failure
//! when the lock-retry budget ran out, with the exact command a person could run to end a blocker.
//! Plain data and its words, a leaf module: the error enum, the monitor, the live output and the
//! retry policy all use it.

use crate::outcome::MigrationFailure;
use serde::Serialize;
use std::fmt;

/// A session holding a lock the migration waits for (from `pg_blocking_pids`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub application_name: String,
    /// `pg_stat_activity.state`: `idle in transaction`, `active`, …
    pub state: String,
    /// How long its transaction had been open when last seen.
    pub transaction_ms: Option<u64>,
    /// How long its current (or last) query had been running when last seen.
    pub query_ms: Option<u64>,
    /// The first line of its current (or last) query, at most 200 characters.
    pub query: String,
}

impl fmt::Display for Blocker {
    /// `pid 42 (application_name `psql`, idle in transaction, transaction open 31s, last query 30s
    /// ago): UPDATE …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self;
        let mut text = format!("pid {} (", b.pid);
        if !b.application_name.is_empty() {
            text.push_str(&format!("application_name `{}`, ", b.application_name));
        }
        text.push_str(&b.state);
        if let Some(ms) = b.transaction_ms {
            text.push_str(&format!(", transaction open {}s", ms / 1000));
        }
        match b.query_ms {
            Some(ms) if b.state.starts_with("idle") => {
                text.push_str(&format!(", last query {}s ago", ms / 1000))
            }
            Some(ms) => text.push_str(&format!(", query running {}s", ms / 1000)),
            None => {}
        }
        text.push(')');
        if !b.query.is_empty() {
            text.push_str(&format!(": {}", b.query));
        }
        f.write_str(&text)
    }
}

/// A migration that could not get its lock within the budget (exit 11).
#[derive(Debug)]
pub struct LockWaitExhausted {
    /// The last attempt's failure (55P03); `rolled_back` says whether anything was written.
    pub failure: MigrationFailure,
    pub attempts: u32,
    pub waited_ms: u64,
    pub lock_timeout_ms: u64,
    pub blockers: Vec<Blocker>,
}

impl LockWaitExhausted {
    /// The blockers in words, or why none are named.
    pub fn blockers_text(&self) -> String {
        if self.blockers.is_empty() {
            return "no blocking session was observed (the monitor could not see one)".into();
        }
        let names: Vec<String> = self.blockers.iter().map(Blocker::to_string).collect();
        format!("blocked by {}", names.join("; "))
    }

    /// What a person can do: the exact commands, never run by us.
    pub fn hint(&self) -> String {
        let written = if self.failure.rolled_back {
            "nothing was written".to_string()
        } else {
            format!(
                "{} of {} statements were committed and the row is marked failed",
                self.failure.statements_committed, self.failure.statements_total
            )
        };
        let commands: Vec<String> = self.blockers.iter().map(end_command).collect();
        if commands.is_empty() {
            format!("{written}; find the blocker in pg_stat_activity, or raise --lock-retry-budget, then deploy again")
        } else {
            format!(
                "{written}; if ending the blocking session is acceptable, run {} and deploy again — or raise --lock-retry-budget",
                commands.join(" / ")
            )
        }
    }
}

/// `SELECT pg_terminate_backend(pid);` for a session idle in a transaction (cancelling would do
/// nothing: it runs no query), `pg_cancel_backend` for one running a query.
pub fn end_command(blocker: &Blocker) -> String {
    if blocker.state.starts_with("idle") {
        format!("SELECT pg_terminate_backend({});", blocker.pid)
    } else {
        format!(
            "SELECT pg_cancel_backend({0}); (or pg_terminate_backend({0}))",
            blocker.pid
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocker(pid: i32, state: &str) -> Blocker {
        Blocker {
            pid,
            application_name: "report-job".into(),
            state: state.into(),
            transaction_ms: Some(31_000),
            query_ms: Some(30_500),
            query: "UPDATE \"T\" SET c = 1".into(),
        }
    }

    #[test]
    fn a_blocker_in_words() {
        assert_eq!(
            blocker(4242, "idle in transaction").to_string(),
            "pid 4242 (application_name `report-job`, idle in transaction, transaction open 31s, \
             last query 30s ago): UPDATE \"T\" SET c = 1"
        );
        assert!(blocker(7, "active")
            .to_string()
            .contains("active, transaction open 31s, query running 30s)"));
    }

    #[test]
    fn idle_sessions_are_terminated_active_ones_cancelled() {
        assert_eq!(
            end_command(&blocker(1, "idle in transaction")),
            "SELECT pg_terminate_backend(1);"
        );
        assert!(end_command(&blocker(3, "active")).starts_with("SELECT pg_cancel_backend(3);"));
    }
}
