//! The buildpack (`bin/detect`, `bin/compile`, `bin/release`, `bin/build`), run offline against temp
//! directories the way Heroku's classic build system and a CNB lifecycle run it: a copy of the
//! buildpack in its own directory, a sanitised environment (`env -i` plus what a build has), an app
//! with `prisma/migrations`.
//!
//! The release-binary path (the default: the buildpack's inventory) is tested with a `file://`
//! inventory whose tarball holds the binary under test: the buildpack only checks, caches and
//! unpacks it, so any Linux binary proves the mechanism (the static release binary itself is tested
//! in `release.rs`).
//!
//! Tests named `slow_*` compile this repository with `cargo build --release --locked` (the
//! fallback when the inventory has no entry and cargo exists; two to five minutes on two cores)
//! exactly once per test run: they share one cold classic compile, then check the dyno's PATH, a
//! second compile with the same cache, and a CNB build whose cache layer is the one a previous
//! build left. The compile is offline: it uses the cargo registry of the machine running the tests
//! (`CARGO_HOME`, which `cargo test` has just filled) with `CARGO_NET_OFFLINE=true`. They are
//! `#[ignore]`d so the everyday `cargo test` stays fast; `.ci/run` runs them with
//! `cargo test --test it buildpack::slow_ -- --include-ignored`.

use crate::support::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Generous limit for one cold release build on a busy 2-core CI machine.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Limit for everything else the scripts do.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// The buildpack's files (what Heroku clones; `target/` and the tests are not needed).
const BUILDPACK_FILES: &[&str] = &[
    "bin",
    "buildpack.toml",
    "inventory.toml",
    "Cargo.toml",
    "Cargo.lock",
    "src",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temporary directory")
}

/// Recursive copy that keeps the permission bits (the scripts must stay executable).
fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    if meta.is_dir() {
        fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
        for entry in fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("dir entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to)
            .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
    }
}

/// A copy of the buildpack under `dir/buildpack`, like Heroku's checkout of a buildpack URL.
fn buildpack_copy(dir: &Path) -> PathBuf {
    let bp = dir.join("buildpack");
    for name in BUILDPACK_FILES {
        copy_tree(&repo().join(name), &bp.join(name));
    }
    bp
}

/// An app with the example migrations (5 of them) and a Procfile, under `dir/name`.
fn prisma_app(dir: &Path, name: &str) -> PathBuf {
    let app = dir.join(name);
    copy_tree(&repo().join("examples/prisma"), &app.join("prisma"));
    fs::write(
        app.join("Procfile"),
        "release: prisma-release deploy\nweb: prisma-release guard -- node dist/server.js\n",
    )
    .expect("write Procfile");
    app
}

/// A command with the environment of a build: nothing of ours, except what is listed.
fn clean(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().stdin(Stdio::null());
    for key in ["HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STACK", "heroku-24");
    cmd
}

/// `clean`, plus the cargo registry of this machine, offline: what makes the compile
/// offline-capable in CI (where `cargo test` has just downloaded every crate into it).
fn offline_cargo(program: &Path) -> Command {
    let mut cmd = clean(program);
    cmd.env("CARGO_HOME", cargo_home())
        .env("CARGO_NET_OFFLINE", "true");
    cmd
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"))
}

/// A `PATH` directory holding only the basic tools the scripts use: no cargo, no rustc.
fn toolbox(dir: &Path) -> PathBuf {
    let bin = dir.join("toolbox");
    fs::create_dir_all(&bin).expect("mkdir toolbox");
    let tools = [
        "bash",
        "sed",
        "mkdir",
        "cat",
        "uname",
        "dirname",
        "cp",
        "mv",
        "rm",
        "chmod",
        "grep",
        "sha256sum",
        "cut",
        "find",
        "sort",
        "xargs",
        "env",
        "curl",
        "wget",
        "ls",
        "tr",
        "tar",
        "gzip",
        "ln",
        "head",
        "od",
        "mktemp",
    ];
    for tool in tools {
        let found = ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file());
        // Idempotent: a test may build several times with the same toolbox.
        let link = bin.join(tool);
        if let (Some(path), false) = (found, link.exists()) {
            std::os::unix::fs::symlink(path, link).expect("symlink tool");
        }
    }
    bin
}

fn run_script(mut cmd: Command, timeout: Duration) -> Run {
    let description = format!("{cmd:?}");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    wait_with_timeout(child, timeout, &description)
}

