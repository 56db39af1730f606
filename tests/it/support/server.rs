//! One PostgreSQL server per test binary.
//!
//! Either an existing server named by `TEST_DATABASE_URL`, or a throwaway cluster started on first
//! use ([`super::cluster`]). The cluster is owned by a small watchdog shell (its own process group,
//! so a Ctrl-C of `cargo test` does not reach it) that polls the test process every 0.5 s and,
//! once that is gone however it ended, stops the postmaster (immediate shutdown) and deletes the
//! directory. Rust never runs destructors of statics, so nothing here relies on `Drop`.

use super::cluster::{self, Recipe};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

/// Name of the environment variable that points the suite at an existing server.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The server the whole test binary uses.
pub(crate) struct Server {
    /// URL of the maintenance database (`postgres` for a harness cluster).
    pub(crate) admin_url: String,
    pub(crate) port: u16,
    kind: Kind,
}

enum Kind {
    /// A cluster this process created; `dir` is deleted by the watchdog.
    Managed { dir: PathBuf },
    /// `TEST_DATABASE_URL`: databases are addressed by replacing the path of this URL.
    External { base: url::Url },
}

impl Server {
    /// A URL for database `name` on this server.
    pub(crate) fn url_for(&self, name: &str) -> String {
        match &self.kind {
            Kind::Managed { .. } => format!("postgres://postgres@127.0.0.1:{}/{name}", self.port),
            Kind::External { base } => {
                let mut url = base.clone();
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
        }
    }

    pub(crate) fn is_managed(&self) -> bool {
        matches!(self.kind, Kind::Managed { .. })
    }
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The server of this test binary, started on first use. Race-free: concurrent first callers block
/// until one of them has started it. A failure is remembered, so every test reports the same error
/// instead of each one trying to start its own cluster.
pub(crate) fn server() -> &'static Server {
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// URL of the server's maintenance database, for a connection that may `CREATE DATABASE`.
pub fn server_admin_url() -> String {
    server().admin_url.clone()
}

/// TCP port of the server (5432 if `TEST_DATABASE_URL` names none).
pub fn server_port() -> u16 {
    server().port
}

/// The Unix socket directory of the server: the harness cluster's directory, or under
/// `TEST_DATABASE_URL` the first of the server's `unix_socket_directories` that holds its socket on
/// this machine. Fails the test when there is none (say so rather than skip).
pub fn server_socket_dir() -> PathBuf {
    let server = server();
    if let Kind::Managed { dir } = &server.kind {
        return dir.clone();
    }
    let setting: String = admin_client()
        .query_one("SHOW unix_socket_directories", &[])
        .map(|row| row.get(0))
        .unwrap_or_default();
    let socket = format!(".s.PGSQL.{}", server.port);
    setting
        .split(',')
        .map(|dir| PathBuf::from(dir.trim()))
        .find(|dir| dir.join(&socket).exists())
        .unwrap_or_else(|| {
            panic!(
                "this test needs the server's Unix socket on this machine, but TEST_DATABASE_URL's \
                 server has none here (unix_socket_directories = '{setting}'); unset \
                 TEST_DATABASE_URL to use the harness cluster"
            )
        })
}

/// True when the harness started its own cluster, false under `TEST_DATABASE_URL`.
pub fn server_is_managed() -> bool {
    server().is_managed()
}

/// A new connection to the maintenance database.
pub fn admin_client() -> postgres::Client {
    connect(&server().admin_url).unwrap_or_else(|e| {
        panic!(
            "cannot connect to the test server's admin database: {}",
            super::db::describe(&e)
        )
    })
}

/// Connects with a 10 s connect timeout (no TLS).
pub(crate) fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config = postgres::Config::from_str(url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.connect(postgres::NoTls)
}

fn start() -> Result<Server, String> {
    if let Some(url) = std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return external(url.trim());
    }
    let started = cluster::start(&Recipe {
        name: "test",
        prepare: &|_, _| Ok(()),
        settings: &[],
    })?;
    Ok(Server {
        admin_url: format!("postgres://postgres@127.0.0.1:{}/postgres", started.port),
        port: started.port,
        kind: Kind::Managed { dir: started.dir },
    })
}

fn external(url: &str) -> Result<Server, String> {
    let base =
        url::Url::parse(url).map_err(|e| format!("{TEST_DATABASE_URL} is not a valid URL: {e}"))?;
    if !matches!(base.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "{TEST_DATABASE_URL} must be a postgres:// or postgresql:// URL"
        ));
    }
    let port = base.port().unwrap_or(5432);
    let server = Server {
        admin_url: url.to_string(),
        port,
        kind: Kind::External { base },
    };
    connect(url).map_err(|e| {
        format!(
            "cannot connect to {TEST_DATABASE_URL} (host {:?}, port {port}): {}",
            server_host(&server),
            super::db::describe(&e)
        )
    })?;
    Ok(server)
}

fn server_host(server: &Server) -> String {
    match &server.kind {
        Kind::External { base } => base.host_str().unwrap_or("").to_string(),
        Kind::Managed { .. } => "127.0.0.1".to_string(),
    }
}

/// A short description of the server for diagnostics.
pub fn server_description() -> String {
    let server = server();
    let mut out = String::new();
    match &server.kind {
        Kind::Managed { dir } => {
            let _ = write!(
                out,
                "harness cluster on 127.0.0.1:{} in {}",
                server.port,
                dir.display()
            );
        }
        Kind::External { .. } => {
            let _ = write!(
                out,
                "{TEST_DATABASE_URL} server {}:{}",
                server_host(server),
                server.port
            );
        }
    }
    out
}
