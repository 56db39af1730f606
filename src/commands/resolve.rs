//! `resolve`: Prisma's `migrate resolve --rolled-back | --applied` with its preconditions and error
//! codes (prisma-compat §6), plus `--delete` for the failed rows of a migration — the manual fix people
//! do today, now checked and locked.
//!
//! Preconditions are checked on a first read, the user confirms `--delete` (typing the name on a
//! TTY, `--yes` otherwise), then under the advisory lock the rows are read again, checked again, and
//! each failed row is changed only while it is still failed (compare-and-set), so a concurrent change
//! is reported, not overwritten.

use super::Context;
use crate::cli::ResolveArgs;
use crate::connect::Session;
use crate::diagnose;
use crate::error::{exit, Error, Result};
use crate::history::{self, HistoryRow, TableState};
use crate::lock::LockGuard;
use crate::migrations::{self, LocalMigration};
use crate::report::{CommandName, Report, ResolveAction, ResolveBody};
use std::io::{BufRead, IsTerminal, Write};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    RolledBack,
    Applied,
    Delete,
    /// `--complete`: finish a half-applied migration ([`crate::diagnose::complete`]).
    Complete,
}

impl Action {
    fn done(self) -> ResolveAction {
        match self {
            Action::RolledBack => ResolveAction::RolledBack,
            Action::Applied => ResolveAction::Applied,
            Action::Delete => ResolveAction::Deleted,
            Action::Complete => ResolveAction::Completed,
        }
    }
}

/// Runs `resolve` and returns its report.
pub fn run(ctx: &Context, args: &ResolveArgs) -> Report<ResolveBody> {
    let mut report = ctx.report(CommandName::Resolve, ResolveBody::default());
    let result = resolve(ctx, args, &mut report).map(|()| exit::OK);
    report.finish(result)
}

fn action(args: &ResolveArgs) -> (Action, String) {
    match (
        &args.rolled_back,
        &args.applied,
        &args.delete,
        &args.complete,
    ) {
        (Some(name), _, _, _) => (Action::RolledBack, name.clone()),
        (_, Some(name), _, _) => (Action::Applied, name.clone()),
        (_, _, Some(name), _) => (Action::Delete, name.clone()),
        (_, _, _, Some(name)) => (Action::Complete, name.clone()),
        // clap's required group guarantees one of the four.
        (None, None, None, None) => (Action::RolledBack, String::new()),
    }
}

fn resolve(ctx: &Context, args: &ResolveArgs, report: &mut Report<ResolveBody>) -> Result<()> {
    ctx.check_project()?;
    let (action, name) = action(args);
    report.body.migration = Some(name.clone());
    let local = local_for(action, ctx, &name)?;
    let spec = ctx.connect_spec()?;
    report.database = Some(spec.target.clone());
    let mut session = ctx.connect(&spec)?;
    report.database = Some(session.target.clone());
    if let Some(reason) = session.read_only.clone() {
        return Err(Error::ReadOnly {
            target: spec.target.to_string(),
            reason,
        });
    }
    let rows = read_rows(&mut session)?;
    check_preconditions(action, &name, &rows)?;
    if action == Action::Delete {
        confirm(&name, &failed_rows(&rows, &name), args.yes)?;
    }
    let mut locked = LockGuard::acquire(session, args.lock_timeout, |holder| {
        ctx.out.warn(&format!(
            "waiting for the migration advisory lock 72707369, held by {holder}"
        ))
    })?;
    resolve_locked(&mut locked, action, &name, local.as_ref(), report)
}

/// `--applied` needs the local migration (P3017) and checks the lock file, as Prisma does;
/// `--complete` needs the local migration to run its remaining statements.
fn local_for(action: Action, ctx: &Context, name: &str) -> Result<Option<LocalMigration>> {
    if !matches!(action, Action::Applied | Action::Complete) {
        return Ok(None);
    }
    migrations::check_lock_file(&ctx.migrations_dir)?;
    let not_found = || Error::ResolveMigrationNotFound {
        name: name.to_string(),
    };
    let local = migrations::load(&ctx.migrations_dir)
        .map_err(|_| not_found())?
        .into_iter()
        .find(|m| m.name == name && m.script.is_ok())
        .ok_or_else(not_found)?;
    Ok(Some(local))
}

fn read_rows(session: &mut Session) -> Result<Option<Vec<HistoryRow>>> {
    match history::inspect(session)? {
        TableState::Present => history::load_rows(session).map(Some),
        TableState::Missing { .. } => Ok(None),
    }
}

