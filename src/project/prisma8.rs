//! Prisma 8 ("Prisma Next") refusal. Prisma 8 keeps migrations as
//! `migrations/app/<ts>_<slug>/{migration.json,ops.json}` and its state in the `prisma_contract`
//! schema, with no `_prisma_migrations` (prisma/prisma `main`, `skills/prisma-8/references/migrations.md`).
//! Deploying such a project with Prisma 7 semantics would create a second, unrelated history, so we
//! refuse, saying what we found.

use super::{Inputs, Problem, Project};
use std::path::{Path, PathBuf};

/// Files that only a Prisma 8 migration package has.
const PACKAGE_FILES: [&str; 2] = ["ops.json", "migration.json"];

/// Refuses a Prisma 8 migrations layout: in the chosen migrations folder, or `migrations/app` next to
/// the config file or in the current folder.
pub fn check_layout(
    inputs: &Inputs,
    project: &Project,
    config: Option<&PathBuf>,
) -> Result<(), Problem> {
    let mut places = vec![
        project.migrations_dir.clone(),
        project.migrations_dir.join("app"),
        PathBuf::from("migrations/app"),
    ];
    if let Some(config) = config {
        places.push(super::parent(config).join("migrations/app"));
    }
    for place in places {
        if let Some(found) = prisma8_package(&inputs.cwd.join(&place)) {
            return Err(Problem::Prisma8 {
                found: format!(
                    "`{}` holds a Prisma 8 migration package ({found}, no migration.sql)",
                    place.display()
                ),
            });
        }
    }
    Ok(())
}

/// The first sub-folder of `dir` with Prisma 8 package files and no `migration.sql`.
fn prisma8_package(dir: &Path) -> Option<String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    entries.into_iter().find_map(|sub| {
        if sub.join("migration.sql").exists() {
            return None;
        }
        PACKAGE_FILES
            .iter()
            .find(|f| sub.join(f).is_file())
            .map(|f| {
                format!(
                    "{}/{f}",
                    sub.file_name().unwrap_or_default().to_string_lossy()
                )
            })
    })
}

/// The SQL that tells whether a database holds Prisma 8 state.
pub const CONTRACT_SCHEMA_QUERY: &str =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'prisma_contract')";

/// The refusal for a database with a `prisma_contract` schema.
pub fn database_problem(target: &str) -> Problem {
    Problem::Prisma8 {
        found: format!("{target} has a `prisma_contract` schema (Prisma 8 migration state)"),
    }
}
