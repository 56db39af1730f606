//! Opening the connection: one attempt under a deadline (`connect_timeout` covers the whole
//! handshake — TCP, TLS, authentication — as in Prisma and libpq, not only the TCP connect), transient
//! failures retried with exponential backoff and jitter inside a total budget, and every failure
//! explained in words that name the cause but never the password.

use super::ConnectSpec;
use crate::error::{Error, Result};
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Attempts after an ambiguous failure (refused, reset, DNS "try again"): a wrong port is refused
/// too, so these give up after a couple of seconds.
const QUICK_ATTEMPTS: u32 = 4;
/// Attempts when the server said "later" (`57P03`, `53300`) or did not answer in time: these go on
/// as long as the budget lasts, up to this many.
const PATIENT_ATTEMPTS: u32 = 10;
/// The first pause between attempts; it doubles each time, up to [`MAX_PAUSE`], with jitter.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(4);
/// The retries stop once this many per-attempt timeouts have passed since the first attempt…
const BUDGET_IN_ATTEMPTS: u32 = 3;
/// …or after this long when attempts have no timeout (`connect_timeout=0`).
const BUDGET_WITHOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a transient failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retries {
    WithBackoff,
    None,
}

/// A connected client, and whether TLS was negotiated.
pub(super) struct Opened {
    pub client: Client,
    pub encrypted: bool,
}

/// Connects, retrying transient failures (refused, reset, DNS "try again", `57P03`, `53300`, a
/// timeout) with backoff while the budget lasts. Authentication and TLS failures are final at once.
pub(super) fn open(
    spec: &ConnectSpec,
    config: &postgres::Config,
    retries: Retries,
) -> Result<Opened> {
    let budget = spec.connect_timeout.map_or(BUDGET_WITHOUT_TIMEOUT, |t| {
        t.saturating_mul(BUDGET_IN_ATTEMPTS)
    });
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failure = match attempt_once(spec, config) {
            Ok(opened) => return Ok(opened),
            Err(failure) => failure,
        };
        let pause = backoff(attempt);
        let retry = retries == Retries::WithBackoff
            && attempt < failure.attempts()
            && started.elapsed() + pause < budget;
        if !retry {
            // The attempts go first: the cause keeps ending with the server's SQLSTATE, if any.
            let mut cause = failure.explain(spec);
            if attempt > 1 {
                cause = format!(
                    "gave up after {attempt} attempts in {:.1}s: {cause}",
                    started.elapsed().as_secs_f64()
                );
            }
            return Err(Error::Connect {
                target: spec.target.to_string(),
                cause,
            });
        }
        std::thread::sleep(pause);
    }
}

/// The pause after attempt `n` (1-based): 250 ms × 2ⁿ⁻¹, at most 4 s, scaled by a random factor in
/// [0.5, 1] so that many dynos restarting together do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let exponential = FIRST_PAUSE.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    exponential.min(MAX_PAUSE).mul_f64(0.5 + jitter() / 2.0)
}

/// A number in [0, 1) that differs between processes and calls (no RNG crate needed for jitter).
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let hash = std::collections::hash_map::RandomState::new().hash_one(seed);
    (hash % 1_000_000) as f64 / 1_000_000.0
}

/// Why one attempt failed.
enum Failure {
    Driver(postgres::Error),
    /// No complete connection within the per-attempt timeout.
    TimedOut(Duration),
    /// The attempt could not even start (no thread).
    Internal(String),
}

/// One attempt. With a timeout, the driver connects on a helper thread and we stop waiting at the
/// deadline: the driver's own `connect_timeout` only covers the TCP connect, and a server (or a
/// half-open load balancer) that accepts and never answers would otherwise block us forever. An
/// abandoned attempt ends with the process.
fn attempt_once(spec: &ConnectSpec, config: &postgres::Config) -> Result<Opened, Failure> {
    let tls = spec.tls.connector().map_err(Failure::Internal)?;
    let handshake = tls.as_ref().map(|t| t.handshake_flag());
    let config = config.clone();
    let connect = move || match tls {
        Some(tls) => config.connect(tls),
        None => config.connect(NoTls),
    };
    let client = match spec.connect_timeout {
        None => connect().map_err(Failure::Driver)?,
        Some(limit) => with_deadline(connect, limit)?,
    };
    Ok(Opened {
        client,
        encrypted: handshake.is_some_and(|h| h.load(Ordering::SeqCst)),
    })
}

fn with_deadline<F>(connect: F, limit: Duration) -> Result<Client, Failure>
where
    F: FnOnce() -> Result<Client, postgres::Error> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("connect".into())
        .spawn(move || {
            // A late success after the deadline is dropped here, closing that connection.
            let _ = sender.send(connect());
        })
        .map_err(|e| Failure::Internal(format!("cannot start a thread to connect: {e}")))?;
    match receiver.recv_timeout(limit) {
        Ok(result) => result.map_err(Failure::Driver),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Failure::TimedOut(limit)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::Internal(
            "the connecting thread stopped without an answer".into(),
        )),
    }
}

