//! The database URL → a validated [`ConnectSpec`], with Prisma's parameter semantics
//! (research/prisma-compat.md §7), checked once before any network I/O.
//!
//! Deliberate differences from Prisma, each safer or clearer for a release-time tool:
//! - an unknown `sslmode` value is an error (Prisma silently uses `prefer`: a typo such as
//!   `verify_full` would otherwise switch verification off); `verify-ca`/`verify-full` verify;
//! - certificate and identity files are read here, so a missing file is a configuration error
//!   (exit 3) instead of a TLS error at connect time;
//! - `socket_timeout` bounds how long a dead peer goes unnoticed (TCP user timeout and keepalives);
//!   a live server that is merely slow is not interrupted.

use super::tls::{TlsParams, TlsPlan};
use super::Target;
use crate::error::{Error, Result};
use postgres::config::ChannelBinding;
use std::fmt;
use std::time::Duration;
use url::{Host, Url};

/// How long a dead peer (a network partition, a vanished server) goes unnoticed by default: TCP
/// keepalives and `TCP_USER_TIMEOUT` drop the connection after about this long, so a release can
/// never hang until the OS's two-hour keepalive. `socket_timeout=N` overrides it, `0` turns it off.
const DEFAULT_SOCKET_TIMEOUT: Duration = Duration::from_secs(30);
/// Prisma's default connect timeout (prisma-compat §7).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_PORT: u16 = 5432;
/// Prisma's database when the URL has no path.
const DEFAULT_DATABASE: &str = "postgres";
const DEFAULT_APPLICATION_NAME: &str = "prisma-release";
/// Schemes people paste by mistake, named in the error; anything else is not echoed (a string
/// without `://` could be `user:password@host`, whose "scheme" is the user name).
const OTHER_DATABASE_SCHEMES: &[&str] = &[
    "mysql",
    "mariadb",
    "sqlserver",
    "mongodb",
    "mongodb+srv",
    "file",
    "sqlite",
    "cockroachdb",
    "prisma",
    "http",
    "https",
    "jdbc",
    "redis",
];

/// A parsed, validated connection request. Holds the secret; never printed.
pub struct ConnectSpec {
    pub(super) config: postgres::Config,
    pub(super) tls: TlsPlan,
    /// The user name, for "authentication failed for user `…`".
    pub(super) user: String,
    pub target: Target,
    /// `Some` only when the URL (or `--schema`) names a schema: then we `SET search_path`, as Prisma.
    pub explicit_schema: Option<String>,
    /// Per connection attempt; `None` = wait as long as it takes.
    pub connect_timeout: Option<Duration>,
    /// Things the user should know about this URL (e.g. a pooled URL), printed as warnings.
    pub warnings: Vec<String>,
    /// Details for `-v`: the TLS plan, ignored parameters. Never contains a secret.
    pub notes: Vec<String>,
}

impl fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("target", &self.target)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl ConnectSpec {
    /// Parses a `postgres://` / `postgresql://` URL with Prisma's parameter semantics.
    /// `schema_override` (`--schema`) wins over the URL's `schema=`; `timeout_override`
    /// (`--connect-timeout`) over `connect_timeout=`. Reads `PGSSLMODE` (when the URL has no
    /// `sslmode`) and the certificate files the URL names; opens no connection.
    pub fn parse(
        raw: &str,
        schema_override: Option<&str>,
        timeout_override: Option<Duration>,
    ) -> Result<ConnectSpec> {
        Self::parse_with_env(raw, schema_override, timeout_override, &|name| {
            std::env::var(name).ok()
        })
    }

