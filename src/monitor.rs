//! The release monitor: a thread with a second, read-only connection that watches the deploy's own
//! backend while a migration runs, so a release that waits or works for a long time says what it is
//! doing and who is in its way (issue 12).
//!
//! It never slows the migration: it opens its connection only once a migration has run for one tick,
//! reads only statistics views (`pg_stat_activity`, `pg_blocking_pids`, `pg_stat_progress_*`), which
//! take no locks, with short timeouts of its own, and any failure of its connection just makes it
//! quiet until it can reconnect. It is also the deadline's hand: at the deadline it cancels a
//! running *transactional* migration with `pg_cancel_backend` (the server rolls it back).

use crate::connect::{self, ConnectSpec};
pub use crate::lock_wait::Blocker;
use postgres::Client;
use serde::Serialize;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The monitor's `application_name`, so a person looking at `pg_stat_activity` knows what it is.
pub const APPLICATION_NAME: &str = "prisma-release monitor";

/// How often the monitor looks (also the minimum run time before it connects at all).
const TICK: Duration = Duration::from_millis(200);
/// After a failed connection attempt or query, the monitor stays quiet this long before trying again.
const RECONNECT_PAUSE: Duration = Duration::from_secs(2);

/// What a `pg_stat_progress_*` view says about the migration's backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `CREATE INDEX`, `CREATE INDEX CONCURRENTLY`, `CLUSTER`, `VACUUM FULL`, `VACUUM`, …
    pub command: String,
    pub phase: String,
    pub blocks_done: Option<i64>,
    pub blocks_total: Option<i64>,
    pub tuples_done: Option<i64>,
    pub tuples_total: Option<i64>,
}

impl Phase {
    /// `CREATE INDEX CONCURRENTLY: building index: scanning table`.
    pub fn label(&self) -> String {
        format!("{}: {}", self.command, self.phase)
    }
}

/// One look at the migration's backend.
#[derive(Debug, Clone)]
pub struct Sample {
    pub migration: String,
    pub elapsed: Duration,
    /// `wait_event_type/wait_event` when the backend waits (`Lock/relation`, `IO/DataFileRead`, …).
    pub wait: Option<String>,
    pub blockers: Vec<Blocker>,
    pub phase: Option<Phase>,
}

impl Sample {
    fn waits_for_lock(&self) -> bool {
        self.wait.as_deref().is_some_and(|w| w.starts_with("Lock"))
    }
}

/// The longest phase the progress views showed for a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseTime {
    pub phase: String,
    pub ms: u64,
}

/// What the monitor (and the lock-retry loop) saw of one migration: JSON `observations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub migration: String,
    /// Time the migration's backend was seen waiting for a lock (sampled every 200 ms).
    pub waited_for_lock_ms: u64,
    /// Attempts that ended in `lock_timeout` (55P03) and were retried or given up.
    pub lock_timeouts: u32,
    /// Every session seen blocking it, as last seen.
    pub blockers: Vec<Blocker>,
    pub longest_phase: Option<PhaseTime>,
}

impl Observation {
    /// Whether anything worth reporting was seen (short migrations have nothing).
    pub fn is_empty(&self) -> bool {
        self.waited_for_lock_ms == 0
            && self.lock_timeouts == 0
            && self.blockers.is_empty()
            && self.longest_phase.is_none()
    }

    fn record(&mut self, sample: &Sample, span: Duration, phases: &mut Vec<(String, Duration)>) {
        if sample.waits_for_lock() {
            self.waited_for_lock_ms += span.as_millis() as u64;
        }
        for blocker in &sample.blockers {
            match self.blockers.iter_mut().find(|b| b.pid == blocker.pid) {
                Some(seen) => *seen = blocker.clone(),
                None => self.blockers.push(blocker.clone()),
            }
        }
        if let Some(phase) = &sample.phase {
            let label = phase.label();
            match phases.iter_mut().find(|(l, _)| *l == label) {
                Some((_, total)) => *total += span,
                None => phases.push((label, span)),
            }
            self.longest_phase = phases
                .iter()
                .max_by_key(|(_, t)| *t)
                .map(|(l, t)| PhaseTime {
                    phase: l.clone(),
                    ms: t.as_millis() as u64,
                });
        }
    }
}

/// Where samples go (the live output, [`crate::progress`]): shown while a migration runs, finished
/// when it ends. A trait so that the monitor does not depend on its renderer.
pub trait Sink: Send {
    fn show(&mut self, sample: &Sample);
    fn finish(&mut self);
}

