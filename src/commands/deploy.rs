//! `deploy`: the release-phase command (SPEC "deploy", steps 1–4 and 6–9; failed rows stop it with
//! P3009, exit 10).
//!
//! Order matters: everything that can be checked without writing is checked before the first write —
//! configuration, folder, lock file, server writability, the history table's shape, P3005, failed rows
//! and every pending script — so bad input loses nothing.

use super::Context;
use crate::apply::{self, AttemptError, Limits};
use crate::backoff::{self, Backoff};
use crate::cli::DeployArgs;
use crate::cli::ResolveFailed;
use crate::connect::{self, ConnectSpec, Session};
use crate::diagnose::{self, Diagnosis, Verdict};
use crate::duration;
use crate::error::{exit, Error, Result};
use crate::history::{self, HistoryRow, ResolveAs, TableState};
use crate::lock::{self, LockGuard};
use crate::lock_retry::{self, LockRetry, Next};
use crate::lock_wait::LockWaitExhausted;
use crate::migrations::{self, LocalMigration};
use crate::monitor::{self, Monitor};
use crate::outcome::{Execution, MigrationFailure};
use crate::output::Verbosity;
use crate::plan::{self, Plan};
use crate::progress::{self, Progress};
use crate::report::{
    plan_warnings, CommandName, DeployBody, MigrationReport, PlannedMigration, Report, ResolvedRow,
};
use crate::timestamp::Timestamp;
use crate::{preflight, sql};
use std::time::{Duration, Instant};

/// The first pause before retrying a transactional migration after a transient error; it doubles
/// with each retry, capped at [`backoff::MAX_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Runs `deploy` and returns its report.
pub fn run(ctx: &Context, args: &DeployArgs) -> Report<DeployBody> {
    let body = DeployBody {
        dry_run: args.dry_run,
        ..DeployBody::default()
    };
    let mut report = ctx.report(CommandName::Deploy, body);
    let deadline = args.deadline.map(|d| Instant::now() + d);
    let result = deploy(ctx, args, deadline, &mut report).map(|()| exit::OK);
    report.body.left = match &result {
        // The deadline can pass before the plan is made (waiting for the lock): its own list.
        Err(Error::DeadlineReached { left, .. }) => left.clone(),
        Err(_) => left_over(&report.body),
        Ok(_) => Vec::new(),
    };
    report.finish(result)
}

/// The planned migrations this run did not apply.
fn left_over(body: &DeployBody) -> Vec<String> {
    body.plan
        .iter()
        .filter(|p| !body.applied.iter().any(|a| a.name == p.name))
        .map(|p| p.name.clone())
        .collect()
}

fn deploy(
    ctx: &Context,
    args: &DeployArgs,
    deadline: Option<Instant>,
    report: &mut Report<DeployBody>,
) -> Result<()> {
    ctx.check_project()?;
    migrations::check_lock_file(&ctx.migrations_dir)?;
    let local = migrations::load(&ctx.migrations_dir)?;
    let spec = ctx.connect_spec()?;
    report.database = Some(spec.target.clone());
    if let Some(config) = &ctx.project.config_file {
        ctx.out
            .progress(&format!("Loaded Prisma config from {}.", config.display()));
    }
    if let Some(schema) = &ctx.project.schema {
        ctx.out
            .progress(&format!("Prisma schema loaded from {}", schema.display()));
    }
    let mut session = ctx.connect(&spec)?;
    // The schema is known once connected: without `schema=` it is the session's current_schema().
    report.database = Some(session.target.clone());
    ctx.out.progress(&format!(
        "Datasource: PostgreSQL {}, schema `{}`",
        session.target, session.target.schema
    ));
    ctx.out.progress(&found_line(local.len(), ctx));
    if args.dry_run {
        return inspect_and_plan(&mut session, &local, args, ctx, report).map(drop);
    }
    if let Some(reason) = session.read_only.clone() {
        return Err(Error::ReadOnly {
            target: spec.target.to_string(),
            reason,
        });
    }
    apply::prepare_session(&mut session)
        .map_err(|e| session.query_error("preparing the session", e))?;
    if lock::disabled_by_env() {
        ctx.out.warn(
            "PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK is set: deploying without the migration lock",
        );
    }
    // Waiting for another deploy never runs past the deadline either: when the deadline, not
    // --lock-timeout, ends the wait, it is the deadline's exit (14) with nothing applied.
    let (wait, pending) = match deadline {
        Some(d) => (
            args.lock_timeout
                .min(d.saturating_duration_since(Instant::now())),
            pending_names(&mut session, &local),
        ),
        None => (args.lock_timeout, Vec::new()),
    };
    let mut locked = match LockGuard::acquire(session, wait, |h| lock_wait_warning(ctx, h)) {
        Err(Error::LockTimeout { holder, .. }) if wait < args.lock_timeout => {
            return Err(Error::DeadlineReached {
                deadline: duration::display(args.deadline.unwrap_or_default()),
                during: None,
                lock_holder: Some(holder),
                applied: 0,
                left: pending,
            })
        }
        other => other?,
    };
    deploy_locked(&mut locked, &spec, &local, args, ctx, deadline, report)
}

