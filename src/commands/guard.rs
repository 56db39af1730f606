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

use super::Context;
use crate::cli::GuardArgs;
use crate::connect::{self, ConnectSpec, Session};
use crate::diagnose;
use crate::error::{exit, Error, Result};
use crate::history::{self, HistoryRow, TableState};
use crate::migrations::{self, LocalMigration};
use crate::output::{self, Out};
use crate::plan::{self, Plan, State};
use crate::report::plan_warnings;
use crate::timestamp::prisma_display;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often `--wait` re-reads the history.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// First pause between connection attempts (each a single try: the guard runs its own retry loop
/// against its budget); doubled up to [`MAX_RETRY_PAUSE`], with jitter.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(250);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);
/// Time an attempt needs at least (loopback connect plus three queries take ~15 ms); with less
/// budget left, the last error is final.
const MIN_LAST_ATTEMPT: Duration = Duration::from_millis(100);
/// SQLSTATEs of a server that is starting, stopping or full: worth another attempt within the budget.
const TRANSIENT_SQLSTATES: [&str; 5] = ["57P01", "57P02", "57P03", "53300", "53000"];

/// Runs the guard. Returns only when the app is not started (or there is no app): the exit code.
pub fn run(ctx: &Context, args: &GuardArgs) -> u8 {
    let started = Instant::now();
    let out = ctx.out;
    let outcome = match check(ctx, args, started) {
        Ok(outcome) => outcome,
        Err(failure) => {
            out.stderr(&failure.text);
            return failure.code;
        }
    };
    out.detail(&format!(
        "guard: checked in {} ms",
        started.elapsed().as_millis()
    ));
    if let Some(code) = outcome.observation.refusal.map(Refusal::exit_code) {
        out.stderr(&render_refusal(&outcome, args));
        return code;
    }
    for warning in &outcome.observation.warnings {
        out.warn(warning);
    }
    if out.verbosity != output::Verbosity::Quiet {
        out.stderr(&render_start(&outcome, &args.command));
    }
    match args.command.split_first() {
        None => exit::OK,
        Some((program, rest)) => exec(program, rest, out),
    }
}

/// Why the app may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Failed,
    Pending,
    Modified,
}

impl Refusal {
    fn exit_code(self) -> u8 {
        match self {
            Refusal::Failed => exit::FAILED_IN_DATABASE,
            Refusal::Pending => exit::PENDING,
            Refusal::Modified => exit::DRIFT,
        }
    }
}

/// What the flags tolerate.
#[derive(Debug, Clone, Copy)]
struct Policy {
    allow_pending: bool,
    strict: bool,
}

/// The decision for one plan (pure): failed rows first, as Prisma's deploy would stop there too.
fn assess(plan: &Plan, policy: Policy) -> Option<Refusal> {
    if !plan.failed_rows.is_empty() {
        Some(Refusal::Failed)
    } else if !policy.allow_pending && plan.count(State::Pending) > 0 {
        Some(Refusal::Pending)
    } else if policy.strict && plan.count(State::Modified) > 0 {
        Some(Refusal::Modified)
    } else {
        None
    }
}

/// One look at the database, owned (the plan borrows what the worker holds).
#[derive(Debug, Clone)]
struct Observation {
    refusal: Option<Refusal>,
    target: String,
    applied: usize,
    pending: Vec<String>,
    modified: Vec<String>,
    failed: Vec<HistoryRow>,
    /// Warnings the app starts with anyway (modified, missing locally, out of order, pending allowed).
    warnings: Vec<String>,
}

impl Observation {
    fn of(plan: &Plan, policy: Policy, target: String) -> Observation {
        let names = |state: State| -> Vec<String> {
            plan.entries
                .iter()
                .filter(|e| e.state == state)
                .map(|e| e.name.to_string())
                .collect()
        };
        let pending = names(State::Pending);
        let mut warnings: Vec<String> =
            plan_warnings(plan).into_iter().map(|w| w.message).collect();
        if policy.allow_pending && !pending.is_empty() {
            warnings.push(format!(
                "{} migration(s) not yet applied, starting anyway (--allow-pending): {}",
                pending.len(),
                pending.join(", ")
            ));
        }
        Observation {
            refusal: assess(plan, policy),
            target,
            applied: plan.count(State::Applied) + plan.count(State::Modified),
            pending,
            modified: names(State::Modified),
            failed: plan.failed_rows.iter().map(|r| (*r).clone()).collect(),
            warnings,
        }
    }
}

