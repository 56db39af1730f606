//! `guard` — the boot guard (SPEC "guard"): `web: prisma-release guard -- node dist/server.js`.
//!
//! Heroku skips the release phase for add-on releases (credential rotation, failover), and a dyno can
//! boot code whose migrations never ran; the guard is what notices. It is read-only and takes no lock
//! (it must never queue behind a deploy), refuses on failed rows (10) and pending migrations (12),
//! with `--strict` on modified ones (13), and otherwise closes its connection and `exec`s the app, so
//! the app keeps the PID, the environment and the signals, and its exit code is the dyno's.
//!
//! Boot has 60 s on Heroku (R10). Every blocking database step — connecting (all retries included),
//! reading the history, diagnosing — must finish within `--connect-budget`; the blocking work runs on
//! a worker thread and this thread enforces the deadlines, because a server that accepts the TCP
//! connection and then never answers would otherwise hang the boot until Heroku kills the dyno.
//! Every byte the guard prints goes to stderr: stdout belongs to the app.
//!
//! What stays here is the orchestration: the refusal rule is [`crate::plan::Plan::refusal`] (shared
//! with `status`), connecting and its retries are [`crate::connect::connect`] with a deadline, and
//! the text is rendered by `output::guard_*`.

use super::Context;
use crate::backoff::Backoff;
use crate::cli::GuardArgs;
use crate::connect::{self, ConnectSpec, Retry, Session};
use crate::diagnose::{self, Diagnosis};
use crate::duration;
use crate::error::{exit, Error, Result};
use crate::history::{self, HistoryRow, TableState};
use crate::migrations::{self, LocalMigration};
use crate::output::{self, Out, Verbosity};
use crate::plan::{self, Refusal};
use crate::report::{GuardFindings, GuardOutcome, GuardStop};
use std::ffi::OsString;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often `--wait` re-reads the history.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Runs the guard. Returns only when the app is not started (or there is no app): the exit code.
pub fn run(ctx: &Context, args: &GuardArgs) -> u8 {
    let started = Instant::now();
    let out = ctx.out;
    let outcome = match check(ctx, args, started) {
        Ok(outcome) => outcome,
        Err(stop) => {
            out.stderr(&output::guard_stop(&stop, args.connect_budget));
            return stop.exit_code();
        }
    };
    out.detail(&format!(
        "guard: checked in {}",
        crate::duration::display(started.elapsed())
    ));
    if let Some(refusal) = outcome.findings.refusal {
        out.stderr(&output::guard_refusal(&outcome, &args.command));
        return refusal.exit_code();
    }
    for warning in &outcome.findings.warnings {
        out.warn(warning);
    }
    if out.verbosity != Verbosity::Quiet {
        out.stderr(&output::guard_start(&outcome, &args.command));
    }
    match args.command.split_first() {
        None => exit::OK,
        Some((program, rest)) => exec(program, rest, out),
    }
}

/// What the worker is doing, so the watching thread knows what a timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Reading,
    Diagnosing,
    Sleeping,
}

/// Messages from the worker thread.
enum Event {
    /// A blocking step starts and must end by the given instant.
    Phase(Phase, Instant),
    /// A transient error that will be retried (kept for the timeout message).
    Retrying(String),
    /// A look at the database; the latest one is used if the diagnosis runs out of time.
    Observed(GuardFindings),
    Done(Result<GuardOutcome>),
}

/// Validates the folder and the URL here (fast, no network), then lets a worker talk to the database
/// while this thread enforces the budget: a server that accepts the connection and then never
/// answers would otherwise hang the boot.
fn check(
    ctx: &Context,
    args: &GuardArgs,
    started: Instant,
) -> std::result::Result<GuardOutcome, GuardStop> {
    let prepared = ctx
        .check_project()
        .and_then(|()| migrations::check_lock_file(&ctx.migrations_dir))
        .and_then(|()| migrations::load(&ctx.migrations_dir))
        .and_then(|local| Ok((local, ctx.connect_spec()?)));
    let (local, spec) = prepared.map_err(GuardStop::Error)?;
    let target = spec.target.to_string();
    let worker = Worker {
        spec,
        local,
        tolerate_pending: args.allow_pending,
        strict: args.strict,
        wait: args.wait,
        budget: args.connect_budget,
        out: ctx.out,
    };
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("guard-db".into())
        .spawn(move || {
            let result = worker.run(&tx, started);
            let _ = tx.send(Event::Done(result));
        })
        .map_err(|e| GuardStop::Internal(format!("cannot start the guard's worker thread: {e}")))?;
    watch(&rx, started + args.connect_budget, target).inspect(|_| {
        // The worker has closed its connection; wait until its thread is gone before exec.
        let _ = handle.join();
    })
}