fn sha256_file(path: &Path) -> String {
    sha256_hex(fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

/// The prisma-release installed into a classic slug.
fn slug_binary(build_dir: &Path) -> PathBuf {
    build_dir.join(".heroku/prisma-release/bin/prisma-release")
}

// ---- the one cold compile shared by the slow tests

struct Compiled {
    _root: tempfile::TempDir,
    buildpack: PathBuf,
    cache: PathBuf,
    build_dir: PathBuf,
    run: Run,
    took: Duration,
}

static COMPILED: OnceLock<Result<Compiled, String>> = OnceLock::new();

/// `bin/compile` on an empty cache (cargo compiles everything), once per test binary.
fn cold_compile() -> &'static Compiled {
    let compiled = COMPILED.get_or_init(|| {
        let root = temp("prisma-release-bp-");
        let buildpack = buildpack_copy(root.path());
        let build_dir = prisma_app(root.path(), "build");
        let cache = root.path().join("cache");
        let env_dir = root.path().join("env");
        fs::create_dir_all(&env_dir).expect("mkdir env");
        let mut cmd = offline_cargo(&buildpack.join("bin/compile"));
        cmd.args([&build_dir, &cache, &env_dir]);
        let started = Instant::now();
        let run = run_script(cmd, COMPILE_TIMEOUT);
        let took = started.elapsed();
        eprintln!("buildpack: cold bin/compile took {took:.1?}");
        if run.code != 0 {
            return Err(format!(
                "the cold bin/compile failed (CARGO_HOME={}, offline)\n{run}",
                cargo_home().display()
            ));
        }
        Ok(Compiled {
            _root: root,
            buildpack,
            cache,
            build_dir,
            run,
            took,
        })
    });
    match compiled {
        Ok(compiled) => compiled,
        Err(message) => panic!("{message}"),
    }
}

// ---- detect

#[test]
fn classic_detect_accepts_prisma_apps_and_rejects_others() {
    let dir = temp("prisma-release-detect-");
    let detect = repo().join("bin/detect");
    let with_migrations = prisma_app(dir.path(), "migrations");
    let run = run_script(
        {
            let mut c = clean(&detect);
            c.arg(&with_migrations);
            c
        },
        SCRIPT_TIMEOUT,
    );
    run.success();
    assert_eq!(run.stdout, "prisma-release\n", "{run}");

    let schema_only = dir.path().join("schema-only");
    fs::create_dir_all(schema_only.join("prisma")).unwrap();
    fs::write(schema_only.join("prisma/schema.prisma"), "// schema\n").unwrap();
    let mut cmd = clean(&detect);
    cmd.arg(&schema_only);
    run_script(cmd, SCRIPT_TIMEOUT).success();

    let other = dir.path().join("other");
    fs::create_dir_all(other.join("src")).unwrap();
    fs::write(other.join("package.json"), "{}\n").unwrap();
    let mut cmd = clean(&detect);
    cmd.arg(&other);
    let run = run_script(cmd, SCRIPT_TIMEOUT);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn cnb_detect_passes_with_a_build_plan_or_fails_with_100() {
    let dir = temp("prisma-release-cnb-detect-");
    let platform = dir.path().join("platform");
    fs::create_dir_all(platform.join("env")).unwrap();
    let detect = repo().join("bin/detect");
    let cnb = |app: &Path, plan: &Path| {
        let mut cmd = clean(&detect);
        cmd.current_dir(app)
            .env("CNB_BUILD_PLAN_PATH", plan)
            .env("CNB_PLATFORM_DIR", &platform)
            .env("CNB_BUILDPACK_DIR", repo());
        run_script(cmd, SCRIPT_TIMEOUT)
    };
    let app = prisma_app(dir.path(), "app");
    let plan = dir.path().join("plan.toml");
    cnb(&app, &plan).success();
    let written = fs::read_to_string(&plan).expect("the build plan");
    assert!(
        written.contains("[[provides]]\nname = \"prisma-release\""),
        "{written}"
    );
    assert!(
        written.contains("[[requires]]\nname = \"prisma-release\""),
        "{written}"
    );

    let other = dir.path().join("other");
    fs::create_dir_all(&other).unwrap();
    cnb(&other, &dir.path().join("plan2.toml")).expect_code(100);
}

// ---- release

#[test]
fn release_prints_valid_yaml_without_process_types() {
    let dir = temp("prisma-release-release-");
    let mut cmd = clean(&repo().join("bin/release"));
    cmd.arg(dir.path());
    let run = run_script(cmd, SCRIPT_TIMEOUT);
    run.success();
    // A YAML document marker and a flow mapping; flow mappings are JSON, so parse it as such.
    let body = run
        .stdout
        .strip_prefix("--- ")
        .unwrap_or_else(|| panic!("not a YAML document start\n{run}"));
    let value: serde_json::Value = serde_json::from_str(body).expect("a YAML flow mapping");
    assert_eq!(
        value,
        serde_json::json!({}),
        "no addons, no default_process_types\n{run}"
    );
}

// ---- compile: no binary, no cargo

#[test]
fn compile_without_cargo_or_a_binary_says_exactly_what_to_set() {
    let dir = temp("prisma-release-nocargo-");
    let bp = buildpack_copy(dir.path());
    let app = prisma_app(dir.path(), "build");
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let mut cmd = clean(&bp.join("bin/compile"));
    cmd.env("PATH", toolbox(dir.path()))
        .env("HOME", &home)
        .args([&app, &dir.path().join("cache"), &dir.path().join("env")]);
    let run = run_script(cmd, SCRIPT_TIMEOUT);
    run.expect_code(1);
    assert!(
        run.stdout.contains("-----> Installing prisma-release"),
        "{run}"
    );
    assert!(
        run.stderr.contains(" !     "),
        "Heroku error lines on stderr\n{run}"
    );
    assert!(
        run.stderr
            .contains("heroku config:set PRISMA_RELEASE_BINARY="),
        "{run}"
    );
    assert!(run.stderr.contains("cargo"), "{run}");
    assert!(!slug_binary(&app).exists());
}

// ---- compile: a prebuilt binary

#[test]
fn prebuilt_binary_is_used_when_provided() {
    let dir = temp("prisma-release-prebuilt-");
    let bp = buildpack_copy(dir.path());
    let tools = toolbox(dir.path());
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let prebuilt = bin();
    let expected = sha256_file(&prebuilt);
    // No cargo anywhere on PATH or in HOME: the binary can only come from PRISMA_RELEASE_BINARY.
    let compile = |app: &Path, env_dir: &Path, envs: &[(&str, &str)]| {
        let mut cmd = clean(&bp.join("bin/compile"));
        cmd.env("PATH", &tools)
            .env("HOME", &home)
            .envs(envs.iter().copied())
            .args([app, &dir.path().join("cache"), env_dir]);
        run_script(cmd, SCRIPT_TIMEOUT)
    };

    // A config var (ENV_DIR file) naming an absolute path.
    let app = prisma_app(dir.path(), "abs");
    let env_dir = dir.path().join("env-abs");
    fs::create_dir_all(&env_dir).unwrap();
    fs::write(
        env_dir.join("PRISMA_RELEASE_BINARY"),
        prebuilt.to_str().unwrap(),
    )
    .unwrap();
    let run = compile(&app, &env_dir, &[]);
    run.success();
    assert!(run.stdout.contains("Using the prebuilt binary"), "{run}");
    assert!(run.stdout.contains("Installed prisma-release "), "{run}");
    assert_eq!(sha256_file(&slug_binary(&app)), expected);

    // A path relative to the app, with a checksum that matches, from the build's environment.
    let app = prisma_app(dir.path(), "rel");
    fs::create_dir_all(app.join("vendor")).unwrap();
    fs::copy(&prebuilt, app.join("vendor/prisma-release")).unwrap();
    let empty_env = dir.path().join("env-empty");
    fs::create_dir_all(&empty_env).unwrap();
    let run = compile(
        &app,
        &empty_env,
        &[
            ("PRISMA_RELEASE_BINARY", "vendor/prisma-release"),
            ("PRISMA_RELEASE_BINARY_SHA256", &expected),
        ],
    );
    run.success();
    assert!(run.stdout.contains("SHA-256 verified"), "{run}");
    assert_eq!(sha256_file(&slug_binary(&app)), expected);

    // A checksum that does not match stops the build.
    let app = prisma_app(dir.path(), "bad-sum");
    let run = compile(
        &app,
        &empty_env,
        &[
            ("PRISMA_RELEASE_BINARY", prebuilt.to_str().unwrap()),
            ("PRISMA_RELEASE_BINARY_SHA256", &"0".repeat(64)),
        ],
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains(" !     The prisma-release file has SHA-256 "),
        "{run}"
    );

    // A URL with {arch}, when a downloader exists (file:// needs no network).
    if tools.join("curl").exists() || tools.join("wget").exists() {
        let arch =
            String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap();
        let published = dir.path().join(format!("prisma-release-{}", arch.trim()));
        fs::copy(&prebuilt, &published).unwrap();
        let url = format!("file://{}/prisma-release-{{arch}}", dir.path().display());
        let app = prisma_app(dir.path(), "url-no-sum");
        let run = compile(&app, &empty_env, &[("PRISMA_RELEASE_BINARY", &url)]);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains("so PRISMA_RELEASE_BINARY_SHA256 must be set too"),
            "a URL without a checksum is refused\n{run}"
        );
        assert!(!slug_binary(&app).exists());
        let app = prisma_app(dir.path(), "url");
        let run = compile(
            &app,
            &empty_env,
            &[
                ("PRISMA_RELEASE_BINARY", &url),
                ("PRISMA_RELEASE_BINARY_SHA256", &expected),
            ],
        );
        run.success();
        assert!(
            run.stdout.contains("Downloading the prebuilt binary"),
            "{run}"
        );
        assert_eq!(sha256_file(&slug_binary(&app)), expected);
    } else {
        eprintln!("buildpack: neither curl nor wget is installed; the URL form of PRISMA_RELEASE_BINARY was not exercised");
    }

    // CNB: the same setting as a platform env file; the launch layer gets the binary, no cache layer.
    let app = prisma_app(dir.path(), "cnb");
    let layers = dir.path().join("layers");
    let platform = dir.path().join("platform");
    fs::create_dir_all(platform.join("env")).unwrap();
    fs::create_dir_all(&layers).unwrap();
    fs::write(
        platform.join("env/PRISMA_RELEASE_BINARY"),
        prebuilt.to_str().unwrap(),
    )
    .unwrap();
    let run = cnb_build(&bp, &app, &layers, &platform, &tools, &home);
    run.success();
    assert_eq!(
        sha256_file(&layers.join("prisma-release/bin/prisma-release")),
        expected
    );
    assert!(
        !layers.join("prisma-release-cache.toml").exists(),
        "nothing compiled, nothing to cache"
    );
}

/// Runs `bin/build` the way a CNB lifecycle does (cwd = the app, CNB_* variables).
fn cnb_build(
    bp: &Path,
    app: &Path,
    layers: &Path,
    platform: &Path,
    path: &Path,
    home: &Path,
) -> Run {
    let plan = layers.parent().expect("parent").join("bp-plan.toml");
    fs::write(&plan, "[[entries]]\nname = \"prisma-release\"\n").unwrap();
    let mut cmd = clean(&bp.join("bin/build"));
    cmd.current_dir(app)
        .env("PATH", path)
        .env("HOME", home)
        .env("CNB_LAYERS_DIR", layers)
        .env("CNB_PLATFORM_DIR", platform)
        .env("CNB_BP_PLAN_PATH", &plan)
        .env("CNB_BUILDPACK_DIR", bp)
        .env("CNB_TARGET_OS", "linux")
        .env("CNB_TARGET_ARCH", "amd64");
    run_script(cmd, SCRIPT_TIMEOUT)
}

// ---- compile from source (slow: one cold cargo build per test run)

#[test]
#[ignore = "compiles the project in release mode (minutes); .ci/run runs it with --include-ignored"]
fn slow_classic_compile_puts_prisma_release_on_every_dynos_path() {
    let compiled = cold_compile();
    let run = &compiled.run;
    assert!(
        run.stdout.contains("-----> Installing prisma-release"),
        "{run}"
    );
    assert!(
        run.stdout.contains("(cargo build --release --locked)"),
        "{run}"
    );
    assert!(
        run.stdout.contains("Installed prisma-release 0.1.0"),
        "{run}"
    );
    let binary = slug_binary(&compiled.build_dir);
    let mode = fs::metadata(&binary)
        .expect("installed binary")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "not executable: {mode:o}");
    let profile = fs::read_to_string(compiled.build_dir.join(".profile.d/prisma-release.sh"))
        .expect(".profile.d script");
    assert!(
        profile.contains("$HOME/.heroku/prisma-release/bin"),
        "{profile}"
    );
    assert!(
        !profile.contains(compiled.build_dir.to_str().unwrap()),
        "the profile script must not name the build directory\n{profile}"
    );

    // The slug lands somewhere else on the dyno (/app): copy it and start a login-like shell there.
    let dyno = temp("prisma-release-dyno-");
    let app = dyno.path().join("app");
    copy_tree(&compiled.build_dir, &app);
    let db = fresh_db();
    let mut cmd = Command::new("/bin/bash");
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &app)
        .env("DATABASE_URL", db.url())
        .current_dir(dyno.path())
        .arg("-c")
        .arg(
            "set -e; for f in \"$HOME\"/.profile.d/*.sh; do . \"$f\"; done; cd \"$HOME\"; \
             command -v prisma-release; prisma-release --version; prisma-release deploy",
        );
    let run = run_script(cmd, SCRIPT_TIMEOUT);
    run.success();
    assert!(
        run.stdout.contains(&format!(
            "{}/.heroku/prisma-release/bin/prisma-release",
            app.display()
        )),
        "{run}"
    );
    assert!(run.stdout.contains("prisma-release 0.1.0"), "{run}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL"),
        Some(5),
        "{run}"
    );
}

