//! The connection layer end to end: URL parsing (exit 3 before any connection), TLS against a
//! TLS-only cluster with a throwaway CA (support/tls.rs), authentication, timeouts, read-only
//! sessions, schemas and Unix sockets. Every run of the binary in this file goes through [`go`],
//! which checks that no password of this file appears in stdout or stderr.

use crate::contract;
use crate::support::tls::{
    encode, fresh_tls_db, tls_cluster, TlsDb, CERT_USER, IDENTITY_PASSWORD, TLS_PASSWORD,
    TLS_PASSWORD_MARKER,
};
use crate::support::{
    admin_client, closed_port, fresh_db, quote_ident, run_with_env, server_socket_dir, Migrations,
    Run, TestDb, Watched, POSTGRES_LOCK_TOML,
};
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A password put into URLs of the main cluster (trust authentication ignores it).
const MAIN_SECRET: &str = "Main-s3cret-7c1d55e2";
/// A wrong password for the TLS cluster's `app`.
const WRONG_PASSWORD: &str = "Wr0ng-pw-b81e4aa0";

/// Every secret of this file, as it could appear (raw or percent-encoded).
fn secrets() -> Vec<String> {
    let mut all = vec![
        TLS_PASSWORD.to_string(),
        encode(TLS_PASSWORD),
        TLS_PASSWORD_MARKER.to_string(),
        IDENTITY_PASSWORD.to_string(),
        MAIN_SECRET.to_string(),
        WRONG_PASSWORD.to_string(),
    ];
    all.sort();
    all.dedup();
    all
}

/// Runs `prisma-release --migrations <m> <args…>` with `DATABASE_URL=url` (and `envs`), and fails
/// the test if any secret of this file appears in its output.
#[track_caller]
fn go(url: &str, m: &Migrations, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let run = run_with_env(url, m.path(), args, envs);
    assert_no_secret(&run);
    run
}

#[track_caller]
fn assert_no_secret(run: &Run) {
    for secret in secrets() {
        assert!(
            !run.output().contains(&secret),
            "a secret ({secret}) leaked into the output\n{run}"
        );
    }
}

/// A refusal, checked in both formats: the human run (with `-v`) exits `code` with `needle` on
/// stderr; the JSON run (with `-v`) prints one document with `ok: false`, the exit code and the
/// error id, and the message contains `needle` too. Returns the human run.
#[track_caller]
fn refused(
    url: &str,
    m: &Migrations,
    command: &str,
    envs: &[(&str, &str)],
    code: i32,
    id: &str,
    needle: &str,
) -> Run {
    let human = go(url, m, &[command, "-v"], envs);
    human.expect_code(code);
    assert!(
        human.stderr.contains(needle),
        "stderr should say `{needle}`\n{human}"
    );
    let json = go(url, m, &[command, "-v", "--format", "json"], envs);
    json.expect_code(code);
    let doc = json.json();
    assert_eq!(doc["ok"], false, "{json}");
    assert_eq!(doc["exit_code"], code, "{json}");
    assert_eq!(doc["error"]["id"], id, "{json}");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "error.message: {message}\n{json}");
    let database = &doc["database"];
    if code == 3 {
        assert!(
            database.is_null(),
            "an invalid URL is not echoed back\n{json}"
        );
    } else {
        // The URL was valid: its target is named, and only host, port, database and schema.
        let keys: Vec<&str> = database
            .as_object()
            .unwrap_or_else(|| panic!("`database` names the target\n{json}"))
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["host", "name", "port", "schema"], "{json}");
    }
    human
}

fn migrations() -> Migrations {
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_init",
            "CREATE TABLE \"User\" (id SERIAL PRIMARY KEY, email TEXT NOT NULL);\n",
        )
        .add(
            "20240102000000_posts",
            "CREATE TABLE \"Post\" (id SERIAL PRIMARY KEY, title TEXT);\n",
        );
    m
}

/// `schema.table` exists in the TLS database.
fn tls_table_exists(db: &TlsDb, schema: &str, table: &str) -> bool {
    db.admin_client()
        .query_one(
            "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            &[&schema, &table],
        )
        .unwrap()
        .get(0)
}

fn table_exists(db: &TestDb, schema: &str, table: &str) -> bool {
    db.client()
        .query_one(
            "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            &[&schema, &table],
        )
        .unwrap()
        .get(0)
}

