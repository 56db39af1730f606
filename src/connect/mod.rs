//! Connecting: `DATABASE_URL` → a validated [`ConnectSpec`] (once, before any I/O) → a [`Session`].
//!
//! This is the only module that knows URL syntax, TLS and how a connection is opened:
//! - `spec`: the URL with Prisma's parameter semantics (plus libpq's `verify-ca`/`verify-full`,
//!   `sslrootcert` and `PGSSLMODE`), validated into a [`ConnectSpec`];
//! - `tls`: the TLS connector a spec asks for, and what a TLS failure means in words;
//! - `open`: one connection attempt with a deadline, transient failures retried with backoff
//!   until the [`Retry`] deadline.
//!
//! What leaves this module for display is a [`Target`] (host, port, database, schema) and prose
//! built from it — never the user's password or the URL's userinfo.

mod open;
mod spec;
mod tls;

pub use spec::ConnectSpec;

use crate::error::{Error, Result};
use postgres::error::DbError;
use postgres::{Client, SimpleQueryMessage};
use serde::Serialize;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where we connect, safe to print: no user, no password.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    /// A host name, an IP address, or the directory of a Unix socket.
    pub host: String,
    pub port: u16,
    #[serde(rename = "name")]
    pub database: String,
    /// The schema that holds `_prisma_migrations`: the URL's `schema=` (or `--schema`); without one,
    /// `public` until connected, then the session's `current_schema()` (where unqualified names go).
    pub schema: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "database `{}` at {}:{}",
            self.database, self.host, self.port
        )
    }
}

/// Messages the server sent with NOTICE severity during the session, in order. The executor reads
/// them to learn which statement of a one-round-trip batch was running when an error came.
pub type NoticeLog = Arc<Mutex<Vec<DbError>>>;

/// One open connection, with what we learnt about the server when it opened.
pub struct Session {
    pub client: Client,
    pub target: Target,
    pub notices: NoticeLog,
    pub server_version_num: i32,
    /// `Some(reason)` when the server does not accept writes.
    pub read_only: Option<String>,
    /// Whether the session is encrypted and verified, in words (shown with `-v`).
    pub security: String,
    /// The session's `standard_conforming_strings`: how `'…\\'…'` lexes (see `sql::Dialect`).
    pub standard_conforming_strings: bool,
    /// The `search_path` the session started with, restored between migrations.
    pub initial_search_path: String,
}

impl Session {
    /// Drains the notices received so far.
    pub fn take_notices(&self) -> Vec<DbError> {
        self.notices
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }

    /// Maps a driver error on this session to our error: a closed connection is "lost", anything else
    /// unexpected is a query error naming what we were doing.
    pub fn query_error(&self, context: &str, error: postgres::Error) -> Error {
        if error.is_closed() || error.as_db_error().is_none() && open::is_io(&error) {
            Error::ConnectionLost {
                target: self.target.to_string(),
                context: context.to_string(),
                cause: describe(&error),
            }
        } else {
            Error::Query {
                context: context.to_string(),
                cause: describe(&error),
            }
        }
    }
}

/// How long [`connect`] keeps trying, and how patient it is with a refused connection. The one retry
/// policy of the crate's connections: commands, the boot guard and deploy's reconnect all use it.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// No attempt starts after this instant (one in flight is bounded by `connect_timeout`).
    pub deadline: Instant,
    pub patience: Patience,
}

/// Which transient failures are retried until the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// A first contact: a refused or reset connection gets a few quick attempts (a wrong port is
    /// refused too, and should fail fast); a server that says "later" or does not answer gets more.
    FirstContact,
    /// Every transient failure is retried until the deadline: the server was there a moment ago (it
    /// is restarting), or the caller has budgeted the wait (the boot guard's `--connect-budget`).
    UntilDeadline,
}

/// The budget when attempts have no timeout (`connect_timeout=0`).
const BUDGET_WITHOUT_TIMEOUT: Duration = Duration::from_secs(30);

impl Retry {
    /// A command's first connection: for three attempt timeouts (30 s when attempts have none).
    pub fn first_contact(spec: &ConnectSpec) -> Retry {
        Retry {
            deadline: Instant::now() + default_budget(spec),
            patience: Patience::FirstContact,
        }
    }

    /// After a lost connection: the same budget from now, every transient failure retried, so a
    /// server that restarts within it does not fail the release.
    pub fn after_lost_connection(spec: &ConnectSpec) -> Retry {
        Retry::until(Instant::now() + default_budget(spec))
    }

    /// Every transient failure retried until `deadline`.
    pub fn until(deadline: Instant) -> Retry {
        Retry {
            deadline,
            patience: Patience::UntilDeadline,
        }
    }
}

