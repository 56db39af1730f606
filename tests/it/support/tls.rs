//! A second throwaway cluster that only speaks TLS, for the connection tests.
//!
//! Started lazily on first use (like the main one, and with the same watchdog, which stops it and
//! deletes its directory once the test binary has exited). At start, the `openssl` CLI makes a
//! throwaway CA, a server certificate for `localhost` (and only `localhost`) signed by it, a second
//! unrelated CA, and a client identity (PKCS#12) for the role `certuser`. The server runs with
//! `ssl=on`, and its `pg_hba.conf` takes TCP connections only over TLS:
//!
//! ```text
//! local     all all                trust          (the harness's own admin connection)
//! hostssl   all certuser 127.0.0.1/32 cert        (client-certificate authentication)
//! hostssl   all all      127.0.0.1/32 scram-sha-256
//! hostnossl all all      0.0.0.0/0  reject
//! ```
//!
//! The role `app` has the password [`TLS_PASSWORD`]. Each test gets its own database ([`fresh_tls_db`]).
//! This cluster is always started locally, also under `TEST_DATABASE_URL` (it needs the server
//! binaries and `openssl`); without them the tests fail saying what to install.

use super::cluster::{self, chown_to_postgres, Recipe};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The password of the role `app`. It contains characters that must be percent-encoded in a URL;
/// [`TLS_PASSWORD_MARKER`] is a part of it that survives encoding, for "never printed" checks.
pub const TLS_PASSWORD: &str = "Tls-p@ss/w:rd#9f3c71ab";
/// A substring of [`TLS_PASSWORD`] that is the same encoded or not.
pub const TLS_PASSWORD_MARKER: &str = "9f3c71ab";
/// The password of the PKCS#12 client identity.
pub const IDENTITY_PASSWORD: &str = "id-pass-4d2e90c1";
/// The role of the client identity (`cert` authentication: the certificate's CN).
pub const CERT_USER: &str = "certuser";

/// The TLS-only cluster of this test binary.
pub struct TlsCluster {
    /// TCP port on 127.0.0.1 (TLS only).
    pub port: u16,
    dir: PathBuf,
}

impl TlsCluster {
    /// The CA that signed the server certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("certs/ca.crt")
    }

    /// A CA that signed nothing the server uses (PEM).
    pub fn wrong_ca_file(&self) -> PathBuf {
        self.dir.join("certs/wrong-ca.crt")
    }

    /// The PKCS#12 identity of [`CERT_USER`], protected by [`IDENTITY_PASSWORD`].
    pub fn client_identity_file(&self) -> PathBuf {
        self.dir.join("certs/client.p12")
    }

    /// A connection as the superuser through the Unix socket (trust), to `database`.
    pub fn admin_client(&self, database: &str) -> postgres::Client {
        postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname(database)
            .connect_timeout(Duration::from_secs(10))
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to the TLS test cluster's {database}: {}",
                    super::db::describe(&e)
                )
            })
    }
}

static CLUSTER: OnceLock<Result<TlsCluster, String>> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The TLS cluster, started on first use (concurrent first callers wait for one start).
pub fn tls_cluster() -> &'static TlsCluster {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(message) => panic!("{message}"),
    }
}

/// A database of its own on the TLS cluster, owned by `app`; dropped with the value (kept, and
/// named, when the test panics).
pub struct TlsDb {
    name: String,
}

/// Creates `tls_<pid>_<n>` on the TLS cluster.
pub fn fresh_tls_db() -> TlsDb {
    let cluster = tls_cluster();
    let name = format!(
        "tls_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    cluster
        .admin_client("postgres")
        .batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER app"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {}", super::db::describe(&e)));
    TlsDb { name }
}

impl TlsDb {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://app:<password, percent-encoded>@<host>:<port>/<db>` plus `query` (without `?`).
    pub fn url(&self, host: &str, query: &str) -> String {
        self.url_with_password(host, TLS_PASSWORD, query)
    }

    /// Like [`url`](Self::url) with another password (e.g. a wrong one).
    pub fn url_with_password(&self, host: &str, password: &str, query: &str) -> String {
        let mut url = format!(
            "postgres://app:{}@{host}:{}/{}",
            encode(password),
            tls_cluster().port,
            self.name
        );
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// A superuser connection to this database (through the Unix socket).
    pub fn admin_client(&self) -> postgres::Client {
        tls_cluster().admin_client(&self.name)
    }
}

impl Drop for TlsDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("note: keeping TLS test database {}", self.name);
            return;
        }
        let _ = tls_cluster()
            .admin_client("postgres")
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
    }
}

