//! The npm packages from `scripts/release` (`dist/`), installed the way a user installs them: packed
//! with `npm pack`, installed from the tarballs into a throwaway Node app with `npm install
//! --offline` (every platform package mapped to its tarball with `overrides`; the registry is set
//! to a closed loopback port, so nothing can be fetched), then run with `npx`/`node_modules/.bin`
//! against a real database. Checks the launcher's pass-through of exit codes and SIGTERM, `npm ci`
//! from the lockfile, `npm prune --omit=dev`, the missing-platform error, and that the buildpack
//! uses the npm-installed binary.
//!
//! `#[ignore]`d like `release.rs` (they need `dist/`, minutes to build): `.ci/run` runs them with
//! `--include-ignored` after `scripts/release`; without the artifacts they fail saying what to run.

use crate::release::{artifact, VERSION};
use crate::support::*;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limit for one npm command (offline, local tarballs: seconds).
const NPM_TIMEOUT: Duration = Duration::from_secs(300);

/// The npm platform package of this machine (the tests run where the binary runs).
fn platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "linux-x64",
        "aarch64" => "linux-arm64",
        other => panic!("no prisma-release npm platform package for {other}"),
    }
}

/// A throwaway Node app using the packed packages; `field` is `dependencies` or `devDependencies`.
fn node_app(root: &Path, name: &str, field: &str) -> PathBuf {
    let app = root.join(name);
    fs::create_dir_all(&app).unwrap();
    let tarball = |name: String| format!("file:{}", artifact(&name).display());
    let manifest = serde_json::json!({
        "name": name,
        "version": "1.0.0",
        "private": true,
        field: { "prisma-release": tarball(format!("prisma-release-{VERSION}.tgz")) },
        "overrides": {
            "@prisma-release/linux-x64": tarball(format!("prisma-release-linux-x64-{VERSION}.tgz")),
            "@prisma-release/linux-arm64": tarball(format!("prisma-release-linux-arm64-{VERSION}.tgz")),
        },
    });
    fs::write(
        app.join("package.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prisma"),
        &app.join("prisma"),
    );
    app
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `program args...` in `app` with npm isolated: its own cache and empty user config next to the
/// app, no audit/fund/update checks, and a registry on a closed loopback port.
fn in_app(app: &Path, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let home = app.parent().unwrap().join("npm-home");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join("npmrc"), "").unwrap();
    let mut cmd = Command::new(program);
    cmd.current_dir(app)
        .args(args)
        .stdin(Stdio::null())
        .env("npm_config_cache", home.join("cache"))
        .env("npm_config_userconfig", home.join("npmrc"))
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .env_remove("DATABASE_URL")
        .envs(envs.iter().copied());
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str() {
            if key.starts_with("PRISMA_") || key.to_ascii_lowercase().starts_with("npm_config_omit")
            {
                cmd.env_remove(key);
            }
        }
    }
    cmd
}

fn npm(app: &Path, args: &[&str]) -> Run {
    npm_with(app, args, &[])
}

fn npm_with(app: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let cmd = in_app(app, "npm", args, envs);
    let description = format!("npm {}", args.join(" "));
    let child = spawn_piped(cmd, &description);
    let run = wait_with_timeout(child, NPM_TIMEOUT, &description);
    assert_eq!(run.code, 0, "{description} failed\n{run}");
    run
}

fn spawn_piped(mut cmd: Command, description: &str) -> std::process::Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description} (is Node.js/npm installed?): {e}"))
}

/// The installed launcher (what `npx prisma-release` and a Procfile run).
fn launcher(app: &Path) -> PathBuf {
    app.join("node_modules/.bin/prisma-release")
}

fn installed(root: &Path, name: &str) -> PathBuf {
    let app = node_app(root, name, "dependencies");
    npm(&app, &["install", "--offline"]);
    app
}

