//! Why the Prisma project could not be used: each with a one-line cause, a stable id and the flag or
//! fix that gets the user going. All of them stop the command with exit 3 before anything is written.

use std::path::PathBuf;

/// A problem with the Prisma project (wrapped by [`crate::error::Error::Project`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the Prisma config file `{}` given with --config does not exist", path.display())]
    ConfigNotFound { path: PathBuf },
    #[error("Unsupported Prisma config file extension: `{}`", path.display())]
    ConfigExtension { path: PathBuf },
    #[error("`{}` cannot be read: {cause}", path.display())]
    FileUnreadable { path: PathBuf, cause: String },
    #[error("Could not load the schema from `{}` given by {origin}: file or directory not found", path.display())]
    SchemaNotFound { path: PathBuf, origin: String },
    #[error("cannot read `{key}` in `{}` for certain without running it: {reason}", file.display())]
    Unreadable {
        file: PathBuf,
        key: &'static str,
        reason: String,
        flag: &'static str,
    },
    #[error("You defined more than one datasource ({files}). This is not allowed yet")]
    MultipleDatasources { files: String },
    #[error("The datasource provider `{provider}` specified in your schema (`{}`) is not supported: prisma-release only migrates `postgresql`", file.display())]
    UnsupportedProvider { provider: String, file: PathBuf },
    #[error("Prisma 8 (Prisma Next) project detected: {found}")]
    Prisma8 { found: String },
    #[error("the migration URL from `{chosen}` looks like a connection pooler, but the project declares `{direct}` as its direct URL for migrations")]
    PooledUrl { chosen: String, direct: String },
    #[error("migrations `{first}` and `{second}`: cannot tell Prisma's order (JavaScript localeCompare) of these names for certain")]
    OrderUncertain { first: String, second: String },
}

impl Problem {
    /// The stable id (JSON `error.id`).
    pub fn id(&self) -> &'static str {
        match self {
            Problem::ConfigNotFound { .. } => "project/config_not_found",
            Problem::ConfigExtension { .. } => "project/config_extension",
            Problem::FileUnreadable { .. } => "project/file_unreadable",
            Problem::SchemaNotFound { .. } => "project/schema_not_found",
            Problem::Unreadable { .. } => "project/value_unreadable",
            Problem::MultipleDatasources { .. } => "project/multiple_datasources",
            Problem::UnsupportedProvider { .. } => "project/unsupported_provider",
            Problem::Prisma8 { .. } => "project/prisma8",
            Problem::PooledUrl { .. } => "project/pooled_url",
            Problem::OrderUncertain { .. } => "migrations/order_uncertain",
        }
    }

    /// What to do next, in one line.
    pub fn hint(&self) -> String {
        match self {
            Problem::ConfigNotFound { .. } => "check the path given to --config (relative to the current folder)".into(),
            Problem::ConfigExtension { .. } => "Prisma config files end in .js, .ts, .mjs, .cjs, .mts or .cts".into(),
            Problem::FileUnreadable { .. } => "check the file's permissions".into(),
            Problem::SchemaNotFound { .. } => "pass the schema file or folder with --schema PATH (as with prisma --schema)".into(),
            Problem::Unreadable { flag, .. } => format!(
                "prisma-release never runs the config file: write the value as a string literal, env(\"NAME\") or process.env.NAME, or pass {flag}"
            ),
            Problem::MultipleDatasources { .. } => "keep one datasource block in the schema".into(),
            Problem::UnsupportedProvider { .. } => "use prisma migrate deploy for other databases".into(),
            Problem::Prisma8 { .. } => "Prisma 8 keeps its own migration state (prisma_contract); deploy it with prisma-next, not prisma-release — nothing was written".into(),
            Problem::PooledUrl { direct, .. } => format!(
                "drop --url-env/--database-url so that `{direct}` is used (as Prisma does), or point them at a direct (unpooled) connection"
            ),
            Problem::OrderUncertain { .. } => "rename one folder so the names differ in ASCII letters, digits, `_` or `-` before any other character (before it is applied anywhere)".into(),
        }
    }
}