/// Follows the worker until it is done or the step it is in overruns its deadline. A worker stuck
/// in a blocking call is left behind: the process ends (or execs) now.
fn watch(
    rx: &mpsc::Receiver<Event>,
    mut deadline: Instant,
    target: String,
) -> std::result::Result<GuardOutcome, GuardStop> {
    let mut phase = Phase::Connecting;
    let mut last_error = None;
    let mut last_findings = None;
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(timeout) {
            Ok(Event::Phase(now, until)) => (phase, deadline) = (now, until),
            Ok(Event::Retrying(error)) => last_error = Some(error),
            Ok(Event::Observed(findings)) => last_findings = Some(findings),
            Ok(Event::Done(Ok(outcome))) => return Ok(outcome),
            Ok(Event::Done(Err(error))) if error.is_transient() => {
                return Err(GuardStop::GaveUp(error))
            }
            Ok(Event::Done(Err(error))) => return Err(GuardStop::Error(error)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return match (phase, last_findings) {
                    // We know there are failed rows; only the detail is missing.
                    (Phase::Diagnosing, Some(findings)) => Ok(GuardOutcome {
                        findings,
                        diagnoses: None,
                        waited: None,
                    }),
                    _ => Err(GuardStop::TimedOut {
                        target,
                        connecting: matches!(phase, Phase::Connecting | Phase::Sleeping),
                        last_error,
                    }),
                };
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(GuardStop::Internal(
                    "the guard's worker thread stopped unexpectedly".into(),
                ))
            }
        }
    }
}

/// The part that talks to the database (on its own thread).
struct Worker {
    spec: ConnectSpec,
    local: Vec<LocalMigration>,
    tolerate_pending: bool,
    strict: bool,
    wait: Option<Duration>,
    budget: Duration,
    out: Out,
}

impl Worker {
    fn run(self, tx: &mpsc::Sender<Event>, started: Instant) -> Result<GuardOutcome> {
        let mut session = None;
        let (mut findings, mut rows) = self.observe(&mut session, started + self.budget, tx)?;
        let mut waited = None;
        if let (Some(_), Some(wait)) = (findings.refusal, self.wait) {
            if self.out.verbosity != Verbosity::Quiet {
                self.out.stderr(&output::guard_waiting(&findings, wait));
            }
            let begun = Instant::now();
            let until = begun + wait;
            while findings.refusal.is_some() && Instant::now() < until {
                let pause = POLL_INTERVAL.min(until.saturating_duration_since(Instant::now()));
                let _ = tx.send(Event::Phase(
                    Phase::Sleeping,
                    Instant::now() + pause + self.budget,
                ));
                std::thread::sleep(pause);
                (findings, rows) = self.observe(&mut session, Instant::now() + self.budget, tx)?;
            }
            waited = Some(begun.elapsed());
        }
        let diagnoses = match (findings.refusal, session.as_mut()) {
            (Some(Refusal::Failed), Some(session)) => {
                let _ = tx.send(Event::Observed(findings.clone()));
                let _ = tx.send(Event::Phase(
                    Phase::Diagnosing,
                    Instant::now() + self.budget,
                ));
                self.diagnose(session, &rows)
            }
            _ => None,
        };
        // Close the connection (Terminate message) before the app starts: it gets the slot.
        drop(session);
        Ok(GuardOutcome {
            findings,
            diagnoses,
            waited,
        })
    }