/// A listener on 127.0.0.1 that accepts connections and never answers; stops with the value.
struct SilentServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&accepted));
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        held.push(stream);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        SilentServer {
            port,
            stop,
            accepted,
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------------

#[test]
fn heroku_style_url_without_sslmode_connects_over_tls_and_deploys() {
    let db = fresh_tls_db();
    let m = migrations();
    // Heroku's DATABASE_URL: no sslmode, a certificate nobody can verify.
    let url = db.url("localhost", "");
    let run = go(&url, &m, &["deploy", "-v"], &[]);
    run.success();
    assert!(
        run.stderr.contains(
            "encrypted (TLS), server certificate not verified (sslmode=prefer, the default)"
        ),
        "-v says how the session is protected\n{run}"
    );
    assert!(tls_table_exists(&db, "public", "User"), "{run}");
    assert!(
        tls_table_exists(&db, "public", "_prisma_migrations"),
        "{run}"
    );
    let status = go(&url, &m, &["status", "--format", "json"], &[]);
    status.success();
    let report = contract::status(&status.stdout);
    assert_eq!(report.counts.applied, 2, "{status}");
    let database = report.database.unwrap();
    assert_eq!(
        (database.host.as_str(), database.name.as_str()),
        ("localhost", db.name())
    );
}

#[test]
fn sslmode_require_works_without_a_ca() {
    let db = fresh_tls_db();
    let m = migrations();
    // By IP address, so not even the host name could be checked: nothing is verified.
    for (host, query) in [
        ("127.0.0.1", "sslmode=require"),
        ("localhost", "sslmode=no-verify"),
        (
            "127.0.0.1",
            "sslmode=require&sslaccept=accept_invalid_certs",
        ),
    ] {
        let run = go(&db.url(host, query), &m, &["deploy", "-v"], &[]);
        run.success();
        assert!(
            run.stderr
                .contains("encrypted (TLS), server certificate not verified"),
            "{run}"
        );
    }
    assert!(tls_table_exists(&db, "public", "Post"));
}

#[test]
fn verify_full_with_the_right_ca_works() {
    let db = fresh_tls_db();
    let m = migrations();
    let ca = tls_cluster().ca_file();
    let query = format!(
        "sslmode=verify-full&sslrootcert={}",
        encode(&ca.display().to_string())
    );
    let run = go(&db.url("localhost", &query), &m, &["deploy", "-v"], &[]);
    run.success();
    assert!(
        run.stderr.contains(
            "encrypted (TLS), server certificate and host name verified against the CA of sslrootcert (sslmode=verify-full)"
        ),
        "{run}"
    );
    // verify-ca checks the chain only: the IP address is fine.
    let query = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    let run = go(&db.url("127.0.0.1", &query), &m, &["status", "-v"], &[]);
    run.success();
    assert!(
        run.stderr
            .contains("host name not checked (sslmode=verify-ca)"),
        "{run}"
    );
    // libpq: `require` with a root certificate verifies the CA.
    let query = format!("sslmode=require&sslrootcert={}", ca.display());
    let run = go(&db.url("127.0.0.1", &query), &m, &["status", "-v"], &[]);
    run.success();
    assert!(
        run.stderr
            .contains("verified against the CA of sslrootcert"),
        "{run}"
    );
    // PGSSLMODE applies when the URL has no sslmode.
    let query = format!("sslrootcert={}", ca.display());
    let run = go(
        &db.url("localhost", &query),
        &m,
        &["status", "-v"],
        &[("PGSSLMODE", "verify-full")],
    );
    run.success();
    assert!(run.stderr.contains("host name verified"), "{run}");
    assert!(run.stderr.contains("PGSSLMODE=verify-full"), "{run}");
}

#[test]
fn verify_full_with_a_wrong_ca_exits_4() {
    let db = fresh_tls_db();
    let m = migrations();
    let wrong = tls_cluster().wrong_ca_file();
    for mode in ["verify-full", "verify-ca"] {
        let query = format!("sslmode={mode}&sslrootcert={}", wrong.display());
        refused(
            &db.url("localhost", &query),
            &m,
            "deploy",
            &[],
            4,
            "connect/failed",
            &format!("server certificate not trusted (sslmode={mode})"),
        );
    }
    assert!(!tls_table_exists(&db, "public", "_prisma_migrations"));
}

#[test]
fn verify_full_with_a_host_name_mismatch_exits_4() {
    let db = fresh_tls_db();
    let m = migrations();
    // The certificate is for `localhost` only.
    let query = format!(
        "sslmode=verify-full&sslrootcert={}",
        tls_cluster().ca_file().display()
    );
    let run = refused(
        &db.url("127.0.0.1", &query),
        &m,
        "deploy",
        &[],
        4,
        "connect/failed",
        "server certificate is not valid for host `127.0.0.1` (sslmode=verify-full)",
    );
    assert!(
        run.stderr.contains(db.name()),
        "errors name the database\n{run}"
    );
    assert!(!tls_table_exists(&db, "public", "_prisma_migrations"));
}

#[test]
fn sslaccept_strict_verifies_like_prisma() {
    let db = fresh_tls_db();
    let m = migrations();
    // Prisma's strict mode: the system trust store does not know the throwaway CA.
    for query in ["sslaccept=strict", "sslmode=require&sslaccept=strict"] {
        refused(
            &db.url("localhost", query),
            &m,
            "deploy",
            &[],
            4,
            "connect/failed",
            "server certificate not trusted (",
        );
    }
    // With Prisma's sslcert (a root CA) it verifies and connects.
    let query = format!(
        "sslaccept=strict&sslcert={}",
        tls_cluster().ca_file().display()
    );
    let run = go(&db.url("localhost", &query), &m, &["deploy", "-v"], &[]);
    run.success();
    assert!(
        run.stderr
            .contains("host name verified against the CA of sslcert and the system trust store"),
        "{run}"
    );
}

#[test]
fn sslmode_disable_against_a_tls_only_server_exits_4_and_says_why() {
    let db = fresh_tls_db();
    let m = migrations();
    refused(
        &db.url("localhost", "sslmode=disable"),
        &m,
        "deploy",
        &[],
        4,
        "connect/failed",
        "server requires TLS but sslmode=disable",
    );
    // PGSSLMODE when the URL has none, named as such.
    refused(
        &db.url("localhost", ""),
        &m,
        "status",
        &[("PGSSLMODE", "disable")],
        4,
        "connect/failed",
        "server requires TLS but PGSSLMODE=disable",
    );
    // The URL's sslmode wins over PGSSLMODE.
    go(
        &db.url("localhost", "sslmode=require"),
        &m,
        &["deploy"],
        &[("PGSSLMODE", "disable")],
    )
    .success();
}

#[test]
fn wrong_password_exits_4_and_is_never_printed() {
    let db = fresh_tls_db();
    let m = migrations();
    let url = db.url_with_password("localhost", WRONG_PASSWORD, "sslmode=require");
    for command in ["deploy", "status"] {
        let run = refused(
            &url,
            &m,
            command,
            &[],
            4,
            "connect/failed",
            "authentication failed for user `app`",
        );
        // Authentication failures are final: no retries.
        assert!(!run.stderr.contains("attempts"), "{run}");
    }
    // Also through --database-url and --url-env, with -v.
    let flag = go("", &m, &["deploy", "-v", "--database-url", &url], &[]);
    flag.expect_code(4);
    let via_env = go(
        "",
        &m,
        &["deploy", "-v", "--json", "--url-env", "DIRECT_URL"],
        &[("DIRECT_URL", &url)],
    );
    via_env.expect_code(4);
    assert!(!tls_table_exists(&db, "public", "_prisma_migrations"));
}

/// The driver gives "the server wants a password and the URL has none" no error kind, so it is the one
/// failure told by its text: it must still come out as an authentication failure (final, with the
/// credentials hint), not as a configuration one.
#[test]
fn a_url_without_the_password_the_server_asks_for_exits_4_with_the_credentials_hint() {
    let db = fresh_tls_db();
    let m = migrations();
    let url = format!(
        "postgres://app@localhost:{}/{}?sslmode=require",
        tls_cluster().port,
        db.name()
    );
    let run = refused(
        &url,
        &m,
        "deploy",
        &[],
        4,
        "connect/failed",
        "the server asks for a password, but the URL has none for user `app`",
    );
    assert!(!run.stderr.contains("attempts"), "final at once\n{run}");
    assert!(
        run.stderr
            .contains("hint: check the user and password in the URL"),
        "{run}"
    );
    assert!(!tls_table_exists(&db, "public", "_prisma_migrations"));
}

#[test]
fn client_identity_authenticates_with_a_certificate() {
    let db = fresh_tls_db();
    let m = migrations();
    let cluster = tls_cluster();
    let url = format!(
        "postgres://{CERT_USER}@localhost:{}/{}?sslmode=verify-full&sslrootcert={}&sslidentity={}&sslpassword={}",
        cluster.port,
        db.name(),
        cluster.ca_file().display(),
        cluster.client_identity_file().display(),
        encode(IDENTITY_PASSWORD),
    );
    // `status` only reads: certuser may connect but not create anything.
    let run = go(&url, &m, &["status", "-v"], &[]);
    run.expect_code(12);
    assert!(run.stderr.contains("host name verified"), "{run}");
    // Without the identity the server refuses the certificate-less connection.
    let bare = url.split("&sslidentity").next().unwrap();
    let run = go(bare, &m, &["status"], &[]);
    run.expect_code(4);
    // A wrong identity password is a configuration error, found before connecting.
    let wrong = url.replace(&encode(IDENTITY_PASSWORD), "nope");
    refused(
        &wrong,
        &m,
        "status",
        &[],
        3,
        "config/url_invalid",
        "sslidentity",
    );
    let missing = format!("{bare}&sslidentity=/nonexistent/id.p12");
    refused(
        &missing,
        &m,
        "status",
        &[],
        3,
        "config/url_invalid",
        "not found",
    );
}

// ---------------------------------------------------------------------------------------------------
// Parsing: exit 3, before any connection
// ---------------------------------------------------------------------------------------------------

#[test]
fn malformed_urls_and_parameters_exit_3_without_connecting() {
    let m = migrations();
    // Anything that tried to connect would land here.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("postgres://app:{MAIN_SECRET}@127.0.0.1:{port}/db");
    let with = |query: &str| format!("{base}?{query}");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("postgres://app:{MAIN_SECRET}@127.0.0.1:99999/db"),
            "invalid port",
        ),
        (
            format!("postgres://app:{MAIN_SECRET}@127.0.0.1:54x/db"),
            "invalid port",
        ),
        (
            format!("postgres://app:{MAIN_SECRET}@127.0.0.1:0/db"),
            "port 0",
        ),
        (
            format!("mysql://app:{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "unsupported scheme",
        ),
        (
            format!("http://app:{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "unsupported scheme",
        ),
        (
            format!("pgsql://app:{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "postgres://",
        ),
        (
            format!("app:{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "postgres://",
        ),
        (format!("127.0.0.1:{port}/db"), "postgres://"),
        (
            format!("//app:{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "no scheme",
        ),
        (
            format!("postgres:app:{MAIN_SECRET}@127.0.0.1/db"),
            "authority",
        ),
        (format!("postgres://app:{MAIN_SECRET}@[::1/db"), "IPv6"),
        (
            format!("postgres://app:{MAIN_SECRET}@[::1:{port}/db"),
            "IPv6",
        ),
        (
            format!("postgres://app:{MAIN_SECRET}@[fe80::zz]:{port}/db"),
            "IPv6",
        ),
        (
            format!("postgres://app:{MAIN_SECRET}@bad host:{port}/db"),
            "invalid",
        ),
        (format!("\"{base}\""), "quotes"),
        (
            format!("postgres://app:{MAIN_SECRET}#x@127.0.0.1:{port}/db"),
            "%23",
        ),
        (
            format!("postgres://app:%FF%FE{MAIN_SECRET}@127.0.0.1:{port}/db"),
            "UTF-8",
        ),
        (
            format!("prisma+postgres://accelerate.prisma-data.net/?api_key={MAIN_SECRET}"),
            "DIRECT_URL",
        ),
        (with("connect_timeout=soon"), "connect_timeout"),
        (with("connect_timeout=-1"), "connect_timeout"),
        (with("connect_timeout=1.5"), "connect_timeout"),
        (with("socket_timeout=abc"), "socket_timeout"),
        (with("pool_timeout=x"), "pool_timeout"),
        (with("statement_cache_size=many"), "statement_cache_size"),
        (with("connection_limit=-5"), "connection_limit"),
        (
            with("max_connection_lifetime=1h"),
            "max_connection_lifetime",
        ),
        (with("pgbouncer=yes"), "pgbouncer"),
        (with("pgbouncer=1"), "pgbouncer"),
        (with("sslmode=verify_full"), "sslmode=verify_full"),
        (with("sslmode=required"), "sslmode=required"),
        (
            with("sslrootcert=/nonexistent/root.crt&sslmode=verify-full"),
            "not found",
        ),
        (with("sslcert=/nonexistent/ca.pem"), "not found"),
        (with("sslrootcert=system&sslmode=require"), "verify-full"),
        (with("schema=a%00b"), "NUL"),
    ];
    assert!(cases.len() >= 20);
    for (url, needle) in &cases {
        refused(url, &m, "deploy", &[], 3, "config/url_invalid", needle);
        // The same through --database-url.
        let flag = go("", &m, &["status", "--database-url", url], &[]);
        flag.expect_code(3);
    }
    // PGSSLMODE is checked too.
    refused(
        &base,
        &m,
        "deploy",
        &[("PGSSLMODE", "sometimes")],
        3,
        "config/url_invalid",
        "PGSSLMODE=sometimes",
    );
    // Empty or missing: exit 3 naming the variable that was read.
    for (var, value) in [("DATABASE_URL", ""), ("DATABASE_URL", "   ")] {
        let run = go(value, &m, &["deploy"], &[]);
        run.expect_code(3);
        assert!(run.stderr.contains(var), "{run}");
    }
    let run = go(&base, &m, &["deploy", "--url-env", "MY_DB_URL"], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("MY_DB_URL"), "{run}");
    // Nobody knocked.
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("a malformed URL led to a connection attempt from {peer}"),
        Err(e) => panic!("accept: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------------
// Main cluster: schema, Unix socket, timeouts, retries, read-only, pooler
// ---------------------------------------------------------------------------------------------------

#[test]
fn schema_parameter_puts_history_and_objects_in_that_schema() {
    let db = fresh_db();
    let m = migrations();
    let url = with_param(&with_password(db.url()), "schema=tenant_a");
    let run = go(&url, &m, &["deploy", "-v"], &[]);
    run.success();
    assert!(table_exists(&db, "tenant_a", "_prisma_migrations"), "{run}");
    assert!(table_exists(&db, "tenant_a", "User"), "{run}");
    assert!(table_exists(&db, "tenant_a", "Post"), "{run}");
    assert!(!table_exists(&db, "public", "_prisma_migrations"), "{run}");
    assert!(!table_exists(&db, "public", "User"), "{run}");
    let status = go(&url, &m, &["status", "--json"], &[]);
    status.success();
    assert_eq!(
        contract::status(&status.stdout).database.unwrap().schema,
        "tenant_a"
    );
    // Without schema= the public schema is still empty: nothing was migrated there.
    let public = go(&with_password(db.url()), &m, &["status"], &[]);
    public.expect_code(12);
    // --db-schema wins, and any name is quoted safely.
    let weird = "Tenant \"B\"; DROP SCHEMA public";
    let run = go(&url, &m, &["deploy", "--db-schema", weird], &[]);
    run.success();
    assert!(table_exists(&db, weird, "_prisma_migrations"), "{run}");
    assert!(table_exists(&db, weird, "User"), "{run}");
    let encoded = with_param(
        &with_password(db.url()),
        &format!("schema={}", encode(weird)),
    );
    go(&encoded, &m, &["status"], &[]).success();
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// The test database's URL with [`MAIN_SECRET`] as password (ignored by trust authentication).
fn with_password(url: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    if parsed.password().is_none() && !parsed.username().is_empty() {
        parsed.set_password(Some(MAIN_SECRET)).unwrap();
    }
    parsed.to_string()
}

#[test]
fn unix_socket_directory_in_the_host_parameter() {
    let dir = server_socket_dir();
    let db = fresh_db();
    let m = migrations();
    let port = crate::support::server_port();
    let dir = dir.display().to_string();
    for url in [
        format!(
            "postgres://postgres:{MAIN_SECRET}@localhost:{port}/{}?host={}",
            db.name(),
            encode(&dir)
        ),
        format!(
            "postgresql://postgres@{}:{port}/{}",
            encode(&dir),
            db.name()
        ),
    ] {
        let run = go(&url, &m, &["deploy", "-v"], &[]);
        run.success();
        assert!(run.stderr.contains("not encrypted (Unix socket"), "{run}");
        assert!(
            run.stderr.contains(&dir),
            "the target names the socket directory\n{run}"
        );
    }
    assert!(table_exists(&db, "public", "User"));
    // A directory without a server socket: exit 4, naming it.
    let missing = format!(
        "postgres://postgres@localhost:{port}/{}?host=/nonexistent-socket-dir",
        db.name()
    );
    let run = go(&missing, &m, &["status", "--connect-timeout", "1s"], &[]);
    run.expect_code(4);
    assert!(run.stderr.contains("/nonexistent-socket-dir"), "{run}");
}

#[test]
fn connect_timeout_is_honoured_against_a_server_that_never_answers() {
    let m = migrations();
    let silent = SilentServer::start();
    let url = format!("postgres://app:{MAIN_SECRET}@127.0.0.1:{}/db", silent.port);
    for (url, args) in [
        (format!("{url}?connect_timeout=1"), vec!["deploy"]),
        // --connect-timeout overrides the URL (here: no timeout at all).
        (
            format!("{url}?connect_timeout=0"),
            vec!["status", "--connect-timeout", "1s"],
        ),
    ] {
        let started = Instant::now();
        let run = go(&url, &m, &args, &[]);
        let took = started.elapsed();
        run.expect_code(4);
        assert!(run.stderr.contains("within 1s (connect_timeout"), "{run}");
        // Retried within a budget of a few timeouts: generous bounds only.
        assert!(took >= Duration::from_secs(1), "took {took:?}\n{run}");
        assert!(took < Duration::from_secs(30), "took {took:?}\n{run}");
    }
    assert!(silent.accepted.load(Ordering::SeqCst) >= 2);
}

#[test]
fn refused_connections_are_retried_then_exit_4() {
    let m = migrations();
    let port = closed_port();
    let url = format!("postgres://app:{MAIN_SECRET}@127.0.0.1:{port}/db");
    let run = refused(
        &url,
        &m,
        "deploy",
        &[],
        4,
        "connect/failed",
        &format!("127.0.0.1:{port}"),
    );
    assert!(run.stderr.contains("gave up after"), "{run}");
    assert!(run.stderr.to_lowercase().contains("refused"), "{run}");
}

#[test]
fn read_only_session_refuses_deploy_but_status_works() {
    let db = fresh_db();
    let m = migrations();
    let url = with_param(
        &with_password(db.url()),
        "options=-c%20default_transaction_read_only%3Don",
    );
    refused(
        &url,
        &m,
        "deploy",
        &[],
        4,
        "connect/read_only",
        "default_transaction_read_only is on",
    );
    assert!(!table_exists(&db, "public", "_prisma_migrations"));
    let status = go(&url, &m, &["status", "--json"], &[]);
    status.expect_code(12);
    assert_eq!(
        contract::status(&status.stdout).counts.pending,
        2,
        "{status}"
    );
    // The same server without the option deploys.
    go(&with_password(db.url()), &m, &["deploy"], &[]).success();
}

#[test]
fn pooled_urls_warn_about_advisory_locks() {
    let db = fresh_db();
    let m = migrations();
    let url = with_param(&with_password(db.url()), "pgbouncer=true");
    let run = go(&url, &m, &["deploy"], &[]);
    run.success();
    assert!(
        run.stderr
            .contains("warning: this URL looks like a connection pooler (pgbouncer=true)"),
        "{run}"
    );
    assert!(run.stderr.contains("--url-env"), "{run}");
    let json = go(&url, &m, &["status", "--json"], &[]);
    json.success();
    assert!(json.stderr.contains("advisory locks"), "{json}");
}

#[test]
fn too_many_connections_is_retried_until_the_server_accepts() {
    let db = fresh_db();
    let m = migrations();
    // A role of the test's own (with a password, so any server authenticates it), whose
    // `CONNECTION LIMIT 0` makes the server answer 53300 (too_many_connections), like a full server.
    let url = db.role_url(MAIN_SECRET);
    let limit = |n: i32| {
        let sql = format!(
            "ALTER ROLE {} CONNECTION LIMIT {n}",
            quote_ident(&db.role())
        );
        admin_client().batch_execute(&sql).unwrap();
    };
    limit(0);
    // Still full when the budget (3 × 1s) runs out: exit 4, after several attempts.
    let run = refused(
        &with_param(&url, "connect_timeout=1"),
        &m,
        "status",
        &[],
        4,
        "connect/failed",
        "too many connections",
    );
    assert!(
        run.stderr.contains("(53300)") && run.stderr.contains("gave up after"),
        "{run}"
    );
    // Room made while the tool is retrying (it says so, and how long it waits): it gets in.
    let mut status = Watched::spawn(&url, m.path(), &["status", "--connect-timeout", "5s"], &[]);
    let warning = status.wait_for_stderr("retrying in");
    assert!(warning.contains("(53300)"), "{warning}");
    limit(-1);
    let run = status.finish();
    assert_no_secret(&run);
    run.expect_code(12);
}