/// The final answer of the check: the last observation, and what goes with it.
#[derive(Debug)]
struct Outcome {
    observation: Observation,
    /// Prisma's P3009 text plus the diagnosis, when the refusal is `Failed`.
    diagnosis: Option<String>,
    /// How long `--wait` waited, when it did.
    waited: Option<Duration>,
}

/// A check that ended without an answer about the migrations: its exit code and what to print.
struct Failure {
    code: u8,
    text: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            code: error.exit_code(),
            text: format!("error: {error}\nhint: {}\n", error.hint()),
        }
    }
}

/// What the worker is doing, so this thread knows which deadline applies and what a timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Reading,
    Diagnosing,
    Sleeping,
}

/// Messages from the worker thread.
enum Event {
    /// A blocking step starts and must end by `deadline`.
    Phase(Phase, Instant),
    /// A transient error that will be retried (kept for the timeout message).
    Retrying(String),
    /// A look at the database; the latest one is used if the diagnosis runs out of time.
    Observed(Observation),
    Done(std::result::Result<Outcome, Error>),
}

/// Validates the folder and the URL here (fast, no I/O on the network), then lets a worker talk to the
/// database while this thread enforces the budget.
fn check(
    ctx: &Context,
    args: &GuardArgs,
    started: Instant,
) -> std::result::Result<Outcome, Failure> {
    ctx.check_project()?;
    migrations::check_lock_file(&ctx.migrations_dir)?;
    let local = migrations::load(&ctx.migrations_dir)?;
    let spec = ctx.connect_spec()?;
    let target = spec.target.to_string();
    let worker = Worker {
        spec,
        local,
        policy: Policy {
            allow_pending: args.allow_pending,
            strict: args.strict,
        },
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
        .map_err(|e| Failure {
            code: exit::INTERNAL,
            text: format!("error: cannot start the guard's worker thread: {e}\n"),
        })?;
    let mut watch = Watch {
        phase: Phase::Connecting,
        deadline: started + args.connect_budget,
        last_error: None,
        last_observation: None,
    };
    loop {
        let timeout = watch.deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(timeout) {
            Ok(Event::Phase(phase, deadline)) => {
                watch.phase = phase;
                watch.deadline = deadline;
            }
            Ok(Event::Retrying(error)) => watch.last_error = Some(error),
            Ok(Event::Observed(observation)) => watch.last_observation = Some(observation),
            Ok(Event::Done(result)) => {
                // The worker has closed its connection; wait until its thread is gone before exec.
                let _ = handle.join();
                return result.map_err(|error| given_up(error, args.connect_budget));
            }
            // The worker is stuck in a blocking call: leave it; the process ends (or execs) now.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return watch.timed_out(&target, args.connect_budget)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure {
                    code: exit::INTERNAL,
                    text: "error: the guard's worker thread stopped unexpectedly (a bug in prisma-release; please report it)\n".into(),
                })
            }
        }
    }
}

/// The failure for an error that ended the check; a transient one was retried for the whole budget.
fn given_up(error: Error, budget: Duration) -> Failure {
    if !is_transient(&error) {
        return Failure::from(error);
    }
    Failure {
        code: error.exit_code(),
        text: format!(
            "error: {error}
Retried for the guard's budget of {} (--connect-budget); the app was not started.
hint: {}
",
            human_duration(budget),
            error.hint()
        ),
    }
}

/// The deadline keeper's state.
struct Watch {
    phase: Phase,
    deadline: Instant,
    last_error: Option<String>,
    last_observation: Option<Observation>,
}

impl Watch {
    fn timed_out(self, target: &str, budget: Duration) -> std::result::Result<Outcome, Failure> {
        if let (Phase::Diagnosing, Some(observation)) = (self.phase, self.last_observation) {
            // We know there are failed rows; only the detail is missing.
            return Ok(Outcome {
                observation,
                diagnosis: None,
                waited: None,
            });
        }
        let doing = match self.phase {
            Phase::Connecting | Phase::Sleeping => "could not connect to",
            Phase::Reading | Phase::Diagnosing => "got no answer from",
        };
        let mut text = format!(
            "error: {doing} {target} within the guard's budget of {} (--connect-budget)",
            human_duration(budget)
        );
        match self.last_error {
            Some(error) => {
                let _ = write!(text, "; last error: {error}");
            }
            None if self.phase == Phase::Connecting => {
                text.push_str("; the server did not answer (no connection error either)")
            }
            None => {}
        }
        text.push_str("\nThe app was not started.\nhint: check that the database is up and that the URL is right (heroku pg:info); the dyno will be restarted, or raise --connect-budget (boot has 60 s on Heroku)\n");
        Err(Failure {
            code: exit::CONNECT,
            text,
        })
    }
}