fn default_budget(spec: &ConnectSpec) -> Duration {
    spec.connect_timeout
        .map_or(BUDGET_WITHOUT_TIMEOUT, |t| t.saturating_mul(3))
}

/// A second, plain connection with its own `application_name`, one attempt: for the release
/// monitor, which watches the deploy's session and must never hold anything up.
pub fn connect_observer(spec: &ConnectSpec, application_name: &str) -> Result<Client> {
    let mut config = spec.config.clone();
    config.application_name(application_name);
    let once = Retry {
        deadline: Instant::now(),
        patience: Patience::FirstContact,
    };
    open::open(spec, &config, once, &mut |_, _| {}).map(|opened| opened.client)
}

/// Opens a session: connects (retrying transient failures as `retry` says, with capped backoff;
/// `on_retry` hears each failure and the pause before the next attempt), then in one round trip sets
/// `search_path` when the URL names a schema and reads the server facts the commands need (version,
/// standby, read-only).
pub fn connect(
    spec: &ConnectSpec,
    retry: Retry,
    on_retry: &mut dyn FnMut(&Error, Duration),
) -> Result<Session> {
    let notices: NoticeLog = Arc::default();
    let mut config = spec.config.clone();
    let sink = Arc::clone(&notices);
    config.notice_callback(move |notice| {
        if let Ok(mut log) = sink.lock() {
            log.push(notice);
        }
    });
    let opened = open::open(spec, &config, retry, on_retry)?;
    let mut session = Session {
        client: opened.client,
        target: spec.target.clone(),
        notices,
        server_version_num: 0,
        read_only: None,
        security: spec.tls.describe_session(opened.encrypted),
        standard_conforming_strings: true,
        initial_search_path: String::new(),
    };
    initialize(&mut session, spec.explicit_schema.as_deref())?;
    Ok(session)
}

/// `SET search_path` (only when a schema was named, as Prisma) and the server facts, in one simple
/// query: one round trip. Without a named schema, the history table lives in `current_schema()`,
/// the schema unqualified names resolve to (a user-private `"$user"` schema, an `ALTER ROLE … SET
/// search_path`, `options=-c search_path=…`), where Prisma's unqualified SQL puts it too.
fn initialize(session: &mut Session, schema: Option<&str>) -> Result<()> {
    let mut sql = String::new();
    if let Some(schema) = schema {
        sql.push_str(&format!("SET search_path = {};\n", quote_ident(schema)));
    }
    sql.push_str(
        "SELECT current_setting('server_version_num'), pg_is_in_recovery()::text, \
         current_setting('transaction_read_only'), current_schema()::text, \
         current_setting('standard_conforming_strings'), current_setting('search_path')",
    );
    let messages = session
        .client
        .simple_query(&sql)
        .map_err(|e| session.query_error("setting up the session", e))?;
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or_else(|| Error::Query {
            context: "reading server facts".into(),
            cause: "the server returned no row".into(),
        })?;
    let version = row.get(0).unwrap_or_default();
    session.server_version_num = version.parse().map_err(|_| Error::Query {
        context: "reading server facts".into(),
        cause: format!("server_version_num is `{version}`, not a number"),
    })?;
    let in_recovery = row.get(1) == Some("true");
    let read_only = row.get(2) == Some("on");
    if schema.is_none() {
        if let Some(current) = row.get(3) {
            session.target.schema = current.to_string();
        }
    }
    session.standard_conforming_strings = row.get(4) != Some("off");
    session.initial_search_path = row.get(5).unwrap_or_default().to_string();
    session.read_only = if in_recovery {
        Some("the server is a standby in recovery (pg_is_in_recovery() is true)".into())
    } else if read_only {
        Some("default_transaction_read_only is on for this session".into())
    } else {
        None
    };
    Ok(())
}

/// Creates the URL's schema when it is missing, as Prisma does before migrating. Writing commands only.
pub fn ensure_schema(session: &mut Session, spec: &ConnectSpec) -> Result<()> {
    let Some(schema) = &spec.explicit_schema else {
        return Ok(());
    };
    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema));
    session
        .client
        .batch_execute(&sql)
        .map_err(|e| session.query_error("creating the schema", e))
}

/// Quotes an identifier for PostgreSQL (`"` doubled), so any schema name is safe in SQL text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal in a form that is correct whatever `standard_conforming_strings` says.
pub fn quote_literal(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// A one-line description of a driver error: the server's message when there is one, else the
/// driver's error chain. Neither contains connection credentials.
pub fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident("tenant_a"), "\"tenant_a\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
    }

    #[test]
    fn target_display_has_no_user() {
        let target = Target {
            host: "db.example.com".into(),
            port: 5432,
            database: "shop".into(),
            schema: "public".into(),
        };
        assert_eq!(target.to_string(), "database `shop` at db.example.com:5432");
    }
}
