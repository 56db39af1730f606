//! The release artifacts that `scripts/release VERSION` writes to `dist/` (or `$PRISMA_RELEASE_DIST`):
//! the static x86_64 musl binary from its tarball — statically linked, and deploying over TLS with
//! `sslmode=require` and `verify-full` against the test CA with OpenSSL compiled in.
//!
//! These tests need the artifacts, which take minutes to build, so they are `#[ignore]`d: `.ci/run`
//! runs `scripts/release` and then `cargo test --test it release:: npm:: -- --include-ignored`.
//! Run without the artifacts, they fail saying which command makes them (never a silent skip).

use crate::support::tls::{encode, fresh_tls_db, tls_cluster};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The version the artifacts are expected to have: this crate's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The directory holding the artifacts: `$PRISMA_RELEASE_DIST`, else `dist/` in the repository.
pub fn dist() -> PathBuf {
    std::env::var_os("PRISMA_RELEASE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("dist"))
}

/// The artifact `name` in [`dist`]; panics with the command that makes it when it is missing.
pub fn artifact(name: &str) -> PathBuf {
    let path = dist().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the release artifacts first with `scripts/release {VERSION}` \
         (or set PRISMA_RELEASE_DIST to a directory that holds them)",
        path.display()
    );
    path
}

/// The x86_64 static binary, unpacked once from its release tarball.
pub fn static_binary() -> &'static Path {
    static UNPACKED: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = UNPACKED.get_or_init(|| {
        let tarball = artifact(&format!(
            "prisma-release-{VERSION}-x86_64-unknown-linux-musl.tar.gz"
        ));
        let dir = tempfile::Builder::new()
            .prefix("prisma-release-static-")
            .tempdir()
            .expect("temp dir");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("run tar");
        assert!(status.success(), "cannot unpack {}", tarball.display());
        let binary = dir.path().join("prisma-release");
        assert!(
            binary.is_file(),
            "{} holds no prisma-release",
            tarball.display()
        );
        (dir, binary)
    });
    path
}

/// Runs the static binary like `support::run` runs the dev one (scrubbed environment).
fn run_static(db_url: &str, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = command(db_url, dir, args);
    let mut static_cmd = Command::new(static_binary());
    static_cmd.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => static_cmd.env(key, value),
            None => static_cmd.env_remove(key),
        };
    }
    cmd = static_cmd;
    cmd.env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(envs.iter().copied())
        .stdin(Stdio::null());
    run_command(cmd)
}