/// How the monitor behaves; [`Settings::from_env`] reads the documented tuning variables.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Progress is shown once a migration has run this long (`PRISMA_RELEASE_WATCH_AFTER`, 2s).
    pub report_after: Duration,
    /// When to cancel a running transactional migration (`--deadline`).
    pub deadline: Option<Instant>,
}

impl Settings {
    pub fn from_env(deadline: Option<Instant>) -> Settings {
        Settings {
            report_after: env_duration("PRISMA_RELEASE_WATCH_AFTER")
                .unwrap_or(Duration::from_secs(2)),
            deadline,
        }
    }
}

/// A duration from a tuning variable (`500ms`, `2s`, …), ignored when unset or invalid.
pub fn env_duration(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| crate::duration::parse(&v).ok())
}

/// The migration being watched.
struct Running {
    /// Distinguishes migrations, so a late sample of the last one is not credited to the next.
    serial: u64,
    migration: String,
    transactional: bool,
    started: Instant,
    observation: Observation,
    phases: Vec<(String, Duration)>,
    last_sample: Option<Instant>,
}

#[derive(Default)]
struct State {
    /// The deploy session's backend pid (it changes after a reconnect).
    pid: i32,
    running: Option<Running>,
    serial: u64,
    cancelled_at_deadline: bool,
    stop: bool,
}

/// The handle the deploy uses; the thread itself runs in [`Monitor::run`].
pub struct Monitor {
    state: Mutex<State>,
    wake: Condvar,
    progress: Mutex<Box<dyn Sink>>,
    settings: Settings,
}

impl Monitor {
    pub fn new(pid: i32, progress: Box<dyn Sink>, settings: Settings) -> Monitor {
        Monitor {
            state: Mutex::new(State {
                pid,
                ..State::default()
            }),
            wake: Condvar::new(),
            progress: Mutex::new(progress),
            settings,
        }
    }

    /// A migration starts: watch it from now on.
    pub fn begin(&self, migration: &str, transactional: bool) {
        let mut state = self.lock_state();
        state.serial += 1;
        state.running = Some(Running {
            serial: state.serial,
            migration: migration.to_string(),
            transactional,
            started: Instant::now(),
            observation: Observation {
                migration: migration.to_string(),
                ..Observation::default()
            },
            phases: Vec::new(),
            last_sample: None,
        });
    }

    /// The migration's attempt ended in a lock timeout (counted in its observation).
    pub fn lock_timed_out(&self) {
        if let Some(running) = self.lock_state().running.as_mut() {
            running.observation.lock_timeouts += 1;
        }
    }

    /// The blockers seen so far for the running migration.
    pub fn blockers(&self) -> Vec<Blocker> {
        self.lock_state()
            .running
            .as_ref()
            .map(|r| r.observation.blockers.clone())
            .unwrap_or_default()
    }

    /// The migration ended (either way): stop watching it, clear the live line, return what was seen.
    pub fn end(&self) -> Observation {
        let mut state = self.lock_state();
        let running = state.running.take();
        if let Ok(mut progress) = self.progress.lock() {
            progress.finish();
        }
        drop(state);
        running.map(|r| r.observation).unwrap_or_default()
    }

    /// The deploy reconnected: watch the new backend.
    pub fn set_pid(&self, pid: i32) {
        self.lock_state().pid = pid;
    }

    /// Whether the monitor cancelled a migration because the deadline passed.
    pub fn cancelled_at_deadline(&self) -> bool {
        self.lock_state().cancelled_at_deadline
    }

    /// Ends the thread (call before joining it).
    pub fn stop(&self) {
        self.lock_state().stop = true;
        self.wake.notify_all();
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread's body: look every tick until stopped. Never returns an error; never panics on a
    /// database problem.
    pub fn run(&self, spec: &ConnectSpec) {
        let mut observer = Observer::default();
        loop {
            let job = {
                let state = self.lock_state();
                let state = self
                    .wake
                    .wait_timeout(state, TICK)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0);
                if state.stop {
                    return;
                }
                Job::of(&state)
            };
            let Some(job) = job else { continue };
            if self.deadline_passed(&job) {
                self.cancel_at_deadline(&job, &mut observer, spec);
                continue;
            }
            if job.elapsed < TICK {
                continue;
            }
            if let Some(sample) = observer.sample(spec, &job) {
                self.record(&job, &sample);
            }
        }
    }

