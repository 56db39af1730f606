//! Planning: local migrations × history rows → one state per migration. Pure, no I/O, so every rule of
//! SPEC "States" is unit-tested here case by case.
//!
//! Rules (SPEC, and Prisma's deploy for "pending", prisma-compat §4.2.6): a migration is `failed` when
//! a row of its name has neither `finished_at` nor `rolled_back_at`; `applied` when a row has
//! `finished_at` and no `rolled_back_at` (`modified` if the file no longer matches that row's checksum);
//! otherwise `pending` — rows that were rolled back do not count, so the migration is applied again.
//! Rows without a local directory are `missing_locally` (or `failed`, which blocks deploy anyway).

use crate::history::HistoryRow;
use crate::migrations::{LocalMigration, ScriptProblem};
use serde::Serialize;
use std::collections::HashMap;

/// The one state vocabulary used everywhere (human output, JSON, exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Applied,
    Failed,
    Pending,
    Modified,
    MissingLocally,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Failed => "failed",
            State::Pending => "pending",
            State::Modified => "modified",
            State::MissingLocally => "missing_locally",
        }
    }
}

/// One migration's place in the plan.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub state: State,
    /// Pending, and its name sorts before the newest applied one (applied anyway, with a warning).
    pub out_of_order: bool,
    pub local: Option<&'a LocalMigration>,
    /// The row that decided the state (the failed row, the applied row, or the latest row).
    pub row: Option<&'a HistoryRow>,
}

/// The whole picture, entries sorted by name in Prisma's order ([`crate::collation`]).
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub entries: Vec<Entry<'a>>,
    /// Every failed row, whatever its name, in `started_at` order (Prisma's P3009 list).
    pub failed_rows: Vec<&'a HistoryRow>,
}

impl<'a> Plan<'a> {
    /// Local migrations to apply, in order.
    pub fn pending(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.entries.iter().filter(|e| e.state == State::Pending)
    }

    pub fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|e| e.state == state).count()
    }

    /// Why the database is not ready for the app, if it is not — the one rule of `status`'s exit
    /// code and the boot guard's refusal (SPEC): failed rows first (Prisma's deploy stops there
    /// too), then pending migrations unless tolerated, then — with `strict` — modified ones.
    pub fn refusal(&self, tolerate_pending: bool, strict: bool) -> Option<Refusal> {
        if !self.failed_rows.is_empty() {
            Some(Refusal::Failed)
        } else if !tolerate_pending && self.count(State::Pending) > 0 {
            Some(Refusal::Pending)
        } else if strict && self.count(State::Modified) > 0 {
            Some(Refusal::Modified)
        } else {
            None
        }
    }
}

/// See [`Plan::refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Failed,
    Pending,
    Modified,
}

impl Refusal {
    /// 10, 12 or 13 (SPEC "Exit codes").
    pub fn exit_code(self) -> u8 {
        match self {
            Refusal::Failed => crate::error::exit::FAILED_IN_DATABASE,
            Refusal::Pending => crate::error::exit::PENDING,
            Refusal::Modified => crate::error::exit::DRIFT,
        }
    }
}

/// Builds the plan. `rows` must be in `started_at` order, as [`crate::history::load_rows`] returns them.
/// Rows are grouped by name once, so planning stays linear for histories with thousands of rows.
pub fn plan<'a>(local: &'a [LocalMigration], rows: &'a [HistoryRow]) -> Plan<'a> {
    let mut by_name: HashMap<&'a str, Vec<&'a HistoryRow>> = HashMap::with_capacity(rows.len());
    for row in rows {
        by_name
            .entry(row.migration_name.as_str())
            .or_default()
            .push(row);
    }
    let mut entries: Vec<Entry<'a>> = local
        .iter()
        .map(|m| local_entry(m, by_name.remove(m.name.as_str()).unwrap_or_default()))
        .collect();
    entries.extend(
        by_name
            .into_iter()
            .map(|(name, named)| remote_entry(name, named)),
    );
    entries.sort_by(|a, b| crate::collation::cmp_like_prisma(a.name, b.name));
    mark_out_of_order(&mut entries);
    let failed_rows = rows.iter().filter(|r| r.is_failed()).collect();
    Plan {
        entries,
        failed_rows,
    }
}