    /// [`parse`](Self::parse) with the environment given as a lookup function (for tests).
    pub fn parse_with_env(
        raw: &str,
        schema_override: Option<&str>,
        timeout_override: Option<Duration>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConnectSpec> {
        let url = parse_url(raw)?;
        let params = Params::read(&url)?;
        let endpoint = Endpoint::of(&url, &params, env)?;
        let mut warnings = Vec::new();
        let tls = TlsPlan::new(&params.tls, endpoint.is_unix_socket(), env, &mut warnings)?;
        let explicit_schema = match schema_override {
            Some(schema) => Some(schema.to_string()).filter(|s| !s.is_empty()),
            None => params.schema.clone(),
        };
        if explicit_schema.as_deref().is_some_and(|s| s.contains('\0')) {
            return Err(invalid("the schema name contains a NUL character".into()));
        }
        let connect_timeout = match timeout_override {
            Some(timeout) => (!timeout.is_zero()).then_some(timeout),
            None => params
                .connect_timeout
                .unwrap_or(Some(DEFAULT_CONNECT_TIMEOUT)),
        };
        warnings.extend(pooler_warning(
            &endpoint.host,
            endpoint.port,
            params.pgbouncer,
        ));
        let config = driver_config(&endpoint, &params, &tls, connect_timeout);
        let notes = params.notes(&tls, connect_timeout);
        let Endpoint {
            host,
            port,
            database,
            user,
            ..
        } = endpoint;
        let target = Target {
            host,
            port,
            database,
            schema: explicit_schema.clone().unwrap_or_else(|| "public".into()),
        };
        Ok(ConnectSpec {
            config,
            tls,
            user,
            target,
            explicit_schema,
            connect_timeout,
            warnings,
            notes,
        })
    }
}

/// Where to connect and as whom, from the URL's authority, path and `host` parameter.
struct Endpoint {
    host: String,
    port: u16,
    database: String,
    user: String,
    password: Option<String>,
}

impl Endpoint {
    fn of(url: &Url, params: &Params, env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint> {
        Ok(Endpoint {
            host: host(url, params)?,
            port: port(url)?,
            database: database(url)?,
            user: user(url, env)?,
            password: url
                .password()
                .map(|p| decode(p, "password"))
                .transpose()?
                .filter(|p| !p.is_empty()),
        })
    }

    fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }
}

/// The driver's configuration: endpoint, credentials, TLS mode, startup parameters and timeouts.
fn driver_config(
    endpoint: &Endpoint,
    params: &Params,
    tls: &TlsPlan,
    connect_timeout: Option<Duration>,
) -> postgres::Config {
    let mut config = postgres::Config::new();
    config
        .user(&endpoint.user)
        .dbname(&endpoint.database)
        .host(&endpoint.host)
        .port(endpoint.port)
        .ssl_mode(tls.ssl_mode())
        .channel_binding(params.channel_binding)
        .application_name(
            params
                .application_name
                .as_deref()
                .unwrap_or(DEFAULT_APPLICATION_NAME),
        );
    if let Some(password) = &endpoint.password {
        config.password(password.as_bytes());
    }
    if let Some(options) = &params.options {
        config.options(options);
    }
    if let Some(timeout) = connect_timeout {
        config.connect_timeout(timeout);
    }
    if let Some(timeout) = params.dead_peer_timeout() {
        apply_socket_timeout(&mut config, timeout);
    }
    config
}

/// The URL itself: a `postgres://` or `postgresql://` URL with an authority. Error texts never
/// repeat the input.
fn parse_url(raw: &str) -> Result<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(invalid("the URL is empty".into()));
    }
    if raw.starts_with(['"', '\'']) {
        return Err(invalid(
            "the URL is wrapped in quotes; remove them from the variable's value".into(),
        ));
    }
    check_no_at_after_authority(raw)?;
    let url = Url::parse(raw).map_err(|e| {
        invalid(match e {
            url::ParseError::RelativeUrlWithoutBase => {
                "it has no scheme; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into()
            }
            // What a password with an unencoded `#`, `/` or `?` looks like: the authority ends
            // early and its rest reads as a port or a host.
            url::ParseError::InvalidPort
            | url::ParseError::EmptyHost
            | url::ParseError::InvalidDomainCharacter
            | url::ParseError::IdnaError => format!(
                "{e} (if the user name or password contains `#`, `/`, `?` or `@`, percent-encode \
                 it: `#` as %23, `/` as %2F, `?` as %3F, `@` as %40)"
            ),
            other => other.to_string(),
        })
    })?;
    match url.scheme() {
        "postgres" | "postgresql" => {}
        "prisma+postgres" => {
            return Err(invalid(
                "prisma+postgres:// (Prisma Postgres / Accelerate) URLs cannot run migrations; \
                 use the direct postgres:// URL, e.g. --url-env DIRECT_URL"
                    .into(),
            ))
        }
        scheme if OTHER_DATABASE_SCHEMES.contains(&scheme) => {
            return Err(invalid(format!(
                "unsupported scheme `{scheme}://` (expected postgres:// or postgresql://)"
            )))
        }
        _ => {
            return Err(invalid(
                "it must start with postgres:// or postgresql://".into(),
            ))
        }
    }
    let after_scheme = raw.get(url.scheme().len() + 1..).unwrap_or("");
    if url.cannot_be_a_base() || !after_scheme.starts_with("//") {
        return Err(invalid(
            "it has no `//` authority; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid(
            "it contains `#` (a fragment); percent-encode `#` in the password as %23".into(),
        ));
    }
    Ok(url)
}