impl Failure {
    /// How many attempts this kind of failure deserves in all (1: final at once).
    fn attempts(&self) -> u32 {
        match self {
            Failure::TimedOut(_) => PATIENT_ATTEMPTS,
            Failure::Internal(_) => 1,
            Failure::Driver(error) => match error.code() {
                Some(code)
                    if *code == SqlState::CANNOT_CONNECT_NOW
                        || *code == SqlState::TOO_MANY_CONNECTIONS =>
                {
                    PATIENT_ATTEMPTS
                }
                Some(_) => 1,
                None if is_transient_network_error(error) => QUICK_ATTEMPTS,
                None => 1,
            },
        }
    }

    /// The cause in words, naming what the user can act on.
    fn explain(&self, spec: &ConnectSpec) -> String {
        match self {
            Failure::TimedOut(limit) => format!(
                "no answer from the server within {} (connect_timeout; the whole handshake must finish in time)",
                seconds(*limit)
            ),
            Failure::Internal(text) => text.clone(),
            Failure::Driver(error) => explain_driver_error(error, spec),
        }
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A network failure worth another try; never a TLS failure (a certificate does not get better).
fn is_transient_network_error(error: &postgres::Error) -> bool {
    if super::tls::find_source::<native_tls::Error>(error).is_some() {
        return false;
    }
    error.is_closed() || is_io(error) || is_temporary_dns_failure(error)
}

/// True for the I/O errors of a server that is (re)starting or a network that hiccuped.
pub(super) fn is_io(error: &postgres::Error) -> bool {
    io_error(error).is_some_and(|io| {
        matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::TimedOut
        )
    })
}

fn io_error(error: &postgres::Error) -> Option<&std::io::Error> {
    super::tls::find_source::<std::io::Error>(error)
}

/// `getaddrinfo`'s `EAI_AGAIN` ("Temporary failure in name resolution"): worth a retry, unlike a
/// name that does not exist.
fn is_temporary_dns_failure(error: &postgres::Error) -> bool {
    io_error(error).is_some_and(|io| {
        let text = io.to_string().to_ascii_lowercase();
        text.contains("temporary failure in name resolution") || text.contains("try again")
    })
}

fn explain_driver_error(error: &postgres::Error, spec: &ConnectSpec) -> String {
    if let Some(text) = spec.tls.explain_failure(error, &spec.target.host) {
        return text;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let server_said = format!("{} ({})", db.message(), code.code());
        if *code == SqlState::INVALID_PASSWORD {
            return format!(
                "authentication failed for user `{}`: {server_said}",
                spec.user
            );
        }
        if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            if rejects_plaintext(db.message()) && spec.tls.is_disabled() {
                return format!(
                    "server requires TLS but {}: {server_said}",
                    spec.tls.label()
                );
            }
            return format!(
                "the server refused the connection for user `{}`: {server_said}",
                spec.user
            );
        }
        return server_said;
    }
    let text = super::describe(error);
    if text.contains("password missing") {
        return format!(
            "the server asks for a password, but the URL has none for user `{}`",
            spec.user
        );
    }
    if let Some(io) = io_error(error) {
        let message = io.to_string();
        if let Some(detail) = message.strip_prefix("failed to lookup address information: ") {
            return format!("cannot resolve host `{}`: {detail}", spec.target.host);
        }
    }
    text
}

/// The `pg_hba.conf` messages for a connection without TLS where the server only takes TLS:
/// `…, no encryption` (PostgreSQL ≥ 14) or `…, SSL off` (older servers, and Heroku's).
fn rejects_plaintext(message: &str) -> bool {
    message.ends_with("no encryption") || message.ends_with("SSL off")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_with_jitter() {
        for attempt in 1..=12 {
            let pause = backoff(attempt);
            let full = FIRST_PAUSE
                .saturating_mul(1 << (attempt - 1).min(10))
                .min(MAX_PAUSE);
            assert!(pause >= full / 2 && pause <= full, "{attempt}: {pause:?}");
        }
        assert!(backoff(20) <= MAX_PAUSE);
    }

    #[test]
    fn plaintext_rejections() {
        assert!(rejects_plaintext(
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"app\", database \"d\", no encryption"
        ));
        assert!(rejects_plaintext(
            "no pg_hba.conf entry for host \"1.2.3.4\", user \"u\", database \"d\", SSL off"
        ));
        assert!(!rejects_plaintext(
            "password authentication failed for user \"u\""
        ));
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(seconds(Duration::from_secs(5)), "5s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}
