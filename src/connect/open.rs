//! Opening the connection: one attempt under a deadline (`connect_timeout` covers the whole
//! handshake — TCP, TLS, authentication — as in Prisma and libpq, not only the TCP connect), transient
//! failures retried with exponential backoff and jitter inside a total budget, and every failure
//! explained in words that name the cause but never the password.

use super::{ConnectSpec, Patience, Retry};
use crate::backoff::Backoff;
use crate::error::{ConnectFailure, Error, Result};
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Attempts after an ambiguous failure (refused, reset, DNS "try again") on a first contact: a wrong
/// port is refused too, so these give up after a couple of seconds.
const QUICK_ATTEMPTS: u32 = 4;
/// Attempts on a first contact when the server said "later" (`57P03`, `53300`) or did not answer in
/// time: these go on as long as the budget lasts, up to this many.
const PATIENT_ATTEMPTS: u32 = 10;
/// The first pause between attempts; it doubles each time, up to [`MAX_PAUSE`], with jitter.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(4);
/// Time an attempt needs at least (a loopback connect takes a few ms); with less left before the
/// deadline, the last error is final.
const MIN_LAST_ATTEMPT: Duration = Duration::from_millis(100);

/// A connected client, and whether TLS was negotiated.
pub(super) struct Opened {
    pub client: Client,
    pub encrypted: bool,
}

/// Connects, retrying transient failures (refused, reset, no route to host, DNS "try again",
/// `57P03`, `53300`, a timeout) with backoff as `retry` allows; `on_retry` hears each failure and the pause that follows.
/// Authentication, TLS and configuration failures are final at once.
pub(super) fn open(
    spec: &ConnectSpec,
    config: &postgres::Config,
    retry: Retry,
    on_retry: &mut dyn FnMut(&Error, Duration),
) -> Result<Opened> {
    let started = Instant::now();
    let mut pauses = Backoff::new(FIRST_PAUSE, MAX_PAUSE);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failure = match attempt_once(spec, config) {
            Ok(opened) => return Ok(opened),
            Err(failure) => failure,
        };
        let left = retry.deadline.saturating_duration_since(Instant::now());
        if attempt >= failure.attempts(retry.patience) || left < MIN_LAST_ATTEMPT {
            // The attempts go first: the cause keeps ending with the server's SQLSTATE, if any.
            let mut error = failure.error(spec);
            if let Error::Connect { cause, .. } = &mut error {
                if attempt > 1 {
                    *cause = format!(
                        "gave up after {attempt} attempts in {}: {cause}",
                        crate::duration::display(started.elapsed())
                    );
                }
            }
            return Err(error);
        }
        // A last attempt just before the deadline still counts: the database may be back by then.
        let pause = pauses
            .next()
            .unwrap_or(FIRST_PAUSE)
            .min(left - MIN_LAST_ATTEMPT);
        on_retry(&failure.error(spec), pause);
        std::thread::sleep(pause);
    }
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
    /// How many attempts this failure deserves in all (1: final at once).
    fn attempts(&self, patience: Patience) -> u32 {
        let first_contact = match self {
            Failure::TimedOut(_) => PATIENT_ATTEMPTS,
            Failure::Internal(_) => return 1,
            Failure::Driver(error) if is_server_busy(error) => PATIENT_ATTEMPTS,
            Failure::Driver(error) if is_transient_network_error(error) => QUICK_ATTEMPTS,
            Failure::Driver(_) => return 1,
        };
        match patience {
            Patience::FirstContact => first_contact,
            Patience::UntilDeadline => u32::MAX,
        }
    }

    /// What kind of failure, from the driver's typed error.
    fn kind(&self, spec: &ConnectSpec) -> ConnectFailure {
        match self {
            Failure::TimedOut(_) => ConnectFailure::TimedOut,
            Failure::Internal(_) => ConnectFailure::Config,
            Failure::Driver(error) => driver_failure_kind(error, spec),
        }
    }

    fn error(&self, spec: &ConnectSpec) -> Error {
        Error::Connect {
            target: spec.target.to_string(),
            cause: self.explain(spec),
            kind: self.kind(spec),
        }
    }

    /// The cause in words, naming what the user can act on.
    fn explain(&self, spec: &ConnectSpec) -> String {
        match self {
            Failure::TimedOut(limit) => format!(
                "no answer from the server within {} (connect_timeout; the whole handshake must finish in time)",
                crate::duration::display(*limit)
            ),
            Failure::Internal(text) => text.clone(),
            Failure::Driver(error) => explain_driver_error(error, spec),
        }
    }
}

/// The server said "later": starting up, shutting down, or full.
fn is_server_busy(error: &postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        [
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::INSUFFICIENT_RESOURCES,
        ]
        .contains(code)
    })
}

fn driver_failure_kind(error: &postgres::Error, spec: &ConnectSpec) -> ConnectFailure {
    if let Some(tls) = super::tls::find_source::<native_tls::Error>(error) {
        return match super::tls::is_certificate_failure(tls) {
            true => ConnectFailure::TlsCertificate,
            false => ConnectFailure::Tls,
        };
    }
    if spec.tls.explain_failure(error, &spec.target.host).is_some() {
        return ConnectFailure::Tls;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        return if is_server_busy(error) {
            ConnectFailure::Unavailable
        } else if *code == SqlState::INVALID_PASSWORD {
            ConnectFailure::Auth
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && rejects_plaintext(db.message())
            && spec.tls.is_disabled()
        {
            ConnectFailure::TlsRequired
        } else {
            ConnectFailure::Config
        };
    }
    if is_transient_network_error(error) {
        ConnectFailure::Unavailable
    } else if is_password_missing(error) {
        ConnectFailure::Auth
    } else {
        ConnectFailure::Config
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
    io_error(error).is_some_and(|io| is_transient_io(io.kind()))
}

/// The I/O error kinds worth another try. "No route to host" / "network unreachable" are what a
/// partition gives once address resolution or a router gives up: the path may come back.
fn is_transient_io(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::TimedOut
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::NetworkDown
    )
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
    if is_password_missing(error) {
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
    super::describe(error)
}

/// The server asked for a password and the URL has none. rust-postgres reports this as a
/// configuration error with no public kind and no SQLSTATE (nothing reached the server), so its
/// message is the only sign — the one place where a connection failure is told by its text.
fn is_password_missing(error: &postgres::Error) -> bool {
    error.as_db_error().is_none() && super::describe(error).contains("password missing")
}

/// The `pg_hba.conf` messages for a connection without TLS where the server only takes TLS:
/// `…, no encryption` (PostgreSQL ≥ 14) or `…, SSL off` (older servers, and Heroku's).
fn rejects_plaintext(message: &str) -> bool {
    message.ends_with("no encryption") || message.ends_with("SSL off")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errno a partition gives (ARP or a router giving up) is transient; a bad address is not.
    #[test]
    #[cfg(target_os = "linux")]
    fn unreachable_host_or_network_is_transient() {
        // Linux errno values: EHOSTUNREACH, ENETUNREACH, ENETDOWN, ECONNREFUSED.
        for errno in [113, 101, 100, 111] {
            let kind = std::io::Error::from_raw_os_error(errno).kind();
            assert!(is_transient_io(kind), "errno {errno}: {kind:?}");
        }
        // EADDRNOTAVAIL, EACCES: retrying does not help.
        for errno in [99, 13] {
            let kind = std::io::Error::from_raw_os_error(errno).kind();
            assert!(!is_transient_io(kind), "errno {errno}: {kind:?}");
        }
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
}