/// The authority's host, unless the `host` parameter overrides it (a Unix socket directory, e.g.
/// `postgresql:///db?host=/var/run/postgresql`); `localhost` when there is none. A percent-encoded
/// socket directory in the authority (`postgresql://%2Fvar%2Frun%2Fpostgresql/db`, libpq style) works
/// too.
fn host(url: &Url, params: &Params) -> Result<String> {
    if let Some(host) = &params.host {
        return Ok(host.clone());
    }
    Ok(match url.host() {
        Some(Host::Ipv6(address)) => address.to_string(),
        Some(Host::Ipv4(address)) => address.to_string(),
        Some(Host::Domain(name)) if !name.is_empty() => decode(name, "host")?,
        _ => "localhost".into(),
    })
}

fn port(url: &Url) -> Result<u16> {
    match url.port() {
        Some(0) => Err(invalid("port 0 is not a port one can connect to".into())),
        Some(port) => Ok(port),
        None => Ok(DEFAULT_PORT),
    }
}

/// The first path segment, percent-decoded; `postgres` when there is none.
fn database(url: &Url) -> Result<String> {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next())
        .unwrap_or("");
    if segment.is_empty() {
        return Ok(DEFAULT_DATABASE.into());
    }
    decode(segment, "database name")
}

/// The URL's user, percent-decoded; without one, the operating-system user, as libpq does.
fn user(url: &Url, env: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    if !url.username().is_empty() {
        return decode(url.username(), "user name");
    }
    env("USER")
        .or_else(|| env("LOGNAME"))
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid("it names no user; expected postgres://USER:PASSWORD@HOST…".into()))
}

/// The URL's query parameters, type-checked as Prisma does: a non-integer where Prisma parses an
/// integer, or a non-bool for `pgbouncer`, is an error (Prisma's `InvalidConnectionArguments`).
/// The last occurrence of a repeated parameter wins, as in Prisma.
struct Params {
    schema: Option<String>,
    host: Option<String>,
    tls: TlsParams,
    /// `None`: not given; `Some(None)`: `0`, no timeout.
    connect_timeout: Option<Option<Duration>>,
    /// `None`: not given (the default applies); `Some(None)`: `0`, off.
    socket_timeout: Option<Option<Duration>>,
    pgbouncer: bool,
    application_name: Option<String>,
    options: Option<String>,
    channel_binding: ChannelBinding,
    /// Accepted for compatibility, no effect on one migration connection.
    pool_settings: Vec<String>,
    /// Names only: a value may be a secret (`password=`).
    ignored: Vec<String>,
    /// Remarks for `-v`.
    remarks: Vec<String>,
}