/// Percent-encodes everything but unreserved characters (for passwords in URLs).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn start() -> Result<TlsCluster, String> {
    if Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        return Err(
            "the TLS connection tests need the `openssl` command to make test \
                    certificates (Debian/Ubuntu: `apt-get install -y openssl`)"
                .into(),
        );
    }
    let started = cluster::start(&Recipe {
        name: "TLS test",
        prepare: &|dir, as_postgres| {
            make_certificates(&dir.join("certs"))?;
            install_server_files(dir, as_postgres)
        },
        settings: &[
            "ssl=on",
            "ssl_cert_file=server.crt",
            "ssl_key_file=server.key",
            "ssl_ca_file=ca.crt",
            "password_encryption=scram-sha-256",
            "max_connections=100",
        ],
    })?;
    let cluster = TlsCluster {
        port: started.port,
        dir: started.dir,
    };
    create_roles(&cluster)?;
    Ok(cluster)
}

/// Writes the CA, the wrong CA, the server certificate for `localhost` and the client identity.
fn make_certificates(certs: &Path) -> Result<(), String> {
    fs::create_dir_all(certs).map_err(|e| format!("create {}: {e}", certs.display()))?;
    fs::write(certs.join("openssl.cnf"), OPENSSL_CNF).map_err(|e| e.to_string())?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [
        ("ca", "prisma-release test CA"),
        ("wrong-ca", "unrelated CA"),
    ] {
        openssl(
            certs,
            &[
                &[
                    "req",
                    "-x509",
                    "-config",
                    "openssl.cnf",
                    "-extensions",
                    "ca",
                ][..],
                &ec,
                &[
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.crt"),
                    "-days",
                    "3",
                    "-subj",
                    &format!("/CN={cn}"),
                ],
            ]
            .concat(),
        )?;
    }
    for (name, cn, extensions, serial) in [
        ("server", "localhost", "server", "2"),
        ("client", CERT_USER, "client", "3"),
    ] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        let subject = format!("/CN={cn}");
        openssl(
            certs,
            &[
                &["req", "-new", "-config", "openssl.cnf"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", &subject],
            ]
            .concat(),
        )?;
        openssl(
            certs,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                serial,
                "-days",
                "3",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                extensions,
                "-out",
                &crt,
            ],
        )?;
    }
    openssl(
        certs,
        &[
            "pkcs12",
            "-export",
            "-in",
            "client.crt",
            "-inkey",
            "client.key",
            "-out",
            "client.p12",
            "-passout",
            &format!("pass:{IDENTITY_PASSWORD}"),
        ],
    )?;
    // The tests read these as whatever user they run as; the directory is the cluster's.
    for entry in fs::read_dir(certs).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
";

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "openssl {} failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// Copies the server's key material into the data directory (the key private to the server's
/// user, as PostgreSQL insists) and writes the TLS-only `pg_hba.conf`.
fn install_server_files(dir: &Path, as_postgres: bool) -> Result<(), String> {
    let certs = dir.join("certs");
    let data = dir.join("data");
    for (from, to, mode) in [
        ("server.crt", "server.crt", 0o644),
        ("server.key", "server.key", 0o600),
        ("ca.crt", "ca.crt", 0o644),
    ] {
        let target = data.join(to);
        fs::copy(certs.join(from), &target).map_err(|e| format!("copy {from}: {e}"))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {to}: {e}"))?;
        if as_postgres {
            chown_to_postgres(&target)?;
        }
    }
    let hba = "\
local     all all                     trust
hostssl   all certuser 127.0.0.1/32   cert
hostssl   all certuser ::1/128        cert
hostssl   all all      127.0.0.1/32   scram-sha-256
hostssl   all all      ::1/128        scram-sha-256
hostnossl all all      0.0.0.0/0      reject
hostnossl all all      ::/0           reject
";
    fs::write(data.join("pg_hba.conf"), hba).map_err(|e| format!("write pg_hba.conf: {e}"))
}

fn create_roles(cluster: &TlsCluster) -> Result<(), String> {
    let literal = TLS_PASSWORD.replace('\'', "''");
    cluster
        .admin_client("postgres")
        .batch_execute(&format!(
            "SET password_encryption = 'scram-sha-256';
             CREATE ROLE app LOGIN CREATEDB PASSWORD '{literal}';
             CREATE ROLE {CERT_USER} LOGIN;"
        ))
        .map_err(|e| format!("creating the TLS test roles: {}", super::db::describe(&e)))
}
