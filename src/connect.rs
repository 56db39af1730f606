//! Connecting: `DATABASE_URL` → a validated [`ConnectSpec`] (once, before any I/O) → a [`Session`].
//!
//! This is the only module that knows URL syntax and how a connection is opened, so that the full
//! Prisma URL/TLS semantics (issue "connection layer") change only this file. What leaves this module
//! for display is a [`Target`]: host, port, database and schema — never the user or the password.

use crate::error::{Error, Result};
use postgres::error::{DbError, SqlState};
use postgres::{Client, NoTls};
use serde::Serialize;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where we connect, safe to print: no user, no password.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    #[serde(rename = "name")]
    pub database: String,
    /// The schema migrations go to: the URL's `schema=` (or `--schema`), else `public` as in Prisma.
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

/// A parsed, validated connection request. Holds the secret; never printed.
pub struct ConnectSpec {
    config: postgres::Config,
    pub target: Target,
    /// `Some` only when the URL (or `--schema`) names a schema: then we `SET search_path`, as Prisma.
    pub explicit_schema: Option<String>,
    pub connect_timeout: Option<Duration>,
    /// Things the user should know about this URL (e.g. a pooled URL), printed as warnings.
    pub warnings: Vec<String>,
}

impl fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Prisma's default connect timeout (prisma-compat §7).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl ConnectSpec {
    /// Parses a `postgres://` / `postgresql://` URL with Prisma's parameter semantics.
    /// `schema_override` (`--schema`) wins over the URL's `schema=`; `timeout_override`
    /// (`--connect-timeout`) over `connect_timeout=`.
    pub fn parse(
        raw: &str,
        schema_override: Option<&str>,
        timeout_override: Option<Duration>,
    ) -> Result<ConnectSpec> {
        let url = url::Url::parse(raw).map_err(|e| invalid(format!("{e}")))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(invalid(format!(
                "unsupported scheme `{}` (expected postgres:// or postgresql://)",
                url.scheme()
            )));
        }
        let mut config = postgres::Config::new();
        let mut host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let port = url.port().unwrap_or(5432);
        if !url.username().is_empty() {
            config.user(&decode(url.username(), "user")?);
        }
        if let Some(password) = url.password() {
            config.password(decode(password, "password")?.as_bytes());
        }
        let database = url
            .path_segments()
            .and_then(|mut s| s.next().map(str::to_string))
            .filter(|s| !s.is_empty())
            .map(|s| decode(&s, "database name"))
            .transpose()?
            .unwrap_or_else(|| "postgres".to_string());
        config.dbname(&database);
        let mut explicit_schema = None;
        let mut connect_timeout = Some(DEFAULT_CONNECT_TIMEOUT);
        let mut application_name = "prisma-release".to_string();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "schema" if !value.is_empty() => explicit_schema = Some(value.into_owned()),
                "host" if !value.is_empty() => host = value.into_owned(),
                "connect_timeout" => {
                    let secs: u64 = value.parse().map_err(|_| {
                        invalid(format!("connect_timeout must be an integer, got `{value}`"))
                    })?;
                    connect_timeout = (secs > 0).then(|| Duration::from_secs(secs));
                }
                "application_name" => application_name = value.into_owned(),
                "options" => {
                    config.options(&value);
                }
                _ => {}
            }
        }
        if let Some(schema) = schema_override {
            explicit_schema = Some(schema.to_string());
        }
        if let Some(timeout) = timeout_override {
            connect_timeout = (!timeout.is_zero()).then_some(timeout);
        }
        config
            .host(&host)
            .port(port)
            .application_name(&application_name);
        if let Some(timeout) = connect_timeout {
            config.connect_timeout(timeout);
        }
        let target = Target {
            host,
            port,
            database,
            schema: explicit_schema.clone().unwrap_or_else(|| "public".into()),
        };
        Ok(ConnectSpec {
            config,
            target,
            explicit_schema,
            connect_timeout,
            warnings: Vec::new(),
        })
    }
}

fn invalid(reason: String) -> Error {
    Error::UrlInvalid { reason }
}