fn failed_rows<'a>(rows: &'a Option<Vec<HistoryRow>>, name: &str) -> Vec<&'a HistoryRow> {
    rows.iter()
        .flatten()
        .filter(|r| r.migration_name == name && r.is_failed())
        .collect()
}

/// Prisma's preconditions (prisma-compat §6), plus "something to delete" for `--delete`.
fn check_preconditions(action: Action, name: &str, rows: &Option<Vec<HistoryRow>>) -> Result<()> {
    let named: Vec<&HistoryRow> = rows
        .iter()
        .flatten()
        .filter(|r| r.migration_name == name)
        .collect();
    let name = name.to_string();
    match action {
        Action::RolledBack if named.is_empty() => Err(Error::ResolveNeverApplied { name }),
        Action::RolledBack if named.iter().all(|r| r.finished_at.is_some()) => {
            Err(Error::ResolveNotFailed { name })
        }
        Action::Applied if named.iter().any(|r| r.finished_at.is_some()) => {
            Err(Error::ResolveAlreadyApplied { name })
        }
        Action::Delete if !named.iter().any(|r| r.is_failed()) => {
            Err(Error::ResolveNothingToDelete { name })
        }
        Action::Complete if named.iter().filter(|r| r.is_failed()).count() != 1 => {
            Err(Error::CompleteRefused {
                name,
                reasons: vec![
                    "it has no failed row (or several): run prisma-release diagnose".into(),
                ],
            })
        }
        _ => Ok(()),
    }
}

/// `--delete` removes history: on a TTY the user types the migration name; otherwise `--yes`.
fn confirm(name: &str, rows: &[&HistoryRow], yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::ConfirmationRequired {
            action: "delete the failed rows of",
            name: name.to_string(),
        });
    }
    let mut prompt = format!(
        "About to DELETE {} failed row{} of `{name}` from _prisma_migrations:\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    for row in rows {
        prompt.push_str(&format!(
            "  {} (started {})\n",
            row.id,
            row.started_at.prisma_display()
        ));
    }
    prompt.push_str("Type the migration name to confirm: ");
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(prompt.as_bytes());
    let _ = stderr.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == name {
        Ok(())
    } else {
        Err(Error::ConfirmationDeclined {
            name: name.to_string(),
        })
    }
}

/// Under the lock: read again, check again, then write with compare-and-set.
fn resolve_locked(
    session: &mut Session,
    action: Action,
    name: &str,
    local: Option<&LocalMigration>,
    report: &mut Report<ResolveBody>,
) -> Result<()> {
    let mut rows = read_rows(session)?;
    check_preconditions(action, name, &rows)?;
    if let (Action::Complete, Some(local)) = (action, local) {
        return complete_locked(session, &failed_rows(&rows, name), local, report);
    }
    if rows.is_none() && action == Action::Applied {
        // Baselining: Prisma creates the table without the emptiness check.
        history::create_if_missing(
            session,
            &TableState::Missing {
                other_tables: Vec::new(),
            },
        )?;
        rows = Some(Vec::new());
    }
    let failed: Vec<String> = failed_rows(&rows, name)
        .iter()
        .map(|r| r.id.clone())
        .collect();
    for id in &failed {
        let still_failed = match action {
            Action::Delete => history::delete_failed(session, id)?,
            Action::RolledBack | Action::Applied | Action::Complete => {
                history::mark_rolled_back(session, id)?
            }
        };
        if !still_failed {
            return Err(Error::ResolveConflict {
                name: name.to_string(),
                id: id.clone(),
            });
        }
        report.body.rows.push(id.clone());
    }
    if let (Action::Applied, Some(local)) = (action, local) {
        let checksum = local.checksum().unwrap_or_default();
        report
            .body
            .rows
            .push(history::insert_applied(session, name, checksum)?);
    }
    report.body.action = Some(action.done());
    Ok(())
}

/// `--complete`: diagnose the failed row again under the lock, then finish it (or refuse).
fn complete_locked(
    session: &mut Session,
    failed: &[&HistoryRow],
    local: &LocalMigration,
    report: &mut Report<ResolveBody>,
) -> Result<()> {
    let row = failed.first().ok_or_else(|| Error::CompleteRefused {
        name: local.name.clone(),
        reasons: vec!["it has no failed row".into()],
    })?;
    let diagnosis = diagnose::diagnose(session, row, Some(local))?;
    let done = diagnose::complete::run(session, &diagnosis, local)?;
    report.body.rows.push(row.id.clone());
    report.body.rows.push(done.row);
    report.body.action = Some(Action::Complete.done());
    Ok(())
}
