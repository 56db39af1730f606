//! One PostgreSQL server per test binary.
//!
//! Either an existing server named by `TEST_DATABASE_URL`, or a throwaway cluster that this module
//! creates on first use: `initdb` into a fresh directory under `/tmp`, a free port on 127.0.0.1,
//! durability switched off. The cluster is owned by a small watchdog shell (its own process group,
//! so a Ctrl-C of `cargo test` does not reach it) that polls the test process every 0.5 s and,
//! once that is gone however it ended, stops the postmaster (immediate shutdown) and deletes the
//! directory. Rust never runs destructors of statics, so nothing here relies on `Drop`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Name of the environment variable that points the suite at an existing server.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// How long to wait for a freshly started cluster to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at starting the cluster when the chosen port turned out to be taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

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
/// Watchdogs of this process (normally one). Kept so that a failed start attempt can be torn down.
static WATCHDOGS: Mutex<Vec<Child>> = Mutex::new(Vec::new());

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
    let bindir = find_bindir().ok_or_else(no_binaries_message)?;
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        match start_cluster(&bindir) {
            Ok(server) => return Ok(server),
            Err(StartError::PortTaken(message)) => last_error = message,
            Err(StartError::Fatal(message)) => return Err(message),
        }
    }
    Err(format!(
        "could not start the test PostgreSQL cluster: the port was taken {PORT_ATTEMPTS} times in a row\n{last_error}"
    ))
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
pub(crate) fn find_bindir() -> Option<PathBuf> {
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
pub(super) fn as_postgres_prefix() -> Result<Vec<OsString>, String> {
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
pub(super) fn make_cluster_dir() -> Result<PathBuf, String> {
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

pub(super) fn free_port() -> Result<u16, String> {
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

fn start_cluster(bindir: &Path) -> Result<Server, StartError> {
    let prefix = as_postgres_prefix().map_err(fatal)?;
    let dir = make_cluster_dir().map_err(fatal)?;
    let result = start_cluster_in(bindir, &prefix, &dir);
    if result.is_err() {
        abandon_attempt(&dir);
    }
    result
}

/// Tears down a failed start attempt: asks its watchdog (if any) to stop the server and clean up.
fn abandon_attempt(dir: &Path) {
    let _ = fs::write(dir.join("stop"), b"");
    let mut watchdogs = WATCHDOGS.lock().unwrap_or_else(|e| e.into_inner());
    for mut child in watchdogs.drain(..) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = fs::remove_dir_all(dir);
}

fn start_cluster_in(bindir: &Path, prefix: &[OsString], dir: &Path) -> Result<Server, StartError> {
    if !prefix.is_empty() {
        chown_to_postgres(dir).map_err(fatal)?;
    }
    run_initdb(bindir, prefix, dir).map_err(fatal)?;
    let port = free_port().map_err(fatal)?;
    spawn_watchdog(&server_command(bindir, prefix, dir, port), dir).map_err(fatal)?;
    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    wait_until_ready(&admin_url, dir, port)?;
    Ok(Server {
        admin_url,
        port,
        kind: Kind::Managed {
            dir: dir.to_path_buf(),
        },
    })
}

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

pub(super) fn run_initdb(bindir: &Path, prefix: &[OsString], dir: &Path) -> Result<(), String> {
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
pub(super) fn server_command(
    bindir: &Path,
    prefix: &[OsString],
    dir: &Path,
    port: u16,
) -> Vec<OsString> {
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
fn spawn_watchdog(server_cmd: &[OsString], dir: &Path) -> Result<(), String> {
    let child = start_watchdog(server_cmd, dir)?;
    WATCHDOGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(child);
    Ok(())
}

/// Starts the [`WATCHDOG`] shell for the cluster in `dir` and returns it (for a second cluster,
/// e.g. the TLS one, which keeps its watchdog to itself).
pub(super) fn start_watchdog(server_cmd: &[OsString], dir: &Path) -> Result<Child, String> {
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

/// Polls until the server answers `SELECT 1`, it exits, its watchdog exits, or the timeout.
fn wait_until_ready(admin_url: &str, dir: &Path, port: u16) -> Result<(), StartError> {
    let log = dir.join("postgres.log");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if dir.join("server.exited").exists() {
            let log_tail = tail(&log, 40);
            let message = format!(
                "the test PostgreSQL server (port {port}, dir {}) exited during startup; log tail:\n{log_tail}",
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
        if let Some(status) = watchdog_exit_status() {
            return Err(fatal(format!(
                "the watchdog shell of the test cluster exited early ({status}); its output:\n{}\n\
                 server log tail:\n{}",
                tail(&dir.join("watchdog.log"), 20),
                tail(&log, 40)
            )));
        }
        let last_error = match connect(admin_url) {
            Ok(mut client) => match client.simple_query("SELECT 1") {
                Ok(_) => return Ok(()),
                Err(e) => super::db::describe(&e),
            },
            Err(e) => super::db::describe(&e),
        };
        if Instant::now() >= deadline {
            return Err(fatal(format!(
                "the test PostgreSQL server (port {port}, dir {}) did not accept connections within \
                 {STARTUP_TIMEOUT:?}; last error: {last_error}\nserver log tail:\n{}",
                dir.display(),
                tail(&log, 40)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The exit status of the latest watchdog, if it has exited.
fn watchdog_exit_status() -> Option<std::process::ExitStatus> {
    let mut watchdogs = WATCHDOGS.lock().unwrap_or_else(|e| e.into_inner());
    watchdogs.last_mut()?.try_wait().ok()?
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