    fn deadline_passed(&self, job: &Job) -> bool {
        job.transactional && self.settings.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn cancel_at_deadline(&self, job: &Job, observer: &mut Observer, spec: &ConnectSpec) {
        // The flag is raised before the request is sent: the apply thread reads it as soon as its
        // statement fails, which can be before `pg_cancel_backend` returns here.
        {
            let mut state = self.lock_state();
            if state.cancelled_at_deadline {
                return;
            }
            state.cancelled_at_deadline = true;
        }
        if !observer.cancel(spec, job.pid) {
            self.lock_state().cancelled_at_deadline = false;
        }
    }

    /// Credits the sample to its migration and shows it. The state stays locked while showing, so
    /// a line can never appear after [`Monitor::end`] erased the last one.
    fn record(&self, job: &Job, sample: &Sample) {
        let mut state = self.lock_state();
        let Some(running) = state.running.as_mut().filter(|r| r.serial == job.serial) else {
            return;
        };
        let now = Instant::now();
        let span = now - running.last_sample.unwrap_or(running.started);
        running.last_sample = Some(now);
        running
            .observation
            .record(sample, span.min(TICK * 2), &mut running.phases);
        if sample.elapsed >= self.settings.report_after {
            if let Ok(mut progress) = self.progress.lock() {
                progress.show(sample);
            }
        }
    }
}

/// What the thread needs to know about the running migration, copied out of the lock.
struct Job {
    serial: u64,
    pid: i32,
    migration: String,
    transactional: bool,
    elapsed: Duration,
}

impl Job {
    fn of(state: &State) -> Option<Job> {
        state.running.as_ref().map(|r| Job {
            serial: r.serial,
            pid: state.pid,
            migration: r.migration.clone(),
            transactional: r.transactional,
            elapsed: r.started.elapsed(),
        })
    }
}

/// The monitor's own connection, opened lazily and dropped on any error.
#[derive(Default)]
struct Observer {
    client: Option<Client>,
    failed_at: Option<Instant>,
}

impl Observer {
    fn client(&mut self, spec: &ConnectSpec) -> Option<&mut Client> {
        if self.client.is_none() {
            if self
                .failed_at
                .is_some_and(|t| t.elapsed() < RECONNECT_PAUSE)
            {
                return None;
            }
            match open_observer(spec) {
                Some(client) => self.client = Some(client),
                None => {
                    self.failed_at = Some(Instant::now());
                    return None;
                }
            }
        }
        self.client.as_mut()
    }

    fn sample(&mut self, spec: &ConnectSpec, job: &Job) -> Option<Sample> {
        let client = self.client(spec)?;
        match read_sample(client, job) {
            Ok(sample) => sample,
            Err(_) => {
                self.client = None;
                self.failed_at = Some(Instant::now());
                None
            }
        }
    }

