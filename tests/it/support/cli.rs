//! Running the real `prisma-release` binary.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Variables the binary reads besides `DATABASE_URL`; removed so the developer's shell cannot leak
/// into a test. (Every other `PRISMA_*` variable and every `*_URL` is removed too.)
pub const SCRUBBED_ENV: &[&str] = &[
    "DATABASE_URL",
    "DIRECT_URL",
    "PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK",
    "PRISMA_MIGRATIONS_DIR",
    "PRISMA_RELEASE_FORMAT",
];

/// Removes from `cmd`'s environment every variable the binary could read from the developer's
/// shell: [`SCRUBBED_ENV`], every other `PRISMA_*` and every `*_URL` (a schema's `env("…")` or
/// `--url-env` may name any of them).
pub fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str() {
            if key.starts_with("PRISMA_") || key.ends_with("_URL") {
                cmd.env_remove(key);
            }
        }
    }
    for key in SCRUBBED_ENV {
        cmd.env_remove(key);
    }
}

/// How long [`run`] lets the binary run before killing it and failing the test.
/// `PRISMA_RELEASE_TEST_RUN_TIMEOUT_SECS` overrides it.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_prisma-release"))
}

/// The outcome of one run of the binary. `{:?}` and `{}` show the code, stdout and stderr, for
/// assertion messages: `assert_eq!(run.code, 0, "{run}")`.
#[derive(Clone)]
pub struct Run {
    /// The exit code; `128 + signal` when the process was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as exactly one JSON document (surrounding whitespace allowed); panics with
    /// the whole run otherwise.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not exactly one JSON document ({e}):\n{self}"))
    }

    /// Panics with the whole run unless the exit code is `code`; returns `self` for chaining.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }

    /// Panics with the whole run unless it exited 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }

    /// stdout and stderr together (for "is this mentioned anywhere" checks).
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn from_status(status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Run {
        Run {
            code: exit_code(status),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// The exit code, or `128 + signal` for a process killed by a signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit code: {}", self.code)?;
        writeln!(f, "--- stdout ---")?;
        write!(f, "{}", self.stdout)?;
        if !self.stdout.is_empty() && !self.stdout.ends_with('\n') {
            writeln!(f)?;
        }
        writeln!(f, "--- stderr ---")?;
        write!(f, "{}", self.stderr)?;
        if !self.stderr.is_empty() && !self.stderr.ends_with('\n') {
            writeln!(f)?;
        }
        write!(f, "--- end ---")
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Run {{\n{self}\n}}")
    }
}

/// The command `prisma-release --migrations <dir> <args...>` with `DATABASE_URL=<db_url>`, the
/// `PRISMA_*` and `*_URL` variables of the test's environment removed, and
/// stdin null. stdout and stderr are not configured yet.
pub fn command(db_url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    scrub_env(&mut cmd);
    cmd.env("DATABASE_URL", db_url)
        .arg("--migrations")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs `prisma-release --migrations <dir> <args...>` with `DATABASE_URL=<db_url>`.
pub fn run(db_url: &str, dir: &Path, args: &[&str]) -> Run {
    run_with_env(db_url, dir, args, &[])
}

/// [`run`] with extra environment variables (applied after the scrubbing, so they win).
pub fn run_with_env(db_url: &str, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = command(db_url, dir, args);
    cmd.envs(envs.iter().copied());
    run_command(cmd)
}

/// Runs any prepared command (e.g. from [`command`], to leave out `DATABASE_URL` with
/// `env_remove`) to completion, with the timeout of [`run`].
pub fn run_command(mut cmd: Command) -> Run {
    let description = describe_command(&cmd);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    wait_with_timeout(child, run_timeout(), &description)
}

/// Starts `prisma-release --migrations <dir> <args...>` (same environment as [`run_with_env`])
/// with stdout and stderr piped, for concurrency tests. Collect it with [`finish`].
pub fn spawn(db_url: &str, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut cmd = command(db_url, dir, args);
    cmd.envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let description = describe_command(&cmd);
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"))
}

/// Waits for a child from [`spawn`] (with the timeout of [`run`]) and collects its output.
pub fn finish(child: Child) -> Run {
    wait_with_timeout(child, run_timeout(), "prisma-release (spawned)")
}

fn run_timeout() -> Duration {
    std::env::var("PRISMA_RELEASE_TEST_RUN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_RUN_TIMEOUT)
}

fn describe_command(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    out
}

/// Waits for `child`, reading its piped stdout/stderr on threads so that it cannot block on a
/// full pipe; kills it and panics (with what it printed so far) after `timeout`.
pub fn wait_with_timeout(mut child: Child, timeout: Duration, description: &str) -> Run {
    fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    }
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let status = child.wait().expect("wait for killed child");
                let run = Run::from_status(
                    status,
                    out.join().unwrap_or_default(),
                    err.join().unwrap_or_default(),
                );
                panic!("{description} did not finish within {timeout:?}; killed it\n{run}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot wait for {description}: {e}"),
        }
    };
    Run::from_status(
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

/// Runs the binary with arbitrary arguments and no `--migrations`/`DATABASE_URL` added (the
/// `PRISMA_*` variables are still scrubbed), e.g. for `--help` or argument errors.
pub fn run_raw<I, S>(args: I, envs: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(bin());
    scrub_env(&mut cmd);
    cmd.args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null());
    run_command(cmd)
}
