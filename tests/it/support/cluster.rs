//! Starting a throwaway PostgreSQL cluster — the one bootstrap behind the main test server
//! (`server.rs`) and the TLS-only one (`tls.rs`): `initdb` into a fresh directory under `/tmp`, a
//! free port on 127.0.0.1, durability switched off, a watchdog shell that stops the server and
//! deletes the directory once the test binary has exited, and a wait until it answers. What differs
//! between the two clusters comes in a [`Recipe`]. As root, everything runs as `postgres` (initdb
//! refuses root).

use super::server::TEST_DATABASE_URL;
use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long to wait for a freshly started cluster to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at starting a cluster when the chosen port turned out to be taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// What makes one cluster different from another.
pub(super) struct Recipe<'a> {
    /// The cluster in messages: `test` or `TLS test`.
    pub name: &'a str,
    /// Runs after `initdb`, before the server starts, with the cluster directory (its `data/` is the
    /// data directory) and whether files must belong to `postgres`: certificates, `pg_hba.conf`.
    pub prepare: &'a dyn Fn(&Path, bool) -> Result<(), String>,
    /// Extra `-c` settings of the server.
    pub settings: &'a [&'a str],
}

/// A running cluster: its directory (which holds its Unix socket) and its TCP port.
pub(super) struct Started {
    pub dir: PathBuf,
    pub port: u16,
}

/// Starts a cluster after `recipe`, trying another port when the chosen one was taken meanwhile.
pub(super) fn start(recipe: &Recipe) -> Result<Started, String> {
    let bindir = find_bindir().ok_or_else(|| {
        format!(
            "the {} cluster needs the PostgreSQL server binaries.\n{}",
            recipe.name,
            no_binaries_message()
        )
    })?;
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let prefix = as_postgres_prefix()?;
        let dir = make_cluster_dir()?;
        let mut watchdog = None;
        match start_in(&bindir, &prefix, &dir, recipe, &mut watchdog) {
            Ok(port) => return Ok(Started { dir, port }),
            Err(error) => {
                abandon(&dir, watchdog);
                match error {
                    StartError::PortTaken(message) => last = message,
                    StartError::Fatal(message) => return Err(message),
                }
            }
        }
    }
    Err(format!(
        "could not start the {} cluster: the port was taken {PORT_ATTEMPTS} times in a row\n{last}",
        recipe.name
    ))
}

fn start_in(
    bindir: &Path,
    prefix: &[OsString],
    dir: &Path,
    recipe: &Recipe,
    watchdog: &mut Option<Child>,
) -> Result<u16, StartError> {
    if !prefix.is_empty() {
        chown_to_postgres(dir).map_err(fatal)?;
    }
    run_initdb(bindir, prefix, dir).map_err(fatal)?;
    (recipe.prepare)(dir, !prefix.is_empty()).map_err(fatal)?;
    let port = free_port().map_err(fatal)?;
    let mut cmd = server_command(bindir, prefix, dir, port);
    for setting in recipe.settings {
        cmd.push("-c".into());
        cmd.push(setting.into());
    }
    let child = watchdog.insert(start_watchdog(&cmd, dir).map_err(fatal)?);
    wait_until_ready(dir, port, child, recipe.name)?;
    Ok(port)
}