#[test]
#[ignore = "compiles the project in release mode (minutes); .ci/run runs it with --include-ignored"]
fn slow_classic_second_compile_with_the_same_cache_is_much_faster() {
    let compiled = cold_compile();
    let dir = temp("prisma-release-warm-");
    let build_dir = prisma_app(dir.path(), "build");
    let mut cmd = offline_cargo(&compiled.buildpack.join("bin/compile"));
    cmd.args([&build_dir, &compiled.cache, &dir.path().join("env")]);
    let started = Instant::now();
    let run = run_script(cmd, COMPILE_TIMEOUT);
    let took = started.elapsed();
    eprintln!(
        "buildpack: cold bin/compile {:.1?}, second bin/compile with the same cache {took:.1?}",
        compiled.took
    );
    run.success();
    assert!(
        run.stdout
            .contains("Reusing prisma-release compiled by an earlier build"),
        "{run}"
    );
    assert_eq!(
        sha256_file(&slug_binary(&build_dir)),
        sha256_file(&slug_binary(&compiled.build_dir))
    );
    assert!(
        took * 10 < compiled.took,
        "second compile {took:?} is not much faster than the cold one {:?}",
        compiled.took
    );
}

#[test]
#[ignore = "compiles the project in release mode (minutes); .ci/run runs it with --include-ignored"]
fn slow_cnb_build_makes_a_launch_layer_whose_binary_runs() {
    let compiled = cold_compile();
    let dir = temp("prisma-release-cnb-");
    let app = prisma_app(dir.path(), "app");
    let layers = dir.path().join("layers");
    let platform = dir.path().join("platform");
    fs::create_dir_all(platform.join("env")).unwrap();
    // The cache layer as the lifecycle restores it from an earlier build: the compiled binary and
    // its key (cargo's target dir is left out to keep the copy small).
    let cache_layer = layers.join("prisma-release-cache");
    copy_tree(
        &compiled.cache.join("prisma-release/bin"),
        &cache_layer.join("bin"),
    );
    fs::write(
        layers.join("prisma-release-cache.toml"),
        "[types]\ncache = true\n",
    )
    .unwrap();

    let plan = dir.path().join("plan.toml");
    let mut detect = offline_cargo(&compiled.buildpack.join("bin/detect"));
    detect
        .current_dir(&app)
        .env("CNB_BUILD_PLAN_PATH", &plan)
        .env("CNB_PLATFORM_DIR", &platform)
        .env("CNB_BUILDPACK_DIR", &compiled.buildpack);
    run_script(detect, SCRIPT_TIMEOUT).success();

    let run = run_script(
        cnb_build_offline(&compiled.buildpack, &app, &layers, &platform),
        COMPILE_TIMEOUT,
    );
    run.success();
    assert!(
        run.stdout
            .contains("Reusing prisma-release compiled by an earlier build"),
        "{run}"
    );
    let launch_toml =
        fs::read_to_string(layers.join("prisma-release.toml")).expect("launch layer toml");
    assert!(launch_toml.contains("launch = true"), "{launch_toml}");
    let cache_toml =
        fs::read_to_string(layers.join("prisma-release-cache.toml")).expect("cache layer toml");
    assert!(cache_toml.contains("cache = true"), "{cache_toml}");

    // At launch the layer's bin/ is on PATH: deploy from the app directory.
    let db = fresh_db();
    let mut launch = Command::new("/bin/sh");
    launch
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/bin:/bin",
                layers.join("prisma-release/bin").display()
            ),
        )
        .env("DATABASE_URL", db.url())
        .current_dir(&app)
        .args(["-c", "command -v prisma-release && prisma-release deploy"]);
    let run = run_script(launch, SCRIPT_TIMEOUT);
    run.success();
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL"),
        Some(5),
        "{run}"
    );
}