    /// `pg_cancel_backend(pid)`: true when the server accepted the request.
    fn cancel(&mut self, spec: &ConnectSpec, pid: i32) -> bool {
        let Some(client) = self.client(spec) else {
            return false;
        };
        match client.query_one("SELECT pg_cancel_backend($1)", &[&pid]) {
            Ok(row) => row.get::<_, bool>(0),
            Err(_) => {
                self.client = None;
                false
            }
        }
    }
}

/// Opens the monitor's session: read-only, and unable to wait long for anything.
fn open_observer(spec: &ConnectSpec) -> Option<Client> {
    let mut client = connect::connect_observer(spec, APPLICATION_NAME).ok()?;
    client
        .batch_execute(
            "SET default_transaction_read_only = on; SET statement_timeout = '2s'; \
             SET lock_timeout = '100ms'",
        )
        .ok()?;
    Some(client)
}

/// The backend's wait and progress in one round trip, and its blockers in a second one when it
/// waits for a lock. `None` when the backend is idle (the migration just ended).
fn read_sample(client: &mut Client, job: &Job) -> Result<Option<Sample>, postgres::Error> {
    let Some(row) = client.query_opt(ACTIVITY_SQL, &[&job.pid])? else {
        return Ok(None);
    };
    let wait: Option<String> = row.get(0);
    let phase = row.get::<_, Option<String>>(2).map(|phase| Phase {
        command: row.get::<_, Option<String>>(1).unwrap_or_default(),
        phase,
        blocks_done: row.get(3),
        blocks_total: row.get(4),
        tuples_done: row.get(5),
        tuples_total: row.get(6),
    });
    let blockers = if wait.as_deref().is_some_and(|w| w.starts_with("Lock")) {
        client
            .query(BLOCKERS_SQL, &[&job.pid])?
            .iter()
            .map(|r| Blocker {
                pid: r.get(0),
                application_name: r.get(1),
                state: r.get(2),
                transaction_ms: r.get::<_, Option<i64>>(3).map(|v| v.max(0) as u64),
                query_ms: r.get::<_, Option<i64>>(4).map(|v| v.max(0) as u64),
                query: r.get(5),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(Sample {
        migration: job.migration.clone(),
        elapsed: job.elapsed,
        wait,
        blockers,
        phase,
    }))
}

const ACTIVITY_SQL: &str = "\
SELECT a.wait_event_type || '/' || a.wait_event, p.command, p.phase, \
       p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total \
FROM pg_stat_activity a \
LEFT JOIN LATERAL ( \
    SELECT command, phase, blocks_done, blocks_total, tuples_done, tuples_total \
      FROM pg_stat_progress_create_index WHERE pid = a.pid \
    UNION ALL \
    SELECT command, phase, heap_blks_scanned, heap_blks_total, heap_tuples_scanned, NULL \
      FROM pg_stat_progress_cluster WHERE pid = a.pid \
    UNION ALL \
    SELECT 'VACUUM', phase, heap_blks_scanned, heap_blks_total, NULL, NULL \
      FROM pg_stat_progress_vacuum WHERE pid = a.pid \
    LIMIT 1) p ON true \
WHERE a.pid = $1 AND a.state <> 'idle'";

const BLOCKERS_SQL: &str = "\
SELECT b.pid, coalesce(b.application_name, ''), coalesce(b.state, ''), \
       (extract(epoch FROM clock_timestamp() - b.xact_start) * 1000)::bigint, \
       (extract(epoch FROM clock_timestamp() - b.query_start) * 1000)::bigint, \
       left(split_part(btrim(coalesce(b.query, ''), E' \\n\\t'), E'\\n', 1), 200) \
FROM unnest(pg_blocking_pids($1)) AS blocking(pid) \
JOIN pg_stat_activity b ON b.pid = blocking.pid \
ORDER BY b.xact_start NULLS LAST";

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(wait: Option<&str>, phase: Option<&str>, blockers: &[i32]) -> Sample {
        Sample {
            migration: "m".into(),
            elapsed: Duration::from_secs(3),
            wait: wait.map(str::to_string),
            blockers: blockers
                .iter()
                .map(|&pid| Blocker {
                    pid,
                    application_name: "app".into(),
                    state: "idle in transaction".into(),
                    transaction_ms: Some(1000),
                    query_ms: Some(900),
                    query: "UPDATE t SET x = 1".into(),
                })
                .collect(),
            phase: phase.map(|p| Phase {
                command: "CREATE INDEX CONCURRENTLY".into(),
                phase: p.into(),
                blocks_done: None,
                blocks_total: None,
                tuples_done: None,
                tuples_total: None,
            }),
        }
    }

    #[test]
    fn observations_add_lock_waits_dedupe_blockers_and_keep_the_longest_phase() {
        let mut observation = Observation::default();
        let mut phases = Vec::new();
        let tick = Duration::from_millis(200);
        observation.record(
            &sample(Some("Lock/relation"), None, &[7]),
            tick,
            &mut phases,
        );
        observation.record(
            &sample(Some("Lock/relation"), None, &[7, 8]),
            tick,
            &mut phases,
        );
        observation.record(
            &sample(None, Some("building index: scanning table"), &[]),
            tick,
            &mut phases,
        );
        observation.record(
            &sample(None, Some("waiting for old snapshots"), &[]),
            tick,
            &mut phases,
        );
        observation.record(
            &sample(None, Some("building index: scanning table"), &[]),
            tick,
            &mut phases,
        );
        assert_eq!(observation.waited_for_lock_ms, 400);
        assert_eq!(
            observation
                .blockers
                .iter()
                .map(|b| b.pid)
                .collect::<Vec<_>>(),
            [7, 8]
        );
        assert_eq!(
            observation.longest_phase,
            Some(PhaseTime {
                phase: "CREATE INDEX CONCURRENTLY: building index: scanning table".into(),
                ms: 400
            })
        );
        assert!(!observation.is_empty());
        assert!(Observation::default().is_empty());
    }
}