/// Tears down a failed start attempt: asks its watchdog (if any) to stop the server and clean up.
fn abandon(dir: &Path, watchdog: Option<Child>) {
    let _ = fs::write(dir.join("stop"), b"");
    if let Some(mut child) = watchdog {
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = fs::remove_dir_all(dir);
}

/// Polls (through the Unix socket, as `postgres`, which `initdb -A trust` lets in) until the server
/// answers `SELECT 1`, it exits, its watchdog exits, or the timeout.
fn wait_until_ready(
    dir: &Path,
    port: u16,
    watchdog: &mut Child,
    name: &str,
) -> Result<(), StartError> {
    let log = dir.join("postgres.log");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if dir.join("server.exited").exists() {
            let log_tail = tail(&log, 40);
            let message = format!(
                "the {name} PostgreSQL server (port {port}, dir {}) exited during startup; log tail:\n{log_tail}",
                dir.display()
            );
            let port_taken = [
                "Address already in use",
                "could not bind",
                "could not create any TCP/IP sockets",
            ]
            .iter()
            .any(|needle| log_tail.contains(needle));
            return Err(if port_taken {
                StartError::PortTaken(message)
            } else {
                fatal(message)
            });
        }
        if let Ok(Some(status)) = watchdog.try_wait() {
            return Err(fatal(format!(
                "the watchdog shell of the {name} cluster exited early ({status}); its output:\n{}\n\
                 server log tail:\n{}",
                tail(&dir.join("watchdog.log"), 20),
                tail(&log, 40)
            )));
        }
        let attempt = postgres::Config::new()
            .host_path(dir)
            .port(port)
            .user("postgres")
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5))
            .connect(postgres::NoTls)
            .and_then(|mut c| c.simple_query("SELECT 1").map(drop));
        let last_error = match attempt {
            Ok(()) => return Ok(()),
            Err(e) => super::db::describe(&e),
        };
        if Instant::now() >= deadline {
            return Err(fatal(format!(
                "the {name} PostgreSQL server (port {port}, dir {}) did not accept connections within \
                 {STARTUP_TIMEOUT:?}; last error: {last_error}\nserver log tail:\n{}",
                dir.display(),
                tail(&log, 40)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(super) fn no_binaries_message() -> String {
    format!(
        "the integration tests need a PostgreSQL server, and none was found.\n\
         No server binaries (initdb and postgres) on PATH, under /usr/lib/postgresql/*/bin or in \
         /usr/local/pgsql/bin, and {TEST_DATABASE_URL} is not set.\n\
         Either install PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`; the harness \
         starts its own throwaway cluster, no service needs to run), or set \
         {TEST_DATABASE_URL}=postgres://USER:PASSWORD@HOST:PORT/postgres naming a server where \
         that role may CREATE DATABASE."
    )
}

/// Directory holding `initdb` and `postgres`: `PG_BIN_DIR` if set, else the first on `PATH`,
/// else the highest version under `/usr/lib/postgresql/*/bin`, else `/usr/local/pgsql/bin`.
pub(super) fn find_bindir() -> Option<PathBuf> {
    let has_server =
        |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"));
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        if has_server(&dir) {
            return Some(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
            return Some(dir);
        }
    }
    let mut versioned: Vec<(Vec<u64>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Some(dir);
    }
    let local = PathBuf::from("/usr/local/pgsql/bin");
    has_server(&local).then_some(local)
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn running_as_root() -> bool {
    // The owner of /proc/self is the effective uid of this process.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The prefix that runs a program as `postgres` (empty when not root).
fn as_postgres_prefix() -> Result<Vec<OsString>, String> {
    if !running_as_root() {
        return Ok(Vec::new());
    }
    let user_exists = Command::new("id")
        .args(["-u", "postgres"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !user_exists {
        return Err(
            "running as root, but there is no `postgres` user to run the test cluster as \
             (initdb refuses root); install PostgreSQL with `apt-get install -y postgresql` or \
             set TEST_DATABASE_URL"
                .to_string(),
        );
    }
    if let Some(runuser) = find_program("runuser") {
        return Ok(vec![
            runuser.into(),
            "-u".into(),
            "postgres".into(),
            "--".into(),
        ]);
    }
    if let Some(setpriv) = find_program("setpriv") {
        return Ok(vec![
            setpriv.into(),
            "--reuid=postgres".into(),
            "--regid=postgres".into(),
            "--init-groups".into(),
            "--".into(),
        ]);
    }
    Err(
        "running as root, but neither `runuser` nor `setpriv` is available to run the test \
         cluster as `postgres` (initdb refuses root)"
            .to_string(),
    )
}

enum StartError {
    PortTaken(String),
    Fatal(String),
}

fn fatal(message: impl Into<String>) -> StartError {
    StartError::Fatal(message.into())
}

/// Creates a fresh directory under `/tmp` (not `$TMPDIR`: it must be traversable by `postgres`).
fn make_cluster_dir() -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let dir = PathBuf::from(format!(
            "/tmp/prisma-release-it-{}-{:x}{attempt}",
            std::process::id(),
            nanos
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err("cannot create a fresh directory under /tmp for the test cluster".to_string())
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

pub(super) fn tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The watchdog: starts the server (its arguments after the first two) in the background, then
/// waits for the test process to go away (or for a `stop` file, used to abandon a failed start
/// attempt) and cleans up after it: immediate shutdown of the postmaster, then `rm -rf` of the dir.
const WATCHDOG: &str = r#"
test_pid=$1
dir=$2
shift 2
trap '' HUP INT
# "state starttime" of a process; a zombie or a reused pid does not count as the test process.
stat_of() { sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $1 " " $20 }'; }
test_start=$(stat_of "$test_pid")
test_start=${test_start#* }
test_alive() {
    if [ -n "$test_start" ] && [ -d /proc/self ]; then
        s=$(stat_of "$test_pid")
        [ -n "$s" ] && [ "${s%% *}" != Z ] && [ "${s#* }" = "$test_start" ]
    else
        kill -0 "$test_pid" 2>/dev/null
    fi
}
( "$@" </dev/null >>"$dir/postgres.log" 2>&1; echo "$?" >"$dir/server.exited" ) &
while test_alive && [ ! -f "$dir/stop" ]; do
    sleep 0.5
done
if [ ! -f "$dir/server.exited" ] && [ -f "$dir/data/postmaster.pid" ]; then
    read -r postmaster <"$dir/data/postmaster.pid" || postmaster=
    if [ -n "$postmaster" ]; then
        kill -QUIT "$postmaster" 2>/dev/null
        i=0
        while [ ! -f "$dir/server.exited" ] && [ "$i" -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        [ -f "$dir/server.exited" ] || kill -KILL "$postmaster" 2>/dev/null
    fi
fi
wait
rm -rf "$dir"
"#;

pub(super) fn chown_to_postgres(dir: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .args(["postgres:", "--"])
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run chown: {e}"))?;
    if !status.success() {
        return Err(format!("chown postgres: {} failed", dir.display()));
    }
    Ok(())
}

/// `program`, run as `postgres` through `prefix`, from inside `dir`: the test's cwd may not be
/// readable by `postgres`, and the server binaries dislike that.
fn as_postgres(prefix: &[OsString], program: &Path, dir: &Path) -> Command {
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    cmd.current_dir(dir);
    cmd
}

fn run_initdb(bindir: &Path, prefix: &[OsString], dir: &Path) -> Result<(), String> {
    let initdb = bindir.join("initdb");
    let output = as_postgres(prefix, &initdb, dir)
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .args(["-E", "UTF8", "--no-locale"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", initdb.display()))?;
    if !output.status.success() {
        return Err(format!(
            "initdb failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// The postmaster's command line (with the `postgres`-user prefix), durability switched off.
fn server_command(bindir: &Path, prefix: &[OsString], dir: &Path, port: u16) -> Vec<OsString> {
    let mut cmd: Vec<OsString> = prefix.to_vec();
    cmd.push(bindir.join("postgres").into());
    cmd.push("-D".into());
    cmd.push(dir.join("data").into());
    cmd.push("-p".into());
    cmd.push(port.to_string().into());
    for setting in [
        "listen_addresses=127.0.0.1".to_string(),
        format!("unix_socket_directories={}", dir.display()),
        "fsync=off".to_string(),
        "synchronous_commit=off".to_string(),
        "full_page_writes=off".to_string(),
        "max_connections=300".to_string(),
    ] {
        cmd.push("-c".into());
        cmd.push(setting.into());
    }
    cmd
}

/// Starts the [`WATCHDOG`] shell, which starts the server, in a process group of its own: a
/// Ctrl-C of `cargo test` must not kill it before it has cleaned up.
fn start_watchdog(server_cmd: &[OsString], dir: &Path) -> Result<Child, String> {
    let log_path = dir.join("watchdog.log");
    let log = fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("prisma-release-it-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(server_cmd)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the watchdog shell: {e}"))?;
    Ok(child)
}