/// `bin/build` with the offline cargo environment (for the compile path).
fn cnb_build_offline(bp: &Path, app: &Path, layers: &Path, platform: &Path) -> Command {
    let plan = layers.parent().expect("parent").join("bp-plan.toml");
    fs::write(&plan, "[[entries]]\nname = \"prisma-release\"\n").unwrap();
    let mut cmd = offline_cargo(&bp.join("bin/build"));
    cmd.current_dir(app)
        .env("CNB_LAYERS_DIR", layers)
        .env("CNB_PLATFORM_DIR", platform)
        .env("CNB_BP_PLAN_PATH", &plan)
        .env("CNB_BUILDPACK_DIR", bp)
        .env("CNB_TARGET_OS", "linux")
        .env("CNB_TARGET_ARCH", "amd64");
    cmd
}

// ---- the release binary from the inventory (the default) and the npm package

/// The release target of this machine, as the buildpack names it.
fn this_target() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-musl",
        "aarch64" => "aarch64-unknown-linux-musl",
        other => panic!("the buildpack tests need an x86_64 or aarch64 machine, not {other}"),
    }
}

/// The npm platform package of this machine.
fn this_npm_platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "linux-x64",
        _ => "linux-arm64",
    }
}

/// A release tarball like `scripts/release` makes (`prisma-release` at its root) holding `binary`,
/// under `dir`; returns its path and SHA-256.
fn release_tarball(dir: &Path, version: &str, binary: &Path) -> (PathBuf, String) {
    let stage = dir.join(format!("stage-{version}"));
    fs::create_dir_all(&stage).unwrap();
    fs::copy(binary, stage.join("prisma-release")).unwrap();
    let tarball = dir.join(format!("prisma-release-{version}-{}.tar.gz", this_target()));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&stage)
        .arg("prisma-release")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar failed");
    let sum = sha256_file(&tarball);
    (tarball, sum)
}