/// `named`: the rows of this migration's name, in `started_at` order.
fn local_entry<'a>(m: &'a LocalMigration, named: Vec<&'a HistoryRow>) -> Entry<'a> {
    let failed = named.iter().copied().find(|r| r.is_failed());
    let applied = named.iter().copied().rfind(|r| r.is_applied());
    let (state, row) = match (failed, applied) {
        (Some(row), _) => (State::Failed, Some(row)),
        (None, Some(row)) => {
            // An unreadable file says nothing about a change: the checksum is just not checked (a
            // warning says so), rather than calling the migration modified.
            let matches = match &m.script {
                Ok(script) => script.matches(&row.checksum),
                Err(problem) => matches!(problem, ScriptProblem::Unreadable(_)),
            };
            let state = if matches {
                State::Applied
            } else {
                State::Modified
            };
            (state, Some(row))
        }
        (None, None) => (State::Pending, named.last().copied()),
    };
    Entry {
        name: &m.name,
        state,
        out_of_order: false,
        local: Some(m),
        row,
    }
}

fn remote_entry<'a>(name: &'a str, named: Vec<&'a HistoryRow>) -> Entry<'a> {
    let failed = named.iter().copied().find(|r| r.is_failed());
    let state = if failed.is_some() {
        State::Failed
    } else {
        State::MissingLocally
    };
    Entry {
        name,
        state,
        out_of_order: false,
        local: None,
        row: failed.or_else(|| named.last().copied()),
    }
}