/// The migrations pending as a read without the lock sees them: what is left when the deadline
/// passes while another deploy holds the lock. Only read when `--deadline` is set; empty when the
/// history cannot be read.
fn pending_names(session: &mut Session, local: &[LocalMigration]) -> Vec<String> {
    let rows = history::inspect(session).and_then(|t| load_rows_if_present(session, &t));
    let Ok(rows) = rows else {
        return Vec::new();
    };
    plan::plan(local, &rows)
        .pending()
        .map(|e| e.name.to_string())
        .collect()
}

fn found_line(count: usize, ctx: &Context) -> String {
    match count {
        0 => format!("No migration found in {}", ctx.migrations_dir.display()),
        1 => format!("1 migration found in {}", ctx.migrations_dir.display()),
        n => format!("{n} migrations found in {}", ctx.migrations_dir.display()),
    }
}

fn lock_wait_warning(ctx: &Context, holder: &lock::Holder) {
    ctx.out.warn(&format!(
        "waiting for the migration advisory lock 72707369, held by {holder}"
    ))
}

/// Everything that only reads: the table's shape, the rows, failed rows (P3009: diagnosed, and with
/// `--resolve-failed` chosen for resolution — simulated here, written later), P3005, the plan and every
/// pending script. Nothing is written, so any refusal here loses nothing.
fn inspect_and_plan(
    session: &mut Session,
    local: &[LocalMigration],
    args: &DeployArgs,
    ctx: &Context,
    report: &mut Report<DeployBody>,
) -> Result<TableState> {
    let table = history::inspect(session)?;
    let mut rows = load_rows_if_present(session, &table)?;
    let failed: Vec<&HistoryRow> = rows.iter().filter(|r| r.is_failed()).collect();
    if !failed.is_empty() {
        report.body.failed = diagnose::diagnose_all(session, &failed, local)?;
        report.body.resolved = rows_to_resolve(&report.body.failed, args, ctx)?;
        simulate_resolution(&mut rows, &report.body.resolved);
    }
    let plan = plan::plan(local, &rows);
    report.migrations = MigrationReport::from_plan(&plan);
    if let TableState::Missing { other_tables } = &table {
        if !other_tables.is_empty() {
            return Err(Error::SchemaNotEmpty {
                schema: session.target.schema.clone(),
                tables: other_tables.join(", "),
            });
        }
    }
    report.warnings = plan_warnings(&plan);
    for warning in &report.warnings {
        ctx.out.warn(&warning.message);
    }
    let planned = planned(&plan, args, apply::dialect(session))?;
    report.body.plan = planned.iter().map(|p| p.migration.clone()).collect();
    warn_about_order(local, &report.body.plan, ctx);
    report.body.preflight = preflight_check(session, &planned, ctx);
    Ok(table)
}

/// Pre-flight size awareness: warn about each pending statement that rewrites or scans a table.
fn preflight_check(
    session: &mut Session,
    planned: &[Planned],
    ctx: &Context,
) -> Vec<preflight::Finding> {
    let pending: Vec<preflight::Pending> = planned
        .iter()
        .map(|p| preflight::Pending {
            name: &p.migration.name,
            script: p.script,
            statements: &p.statements,
        })
        .collect();
    let findings = preflight::inspect(session, &pending);
    for finding in &findings {
        ctx.out.warn(&finding.message());
    }
    findings
}