    /// Reads the history once, connecting first when there is no session; a connection lost while
    /// reading is retried like a failed connect, until `deadline`.
    fn observe(
        &self,
        session: &mut Option<Session>,
        deadline: Instant,
        tx: &mpsc::Sender<Event>,
    ) -> Result<(GuardFindings, Vec<HistoryRow>)> {
        let mut pauses = Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
        loop {
            let open = match session {
                Some(open) => open,
                None => session.insert(self.connect(deadline, tx)?),
            };
            let _ = tx.send(Event::Phase(Phase::Reading, deadline));
            match self.read(open) {
                Ok(found) => return Ok(found),
                Err(error) if error.is_transient() && Instant::now() < deadline => {
                    *session = None;
                    self.out.detail(&format!("guard: {error}; retrying"));
                    let _ = tx.send(Event::Retrying(error.to_string()));
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(pauses.next().unwrap_or_default().min(left));
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn connect(&self, deadline: Instant, tx: &mpsc::Sender<Event>) -> Result<Session> {
        let _ = tx.send(Event::Phase(Phase::Connecting, deadline));
        let mut session =
            connect::connect(&self.spec, Retry::until(deadline), &mut |error, pause| {
                let cause = match error {
                    Error::Connect { cause, .. } => cause.clone(),
                    other => other.to_string(),
                };
                self.out.detail(&format!(
                    "guard: {cause}; retrying in {}",
                    duration::display(pause)
                ));
                let _ = tx.send(Event::Retrying(cause));
            })?;
        self.out.detail(&format!(
            "connected to {}: {}",
            session.target, session.security
        ));
        super::refuse_prisma8_database(&mut session)?;
        Ok(session)
    }

    fn read(&self, session: &mut Session) -> Result<(GuardFindings, Vec<HistoryRow>)> {
        let rows = match history::inspect(session)? {
            TableState::Present => history::load_rows(session)?,
            TableState::Missing { .. } => Vec::new(),
        };
        let plan = plan::plan(&self.local, &rows);
        let target = session.target.to_string();
        let findings = GuardFindings::of(&plan, target, self.tolerate_pending, self.strict);
        Ok((findings, rows))
    }

    /// The diagnosis of every failed row; `None` if the diagnosis itself fails (the refusal is
    /// printed without it).
    fn diagnose(&self, session: &mut Session, rows: &[HistoryRow]) -> Option<Vec<Diagnosis>> {
        let plan = plan::plan(&self.local, rows);
        diagnose::diagnose_all(session, &plan.failed_rows, &self.local)
            .inspect_err(|error| {
                self.out
                    .warn(&format!("the diagnosis of the failed rows failed: {error}"))
            })
            .ok()
    }
}

/// Replaces this process with the app (Unix `exec`): same PID, same environment, signals go straight
/// to it, and its exit code is the process's. Returns only when `exec` failed, with a shell's code:
/// 127 not found, 126 found but not executable.
#[cfg(unix)]
fn exec(program: &OsString, args: &[OsString], out: Out) -> u8 {
    use std::os::unix::process::CommandExt;
    // std resets SIGPIPE (which the Rust runtime ignores) and the signal mask before exec.
    let error = std::process::Command::new(program).args(args).exec();
    exec_failed(program, &error, out)
}

/// Without Unix `exec`, the closest thing: run the app and pass its exit code on.
#[cfg(not(unix))]
fn exec(program: &OsString, args: &[OsString], out: Out) -> u8 {
    match std::process::Command::new(program).args(args).status() {
        Ok(status) => status.code().map_or(exit::INTERNAL, |c| c as u8),
        Err(error) => exec_failed(program, &error, out),
    }
}

fn exec_failed(program: &OsString, error: &std::io::Error, out: Out) -> u8 {
    let name = program.to_string_lossy();
    let has_slash = name.contains('/');
    let (code, what) = match error.kind() {
        std::io::ErrorKind::NotFound if has_slash => (
            127,
            "no such file (or its #! interpreter is missing)".to_string(),
        ),
        std::io::ErrorKind::NotFound => (127, "command not found on PATH".to_string()),
        std::io::ErrorKind::PermissionDenied => {
            (126, "permission denied (is it executable?)".to_string())
        }
        _ => (126, format!("cannot execute: {error}")),
    };
    out.stderr(&output::guard_exec_failed(&name, &what));
    code
}