impl Params {
    fn read(url: &Url) -> Result<Params> {
        let mut p = Params {
            schema: None,
            host: None,
            tls: TlsParams::default(),
            connect_timeout: None,
            socket_timeout: None,
            pgbouncer: false,
            application_name: None,
            options: None,
            channel_binding: ChannelBinding::Prefer,
            pool_settings: Vec::new(),
            ignored: Vec::new(),
            remarks: Vec::new(),
        };
        for (key, value) in url.query_pairs() {
            let text = || Some(value.to_string()).filter(|v| !v.is_empty());
            match key.as_ref() {
                "schema" => p.schema = text(),
                "host" => p.host = text(),
                "sslmode" => p.tls.sslmode = text(),
                "sslaccept" => p.tls.sslaccept = text(),
                "sslcert" => p.tls.sslcert = text(),
                "sslrootcert" => p.tls.sslrootcert = text(),
                "sslidentity" => p.tls.sslidentity = text(),
                "sslpassword" => p.tls.sslpassword = Some(value.to_string()),
                "connect_timeout" => p.connect_timeout = Some(seconds(&key, &value)?),
                "socket_timeout" => p.socket_timeout = Some(seconds(&key, &value)?),
                "pool_timeout" | "max_connection_lifetime" | "max_idle_connection_lifetime" => {
                    seconds(&key, &value)?;
                    p.pool_settings.push(key.into_owned());
                }
                "connection_limit" | "statement_cache_size" => {
                    value.parse::<usize>().map_err(|_| {
                        invalid(format!(
                            "`{key}` must be a non-negative integer, got `{}`",
                            shown(&value)
                        ))
                    })?;
                    p.pool_settings.push(key.into_owned());
                }
                "pgbouncer" => {
                    p.pgbouncer = value.parse::<bool>().map_err(|_| {
                        invalid(format!(
                            "`pgbouncer` must be `true` or `false`, got `{}`",
                            shown(&value)
                        ))
                    })?;
                }
                "application_name" => p.application_name = Some(value.to_string()),
                "options" => p.options = text(),
                "channel_binding" => {
                    p.channel_binding = match value.as_ref() {
                        "disable" => ChannelBinding::Disable,
                        "require" => ChannelBinding::Require,
                        "prefer" => ChannelBinding::Prefer,
                        _ => {
                            p.remarks.push(
                                "channel_binding: unknown value, `prefer` used (as Prisma)".into(),
                            );
                            ChannelBinding::Prefer
                        }
                    };
                }
                "sslkey" => p.remarks.push(
                    "sslkey is ignored: Prisma's sslcert is a root CA file, a client \
                     certificate goes in sslidentity (PKCS#12) with sslpassword"
                        .into(),
                ),
                _ => {
                    if !p.ignored.iter().any(|k| *k == key) {
                        p.ignored.push(key.into_owned());
                    }
                }
            }
        }
        Ok(p)
    }

    /// How long a dead peer may go unnoticed: `socket_timeout`, else the default; `None` when off.
    fn dead_peer_timeout(&self) -> Option<Duration> {
        self.socket_timeout.unwrap_or(Some(DEFAULT_SOCKET_TIMEOUT))
    }

    /// The `-v` lines for a spec built from these parameters.
    fn notes(&self, tls: &TlsPlan, connect_timeout: Option<Duration>) -> Vec<String> {
        let mut notes = vec![tls.describe_plan()];
        notes.push(match connect_timeout {
            Some(t) => format!(
                "connect timeout {} per attempt; transient failures retried with backoff",
                crate::duration::display(t)
            ),
            None => "no connect timeout (connect_timeout=0)".into(),
        });
        if let Some(t) = self.dead_peer_timeout() {
            notes.push(format!(
                "socket_timeout {}: a connection whose server stops answering at the TCP level is \
                 dropped after about that long",
                crate::duration::display(t)
            ));
        }
        if self.tls.sslpassword.is_some() && self.tls.sslidentity.is_none() {
            notes.push("sslpassword is ignored: there is no sslidentity".into());
        }
        if !self.pool_settings.is_empty() {
            notes.push(format!(
                "pool settings accepted, no effect on a single migration connection: {}",
                self.pool_settings.join(", ")
            ));
        }
        notes.extend(self.remarks.iter().cloned());
        if !self.ignored.is_empty() {
            notes.push(format!(
                "URL parameters ignored: {}",
                self.ignored.join(", ")
            ));
        }
        notes
    }
}