/// Says so when a pending migration is applied in Prisma 6.6+'s order (`localeCompare`) where byte
/// order — Prisma before 6.6, and prisma-release before it followed Prisma — is the other way round.
fn warn_about_order(local: &[LocalMigration], plan: &[PlannedMigration], ctx: &Context) {
    let pending = |name: &str| plan.iter().any(|p| p.name == name);
    for (first, second) in crate::collation::byte_order_differences(local, |m| &m.name) {
        if pending(&first) || pending(&second) {
            ctx.out.warn(&format!(
                "`{first}` is applied before `{second}`, as Prisma 6.6+ orders them (localeCompare); \
                 byte order (Prisma < 6.6) would be the other way round"
            ));
        }
    }
}

/// SPEC step 5: `never` stops (exit 10); `safe` resolves only when every failed row is `not_applied`,
/// else stops touching nothing; `always` resolves everything, loudly.
fn rows_to_resolve(
    diagnoses: &[Diagnosis],
    args: &DeployArgs,
    ctx: &Context,
) -> Result<Vec<ResolvedRow>> {
    let names = diagnoses
        .iter()
        .map(|d| d.migration.clone())
        .collect::<Vec<_>>();
    let refuse = || {
        Err(Error::FailedMigrationsInDatabase {
            names: names.clone(),
        })
    };
    match args.resolve_failed {
        ResolveFailed::Never => return refuse(),
        ResolveFailed::Safe => {
            let unsafe_rows: Vec<_> = diagnoses
                .iter()
                .filter(|d| d.verdict != Verdict::NotApplied)
                .collect();
            if !unsafe_rows.is_empty() {
                for d in unsafe_rows {
                    ctx.out.warn(&format!(
                        "--resolve-failed safe: `{}` is {}, not not_applied; nothing was resolved",
                        d.migration,
                        d.verdict.as_str()
                    ));
                }
                return refuse();
            }
        }
        ResolveFailed::Complete => diagnose::complete::check_all(diagnoses)?,
        ResolveFailed::Always => {
            for d in diagnoses {
                ctx.out.warn(&format!(
                    "--resolve-failed always: resolving `{}` (id {}) although its verdict is {} — {}",
                    d.migration,
                    d.id,
                    d.verdict.as_str().to_uppercase(),
                    d.explanation
                ));
            }
        }
    }
    Ok(diagnoses
        .iter()
        .map(|d| ResolvedRow {
            migration: d.migration.clone(),
            id: d.id.clone(),
            verdict: d.verdict,
            action: match args.resolve_failed {
                ResolveFailed::Complete => ResolveAs::Completed,
                _ => args.resolve_as,
            },
        })
        .collect())
}

/// The rows as they will be once `resolved` is written, so the plan (and `--dry-run`) sees the
/// resolved migrations as pending again.
fn simulate_resolution(rows: &mut Vec<HistoryRow>, resolved: &[ResolvedRow]) {
    rows.retain_mut(|row| match resolved.iter().find(|r| r.id == row.id) {
        Some(r) if r.action == ResolveAs::Delete => false,
        Some(r) if r.action == ResolveAs::Completed => {
            row.finished_at = Some(Timestamp::now());
            true
        }
        Some(_) => {
            row.rolled_back_at = Some(Timestamp::now());
            true
        }
        None => true,
    });
}

/// Writes the resolutions chosen by [`rows_to_resolve`], each only if its row is still failed.
fn write_resolutions(
    session: &mut Session,
    report: &DeployBody,
    local: &[LocalMigration],
    ctx: &Context,
) -> Result<()> {
    for row in &report.resolved {
        let still_failed = match row.action {
            ResolveAs::Completed => {
                let done = diagnose::complete::finish(session, &report.failed, &row.id, local)?;
                ctx.out.progress(&done.summary(&row.migration));
                continue;
            }
            ResolveAs::RolledBack => history::mark_rolled_back(session, &row.id)?,
            ResolveAs::Delete => history::delete_failed(session, &row.id)?,
        };
        if !still_failed {
            return Err(Error::ResolveConflict {
                name: row.migration.clone(),
                id: row.id.clone(),
            });
        }
        ctx.out.progress(&format!(
            "Resolved failed migration `{}` ({}): {}",
            row.migration,
            row.verdict.as_str(),
            match row.action {
                ResolveAs::RolledBack => "marked rolled back",
                ResolveAs::Delete => "row deleted",
                ResolveAs::Completed => "completed",
            }
        ));
    }
    Ok(())
}

