//! Test harness of the integration tests: a real PostgreSQL server, a fresh database per test,
//! and helpers to run the real `prisma-release` binary.
//!
//! - Server: `TEST_DATABASE_URL` (a `postgres://` URL of a role that may `CREATE DATABASE`) if
//!   set, otherwise one throwaway cluster per test binary, started lazily on first use from the
//!   server binaries found on `PATH`, under `/usr/lib/postgresql/*/bin` (highest version) or in
//!   `/usr/local/pgsql/bin` (`PG_BIN_DIR` overrides). A watchdog process stops it and deletes its
//!   directory once the test binary has exited.
//! - [`fresh_db`] gives each test its own database; [`TestDb`] has query helpers.
//! - [`run`] / [`run_with_env`] / [`spawn`] run the binary against a database and a
//!   [`Migrations`] folder.
//!
//! Not every helper is used by every test file yet, hence the `dead_code`/`unused_imports`
//! allowance.
#![allow(dead_code, unused_imports)]

mod cli;
mod cluster;
mod db;
mod migrations;
pub mod netns;
mod proxy;
mod server;
pub mod tls;
mod watch;

pub use cli::{
    bin, command, exit_code, finish, run, run_command, run_raw, run_with_env, scrub_env, spawn,
    wait_with_timeout, Run, DEFAULT_RUN_TIMEOUT, SCRUBBED_ENV,
};
pub use db::{describe, fresh_db, history_snapshot, quote_ident, TestDb};
pub use migrations::{sha256_hex, Migrations, POSTGRES_LOCK_TOML, PRISMA_DDL};
pub use proxy::{closed_port, Proxy};
pub use server::{
    admin_client, server_admin_url, server_description, server_is_managed, server_port,
    server_socket_dir, TEST_DATABASE_URL,
};
pub use watch::{Watched, WATCH_TIMEOUT};