/// A whole number of seconds, as Prisma parses them (`u64`); `0` means no timeout.
fn seconds(key: &str, value: &str) -> Result<Option<Duration>> {
    let secs: u64 = value.parse().map_err(|_| {
        invalid(format!(
            "`{key}` must be a whole number of seconds, got `{}`",
            shown(value)
        ))
    })?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// A parameter value for an error message, cut short.
fn shown(value: &str) -> String {
    const MAX: usize = 32;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// `socket_timeout`: the kernel drops the connection when sent data stays unacknowledged, or the
/// idle peer stops answering keepalive probes, for about that long.
fn apply_socket_timeout(config: &mut postgres::Config, timeout: Duration) {
    // Linux caps TCP_KEEPIDLE at 32767 s; a day is plenty for any socket timeout.
    let timeout = timeout.min(Duration::from_secs(86_400));
    let idle = (timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(7_200));
    let interval = (timeout / 6).clamp(Duration::from_secs(1), Duration::from_secs(600));
    config
        .tcp_user_timeout(timeout)
        .keepalives(true)
        .keepalives_idle(idle)
        .keepalives_interval(interval)
        .keepalives_retries(3);
}

/// The warning for a URL that looks like a transaction pooler.
fn pooler_warning(host: &str, port: u16, pgbouncer: bool) -> Option<String> {
    let mut signs = Vec::new();
    if pgbouncer {
        signs.push("pgbouncer=true".to_string());
    }
    if host.to_ascii_lowercase().contains("-pooler.") {
        signs.push(format!("host `{host}`"));
    }
    if port == 6543 {
        signs.push("port 6543".to_string());
    }
    if signs.is_empty() {
        return None;
    }
    Some(format!(
        "this URL looks like a connection pooler ({}): session advisory locks are unreliable \
         through a transaction pooler, so two deploys may not exclude each other; use a direct \
         (unpooled) URL via --url-env, e.g. --url-env DIRECT_URL",
        signs.join(", ")
    ))
}

fn invalid(reason: String) -> Error {
    Error::UrlInvalid { reason }
}

/// Percent-decodes a URL part. An invalid escape (`%` not followed by two hex digits, e.g. `%zz` or
/// `%+1`) is an error, as in libpq; the result must be UTF-8 without NUL (PostgreSQL cannot take a
/// NUL in a user, password or database name). The error never shows the part (it may be the password).
fn decode(part: &str, what: &str) -> Result<String> {
    if has_invalid_escape(part) {
        return Err(invalid(format!(
            "the {what} has an invalid percent-encoded sequence (`%` must be followed by two hex \
             digits; write a literal `%` as %25)"
        )));
    }
    let text = percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map_err(|_| {
            invalid(format!(
                "the {what} is not valid UTF-8 once percent-decoded"
            ))
        })?;
    if text.contains('\0') {
        return Err(invalid(format!(
            "the {what} contains a NUL character (%00), which PostgreSQL cannot accept"
        )));
    }
    Ok(text.into_owned())
}

/// Whether some `%` is not followed by two hex digits (checked by hand: `from_str_radix` would
/// accept a sign, and the crate's decoder keeps invalid escapes silently).
fn has_invalid_escape(part: &str) -> bool {
    let bytes = part.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// An `@` after the authority (in the path or the query) is a password with an unencoded `/` or `?`
/// (`postgres://app:12/S3cret@host/db`): the URL would parse, with part of the password as port and
/// database name, and that name would be printed. Refused without echoing anything past the scheme.
fn check_no_at_after_authority(raw: &str) -> Result<()> {
    let Some((_, rest)) = raw.split_once("://") else {
        return Ok(());
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest[authority_end..].contains('@') {
        return Err(invalid(
            "an `@` follows the host part: the user name or password probably contains a `/`, \
             `?` or `#`; percent-encode reserved characters in it (`/` as %2F, `?` as %3F, `#` as \
             %23, `@` as %40)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::config::{Host as PgHost, SslMode};

    const SECRET: &str = "s3cr3t-Pa55";

    fn parse(raw: &str) -> Result<ConnectSpec> {
        ConnectSpec::parse_with_env(raw, None, None, &|name| {
            (name == "USER").then(|| "osuser".to_string())
        })
    }

    fn ok(raw: &str) -> ConnectSpec {
        parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn reason(raw: &str) -> String {
        match parse(raw) {
            Err(Error::UrlInvalid { reason }) => reason,
            Err(other) => panic!("{raw}: not UrlInvalid: {other}"),
            Ok(spec) => panic!("{raw}: parsed: {spec:?}"),
        }
    }

    #[test]
    fn parses_user_password_and_defaults() {
        let spec = ok("postgres://app:s%40cret@db.example.com/shop");
        assert_eq!(spec.target.host, "db.example.com");
        assert_eq!(spec.target.port, 5432);
        assert_eq!(spec.target.database, "shop");
        assert_eq!(spec.target.schema, "public");
        assert_eq!(spec.explicit_schema, None);
        assert_eq!(spec.user, "app");
        assert_eq!(spec.config.get_user(), Some("app"));
        assert_eq!(spec.config.get_password(), Some(&b"s@cret"[..]));
        assert_eq!(spec.config.get_application_name(), Some("prisma-release"));
        assert_eq!(spec.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(spec.config.get_ssl_mode(), SslMode::Prefer);
        assert!(spec.warnings.is_empty());
    }

    #[test]
    fn both_schemes_and_percent_decoding() {
        let spec = ok("postgresql://us%20er:p%3Aw%2Fd%23@h:6000/my%20db");
        assert_eq!(spec.config.get_user(), Some("us er"));
        assert_eq!(spec.config.get_password(), Some(&b"p:w/d#"[..]));
        assert_eq!(spec.target.database, "my db");
        assert_eq!(spec.target.port, 6000);
        // An invalid escape is an error, as in libpq (Prisma would keep it as it is).
        assert!(reason("postgres://u:100%zz@h/d").contains("invalid percent-encoded sequence"));
        // An unencoded `@` in the password: the last `@` ends the userinfo.
        let spec = ok("postgres://u:p@ss@h/d");
        assert_eq!(spec.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(spec.target.host, "h");
    }

    #[test]
    fn database_defaults_to_postgres() {
        assert_eq!(ok("postgres://u@h").target.database, "postgres");
        assert_eq!(ok("postgres://u@h/").target.database, "postgres");
        assert_eq!(ok("postgres://u@h/d/extra").target.database, "d");
    }

    #[test]
    fn ipv6_hosts() {
        let spec = ok("postgres://u@[::1]:5433/d");
        assert_eq!(spec.target.host, "::1");
        assert_eq!(spec.target.port, 5433);
        let spec = ok("postgresql://u@[2001:db8:1234::ffff]/d");
        assert_eq!(spec.target.host, "2001:db8:1234::ffff");
        assert!(matches!(
            spec.config.get_hosts(),
            [PgHost::Tcp(h)] if h == "2001:db8:1234::ffff"
        ));
    }

    #[test]
    fn unix_socket_directories() {
        let spec = ok("postgresql://u@localhost/d?host=/var/run/postgresql");
        assert_eq!(spec.target.host, "/var/run/postgresql");
        assert!(matches!(spec.config.get_hosts(), [PgHost::Unix(_)]));
        assert_eq!(spec.config.get_ssl_mode(), SslMode::Disable);
        let spec = ok("postgresql:///d?host=%2Fvar%2Frun%2Fpostgresql&sslmode=require");
        assert_eq!(spec.target.host, "/var/run/postgresql");
        assert_eq!(spec.config.get_ssl_mode(), SslMode::Disable);
        // libpq style: the directory percent-encoded in the authority.
        let spec = ok("postgresql://u@%2Ftmp%2Fsock:5433/d");
        assert_eq!(spec.target.host, "/tmp/sock");
        assert!(matches!(spec.config.get_hosts(), [PgHost::Unix(_)]));
        // `host=` overrides the authority's host, as in Prisma.
        assert_eq!(ok("postgres://u@h/d?host=other").target.host, "other");
        assert_eq!(ok("postgresql:///d").target.host, "localhost");
    }

    #[test]
    fn missing_user_falls_back_to_the_os_user() {
        assert_eq!(ok("postgresql:///d?host=/tmp").user, "osuser");
        let none = ConnectSpec::parse_with_env("postgresql:///d", None, None, &|_| None);
        assert!(matches!(none, Err(Error::UrlInvalid { .. })));
    }

    #[test]
    fn schema_parameter_and_override() {
        let spec = ok("postgresql://u@h:6000/d?schema=tenant_a");
        assert_eq!(spec.explicit_schema.as_deref(), Some("tenant_a"));
        assert_eq!(spec.target.schema, "tenant_a");
        let spec = ConnectSpec::parse("postgresql://u@h/d?schema=a", Some("b"), None).unwrap();
        assert_eq!(spec.target.schema, "b");
        assert_eq!(spec.explicit_schema.as_deref(), Some("b"));
        // An empty schema is no schema (no SET search_path).
        assert_eq!(ok("postgres://u@h/d?schema=").explicit_schema, None);
        let spec = ok("postgres://u@h/d?schema=we%22ird%20name");
        assert_eq!(spec.explicit_schema.as_deref(), Some("we\"ird name"));
        assert!(reason("postgres://u@h/d?schema=a%00b").contains("NUL"));
    }

    #[test]
    fn timeouts() {
        assert_eq!(
            ok("postgres://u@h/d?connect_timeout=12").connect_timeout,
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            ok("postgres://u@h/d?connect_timeout=0").connect_timeout,
            None
        );
        let spec = ConnectSpec::parse(
            "postgres://u@h/d?connect_timeout=12",
            None,
            Some(Duration::from_millis(1500)),
        )
        .unwrap();
        assert_eq!(spec.connect_timeout, Some(Duration::from_millis(1500)));
        let spec = ConnectSpec::parse("postgres://u@h/d", None, Some(Duration::ZERO)).unwrap();
        assert_eq!(spec.connect_timeout, None);
        let spec = ok("postgres://u@h/d?socket_timeout=30");
        assert_eq!(
            spec.config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(30))
        );
        assert_eq!(spec.config.get_keepalives_idle(), Duration::from_secs(15));
        let default = ok("postgres://u@h/d");
        assert!(
            default.config.get_keepalives(),
            "dead-peer detection is on by default"
        );
        assert_eq!(
            default.config.get_tcp_user_timeout(),
            Some(&DEFAULT_SOCKET_TIMEOUT)
        );
        let off = ok("postgres://u@h/d?socket_timeout=0");
        assert_eq!(off.config.get_tcp_user_timeout(), None);
        assert!(
            ok("postgres://u@h/d?socket_timeout=99999999999")
                .notes
                .len()
                > 1
        );
    }

    #[test]
    fn verbose_notes_show_sub_second_timeouts_as_given() {
        let spec = ConnectSpec::parse_with_env(
            "postgres://u@h/d",
            None,
            Some(Duration::from_millis(500)),
            &|_| None,
        )
        .unwrap();
        let notes = spec.notes.join("\n");
        assert!(
            notes.contains("connect timeout 500ms per attempt"),
            "{notes}"
        );
    }

    #[test]
    fn application_name_options_and_channel_binding() {
        let spec =
            ok("postgres://u@h/d?application_name=my%20app&options=-c%20statement_timeout%3D5s");
        assert_eq!(spec.config.get_application_name(), Some("my app"));
        assert_eq!(spec.config.get_options(), Some("-c statement_timeout=5s"));
        let spec = ok("postgres://u@h/d?options=--cluster%3Dx&channel_binding=require");
        assert_eq!(spec.config.get_options(), Some("--cluster=x"));
        assert_eq!(spec.config.get_channel_binding(), ChannelBinding::Require);
        let spec = ok("postgres://u@h/d?channel_binding=bogus");
        assert_eq!(spec.config.get_channel_binding(), ChannelBinding::Prefer);
    }

    #[test]
    fn last_occurrence_wins() {
        let spec = ok("postgres://u@h/d?schema=a&schema=b&connect_timeout=1&connect_timeout=2");
        assert_eq!(spec.target.schema, "b");
        assert_eq!(spec.connect_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn prisma_integer_and_bool_parameters_are_checked() {
        for param in [
            "connect_timeout",
            "socket_timeout",
            "pool_timeout",
            "max_connection_lifetime",
            "max_idle_connection_lifetime",
            "connection_limit",
            "statement_cache_size",
        ] {
            for bad in ["abc", "-1", "1.5", "", "5s"] {
                let url = format!("postgres://u:{SECRET}@h/d?{param}={bad}");
                let why = reason(&url);
                assert!(why.contains(param), "{url}: {why}");
                assert!(!why.contains(SECRET));
            }
            ok(&format!("postgres://u@h/d?{param}=10"));
        }
        for bad in ["yes", "1", "TRUE", "True", ""] {
            assert!(reason(&format!("postgres://u@h/d?pgbouncer={bad}")).contains("pgbouncer"));
        }
        assert!(!ok("postgres://u@h/d?pgbouncer=false")
            .warnings
            .iter()
            .any(|w| w.contains("pooler")));
    }

    #[test]
    fn pooled_urls_warn() {
        for url in [
            "postgres://u@h/d?pgbouncer=true",
            "postgres://u@ep-cool-name-123-pooler.us-east-2.aws.neon.tech/d",
            "postgres://u@aws-0-eu-central-1.pooler.supabase.com:6543/d",
        ] {
            let spec = ok(url);
            assert_eq!(spec.warnings.len(), 1, "{url}");
            assert!(spec.warnings[0].contains("advisory lock"), "{url}");
            assert!(spec.warnings[0].contains("--url-env"), "{url}");
        }
        assert!(ok("postgres://u@h:5432/d").warnings.is_empty());
    }

    #[test]
    fn malformed_urls_are_rejected_without_echoing_secrets() {
        for raw in [
            "",
            "   ",
            "not a url",
            "localhost:5432/db",
            "//u:SECRET@h/d",
            "app:SECRET@h/d",
            "mysql://u:SECRET@h/d",
            "http://u:SECRET@h/d",
            "prisma+postgres://accelerate.prisma-data.net/?api_key=SECRET",
            "postgres:SECRET@h/d",
            "postgres:/d",
            "postgres://u:SECRET@h:99999/d",
            "postgres://u:SECRET@h:port/d",
            "postgres://u:SECRET@h:-1/d",
            "postgres://u:SECRET@h:0/d",
            "postgres://u:SECRET@[::1/d",
            "postgres://u:SECRET@[::zz]/d",
            "postgres://u:SECRET@[::1]x/d",
            "postgres://u:SECRET@h/d?connect_timeout=soon",
            "postgres://u:SECRET@h/d?pgbouncer=yes",
            "postgres://u:SECRET@h/d?sslmode=verify_full",
            "postgres://u:SECRET@h/d?sslrootcert=/nonexistent/ca.pem&sslmode=verify-full",
            "\"postgres://u:SECRET@h/d\"",
            "postgres://u:SECR#ET@h/d",
            "postgres://u:%FF%FE@h/d",
            "postgres://u:SECRET@h/%FF",
            "postgres://u:SECRET@h d/x",
        ] {
            let raw = raw.replace("SECRET", SECRET);
            let why = reason(&raw);
            assert!(!why.contains(SECRET), "{raw}: {why}");
            assert!(!why.contains("%FF"), "{raw}: {why}");
        }
    }

    #[test]
    fn prisma_compatible_unknown_and_ignored_parameters() {
        let spec =
            ok("postgres://u@h/d?foo=1&password=SECRETVALUE&sslkey=k.pem&connection_limit=5");
        let notes = spec.notes.join("\n");
        assert!(
            notes.contains("URL parameters ignored: foo, password"),
            "{notes}"
        );
        assert!(notes.contains("sslkey"), "{notes}");
        assert!(notes.contains("connection_limit"), "{notes}");
        assert!(!notes.contains("SECRETVALUE"));
    }

    #[test]
    fn tls_parameters_reach_the_driver() {
        assert_eq!(
            ok("postgres://u@h/d?sslmode=disable").config.get_ssl_mode(),
            SslMode::Disable
        );
        assert_eq!(
            ok("postgres://u@h/d?sslmode=require").config.get_ssl_mode(),
            SslMode::Require
        );
        assert_eq!(
            ok("postgres://u@h/d?sslmode=verify-full&sslrootcert=system")
                .config
                .get_ssl_mode(),
            SslMode::Require
        );
        let spec = ConnectSpec::parse_with_env("postgres://u@h/d", None, None, &|name| {
            (name == "PGSSLMODE").then(|| "require".to_string())
        })
        .unwrap();
        assert_eq!(spec.config.get_ssl_mode(), SslMode::Require);
        assert!(
            spec.notes[0].contains("PGSSLMODE=require"),
            "{:?}",
            spec.notes
        );
    }

    #[test]
    fn debug_output_has_no_secret() {
        let spec = ok(&format!("postgres://app:{SECRET}@h/d?sslpassword={SECRET}"));
        assert!(!format!("{spec:?}").contains(SECRET));
        assert!(!spec.notes.join(" ").contains(SECRET));
        assert!(!spec.warnings.join(" ").contains(SECRET));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%20b", "x").unwrap(), "a b");
        assert_eq!(decode("%41%42%4a", "x").unwrap(), "ABJ");
        for bad in ["%zz", "%4", "100%", "a%+1b", "%-1", "% 1"] {
            let err = decode(bad, "password").unwrap_err().to_string();
            assert!(
                err.contains("invalid percent-encoded sequence"),
                "{bad}: {err}"
            );
            assert!(!err.contains(bad), "{bad} echoed: {err}");
        }
        let err = decode("a%00b", "database name").unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
    }

    #[test]
    fn at_sign_after_the_authority_is_refused_without_echo() {
        for raw in [
            "postgres://app:/S3cret@host/db",
            "postgres://app:1234/S3cret@host/db",
            "postgres://app:1234?S3cret@host/db",
        ] {
            let text = reason(raw);
            assert!(
                text.contains("percent-encode reserved characters"),
                "{raw}: {text}"
            );
            assert!(
                !text.contains("S3cret") && !text.contains("1234") && !text.contains("db"),
                "{raw}: {text}"
            );
        }
    }
}