fn load_rows_if_present(session: &mut Session, table: &TableState) -> Result<Vec<HistoryRow>> {
    match table {
        TableState::Present => history::load_rows(session),
        TableState::Missing { .. } => Ok(Vec::new()),
    }
}

/// A pending migration as planned, with its script and the statements it splits into: split once
/// here, and read again by the pre-flight size check.
struct Planned<'a> {
    migration: PlannedMigration,
    script: &'a str,
    statements: Vec<sql::Statement>,
}

/// The pending migrations with their execution mode; fails (exit 3) on any unusable script — one
/// that is not UTF-8, or holds something only psql can run ([`sql::unrunnable`]) — before anything
/// is written. Scripts are split the way the session lexes them (`standard_conforming_strings`).
fn planned<'a>(
    plan: &Plan<'a>,
    args: &DeployArgs,
    dialect: sql::Dialect,
) -> Result<Vec<Planned<'a>>> {
    plan.pending()
        .map(|entry| {
            let local = entry.local.ok_or_else(|| Error::Query {
                context: "planning".into(),
                cause: format!("pending migration `{}` has no local directory", entry.name),
            })?;
            let sql = local.sql_for_apply()?;
            if let Some(found) = sql::unrunnable(sql, dialect) {
                return Err(Error::MigrationUnrunnable {
                    name: entry.name.to_string(),
                    statement: found.statement,
                    line: found.line,
                    reason: found.reason,
                });
            }
            let (execution, reason) = apply::choose_execution(sql, args.tx_mode, dialect);
            let statements = sql::statements_in(sql, dialect);
            Ok(Planned {
                migration: PlannedMigration {
                    name: entry.name.to_string(),
                    execution,
                    reason,
                    statements: statements.len(),
                    out_of_order: entry.out_of_order,
                },
                script: sql,
                statements,
            })
        })
        .collect()
}

fn deploy_locked(
    session: &mut LockGuard,
    spec: &ConnectSpec,
    local: &[LocalMigration],
    args: &DeployArgs,
    ctx: &Context,
    deadline: Option<Instant>,
    report: &mut Report<DeployBody>,
) -> Result<()> {
    let table = inspect_and_plan(session, local, args, ctx, report)?;
    write_resolutions(session, &report.body, local, ctx)?;
    if matches!(table, TableState::Missing { .. }) {
        connect::ensure_schema(session, spec)?;
        history::create_if_missing(session, &table)?;
        ctx.out.detail("created _prisma_migrations");
    }
    let planned = report.body.plan.clone();
    if !planned.is_empty() {
        let run = Run {
            spec,
            local,
            planned: &planned,
            args,
            ctx,
        };
        watched(session, &run, deadline, report)?;
    }
    if !planned.is_empty() || !report.body.resolved.is_empty() {
        let rows = history::load_rows(session)?;
        report.migrations = MigrationReport::from_plan(&plan::plan(local, &rows));
    }
    Ok(())
}

/// What applying the plan reads and never changes: the connection settings, the local folder, the
/// plan itself, the flags and the output. One value, so the apply loop's signature stays short.
struct Run<'a> {
    spec: &'a ConnectSpec,
    local: &'a [LocalMigration],
    planned: &'a [PlannedMigration],
    args: &'a DeployArgs,
    ctx: &'a Context,
}

/// Applies the plan with the release monitor watching (its thread lives as long as this call).
fn watched(
    session: &mut LockGuard,
    run: &Run,
    deadline: Option<Instant>,
    report: &mut Report<DeployBody>,
) -> Result<()> {
    let pid = backend_pid(session)?;
    let quiet = run.ctx.out.verbosity == Verbosity::Quiet;
    let progress = Progress::new(progress::Mode::detect(quiet));
    let monitor = Monitor::new(
        pid,
        Box::new(progress),
        monitor::Settings::from_env(deadline),
    );
    std::thread::scope(|scope| {
        scope.spawn(|| monitor.run(run.spec));
        let watch = Watch {
            monitor: &monitor,
            deadline,
        };
        let result = apply_planned(session, run, &watch, report);
        monitor.stop();
        result
    })
}