fn decode(part: &str, what: &str) -> Result<String> {
    percent_decode(part)
        .ok_or_else(|| invalid(format!("the {what} is not valid percent-encoded UTF-8")))
}

/// Percent-decoding (the `url` crate leaves userinfo and path segments encoded).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
        if error.is_closed() || error.as_db_error().is_none() && is_io(&error) {
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

/// How many times a transient connect failure is retried, and the first pause between attempts.
const CONNECT_ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Opens a session: connects (retrying transient failures with backoff), sets `search_path` when the
/// URL names a schema, and reads the server facts the commands need, in one round trip.
pub fn connect(spec: &ConnectSpec) -> Result<Session> {
    let notices: NoticeLog = Arc::default();
    let mut config = spec.config.clone();
    let sink = Arc::clone(&notices);
    config.notice_callback(move |notice| {
        if let Ok(mut log) = sink.lock() {
            log.push(notice);
        }
    });
    let mut attempt = 0;
    let client = loop {
        attempt += 1;
        match config.connect(NoTls) {
            Ok(client) => break client,
            Err(e) if attempt < CONNECT_ATTEMPTS && is_transient_connect_error(&e) => {
                std::thread::sleep(FIRST_BACKOFF * 2u32.pow(attempt - 1));
            }
            Err(e) => {
                return Err(Error::Connect {
                    target: spec.target.to_string(),
                    cause: describe(&e),
                })
            }
        }
    };
    let mut session = Session {
        client,
        target: spec.target.clone(),
        notices,
        server_version_num: 0,
        read_only: None,
        security: "not encrypted (TLS not negotiated)".into(),
    };
    if let Some(schema) = &spec.explicit_schema {
        let set = format!("SET search_path = {}", quote_ident(schema));
        session
            .client
            .batch_execute(&set)
            .map_err(|e| session.query_error("setting search_path", e))?;
    }
    read_server_facts(&mut session)?;
    Ok(session)
}

fn read_server_facts(session: &mut Session) -> Result<()> {
    let row = session
        .client
        .query_typed_one(
            "SELECT current_setting('server_version_num')::int4, pg_is_in_recovery(), \
             current_setting('transaction_read_only') = 'on'",
            &[],
        )
        .map_err(|e| session.query_error("reading server facts", e))?;
    session.server_version_num = row.get(0);
    let in_recovery: bool = row.get(1);
    let read_only: bool = row.get(2);
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

fn is_transient_connect_error(error: &postgres::Error) -> bool {
    match error.code() {
        Some(code) => {
            *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS
        }
        None => is_io(error),
    }
}

fn is_io(error: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::TimedOut
            );
        }
        source = s.source();
    }
    false
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
    fn parses_user_password_and_defaults() {
        let spec =
            ConnectSpec::parse("postgres://app:s%40cret@db.example.com/shop", None, None).unwrap();
        assert_eq!(spec.target.host, "db.example.com");
        assert_eq!(spec.target.port, 5432);
        assert_eq!(spec.target.database, "shop");
        assert_eq!(spec.target.schema, "public");
        assert_eq!(spec.explicit_schema, None);
        assert_eq!(spec.config.get_password(), Some(&b"s@cret"[..]));
    }

    #[test]
    fn schema_parameter_and_override() {
        let spec =
            ConnectSpec::parse("postgresql://u@h:6000/d?schema=tenant_a", None, None).unwrap();
        assert_eq!(spec.explicit_schema.as_deref(), Some("tenant_a"));
        assert_eq!(spec.target.port, 6000);
        let spec = ConnectSpec::parse("postgresql://u@h/d?schema=a", Some("b"), None).unwrap();
        assert_eq!(spec.target.schema, "b");
    }

    #[test]
    fn rejects_other_schemes_and_bad_timeouts() {
        assert!(ConnectSpec::parse("mysql://u@h/d", None, None).is_err());
        assert!(ConnectSpec::parse("postgres://u@h/d?connect_timeout=x", None, None).is_err());
        assert!(ConnectSpec::parse("not a url", None, None).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
    }
}