/// The part that talks to the database (on its own thread).
struct Worker {
    spec: ConnectSpec,
    local: Vec<LocalMigration>,
    policy: Policy,
    wait: Option<Duration>,
    budget: Duration,
    out: Out,
}

impl Worker {
    fn run(self, tx: &mpsc::Sender<Event>, started: Instant) -> Result<Outcome> {
        let mut session = None;
        let (mut observation, mut rows) = self.observe(&mut session, started + self.budget, tx)?;
        let mut waited = None;
        if let (Some(refusal), Some(wait)) = (observation.refusal, self.wait) {
            let begun = Instant::now();
            if self.out.verbosity != output::Verbosity::Quiet {
                self.out.stderr(&format!(
                    "prisma-release guard: {}; waiting up to {} (--wait)\n",
                    describe_refusal(refusal, &observation),
                    human_duration(wait)
                ));
            }
            let until = begun + wait;
            while observation.refusal.is_some() && Instant::now() < until {
                let pause = POLL_INTERVAL.min(until.saturating_duration_since(Instant::now()));
                let _ = tx.send(Event::Phase(
                    Phase::Sleeping,
                    Instant::now() + pause + self.budget,
                ));
                std::thread::sleep(pause);
                (observation, rows) =
                    self.observe(&mut session, Instant::now() + self.budget, tx)?;
            }
            waited = Some(begun.elapsed());
        }
        let diagnosis = match (observation.refusal, session.as_mut()) {
            (Some(Refusal::Failed), Some(session)) => {
                let _ = tx.send(Event::Observed(observation.clone()));
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
        Ok(Outcome {
            observation,
            diagnosis,
            waited,
        })
    }

    /// Reads the history once (connecting first when there is no session), retrying transient
    /// failures until `deadline`. Returns the observation and the rows it was made from.
    fn observe(
        &self,
        session: &mut Option<Session>,
        deadline: Instant,
        tx: &mpsc::Sender<Event>,
    ) -> Result<(Observation, Vec<HistoryRow>)> {
        let mut pause = FIRST_RETRY_PAUSE;
        loop {
            let attempt = self.try_observe(session, deadline, tx);
            match attempt {
                Ok(found) => return Ok(found),
                Err(error) if is_transient(&error) => {
                    *session = None;
                    // A last attempt just before the deadline still counts: the database may be
                    // back by then.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left < MIN_LAST_ATTEMPT {
                        return Err(error);
                    }
                    self.out.detail(&format!("guard: {error}; retrying"));
                    let cause = match &error {
                        Error::Connect { cause, .. } => cause.clone(),
                        other => other.to_string(),
                    };
                    let _ = tx.send(Event::Retrying(cause));
                    let _ = tx.send(Event::Phase(Phase::Connecting, deadline));
                    let nap = pause.mul_f64(0.5 + jitter() / 2.0);
                    std::thread::sleep(nap.min(left - MIN_LAST_ATTEMPT));
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn try_observe(
        &self,
        session: &mut Option<Session>,
        deadline: Instant,
        tx: &mpsc::Sender<Event>,
    ) -> Result<(Observation, Vec<HistoryRow>)> {
        let session = match session {
            Some(open) => open,
            None => {
                let _ = tx.send(Event::Phase(Phase::Connecting, deadline));
                let mut opened = connect::connect_once(&self.spec)?;
                self.out.detail(&format!(
                    "connected to {}: {}",
                    opened.target, opened.security
                ));
                super::refuse_prisma8_database(&mut opened)?;
                session.insert(opened)
            }
        };
        let _ = tx.send(Event::Phase(Phase::Reading, deadline));
        let rows = match history::inspect(session)? {
            TableState::Present => history::load_rows(session)?,
            TableState::Missing { .. } => Vec::new(),
        };
        let plan = plan::plan(&self.local, &rows);
        let observation = Observation::of(&plan, self.policy, session.target.to_string());
        Ok((observation, rows))
    }

    /// Prisma's P3009 text and the diagnosis of every failed row; `None` if the diagnosis itself
    /// fails (the refusal is printed without it).
    fn diagnose(&self, session: &mut Session, rows: &[HistoryRow]) -> Option<String> {
        let plan = plan::plan(&self.local, rows);
        match diagnose::diagnose_all(session, &plan.failed_rows, &self.local) {
            Ok(diagnoses) => {
                let mut text = String::new();
                output::render_failed(&mut text, &diagnoses);
                Some(text)
            }
            Err(error) => {
                self.out
                    .warn(&format!("the diagnosis of the failed rows failed: {error}"));
                None
            }
        }
    }
}

/// A number in [0, 1) that differs between processes, so that dynos restarting together after a
/// database failover do not retry in lockstep.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let hash = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (hash % 1_000_000) as f64 / 1_000_000.0
}

/// Errors worth another attempt within the budget: the server is unreachable, starting, restarting
/// or full. Wrong credentials, a missing database or a TLS problem will not fix themselves.
fn is_transient(error: &Error) -> bool {
    match error {
        Error::ConnectionLost { .. } => true,
        Error::Connect { cause, .. } => match trailing_sqlstate(cause) {
            Some(code) => TRANSIENT_SQLSTATES.contains(&code),
            None => {
                let cause = cause.to_ascii_lowercase();
                !["certificate", "tls", "ssl", "password", "authentication"]
                    .iter()
                    .any(|word| cause.contains(word))
            }
        },
        _ => false,
    }
}

/// The SQLSTATE that [`connect::describe`] appends to a server error: `message (28P01)`.
fn trailing_sqlstate(cause: &str) -> Option<&str> {
    let code = cause.strip_suffix(')')?.rsplit_once('(')?.1;
    (code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

fn describe_refusal(refusal: Refusal, o: &Observation) -> String {
    match refusal {
        Refusal::Failed => format!(
            "{} failed migration(s) recorded in {}",
            o.failed.len(),
            o.target
        ),
        Refusal::Pending => format!(
            "{} migration(s) not yet applied to {}",
            o.pending.len(),
            o.target
        ),
        Refusal::Modified => format!(
            "{} applied migration(s) modified locally (--strict)",
            o.modified.len()
        ),
    }
}

/// The refusal on stderr: the cause, the names, that the app did not start, and the next step.
fn render_refusal(outcome: &Outcome, args: &GuardArgs) -> String {
    let observed = &outcome.observation;
    let Some(refusal) = observed.refusal else {
        return String::new();
    };
    let mut text = String::new();
    let names = match refusal {
        Refusal::Failed => {
            match &outcome.diagnosis {
                Some(diagnosis) => text.push_str(diagnosis),
                None => render_p3009_lines(&mut text, &observed.failed),
            }
            Vec::new()
        }
        Refusal::Pending => observed.pending.clone(),
        Refusal::Modified => observed.modified.clone(),
    };
    let _ = writeln!(
        text,
        "error: {}{}",
        describe_refusal(refusal, observed),
        if names.is_empty() { "" } else { ":" }
    );
    for name in &names {
        let _ = writeln!(text, "  {name}");
    }
    if let Some(waited) = outcome.waited {
        let _ = writeln!(text, "Still so after waiting {}.", human_duration(waited));
    }
    let app = match args.command.as_slice() {
        [] => "The app".to_string(),
        command => format!("The app ({})", program_label(command).trim_start()),
    };
    let _ = writeln!(
        text,
        "{app} was not started. (prisma-release guard, exit {})",
        refusal.exit_code()
    );
    let hint = match refusal {
        Refusal::Failed => Error::FailedMigrationsInDatabase {
            names: observed.failed.iter().map(|r| r.migration_name.clone()).collect(),
        }
        .hint(),
        Refusal::Pending => "apply them with `prisma-release deploy` (the Procfile's `release:` line does this on every release); \
             pass --allow-pending to start the app anyway, or --wait DUR to wait for a release in progress".into(),
        Refusal::Modified => "an applied migration.sql must not change: restore it from version control, or drop --strict to only warn".into(),
    };
    let _ = writeln!(text, "hint: {hint}");
    text
}

/// Prisma's P3009 lines without the diagnosis (when the diagnosis failed or ran out of time).
fn render_p3009_lines(text: &mut String, failed: &[HistoryRow]) {
    output::render_failed(text, &[]);
    for row in failed {
        let _ = writeln!(
            text,
            "The `{}` migration started at {} failed",
            row.migration_name,
            prisma_display(&row.started_at)
        );
    }
    text.push_str("(no diagnosis: run `prisma-release diagnose` for it)\n\n");
}

/// The one line printed when the app starts.
fn render_start(outcome: &Outcome, command: &[OsString]) -> String {
    let waited = outcome
        .waited
        .map(|w| format!(" after waiting {}", human_duration(w)))
        .unwrap_or_default();
    let what = match command {
        [] => String::new(),
        _ => format!("; starting{}", program_label(command)),
    };
    let observed = &outcome.observation;
    let state = match observed.pending.len() {
        0 => format!("is up to date ({} migration(s) applied)", observed.applied),
        pending => format!(
            "has {} migration(s) applied and {pending} pending (--allow-pending)",
            observed.applied
        ),
    };
    format!(
        "prisma-release guard: {} {state}{waited}{what}\n",
        observed.target
    )
}

/// ` `node dist/server.js`` for messages (lossy: only for display).
fn program_label(command: &[OsString]) -> String {
    if command.is_empty() {
        return String::new();
    }
    let words: Vec<String> = command
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    format!(" `{}`", words.join(" "))
}

/// `20s`, `1.5s`, `250ms`, for messages.
fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
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
    out.stderr(&format!(
        "prisma-release guard: {name}: {what}\nhint: check the command after `--` (in the Procfile: `web: prisma-release guard -- node dist/server.js`)\n"
    ));
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::checksum;

    fn local(name: &str, sql: &str) -> LocalMigration {
        LocalMigration::from_sql(name, sql)
    }

    fn row(name: &str, sql: &str, finished: bool) -> HistoryRow {
        HistoryRow {
            id: format!("id-{name}"),
            checksum: checksum(sql.as_bytes()),
            finished_at: finished.then(|| "2025-01-08T02:51:04.000000Z".to_string()),
            migration_name: name.into(),
            logs: None,
            rolled_back_at: None,
            started_at: "2025-01-08T02:51:04.000000Z".into(),
            applied_steps_count: i32::from(finished),
        }
    }

    const DEFAULT: Policy = Policy {
        allow_pending: false,
        strict: false,
    };

    #[test]
    fn up_to_date_starts() {
        let local = [local("1_a", "A")];
        let rows = [row("1_a", "A", true)];
        assert_eq!(assess(&plan::plan(&local, &rows), DEFAULT), None);
    }

    #[test]
    fn pending_refuses_unless_allowed() {
        let local = [local("1_a", "A"), local("2_b", "B")];
        let rows = [row("1_a", "A", true)];
        let plan = plan::plan(&local, &rows);
        assert_eq!(assess(&plan, DEFAULT), Some(Refusal::Pending));
        let allow = Policy {
            allow_pending: true,
            ..DEFAULT
        };
        assert_eq!(assess(&plan, allow), None);
        let observation = Observation::of(&plan, allow, "db".into());
        assert!(observation.warnings.iter().any(|w| w.contains("2_b")));
    }

    #[test]
    fn failed_wins_over_pending_and_allow_pending() {
        let local = [local("1_a", "A"), local("2_b", "B")];
        let rows = [row("1_a", "A", false)];
        let allow = Policy {
            allow_pending: true,
            strict: true,
        };
        assert_eq!(
            assess(&plan::plan(&local, &rows), allow),
            Some(Refusal::Failed)
        );
    }

    #[test]
    fn modified_refuses_only_with_strict() {
        let local = [local("1_a", "A edited")];
        let rows = [row("1_a", "A", true)];
        let plan = plan::plan(&local, &rows);
        assert_eq!(assess(&plan, DEFAULT), None);
        let strict = Policy {
            strict: true,
            ..DEFAULT
        };
        assert_eq!(assess(&plan, strict), Some(Refusal::Modified));
    }

    #[test]
    fn missing_locally_only_warns() {
        let local = [local("1_a", "A")];
        let rows = [row("1_a", "A", true), row("2_b", "B", true)];
        let plan = plan::plan(&local, &rows);
        let strict = Policy {
            strict: true,
            ..DEFAULT
        };
        assert_eq!(assess(&plan, strict), None);
        let observation = Observation::of(&plan, strict, "db".into());
        assert!(observation.warnings.iter().any(|w| w.contains("2_b")));
    }

    #[test]
    fn transient_errors() {
        let connect = |cause: &str| Error::Connect {
            target: "db".into(),
            cause: cause.into(),
        };
        assert!(is_transient(&connect(
            "error connecting to server: Connection refused (os error 111)"
        )));
        assert!(is_transient(&connect(
            "the database system is starting up (57P03)"
        )));
        assert!(is_transient(&connect(
            "sorry, too many clients already (53300)"
        )));
        assert!(!is_transient(&connect(
            "password authentication failed for user \"x\" (28P01)"
        )));
        assert!(!is_transient(&connect(
            "database \"nope\" does not exist (3D000)"
        )));
        assert!(!is_transient(&connect(
            "error performing TLS handshake: certificate verify failed"
        )));
        assert!(!is_transient(&Error::UrlMissing {
            var: "DATABASE_URL".into()
        }));
    }

    #[test]
    fn durations_for_messages() {
        assert_eq!(human_duration(Duration::from_secs(20)), "20s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
    }
}