/// What the apply loop needs from the monitor and the deadline.
struct Watch<'a> {
    monitor: &'a Monitor,
    deadline: Option<Instant>,
}

impl Watch<'_> {
    fn passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

fn backend_pid(session: &mut Session) -> Result<i32> {
    session
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .map(|row| row.get(0))
        .map_err(|e| session.query_error("reading the backend pid", e))
}

/// The deadline error: what was applied, what is left.
fn deadline_reached(
    args: &DeployArgs,
    during: Option<&str>,
    planned: &[PlannedMigration],
    applied: usize,
) -> Error {
    Error::DeadlineReached {
        deadline: duration::display(args.deadline.unwrap_or_default()),
        during: during.map(str::to_string),
        lock_holder: None,
        applied,
        left: planned[applied..].iter().map(|p| p.name.clone()).collect(),
    }
}

fn apply_planned(
    session: &mut LockGuard,
    run: &Run,
    watch: &Watch,
    report: &mut Report<DeployBody>,
) -> Result<()> {
    let Run {
        spec,
        local,
        planned,
        args,
        ctx,
    } = *run;
    for (done, step) in planned.iter().enumerate() {
        if watch.passed() {
            return Err(deadline_reached(args, None, planned, done));
        }
        let migration = local
            .iter()
            .find(|m| m.name == step.name)
            .ok_or_else(|| Error::Query {
                context: "applying".into(),
                cause: format!("migration `{}` vanished from the plan", step.name),
            })?;
        ctx.out
            .progress(&format!("Applying migration `{}`", step.name));
        if let Some(reason) = &step.reason {
            ctx.out.warn(&format!(
                "migration `{}` runs statement by statement, each committed on its own (not atomic): {reason}",
                step.name
            ));
        }
        apply::restore_session(session)
            .map_err(|e| session.query_error("restoring the session's search_path", e))?;
        watch
            .monitor
            .begin(&step.name, step.execution == Execution::Transaction);
        let result = apply_one(session, spec, migration, step.execution, args, ctx, watch);
        let observation = watch.monitor.end();
        if !observation.is_empty() {
            report.body.observations.push(observation);
        }
        let applied = result.map_err(|e| match e {
            Error::MigrationFailed(_) if watch.monitor.cancelled_at_deadline() => {
                deadline_reached(args, Some(&step.name), planned, done)
            }
            Error::DeadlineReached { .. } => {
                deadline_reached(args, Some(&step.name), planned, done)
            }
            other => other,
        })?;
        if step.execution == Execution::StatementByStatement && session.is_held() {
            keep_lock_after(session, &step.name, planned, args, ctx)?;
        }
        ctx.out.detail(&format!(
            "  {} ({}, {} statements) in {} ms",
            applied.name,
            applied.execution.as_str(),
            applied.statements,
            applied.duration_ms
        ));
        report.body.applied.push(applied);
    }
    Ok(())
}

/// After a statement-by-statement migration (no transaction could roll back an unlock in it): if the
/// migration released the deploy lock, take it again, then make sure no other deploy applied any of
/// our remaining migrations while it was free — else stop before applying anything twice.
fn keep_lock_after(
    session: &mut LockGuard,
    name: &str,
    planned: &[PlannedMigration],
    args: &DeployArgs,
    ctx: &Context,
) -> Result<()> {
    if lock::still_held(session)? {
        return Ok(());
    }
    ctx.out.warn(&format!(
        "migration `{name}` released the migration advisory lock 72707369; taking it again"
    ));
    session.retake(args.lock_timeout, |h| lock_wait_warning(ctx, h))?;
    let rows = history::load_rows(session)?;
    let remaining = planned.iter().skip_while(|p| p.name != name).skip(1);
    for step in remaining {
        if let Some(row) = rows.iter().find(|r| r.migration_name == step.name) {
            return Err(Error::LockLost {
                name: name.to_string(),
                what: format!(
                    "meanwhile another deploy wrote a row for `{}`",
                    row.migration_name
                ),
            });
        }
    }
    Ok(())
}