fn mark_out_of_order(entries: &mut [Entry<'_>]) {
    let newest_applied = entries
        .iter()
        .filter(|e| {
            matches!(
                e.state,
                State::Applied | State::Modified | State::MissingLocally
            )
        })
        .map(|e| e.name)
        .max_by(|a, b| a.as_bytes().cmp(b.as_bytes()))
        .map(str::to_owned);
    if let Some(newest) = newest_applied {
        for entry in entries.iter_mut().filter(|e| e.state == State::Pending) {
            entry.out_of_order = entry.name.as_bytes() < newest.as_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{checksum, LocalMigration, ScriptProblem};
    use crate::timestamp::Timestamp;

    fn local(name: &str, sql: &str) -> LocalMigration {
        LocalMigration::from_sql(name, sql)
    }

    /// The time `n` seconds after the epoch (rows must be passed in this order).
    fn t(n: u64) -> Timestamp {
        Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(n))
    }

    fn row(name: &str, sql: &str, finished: bool, rolled_back: bool, started: u64) -> HistoryRow {
        HistoryRow {
            id: format!("{name}-{started}"),
            checksum: checksum(sql.as_bytes()),
            finished_at: finished.then(|| t(started)),
            migration_name: name.into(),
            logs: None,
            rolled_back_at: rolled_back.then(|| t(started)),
            started_at: t(started),
            applied_steps_count: i32::from(finished),
        }
    }

    fn states(plan: &Plan) -> Vec<(String, State, bool)> {
        plan.entries
            .iter()
            .map(|e| (e.name.to_string(), e.state, e.out_of_order))
            .collect()
    }

    #[test]
    fn fresh_database_everything_pending() {
        let local = [local("1_a", "A"), local("2_b", "B")];
        let plan = plan(&local, &[]);
        assert_eq!(plan.pending().count(), 2);
        assert!(plan.entries.iter().all(|e| !e.out_of_order));
    }

    #[test]
    fn applied_pending_and_modified() {
        let local = [
            local("1_a", "A"),
            local("2_b", "B changed"),
            local("3_c", "C"),
        ];
        let rows = [
            row("1_a", "A", true, false, 1),
            row("2_b", "B", true, false, 2),
        ];
        let plan = plan(&local, &rows);
        assert_eq!(
            states(&plan),
            [
                ("1_a".into(), State::Applied, false),
                ("2_b".into(), State::Modified, false),
                ("3_c".into(), State::Pending, false)
            ]
        );
    }

    #[test]
    fn failed_row_wins_and_is_listed() {
        let local = [local("1_a", "A")];
        let rows = [row("1_a", "A", false, false, 1)];
        let plan = plan(&local, &rows);
        assert_eq!(plan.entries[0].state, State::Failed);
        assert_eq!(plan.failed_rows.len(), 1);
    }

    #[test]
    fn rolled_back_only_is_pending_again() {
        let local = [local("1_a", "A")];
        let rows = [row("1_a", "A", false, true, 1)];
        let plan = plan(&local, &rows);
        assert_eq!(plan.entries[0].state, State::Pending);
        assert!(plan.failed_rows.is_empty());
    }

    #[test]
    fn several_rows_per_name_rolled_back_then_applied() {
        let local = [local("1_a", "A")];
        let rows = [
            row("1_a", "A", false, true, 1),
            row("1_a", "A", true, false, 2),
        ];
        let plan = plan(&local, &rows);
        assert_eq!(plan.entries[0].state, State::Applied);
        assert_eq!(plan.entries[0].row.unwrap().started_at, t(2));
    }

    #[test]
    fn finished_and_rolled_back_row_is_not_applied() {
        let local = [local("1_a", "A")];
        let rows = [row("1_a", "A", true, true, 1)];
        assert_eq!(plan(&local, &rows).entries[0].state, State::Pending);
    }

    #[test]
    fn missing_locally_and_failed_remote() {
        let local = [local("2_b", "B")];
        let rows = [
            row("1_a", "A", true, false, 1),
            row("3_gone", "X", false, false, 3),
        ];
        let plan = plan(&local, &rows);
        assert_eq!(
            states(&plan),
            [
                ("1_a".into(), State::MissingLocally, false),
                ("2_b".into(), State::Pending, false),
                ("3_gone".into(), State::Failed, false)
            ]
        );
        assert_eq!(plan.failed_rows.len(), 1);
    }

    #[test]
    fn out_of_order_pending() {
        let local = [local("1_a", "A"), local("2_b", "B"), local("3_c", "C")];
        let rows = [
            row("1_a", "A", true, false, 1),
            row("3_c", "C", true, false, 2),
        ];
        let plan = plan(&local, &rows);
        assert_eq!(states(&plan)[1], ("2_b".into(), State::Pending, true));
        // A newer migration applied elsewhere (missing locally) also makes older pending ones out of order.
        let local = [self::local("2_b", "B")];
        let rows = [row("3_c", "C", true, false, 1)];
        assert_eq!(
            states(&super::plan(&local, &rows))[0],
            ("2_b".into(), State::Pending, true)
        );
    }

    #[test]
    fn applied_with_missing_file_is_modified() {
        let mut m = local("1_a", "A");
        m.script = Err(ScriptProblem::Missing);
        let rows = [row("1_a", "A", true, false, 1)];
        assert_eq!(plan(&[m], &rows).entries[0].state, State::Modified);
    }

    #[test]
    fn resolve_applied_row_counts_as_applied() {
        let local = [local("1_a", "A")];
        let mut r = row("1_a", "A", true, false, 1);
        r.logs = Some(String::new());
        r.applied_steps_count = 0;
        assert_eq!(plan(&local, &[r]).entries[0].state, State::Applied);
    }

    #[test]
    fn refusal_failed_wins_over_pending_tolerated_or_not() {
        let local = [local("1_a", "A"), local("2_b", "B")];
        let rows = [row("1_a", "A", false, false, 1)];
        let plan = plan(&local, &rows);
        assert_eq!(plan.refusal(true, true), Some(Refusal::Failed));
        assert_eq!(Refusal::Failed.exit_code(), 10);
    }

    #[test]
    fn refusal_pending_unless_tolerated() {
        let local = [local("1_a", "A"), local("2_b", "B")];
        let rows = [row("1_a", "A", true, false, 1)];
        let plan = plan(&local, &rows);
        assert_eq!(plan.refusal(false, false), Some(Refusal::Pending));
        assert_eq!(plan.refusal(true, false), None);
        assert_eq!(Refusal::Pending.exit_code(), 12);
    }

    #[test]
    fn refusal_modified_only_when_strict_and_missing_locally_never() {
        let up_to_date = [local("1_a", "A")];
        let edited = [local("1_a", "A edited")];
        let rows = [
            row("1_a", "A", true, false, 1),
            row("2_b", "B", true, false, 2),
        ];
        let plan = plan(&edited, &rows);
        assert_eq!(plan.refusal(false, false), None);
        assert_eq!(plan.refusal(false, true), Some(Refusal::Modified));
        assert_eq!(Refusal::Modified.exit_code(), 13);
        assert_eq!(super::plan(&up_to_date, &rows).refusal(false, true), None);
    }
}