fn tool_output(program: &str, arg: &Path) -> String {
    let out = Command::new(program).arg(arg).output().unwrap_or_else(|e| {
        panic!("cannot run {program} (install it: apt-get install {program}): {e}")
    });
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn static_binary_is_statically_linked_and_reports_its_version() {
    let binary = static_binary();
    let file = tool_output("file", binary);
    assert!(
        file.contains("statically linked") || file.contains("static-pie linked"),
        "file says: {file}"
    );
    assert!(file.contains("x86-64"), "file says: {file}");
    let ldd = tool_output("ldd", binary);
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "ldd says: {ldd}"
    );
    let mut cmd = Command::new(binary);
    cmd.arg("--version");
    let run = run_command(cmd);
    run.success();
    assert_eq!(
        run.stdout.trim(),
        format!("prisma-release {VERSION}"),
        "{run}"
    );
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn static_binary_deploys_over_tls_with_require_and_verify_full() {
    let m = Migrations::new();
    m.add(
        "20240101000000_init",
        "CREATE TABLE a (id int PRIMARY KEY);",
    )
    .add(
        "20240102000000_more",
        "CREATE TABLE b (id int PRIMARY KEY);",
    );
    let ca = encode(&tls_cluster().ca_file().display().to_string());

    // sslmode=require: encrypted, not verified (what Heroku Postgres needs).
    let db = fresh_tls_db();
    let run = run_static(
        &db.url("127.0.0.1", "sslmode=require"),
        m.path(),
        &["deploy", "-v"],
        &[],
    );
    run.success();
    assert!(run.stderr.contains("encrypted (TLS)"), "{run}");
    let applied: i64 = db
        .admin_client()
        .query_one(
            "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(applied, 2, "{run}");

    // verify-full against the test CA: the vendored OpenSSL verifies chain and host name.
    let db = fresh_tls_db();
    let query = format!("sslmode=verify-full&sslrootcert={ca}");
    let run = run_static(
        &db.url("localhost", &query),
        m.path(),
        &["deploy", "-v"],
        &[],
    );
    run.success();
    assert!(
        run.stderr.contains(
            "server certificate and host name verified against the CA of sslrootcert (sslmode=verify-full)"
        ),
        "{run}"
    );
    // ... and refuses a host name the certificate does not name, and a CA that did not sign it.
    let run = run_static(&db.url("127.0.0.1", &query), m.path(), &["status"], &[]);
    run.expect_code(4);
    let wrong = encode(&tls_cluster().wrong_ca_file().display().to_string());
    let query = format!("sslmode=verify-full&sslrootcert={wrong}");
    let run = run_static(&db.url("localhost", &query), m.path(), &["status"], &[]);
    run.expect_code(4);

    // The system roots (sslrootcert=system): OpenSSL's SSL_CERT_FILE is honoured by the static
    // binary, so a CA bundle named there is trusted, and without it the test CA is not.
    let query = "sslmode=verify-full&sslrootcert=system";
    let ca_path = tls_cluster().ca_file().display().to_string();
    let run = run_static(
        &db.url("localhost", query),
        m.path(),
        &["status"],
        &[("SSL_CERT_FILE", &ca_path)],
    );
    run.success();
    let run = run_static(&db.url("localhost", query), m.path(), &["status"], &[]);
    run.expect_code(4);
}

/// The tarball holds exactly the binary, and SHA256SUMS lists every artifact with its real sum.
#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn sha256sums_match_the_artifacts_and_the_inventory_entry() {
    let sums = fs::read_to_string(artifact("SHA256SUMS")).expect("SHA256SUMS");
    let mut listed = 0;
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").expect("`<sum>  <name>` lines");
        assert_eq!(sha256_hex(fs::read(artifact(name)).unwrap()), sum, "{name}");
        listed += 1;
    }
    let tarball = format!("prisma-release-{VERSION}-x86_64-unknown-linux-musl.tar.gz");
    for name in [
        tarball.as_str(),
        &format!("prisma-release-{VERSION}.tgz"),
        &format!("prisma-release-linux-x64-{VERSION}.tgz"),
    ] {
        assert!(
            sums.contains(&format!("  {name}\n")),
            "{name} not in\n{sums}"
        );
    }
    assert!(listed >= 3, "{sums}");
    let inventory = fs::read_to_string(artifact(&format!("inventory-{VERSION}.toml"))).unwrap();
    let tarball_sum = sha256_hex(fs::read(artifact(&tarball)).unwrap());
    assert!(
        inventory.contains(&format!(
            "version = \"{VERSION}\"\ntarget = \"x86_64-unknown-linux-musl\"\nsha256 = \"{tarball_sum}\"\n"
        )),
        "{inventory}"
    );
}

/// Where Debian/Ubuntu (and Heroku's stacks) keep the system CA bundle.
const DEBIAN_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The compiled-in OpenSSL's own default directory is not the system's; the binary must find the
/// distribution's bundle by itself (native-tls probes the usual places). Proved without touching the
/// machine: in a private mount namespace (`unshare -m`, root), the test CA is bind-mounted over the
/// system bundle, and `sslrootcert=system` must then trust the test server.
#[test]
#[ignore = "needs dist/ from scripts/release (minutes) and root for unshare -m; .ci/run runs it with --include-ignored"]
fn static_binary_finds_the_system_ca_bundle_without_ssl_cert_file() {
    assert!(
        Path::new(DEBIAN_CA_BUNDLE).is_file(),
        "{DEBIAN_CA_BUNDLE} is missing: apt-get install ca-certificates"
    );
    let m = Migrations::new();
    m.add(
        "20240101000000_init",
        "CREATE TABLE a (id int PRIMARY KEY);",
    );
    let db = fresh_tls_db();
    let url = db.url("localhost", "sslmode=verify-full&sslrootcert=system");
    let script = format!(
        "mount --bind {ca} {bundle} && exec {bin} --migrations {dir} deploy -v",
        ca = tls_cluster().ca_file().display(),
        bundle = DEBIAN_CA_BUNDLE,
        bin = static_binary().display(),
        dir = m.path().display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("DATABASE_URL", &url)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null());
    let run = run_command(cmd);
    assert!(
        !run.stderr.contains("unshare failed") && !run.stderr.contains("mount:"),
        "this test needs root (unshare -m and mount --bind)\n{run}"
    );
    run.success();
    assert!(run.stderr.contains("verified"), "{run}");
    // Outside the namespace the system bundle does not hold the test CA: refused.
    let run = run_static(&url, m.path(), &["status"], &[]);
    run.expect_code(4);
}