/// Applies one migration; a transactional one is retried after transient errors (SPEC step 7).
fn apply_one(
    session: &mut LockGuard,
    spec: &ConnectSpec,
    migration: &LocalMigration,
    execution: Execution,
    args: &DeployArgs,
    ctx: &Context,
    watch: &Watch,
) -> Result<apply::Applied> {
    let sql = migration.sql_for_apply()?;
    let checksum = migration.checksum().unwrap_or_default();
    let lock_timeout = Some(args.ddl_lock_timeout).filter(|t| !t.is_zero());
    let mut lock_retry = LockRetry::start(args.lock_retry_budget, args.ddl_lock_timeout);
    if execution == Execution::StatementByStatement {
        // A statement-by-statement migration is never cut at the deadline: only the budget counts.
        return apply::apply_statement_by_statement(
            session,
            &migration.name,
            checksum,
            sql,
            lock_timeout,
            &mut |failure| {
                lock_wait(&mut lock_retry, None, failure, ctx, watch)
                    == Next::RetryAfter(Duration::ZERO)
            },
        )
        .map_err(|failure| final_error(failure, &lock_retry, args, watch));
    }
    let limits = Limits {
        lock_timeout,
        statement_timeout: args.statement_timeout,
        verify_lock: session.is_held(),
    };
    let mut attempt = 0;
    let mut pauses = Backoff::new(FIRST_RETRY_PAUSE, backoff::MAX_PAUSE);
    loop {
        match apply::apply_transactional(session, &migration.name, checksum, sql, limits) {
            Ok(mut applied) => {
                applied.retries = attempt + lock_retry.timeouts;
                return Ok(applied);
            }
            Err(AttemptError::Failed(failure)) => return Err(Error::MigrationFailed(failure)),
            Err(AttemptError::Transient {
                failure,
                connection_lost: false,
                ..
            }) if lock_retry::is_lock_timeout(&failure) => {
                terminate_idle_blockers(session, args, ctx, watch);
                match lock_wait(&mut lock_retry, watch.deadline, &failure, ctx, watch) {
                    Next::RetryAfter(_) => {}
                    Next::BudgetSpent => {
                        return Err(final_error(failure, &lock_retry, args, watch))
                    }
                    Next::DeadlineNear => return Err(deadline_marker()),
                }
            }
            Err(AttemptError::Transient {
                failure,
                connection_lost,
                id,
            }) => {
                if connection_lost {
                    let recovered =
                        recover_after_loss(session, spec, migration, &id, attempt, args, ctx)?;
                    watch.monitor.set_pid(backend_pid(session)?);
                    if let Some(applied) = recovered {
                        return Ok(applied);
                    }
                }
                if attempt >= args.retries {
                    return Err(Error::MigrationFailed(failure));
                }
                attempt += 1;
                let pause = pauses.next().unwrap_or(FIRST_RETRY_PAUSE);
                ctx.out.warn(&format!(
                    "migration `{}`: transient error ({}); nothing was committed, retrying in {} ({attempt} of {})",
                    migration.name, failure.message, duration::display(pause), args.retries
                ));
                std::thread::sleep(pause);
            }
        }
    }
}

/// After a lost connection nobody knows whether COMMIT reached the server: say so, reconnect (the
/// lock taken again guarantees the old session is gone, so its transaction is decided), and read the
/// truth from the history row. `Some` when the migration was committed after all; `None` when it was
/// not (it may be retried); an error saying the state is unknown when we cannot reconnect.
fn recover_after_loss(
    session: &mut LockGuard,
    spec: &ConnectSpec,
    migration: &LocalMigration,
    id: &str,
    attempt: u32,
    args: &DeployArgs,
    ctx: &Context,
) -> Result<Option<apply::Applied>> {
    ctx.out.warn(&format!(
        "migration `{}`: the connection was lost; commit state unknown — checking",
        migration.name
    ));
    let unknown = |error: Error| Error::ConnectionLost {
        target: spec.target.to_string(),
        context: format!(
            "applying migration `{}` (commit state unknown: run `prisma-release status`)",
            migration.name
        ),
        cause: match error {
            Error::Connect { cause, .. } | Error::ConnectionLost { cause, .. } => cause,
            other => other.to_string(),
        },
    };
    // The guard drops the lost connection before it polls for the lock on the fresh one.
    let fresh = ctx.reconnect(spec).map_err(unknown)?;
    session
        .reacquire_on(fresh, args.lock_timeout, |h| lock_wait_warning(ctx, h))
        .map_err(unknown)?;
    apply::prepare_session(session)
        .map_err(|e| unknown(session.query_error("preparing the session", e)))?;
    if history::is_finished(session, id).map_err(unknown)? {
        ctx.out.warn(&format!(
            "migration `{}`: it was committed before the connection was lost",
            migration.name
        ));
        return Ok(Some(committed_before_loss(
            migration,
            id.to_string(),
            attempt,
        )));
    }
    ctx.out.warn(&format!(
        "migration `{}`: it was not committed",
        migration.name
    ));
    Ok(None)
}