/// Writes the buildpack copy's inventory: one entry per (version, sha256, url) for this target.
fn write_inventory(bp: &Path, entries: &[(&str, &str, String)]) {
    let mut text = String::from("# test inventory\n");
    for (version, sha256, url) in entries {
        text.push_str(&format!(
            "\n[[artifacts]]\nversion = \"{version}\"\ntarget = \"{}\"\nsha256 = \"{sha256}\"\nurl = \"{url}\"\n",
            this_target()
        ));
    }
    fs::write(bp.join("inventory.toml"), text).expect("write inventory.toml");
}

/// `bin/compile` without cargo (PATH = the toolbox), with an empty ENV_DIR and extra variables.
fn compile_without_cargo(
    bp: &Path,
    app: &Path,
    cache: &Path,
    dir: &Path,
    envs: &[(&str, &str)],
) -> Run {
    let home = dir.join("home");
    let env_dir = dir.join("env-empty");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&env_dir).unwrap();
    let mut cmd = clean(&bp.join("bin/compile"));
    cmd.env("PATH", toolbox(dir))
        .env("HOME", &home)
        .envs(envs.iter().copied())
        .args([app, cache, &env_dir]);
    run_script(cmd, SCRIPT_TIMEOUT)
}

#[test]
fn release_binary_is_downloaded_from_the_inventory_verified_and_cached() {
    let dir = temp("prisma-release-inventory-");
    let bp = buildpack_copy(dir.path());
    let (tarball, sum) = release_tarball(dir.path(), "0.1.0", &bin());
    let url = format!("file://{}", tarball.display());
    write_inventory(&bp, &[("0.1.0", &sum, url.clone())]);
    let cache = dir.path().join("cache");

    // First build: downloaded, verified, installed; the tarball is kept in the cache.
    let app = prisma_app(dir.path(), "first");
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.success();
    let target = this_target();
    assert!(
        run.stdout
            .contains(&format!("Downloading prisma-release 0.1.0 ({target})")),
        "{run}"
    );
    assert!(run.stdout.contains("SHA-256 verified"), "{run}");
    assert!(run.stdout.contains("Installed prisma-release "), "{run}");
    assert_eq!(sha256_file(&slug_binary(&app)), sha256_file(&bin()));
    let cached = cache.join(format!(
        "prisma-release/releases/0.1.0-{target}/prisma-release.tar.gz"
    ));
    assert_eq!(sha256_file(&cached), sum, "the download is cached");

    // Second build: the download is gone from its URL, the cache is re-verified and used.
    let moved = dir.path().join("moved.tar.gz");
    fs::rename(&tarball, &moved).unwrap();
    let app = prisma_app(dir.path(), "second");
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.success();
    assert!(
        run.stdout.contains(&format!(
            "Using prisma-release 0.1.0 ({target}) from the build cache (SHA-256 verified)"
        )),
        "{run}"
    );
    assert!(!run.stdout.contains("Downloading"), "{run}");
    assert_eq!(sha256_file(&slug_binary(&app)), sha256_file(&bin()));

    // A damaged cache entry is not trusted: downloaded again (and here the URL is back).
    fs::write(&cached, b"damaged").unwrap();
    fs::rename(&moved, &tarball).unwrap();
    let app = prisma_app(dir.path(), "third");
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.success();
    assert!(run.stderr.contains("does not match its checksum"), "{run}");
    assert!(
        run.stdout.contains("Downloading prisma-release 0.1.0"),
        "{run}"
    );
    assert_eq!(sha256_file(&cached), sum);
}

