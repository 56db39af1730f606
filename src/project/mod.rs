//! The Prisma project: which config file, schema, migrations folder and migration URL `prisma migrate
//! deploy` would use here, found without executing any JavaScript or TypeScript (the README's "How
//! prisma-release finds your project" has the table). Precedence: explicit flags > the Prisma project >
//! today's defaults (`prisma/migrations`, `DATABASE_URL`).
//!
//! Discovery only reads files and the environment; it returns the [`Project`] as far as it got and the
//! [`Problem`] that stopped it, so a failing command can still report what was found.

pub mod config_file;
mod discovery;
pub mod dotenv;
pub mod prisma8;
pub mod problem;
pub mod schema;

pub use problem::Problem;

use schema::Datasource;
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// The flags that take part in discovery.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The folder commands run in; paths in the result are relative to it (or absolute when given so).
    pub cwd: PathBuf,
    pub schema: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub migrations: Option<PathBuf>,
    pub database_url: bool,
    pub url_env: Option<String>,
}

/// Where a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `--schema`, `--migrations` (or `PRISMA_MIGRATIONS_DIR`).
    Flag,
    /// The Prisma config file (`schema`, `migrations.path`).
    Config,
    /// `package.json` `"prisma": {"schema": …}` (Prisma 5/6).
    PackageJson,
    /// Next to the schema (the migrations folder).
    Schema,
    /// Prisma's default locations, or prisma-release's own default.
    Default,
}

/// Where the migration URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlOrigin {
    DatabaseUrlFlag,
    UrlEnvFlag,
    /// `datasource.url` of the config file (Prisma 7: the migration URL).
    ConfigUrl,
    /// `datasource.directUrl` of the config file (Prisma 6.18–6.19 `engine: 'classic'`).
    ConfigDirectUrl,
    /// `directUrl` of the schema's datasource (Prisma 5/6: migrations use it when declared).
    SchemaDirectUrl,
    /// `url` of the schema's datasource.
    SchemaUrl,
    /// Nothing declares one: `DATABASE_URL`.
    Default,
}

/// How to get the migration URL.
#[derive(Clone, PartialEq, Eq)]
pub enum UrlChoice {
    /// `--database-url`.
    Flag,
    /// An environment variable.
    Variable { name: String, origin: UrlOrigin },
    /// A literal URL written in the schema or config (never printed).
    Literal { value: String, origin: UrlOrigin },
}

impl std::fmt::Debug for UrlChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlChoice::Flag => write!(f, "Flag"),
            UrlChoice::Variable { name, origin } => write!(f, "Variable({name}, {origin:?})"),
            UrlChoice::Literal { origin, .. } => write!(f, "Literal(<hidden>, {origin:?})"),
        }
    }
}

impl UrlChoice {
    pub fn origin(&self) -> UrlOrigin {
        match self {
            UrlChoice::Flag => UrlOrigin::DatabaseUrlFlag,
            UrlChoice::Variable { origin, .. } | UrlChoice::Literal { origin, .. } => *origin,
        }
    }

    /// The variable's name, or how the URL was given, for messages.
    pub fn label(&self) -> String {
        match self {
            UrlChoice::Flag => "--database-url".into(),
            UrlChoice::Variable { name, .. } => name.clone(),
            UrlChoice::Literal { .. } => "the literal URL in the project".into(),
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Project {
    pub config_file: Option<PathBuf>,
    pub schema: Option<PathBuf>,
    pub schema_origin: Option<Origin>,
    pub datasource: Option<Datasource>,
    pub migrations_dir: PathBuf,
    pub migrations_origin: Origin,
    pub url: UrlChoice,
    /// A direct URL the project declares (`directUrl`), by label, when the chosen URL is another one.
    pub declared_direct: Option<String>,
    /// `.env` files loaded (Prisma 5/6 without a config file).
    pub env_files: Vec<PathBuf>,
    /// Variables those files set (only ones not already set).
    pub env_assignments: Vec<(String, String)>,
    /// Where each piece came from, for `-v`.
    pub notes: Vec<String>,
}

/// The `project` object of the JSON reports.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectReport {
    pub config_file: Option<String>,
    pub schema: Option<String>,
    pub schema_source: Option<Origin>,
    pub migrations_dir: String,
    pub migrations_dir_source: Origin,
    /// The variable holding the migration URL; null for `--database-url` or a literal URL.
    pub url_variable: Option<String>,
    pub url_source: UrlOrigin,
    pub env_files: Vec<String>,
}

impl Project {
    /// prisma-release's defaults, before anything is found.
    fn defaults(inputs: &Inputs) -> Project {
        Project {
            config_file: None,
            schema: None,
            schema_origin: None,
            datasource: None,
            migrations_dir: inputs
                .migrations
                .clone()
                .unwrap_or_else(|| PathBuf::from("prisma/migrations")),
            migrations_origin: if inputs.migrations.is_some() {
                Origin::Flag
            } else {
                Origin::Default
            },
            url: flag_url(inputs).unwrap_or(UrlChoice::Variable {
                name: "DATABASE_URL".into(),
                origin: UrlOrigin::Default,
            }),
            declared_direct: None,
            env_files: Vec::new(),
            env_assignments: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn report(&self) -> ProjectReport {
        ProjectReport {
            config_file: self.config_file.as_ref().map(|p| p.display().to_string()),
            schema: self.schema.as_ref().map(|p| p.display().to_string()),
            schema_source: self.schema_origin,
            migrations_dir: self.migrations_dir.display().to_string(),
            migrations_dir_source: self.migrations_origin,
            url_variable: match &self.url {
                UrlChoice::Variable { name, .. } => Some(name.clone()),
                UrlChoice::Flag | UrlChoice::Literal { .. } => None,
            },
            url_source: self.url.origin(),
            env_files: self
                .env_files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
        }
    }
}

fn flag_url(inputs: &Inputs) -> Option<UrlChoice> {
    if inputs.database_url {
        return Some(UrlChoice::Flag);
    }
    inputs.url_env.as_ref().map(|name| UrlChoice::Variable {
        name: name.clone(),
        origin: UrlOrigin::UrlEnvFlag,
    })
}

/// Finds the project. `env` reads the process environment (a function, so tests stay pure).
pub fn discover(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Project, Option<Problem>) {
    let mut project = Project::defaults(inputs);
    let problem = discovery::Discovery {
        inputs,
        env,
        project: &mut project,
    }
    .run()
    .err();
    (project, problem)
}

/// Whether a warning of [`crate::connect::ConnectSpec`] is the one for a pooled-looking URL
/// (`pgbouncer=true`, a `-pooler.` host, port 6543).
pub fn is_pooler_warning(warning: &str) -> bool {
    warning.contains("looks like a connection pooler")
}

/// The folder of `path` (`.` for a bare file name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::new(),
    }
}

/// Removes `.` and resolves `..` lexically (as Node's `path.resolve` does), keeping a leading `..`.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                match last {
                    Some(Component::Normal(_)) => {
                        out.pop();
                    }
                    Some(Component::RootDir) => {}
                    _ => out.push(".."),
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests;