/// After a lock timeout: counts it, decides, says so, and sleeps before a retry. Returns
/// `RetryAfter(ZERO)` once the pause is over (the caller tries again), else why not.
fn lock_wait(
    lock_retry: &mut LockRetry,
    deadline: Option<Instant>,
    failure: &MigrationFailure,
    ctx: &Context,
    watch: &Watch,
) -> Next {
    watch.monitor.lock_timed_out();
    let next = lock_retry.after_timeout(deadline);
    let Next::RetryAfter(pause) = next else {
        return next;
    };
    let blockers = watch.monitor.blockers();
    let by = if blockers.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = blockers.iter().map(ToString::to_string).collect();
        format!(", blocked by {}", names.join("; "))
    };
    ctx.out.warn(&format!(
        "migration `{}`: lock_timeout reached{by} — nothing of this attempt was committed; retrying in {} (lock timeout {}, {} of the lock retry budget used)",
        failure.migration,
        duration::display(pause),
        lock_retry.timeouts,
        duration::display(lock_retry.elapsed())
    ));
    std::thread::sleep(pause);
    Next::RetryAfter(Duration::ZERO)
}

/// The error for a migration whose last attempt failed: a lock timeout becomes "budget spent"
/// with the blockers named, anything else stays a migration failure.
fn final_error(
    failure: Box<MigrationFailure>,
    lock_retry: &LockRetry,
    args: &DeployArgs,
    watch: &Watch,
) -> Error {
    if !lock_retry::is_lock_timeout(&failure) {
        return Error::MigrationFailed(failure);
    }
    Error::LockWaitExhausted(Box::new(LockWaitExhausted {
        failure: *failure,
        attempts: lock_retry.timeouts.max(1),
        waited_ms: lock_retry.elapsed().as_millis() as u64,
        lock_timeout_ms: args.ddl_lock_timeout.as_millis() as u64,
        blockers: watch.monitor.blockers(),
    }))
}

/// Stands for "the deadline stopped this migration"; [`apply_planned`] fills in the details.
fn deadline_marker() -> Error {
    Error::DeadlineReached {
        deadline: String::new(),
        during: None,
        lock_holder: None,
        applied: 0,
        left: Vec::new(),
    }
}

/// `--cancel-blockers-after`: ends the sessions idle in a transaction for that long that block us.
fn terminate_idle_blockers(session: &mut Session, args: &DeployArgs, ctx: &Context, watch: &Watch) {
    let Some(after) = args.cancel_blockers_after else {
        return;
    };
    let blockers = watch.monitor.blockers();
    let pids = lock_retry::terminable(&blockers, after);
    for pid in lock_retry::terminate(session, &pids) {
        if let Some(b) = blockers.iter().find(|b| b.pid == pid) {
            ctx.out.warn(&format!(
                "--cancel-blockers-after: terminated the blocking session {}",
                b
            ));
        }
    }
}

/// The connection died after COMMIT reached the server: the migration is in, with its row.
fn committed_before_loss(migration: &LocalMigration, id: String, retries: u32) -> apply::Applied {
    apply::Applied {
        name: migration.name.clone(),
        id,
        execution: Execution::Transaction,
        statements: migration
            .sql_for_apply()
            .map(|s| sql::statements(s).len())
            .unwrap_or(0),
        duration_ms: 0,
        retries,
    }
}
