//! The JSON contract, parsed back with `deny_unknown_fields`: a field added, renamed or removed in
//! `src/report.rs` without updating the README and these structs fails the tests.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub schema: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    pub name: String,
    pub state: String,
    pub out_of_order: bool,
    pub checksum: Option<String>,
    pub recorded_checksum: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    pub id: String,
    pub migration: Option<String>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailingStatement {
    pub index: usize,
    pub line: usize,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub migration: String,
    pub execution: String,
    pub sqlstate: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub position: Option<usize>,
    pub statement: Option<FailingStatement>,
    pub statements_total: usize,
    pub statements_committed: usize,
    pub rolled_back: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Error {
    pub id: String,
    pub message: String,
    pub hint: String,
    pub prisma_code: Option<String>,
    pub failure: Option<Failure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedError {
    pub sqlstate: Option<String>,
    pub condition: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub position: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalFile {
    pub present: bool,
    pub checksum: Option<String>,
    pub changed_since_failure: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosedStatement {
    pub index: usize,
    pub line: usize,
    pub text: String,
    pub located_by: String,
    pub exact: bool,
    pub fragment: Option<AdapterFragment>,
    pub cut: Option<String>,
}

/// The fragment Prisma's driver adapter sent when it failed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterFragment {
    pub number: usize,
    pub of: usize,
    pub text: String,
}

/// Whether `--resolve-failed complete` can finish the migration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    pub possible: bool,
    pub from_statement: Option<usize>,
    pub to_statement: Option<usize>,
    pub refused_because: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub index: usize,
    pub line: usize,
    pub kind: String,
    pub object: Option<String>,
    pub present: Option<bool>,
    pub note: Option<String>,
    pub idempotent: bool,
    pub ran: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub tool: String,
    pub command: String,
    pub why: String,
}

/// The diagnosis of one failed row (`failed[]` of deploy, status and diagnose).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedRow {
    pub migration: String,
    pub id: String,
    pub started_at: String,
    pub checksum: String,
    pub logs: Option<String>,
    pub log_format: String,
    pub error: LoggedError,
    pub local_file: LocalFile,
    pub statements: usize,
    pub failing_statement: Option<DiagnosedStatement>,
    pub not_located_because: Option<String>,
    pub effects: Vec<Effect>,
    pub verdict: String,
    pub explanation: String,
    pub complete: Completion,
    pub next_steps: Vec<NextStep>,
    pub revert_steps: Vec<NextStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvedRow {
    pub migration: String,
    pub id: String,
    pub verdict: String,
    pub action: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applied {
    pub name: String,
    pub id: String,
    pub execution: String,
    pub statements: usize,
    pub duration_ms: u64,
    pub retries: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Planned {
    pub name: String,
    pub execution: String,
    pub reason: Option<String>,
    pub statements: usize,
    pub out_of_order: bool,
}

/// Where the config file, schema, migrations folder and URL came from.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub config_file: Option<String>,
    pub schema: Option<String>,
    /// `flag`, `config`, `package_json`, `default` (null without a schema).
    pub schema_source: Option<String>,
    pub migrations_dir: String,
    /// `flag`, `config`, `schema`, `default`.
    pub migrations_dir_source: String,
    pub url_variable: Option<String>,
    /// `database_url_flag`, `url_env_flag`, `config_url`, `config_direct_url`, `schema_direct_url`,
    /// `schema_url`, `default`.
    pub url_source: String,
    pub env_files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployReport {
    pub schema_version: u32,
    pub command: String,
    pub ok: bool,
    pub exit_code: u8,
    pub database: Option<Database>,
    pub migrations_dir: String,
    pub project: Option<Project>,
    pub migrations: Vec<Migration>,
    pub warnings: Vec<Warning>,
    pub error: Option<Error>,
    pub dry_run: bool,
    pub applied: Vec<Applied>,
    pub resolved: Vec<ResolvedRow>,
    pub failed: Vec<FailedRow>,
    pub plan: Vec<Planned>,
    pub left: Vec<String>,
    pub observations: Vec<Observation>,
    pub preflight: Vec<PreflightFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocker {
    pub pid: i32,
    pub application_name: String,
    pub state: String,
    pub transaction_ms: Option<u64>,
    pub query_ms: Option<u64>,
    pub query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseTime {
    pub phase: String,
    pub ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub migration: String,
    pub waited_for_lock_ms: u64,
    pub lock_timeouts: u32,
    pub blockers: Vec<Blocker>,
    pub longest_phase: Option<PhaseTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightFinding {
    pub migration: String,
    pub statement: usize,
    pub line: usize,
    pub operation: String,
    pub effect: String,
    pub table: String,
    pub lock: String,
    pub size_bytes: Option<i64>,
    pub estimated_rows: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub modified: usize,
    pub missing_locally: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    pub schema_version: u32,
    pub command: String,
    pub ok: bool,
    pub exit_code: u8,
    pub database: Option<Database>,
    pub migrations_dir: String,
    pub project: Option<Project>,
    pub migrations: Vec<Migration>,
    pub warnings: Vec<Warning>,
    pub error: Option<Error>,
    pub has_migrations_table: bool,
    pub counts: Counts,
    pub failed: Vec<FailedRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseReport {
    pub schema_version: u32,
    pub command: String,
    pub ok: bool,
    pub exit_code: u8,
    pub database: Option<Database>,
    pub migrations_dir: String,
    pub project: Option<Project>,
    pub migrations: Vec<Migration>,
    pub warnings: Vec<Warning>,
    pub error: Option<Error>,
    pub failed: Vec<FailedRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveReport {
    pub schema_version: u32,
    pub command: String,
    pub ok: bool,
    pub exit_code: u8,
    pub database: Option<Database>,
    pub migrations_dir: String,
    pub project: Option<Project>,
    pub migrations: Vec<Migration>,
    pub warnings: Vec<Warning>,
    pub error: Option<Error>,
    pub action: Option<String>,
    pub migration: Option<String>,
    pub rows: Vec<String>,
}

/// Parses stdout as exactly one diagnose report.
pub fn diagnose(stdout: &str) -> DiagnoseReport {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("not a diagnose report ({e}):\n{stdout}"))
}

/// Parses stdout as exactly one resolve report.
pub fn resolve(stdout: &str) -> ResolveReport {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not a resolve report ({e}):\n{stdout}"))
}

/// Parses stdout as exactly one deploy report.
pub fn deploy(stdout: &str) -> DeployReport {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not a deploy report ({e}):\n{stdout}"))
}

/// Parses stdout as exactly one status report.
pub fn status(stdout: &str) -> StatusReport {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not a status report ({e}):\n{stdout}"))
}