#[test]
fn inventory_download_with_a_wrong_checksum_is_refused() {
    let dir = temp("prisma-release-badsum-");
    let bp = buildpack_copy(dir.path());
    let (tarball, _) = release_tarball(dir.path(), "0.1.0", &bin());
    let wrong = "ab".repeat(32);
    write_inventory(
        &bp,
        &[("0.1.0", &wrong, format!("file://{}", tarball.display()))],
    );
    let cache = dir.path().join("cache");
    let app = prisma_app(dir.path(), "build");
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains(" !     The prisma-release file has SHA-256 ")
            && run.stderr.contains(&wrong)
            && run.stderr.contains("refusing to install it"),
        "{run}"
    );
    assert!(!slug_binary(&app).exists(), "nothing installed");
    let cached = cache.join(format!("prisma-release/releases/0.1.0-{}", this_target()));
    assert!(
        fs::read_dir(&cached).map(|d| d.count()).unwrap_or(0) == 0,
        "nothing cached"
    );
}

#[test]
fn version_is_chosen_by_config_var_or_app_file_and_an_unknown_one_is_explained() {
    let dir = temp("prisma-release-version-");
    let bp = buildpack_copy(dir.path());
    // Two releases: 0.1.0 holds the binary under test, 0.0.9 a script that prints another version.
    let (new, new_sum) = release_tarball(dir.path(), "0.1.0", &bin());
    let old_bin = dir.path().join("old-prisma-release");
    fs::write(&old_bin, "#!/bin/sh\necho prisma-release 0.0.9\n").unwrap();
    fs::set_permissions(&old_bin, fs::Permissions::from_mode(0o755)).unwrap();
    let (old, old_sum) = release_tarball(dir.path(), "0.0.9", &old_bin);
    write_inventory(
        &bp,
        &[
            ("0.0.9", &old_sum, format!("file://{}", old.display())),
            ("0.1.0", &new_sum, format!("file://{}", new.display())),
        ],
    );
    let cache = dir.path().join("cache");

    // The app's .prisma-release-version file.
    let app = prisma_app(dir.path(), "file");
    fs::write(app.join(".prisma-release-version"), "0.0.9\n").unwrap();
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.success();
    assert!(
        run.stdout.contains("Installed prisma-release 0.0.9"),
        "{run}"
    );

    // The config var wins over the file.
    let run = compile_without_cargo(
        &bp,
        &app,
        &cache,
        dir.path(),
        &[("PRISMA_RELEASE_VERSION", "v0.1.0")],
    );
    run.success();
    assert_eq!(
        sha256_file(&slug_binary(&app)),
        sha256_file(&bin()),
        "{run}"
    );

    // A version the inventory does not have, and no cargo: what exists and what to do.
    let run = compile_without_cargo(
        &bp,
        &app,
        &cache,
        dir.path(),
        &[("PRISMA_RELEASE_VERSION", "9.9.9")],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "has no release binary of prisma-release 9.9.9 for {}",
            this_target()
        )) && run.stderr.contains("(it has: 0.0.9, 0.1.0)")
            && run.stderr.contains("PRISMA_RELEASE_VERSION=")
            && run.stderr.contains("npm install --save prisma-release"),
        "{run}"
    );
}