fn temp(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

fn run_in(app: &Path, program: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let cmd = in_app(app, program.to_str().unwrap(), args, envs);
    let description = format!("{} {}", program.display(), args.join(" "));
    wait_with_timeout(
        spawn_piped(cmd, &description),
        DEFAULT_RUN_TIMEOUT,
        &description,
    )
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn npm_packages_install_offline_and_npx_deploys_with_exit_codes_passed_through() {
    let root = temp("prisma-release-npm-");
    let app = installed(root.path(), "app");
    let own = app.join(format!(
        "node_modules/@prisma-release/{}/bin/prisma-release",
        platform()
    ));
    assert!(
        own.is_file(),
        "the platform package for this machine is installed"
    );
    let other = if platform() == "linux-x64" {
        "linux-arm64"
    } else {
        "linux-x64"
    };
    assert!(
        !app.join(format!("node_modules/@prisma-release/{other}"))
            .exists(),
        "npm skips the other CPU's package (os/cpu fields)"
    );

    // npx prisma-release deploy applies the migrations to a real database.
    let db = fresh_db();
    let npx = |args: &[&str], url: &str| {
        let mut all = vec!["--offline", "prisma-release"];
        all.extend_from_slice(args);
        let cmd = in_app(&app, "npx", &all, &[("DATABASE_URL", url)]);
        let description = format!("npx {}", all.join(" "));
        wait_with_timeout(spawn_piped(cmd, &description), NPM_TIMEOUT, &description)
    };
    let run = npx(&["deploy"], db.url());
    run.success();
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL"),
        Some(5),
        "{run}"
    );
    // Exit codes pass through: 0 (nothing to do), 3 (bad input), 11 (a migration failed).
    npx(&["deploy"], db.url()).expect_code(0);
    let bad = format!("{}?sslmode=verify_full", db.url());
    let run = npx(&["deploy"], &bad);
    run.expect_code(3);
    assert!(
        run.stderr.contains("sslmode"),
        "the binary's own message\n{run}"
    );
    let failing = app.join("failing");
    fs::create_dir_all(failing.join("20240101000000_broken")).unwrap();
    fs::write(failing.join("migration_lock.toml"), POSTGRES_LOCK_TOML).unwrap();
    fs::write(
        failing.join("20240101000000_broken/migration.sql"),
        "CREATE TABLE broken (id int);\nSELECT no_such_function();\n",
    )
    .unwrap();
    let other_db = fresh_db();
    npx(&["--migrations", "failing", "deploy"], other_db.url()).expect_code(11);

    // The buildpack, run on this app, links the npm package's binary instead of downloading one.
    let dir = temp("prisma-release-npm-bp-");
    let run = {
        let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/compile"));
        cmd.args([&app, &dir.path().join("cache"), &dir.path().join("env")])
            .stdin(Stdio::null());
        run_command(cmd)
    };
    run.success();
    assert!(
        run.stdout
            .contains("Using the prisma-release npm package installed in the app"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains(&format!("Installed prisma-release {VERSION}")),
        "{run}"
    );

    // npm ci from the lockfile npm wrote, then npm prune --omit=dev: still installed and working.
    assert!(app.join("package-lock.json").is_file());
    fs::remove_dir_all(app.join("node_modules")).unwrap();
    npm(&app, &["ci", "--offline"]);
    npm(&app, &["prune", "--omit=dev", "--offline"]);
    let run = run_in(&app, &launcher(&app), &["--version"], &[]);
    run.success();
    assert_eq!(
        run.stdout.trim(),
        format!("prisma-release {VERSION}"),
        "{run}"
    );
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn npm_prune_removes_it_from_dev_dependencies_but_keeps_it_in_dependencies() {
    let root = temp("prisma-release-npm-prune-");
    let kept = installed(root.path(), "kept");
    let dev = node_app(root.path(), "dev", "devDependencies");
    npm(&dev, &["install", "--offline"]);
    assert!(launcher(&dev).exists(), "installed before the prune");
    for app in [&kept, &dev] {
        npm(app, &["prune", "--omit=dev", "--offline"]);
    }
    assert!(
        !launcher(&dev).exists(),
        "a devDependency is pruned (why the README says dependencies)"
    );
    run_in(&kept, &launcher(&kept), &["--version"], &[]).success();
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn launcher_forwards_every_sigterm_and_the_exit_code_or_signal() {
    let root = temp("prisma-release-npm-sig-");
    let app = installed(root.path(), "app");
    let db = fresh_db();
    run_in(
        &app,
        &launcher(&app),
        &["deploy"],
        &[("DATABASE_URL", db.url())],
    )
    .success();

    // The guard execs a shell that counts SIGTERMs and exits 42 after the second one.
    let marks = root.path().join("terms");
    let ready = root.path().join("ready");
    fs::write(&marks, "").unwrap();
    let script = format!(
        "trap 'echo term >> {m}' TERM; echo ready > {r}; \
         while :; do sleep 0.05; [ \"$(wc -l < {m})\" -ge 2 ] && exit 42; done",
        m = marks.display(),
        r = ready.display()
    );
    let cmd = in_app(
        &app,
        launcher(&app).to_str().unwrap(),
        &["guard", "--", "sh", "-c", &script],
        &[("DATABASE_URL", db.url())],
    );
    let child = spawn_piped(cmd, "prisma-release guard -- sh");
    let pid = child.id();
    wait_for(|| ready.exists(), "the guarded shell to start");
    signal(pid, "TERM");
    wait_for(
        || fs::read_to_string(&marks).unwrap().lines().count() == 1,
        "the first SIGTERM to reach the shell",
    );
    signal(pid, "TERM");
    let run = wait_with_timeout(child, DEFAULT_RUN_TIMEOUT, "prisma-release guard -- sh");
    assert_eq!(fs::read_to_string(&marks).unwrap(), "term\nterm\n", "{run}");
    run.expect_code(42);

    // A child that does not handle SIGTERM dies of it, and so does the launcher (128 + 15).
    let cmd = in_app(
        &app,
        launcher(&app).to_str().unwrap(),
        &["guard", "--", "sleep", "30"],
        &[("DATABASE_URL", db.url())],
    );
    let child = spawn_piped(cmd, "prisma-release guard -- sleep");
    let pid = child.id();
    wait_for(|| child_named(pid, "sleep"), "the guard to exec sleep");
    signal(pid, "TERM");
    let run = wait_with_timeout(child, DEFAULT_RUN_TIMEOUT, "prisma-release guard -- sleep");
    run.expect_code(128 + 15);
}

/// True when process `parent` has a child whose command name is `name`.
fn child_named(parent: u32, name: &str) -> bool {
    let children =
        fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).unwrap_or_default();
    children.split_whitespace().any(|pid| {
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == name)
    })
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn missing_platform_package_says_why_and_what_to_do() {
    let root = temp("prisma-release-npm-omit-");
    let app = node_app(root.path(), "app", "dependencies");
    npm(&app, &["install", "--offline", "--omit=optional"]);
    assert!(launcher(&app).exists(), "the launcher itself is installed");
    let package = format!("@prisma-release/{}", platform());
    assert!(!app.join("node_modules").join(&package).exists());
    let run = run_in(&app, &launcher(&app), &["deploy"], &[]);
    run.expect_code(127);
    for needle in [
        format!("the package {package}@{VERSION} is missing"),
        "--omit=optional".to_string(),
        "package-lock.json was written on another OS".to_string(),
        format!("npm install --save-exact {package}@{VERSION}"),
        "never downloads".to_string(),
    ] {
        assert!(run.stderr.contains(&needle), "missing `{needle}`\n{run}");
    }

    // An unsupported platform (simulated: process.arch overridden before the launcher runs).
    let preload = root.path().join("mips.js");
    fs::write(
        &preload,
        "Object.defineProperty(process, 'arch', { value: 'mips' });\n",
    )
    .unwrap();
    let js = app.join("node_modules/prisma-release/bin/prisma-release.js");
    let run = run_in(
        &app,
        Path::new("node"),
        &[
            "--require",
            preload.to_str().unwrap(),
            js.to_str().unwrap(),
            "--version",
        ],
        &[],
    );
    run.expect_code(127);
    assert!(
        run.stderr
            .contains("no prebuilt binary for this platform (linux-mips)")
            && run.stderr.contains("cargo install"),
        "{run}"
    );
}

/// A loopback stand-in for the npm registry: serves `body` at `path` (404 for anything else) and
/// counts the requests for it. Its thread ends with the test binary.
struct Registry {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn registry_serving(path: String, body: Vec<u8>) -> Registry {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let requested = request_line.split_whitespace().nth(1).unwrap_or("");
            let (status, content): (&str, &[u8]) = if requested == path {
                counter.fetch_add(1, Ordering::SeqCst);
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"not found")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            let _ = stream.write_all(content);
        }
    });
    Registry { url, hits }
}

#[test]
#[ignore = "needs dist/ from scripts/release (minutes); .ci/run builds it and runs this with --include-ignored"]
fn postinstall_fallback_fetches_the_platform_package_and_checks_its_sha256() {
    let suffix = platform();
    let tgz = fs::read(artifact(&format!("prisma-release-{suffix}-{VERSION}.tgz"))).unwrap();
    let path = format!("/@prisma-release/{suffix}/-/{suffix}-{VERSION}.tgz");
    let fetched = |app: &Path| {
        app.join(format!(
            "node_modules/prisma-release/bin/prisma-release-{suffix}"
        ))
    };

    // The platform package omitted, the registry has it: fetched, verified, used by the launcher.
    let root = temp("prisma-release-npm-fallback-");
    let registry = registry_serving(path.clone(), tgz.clone());
    let app = node_app(root.path(), "app", "dependencies");
    npm_with(
        &app,
        &["install", "--offline", "--omit=optional"],
        &[("npm_config_registry", &registry.url)],
    );
    assert_eq!(registry.hits.load(Ordering::SeqCst), 1, "one download");
    assert!(!app
        .join(format!("node_modules/@prisma-release/{suffix}"))
        .exists());
    assert!(fetched(&app).is_file(), "the fallback binary");
    let run = run_in(&app, &launcher(&app), &["--version"], &[]);
    run.success();
    assert_eq!(
        run.stdout.trim(),
        format!("prisma-release {VERSION}"),
        "{run}"
    );

    // The registry serves other bytes: the install still succeeds, nothing is kept, and the
    // launcher explains the missing package.
    let mut tampered = tgz;
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let registry = registry_serving(path, tampered);
    let app = node_app(root.path(), "tampered", "dependencies");
    npm_with(
        &app,
        &["install", "--offline", "--omit=optional"],
        &[("npm_config_registry", &registry.url)],
    );
    assert_eq!(registry.hits.load(Ordering::SeqCst), 1);
    assert!(
        !fetched(&app).exists(),
        "a tarball with the wrong SHA-256 is not used"
    );
    let run = run_in(&app, &launcher(&app), &["--version"], &[]);
    run.expect_code(127);
    assert!(run.stderr.contains("is missing"), "{run}");
}