/// An app as `npm install prisma-release` leaves it (the launcher in node_modules/.bin and the
/// platform package holding the binary), with `binary` as the platform package's binary.
fn npm_installed_app(dir: &Path, name: &str, binary: Option<&Path>) -> PathBuf {
    let app = prisma_app(dir, name);
    let modules = app.join("node_modules");
    let launcher = modules.join("prisma-release/bin/prisma-release.js");
    fs::create_dir_all(launcher.parent().unwrap()).unwrap();
    fs::copy(
        repo().join("npm/prisma-release/bin/prisma-release.js"),
        &launcher,
    )
    .unwrap();
    fs::create_dir_all(modules.join(".bin")).unwrap();
    std::os::unix::fs::symlink(
        "../prisma-release/bin/prisma-release.js",
        modules.join(".bin/prisma-release"),
    )
    .unwrap();
    if let Some(binary) = binary {
        let platform_bin = modules.join(format!(
            "@prisma-release/{}/bin/prisma-release",
            this_npm_platform()
        ));
        fs::create_dir_all(platform_bin.parent().unwrap()).unwrap();
        fs::copy(binary, &platform_bin).unwrap();
    }
    app
}

#[test]
fn npm_installed_binary_is_used_and_nothing_is_downloaded() {
    let dir = temp("prisma-release-bp-npm-");
    let bp = buildpack_copy(dir.path());
    // An inventory entry that would fail if it were used.
    write_inventory(
        &bp,
        &[(
            "0.1.0",
            &"0".repeat(64),
            "file:///nonexistent.tar.gz".into(),
        )],
    );
    let app = npm_installed_app(dir.path(), "build", Some(&bin()));
    let cache = dir.path().join("cache");
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.success();
    let rel = format!(
        "node_modules/@prisma-release/{}/bin/prisma-release",
        this_npm_platform()
    );
    assert!(
        run.stdout.contains(&format!(
            "Using the prisma-release npm package installed in the app ({rel})"
        )),
        "{run}"
    );
    assert!(!run.stdout.contains("Downloading"), "{run}");
    assert!(run.stdout.contains("Installed prisma-release "), "{run}");
    // A relative link, so it still points into the app once the slug is at /app.
    let link = fs::read_link(slug_binary(&app)).expect("a symlink to the npm binary");
    assert_eq!(link, Path::new("../../..").join(&rel));
    let dyno = temp("prisma-release-bp-npm-dyno-");
    let moved = dyno.path().join("app");
    copy_tree_keeping_links(&app, &moved);
    let out = Command::new(slug_binary(&moved))
        .arg("--version")
        .output()
        .expect("run the linked binary from the moved slug");
    assert!(out.status.success());

    // The launcher without its platform package: a build failure that says why and what to do.
    let app = npm_installed_app(dir.path(), "omitted", None);
    let run = compile_without_cargo(&bp, &app, &cache, dir.path(), &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!("but not {rel}"))
            && run.stderr.contains("--omit=optional")
            && run.stderr.contains("package-lock.json"),
        "{run}"
    );
}

/// Like `copy_tree`, but symlinks stay symlinks (as in a slug).
fn copy_tree_keeping_links(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from).unwrap();
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from).unwrap(), to).unwrap();
    } else if meta.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree_keeping_links(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap();
    }
}

#[test]
fn cnb_build_installs_the_inventory_release_into_a_launch_layer_and_caches_it() {
    let dir = temp("prisma-release-cnb-inv-");
    let bp = buildpack_copy(dir.path());
    let (tarball, sum) = release_tarball(dir.path(), "0.1.0", &bin());
    write_inventory(
        &bp,
        &[("0.1.0", &sum, format!("file://{}", tarball.display()))],
    );
    let tools = toolbox(dir.path());
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let app = prisma_app(dir.path(), "app");
    let layers = dir.path().join("layers");
    let platform = dir.path().join("platform");
    fs::create_dir_all(platform.join("env")).unwrap();
    fs::create_dir_all(&layers).unwrap();
    let run = cnb_build(&bp, &app, &layers, &platform, &tools, &home);
    run.success();
    assert!(run.stdout.contains("SHA-256 verified"), "{run}");
    assert_eq!(
        sha256_file(&layers.join("prisma-release/bin/prisma-release")),
        sha256_file(&bin())
    );
    let cache_toml = fs::read_to_string(layers.join("prisma-release-cache.toml"))
        .expect("a cache layer for the download");
    assert!(cache_toml.contains("cache = true"), "{cache_toml}");

    // The next build restores the cache layer: no download.
    fs::remove_file(&tarball).unwrap();
    let run = cnb_build(&bp, &app, &layers, &platform, &tools, &home);
    run.success();
    assert!(run.stdout.contains("from the build cache"), "{run}");
}
