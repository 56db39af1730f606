//! Project discovery (README "How prisma-release finds your project"): fixture projects in temporary
//! folders, the binary run *inside* them with no `--migrations` and no URL flag, as a release phase
//! runs `prisma-release deploy`. Each test checks the folder used (its migration's table exists, a
//! decoy folder's does not), the URL variable used (the right one reaches the test server, the other
//! points at a closed port on 127.0.0.1) and the JSON `project` object.

use crate::contract::{self, Project};
use crate::support::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// Nothing listens on port 1 of the loopback: a URL that must never be used.
const CLOSED: &str = "postgres://nobody:secret@127.0.0.1:1/closed";

const REAL_SQL: &str = "CREATE TABLE \"real_table\" (id int);\n";
const DECOY_SQL: &str = "CREATE TABLE \"decoy_table\" (id int);\n";

/// A Prisma project in a temporary folder.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, text: &str) -> &Fixture {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// `<folder>/20240101000000_init/migration.sql` creating `real_table`.
    fn real_migrations(&self, folder: &str) -> &Fixture {
        self.write(
            &format!("{folder}/20240101000000_init/migration.sql"),
            REAL_SQL,
        )
    }

    /// The same migration name in a folder that must not be used, creating `decoy_table`.
    fn decoy_migrations(&self, folder: &str) -> &Fixture {
        self.write(
            &format!("{folder}/20240101000000_init/migration.sql"),
            DECOY_SQL,
        )
    }

    /// `prisma-release <args>` run in the project folder with exactly `envs` as URL variables.
    fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(bin());
        scrub_env(&mut cmd);
        cmd.current_dir(self.path())
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null());
        run_command(cmd)
    }
}

/// A Prisma 5/6 schema with `url` and, optionally, `directUrl`.
fn schema6(url_var: &str, direct_var: Option<&str>) -> String {
    let direct = direct_var
        .map(|v| format!("  directUrl = env(\"{v}\")\n"))
        .unwrap_or_default();
    format!(
        "generator client {{\n  provider = \"prisma-client-js\"\n}}\n\ndatasource db {{\n  provider  = \"postgresql\"\n  url       = env(\"{url_var}\")\n{direct}}}\n\nmodel A {{\n  id Int @id\n}}\n"
    )
}

/// A Prisma 7 schema: no URL in the datasource.
const SCHEMA7: &str =
    "datasource db {\n  provider = \"postgresql\"\n}\n\nmodel A {\n  id Int @id\n}\n";

fn project_of(run: &Run) -> Project {
    contract::deploy(&run.stdout)
        .project
        .unwrap_or_else(|| panic!("no project object\n{run}"))
}

fn expected(
    config: Option<&str>,
    schema: Option<(&str, &str)>,
    migrations: (&str, &str),
    url: (Option<&str>, &str),
    env_files: &[&str],
) -> Project {
    Project {
        config_file: config.map(str::to_string),
        schema: schema.map(|s| s.0.to_string()),
        schema_source: schema.map(|s| s.1.to_string()),
        migrations_dir: migrations.0.to_string(),
        migrations_dir_source: migrations.1.to_string(),
        url_variable: url.0.map(str::to_string),
        url_source: url.1.to_string(),
        env_files: env_files.iter().map(|s| s.to_string()).collect(),
    }
}

/// The variables of a project with `url = env("DATABASE_URL")` and `directUrl = env("DIRECT_URL")`:
/// only the direct one reaches the test server.
fn direct_url_envs(db: &TestDb) -> [(&str, &str); 2] {
    [("DATABASE_URL", CLOSED), ("DIRECT_URL", db.url())]
}

/// The deploy went to the real folder and the JSON `project` object says where each piece came from.
#[track_caller]
fn assert_deployed(db: &TestDb, run: &Run, project: Project) {
    assert_real_folder_applied(db, run);
    assert_eq!(project_of(run), project, "{run}");
}

/// The deploy went to the real folder: its table exists, the decoy's does not, one row.
#[track_caller]
fn assert_real_folder_applied(db: &TestDb, run: &Run) {
    run.success();
    assert!(db.table_exists("real_table"), "{run}");
    assert!(!db.table_exists("decoy_table"), "{run}");
    assert_eq!(db.applied_migrations(), ["20240101000000_init"], "{run}");
}

#[test]
fn prisma6_direct_url_is_the_migration_url() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &direct_url_envs(&db));
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("prisma/schema.prisma", "default")),
            ("prisma/migrations", "schema"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[],
        ),
    );
}

#[test]
fn declared_direct_url_that_is_unset_is_an_error_not_a_fallback() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &[("DATABASE_URL", db.url())]);
    run.expect_code(3);
    let report = contract::deploy(&run.stdout);
    let error = report.error.expect("error");
    assert_eq!(error.id, "config/url_missing");
    assert!(error.message.contains("DIRECT_URL"), "{run}");
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
}

#[test]
fn url_only_schema_uses_its_variable() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write("schema.prisma", &schema6("APP_DB_URL", None))
        .real_migrations("migrations")
        .decoy_migrations("prisma/migrations");
    let run = p.run(
        &["deploy", "--json"],
        &[("DATABASE_URL", CLOSED), ("APP_DB_URL", db.url())],
    );
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("schema.prisma", "default")),
            ("migrations", "schema"),
            (Some("APP_DB_URL"), "schema_url"),
            &[],
        ),
    );
}

#[test]
fn package_json_schema_path() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "package.json",
        r#"{"name": "app", "prisma": {"schema": "db/schema.prisma"}}"#,
    )
    .write(
        "db/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("db/migrations")
    .decoy_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &direct_url_envs(&db));
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("db/schema.prisma", "package_json")),
            ("db/migrations", "schema"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[],
        ),
    );
}

#[test]
fn multi_file_schema_folder() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema/base/main.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .write(
        "prisma/schema/models.prisma",
        "model B {\n  id Int @id\n}\n",
    )
    .real_migrations("prisma/schema/base/migrations")
    .decoy_migrations("prisma/migrations");
    let run = p.run(
        &["deploy", "--json", "--schema", "prisma/schema"],
        &direct_url_envs(&db),
    );
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("prisma/schema", "flag")),
            ("prisma/schema/base/migrations", "schema"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[],
        ),
    );
}

#[test]
fn schema_flag_is_a_path_as_in_prisma() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "db/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("db/migrations")
    .write("prisma/schema.prisma", &schema6("DATABASE_URL", None))
    .decoy_migrations("prisma/migrations");
    let run = p.run(
        &["deploy", "--json", "--schema", "db/schema.prisma"],
        &direct_url_envs(&db),
    );
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("db/schema.prisma", "flag")),
            ("db/migrations", "schema"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[],
        ),
    );
}

#[test]
fn prisma6_config_with_migrations_path() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import { defineConfig } from \"prisma/config\";\n\nexport default defineConfig({\n  schema: \"db/schema.prisma\",\n  migrations: { path: \"db/history\" },\n});\n",
    )
    .write("db/schema.prisma", &schema6("DATABASE_URL", Some("DIRECT_URL")))
    .real_migrations("db/history")
    .decoy_migrations("db/migrations");
    let run = p.run(&["deploy", "--json"], &direct_url_envs(&db));
    assert_deployed(
        &db,
        &run,
        expected(
            Some("prisma.config.ts"),
            Some(("db/schema.prisma", "config")),
            ("db/history", "config"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[],
        ),
    );
}

#[test]
fn prisma7_config_ts_with_env() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import 'dotenv/config'\nimport { defineConfig, env } from 'prisma/config'\n\nexport default defineConfig({\n  schema: 'prisma/schema.prisma',\n  migrations: {\n    path: 'prisma/migrations',\n  },\n  datasource: {\n    url: env('MIGRATE_URL'),\n  },\n})\n",
    )
    .write("prisma/schema.prisma", SCHEMA7)
    .real_migrations("prisma/migrations");
    let run = p.run(
        &["deploy", "--json"],
        &[("DATABASE_URL", CLOSED), ("MIGRATE_URL", db.url())],
    );
    assert_deployed(
        &db,
        &run,
        expected(
            Some("prisma.config.ts"),
            Some(("prisma/schema.prisma", "config")),
            ("prisma/migrations", "config"),
            (Some("MIGRATE_URL"), "config_url"),
            &[],
        ),
    );
}

#[test]
fn prisma7_config_file_comes_first_with_process_env() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma7.config.ts",
        "export default {\n  schema: \"db/\",\n  datasource: { url: process.env[\"MIGRATE_URL\"] },\n} satisfies PrismaConfig\n",
    )
    .write(
        "prisma.config.ts",
        "export default defineConfig({ datasource: { url: env('DATABASE_URL') } })\n",
    )
    .write("db/schema.prisma", SCHEMA7)
    .write("db/models.prisma", "model B {\n  id Int @id\n}\n")
    .real_migrations("db/migrations")
    .decoy_migrations("prisma/migrations");
    let run = p.run(
        &["deploy", "--json"],
        &[("DATABASE_URL", CLOSED), ("MIGRATE_URL", db.url())],
    );
    assert_deployed(
        &db,
        &run,
        expected(
            Some("prisma7.config.ts"),
            Some(("db", "config")),
            ("db/migrations", "schema"),
            (Some("MIGRATE_URL"), "config_url"),
            &[],
        ),
    );
}

#[test]
fn computed_config_value_is_refused_with_the_flag_that_overrides_it() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import { defineConfig } from 'prisma/config'\nconst url = () => process.env.A ?? process.env.B\nexport default defineConfig({ datasource: { url: url() } })\n",
    )
    .write("prisma/schema.prisma", SCHEMA7)
    .real_migrations("prisma/migrations");
    let envs = [("DATABASE_URL", CLOSED), ("DIRECT_URL", db.url())];
    let run = p.run(&["deploy", "--json"], &envs);
    run.expect_code(3);
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().expect("error");
    assert_eq!(error.id, "project/value_unreadable", "{run}");
    assert!(error.message.contains("datasource.url"), "{run}");
    assert!(error.hint.contains("--url-env"), "{run}");
    assert!(!db.table_exists("_prisma_migrations"), "{run}");

    let run = p.run(&["deploy", "--json", "--url-env", "DIRECT_URL"], &envs);
    assert_deployed(
        &db,
        &run,
        expected(
            Some("prisma.config.ts"),
            Some(("prisma/schema.prisma", "default")),
            ("prisma/migrations", "schema"),
            (Some("DIRECT_URL"), "url_env_flag"),
            &[],
        ),
    );
}

/// A URL built in the config file from literal pieces is refused, and its pieces (a password) are
/// never printed, in text or JSON.
#[test]
fn password_in_an_unreadable_config_url_is_never_printed() {
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "const schema = 'app'\nexport default defineConfig({\n  datasource: { url: 'postgresql://app:s3cretpw@127.0.0.1:1/app?schema=' + schema },\n})\n",
    )
    .write("prisma/schema.prisma", SCHEMA7)
    .real_migrations("prisma/migrations");
    for args in [&["deploy", "--json"][..], &["status", "-v"][..]] {
        let run = p.run(args, &[]);
        run.expect_code(3);
        assert!(run.output().contains("datasource.url"), "{run}");
        assert!(!run.output().contains("s3cretpw"), "{run}");
    }
}

#[test]
fn dotenv_is_loaded_without_a_config_file_and_never_overrides() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write("package.json", "{\"name\": \"app\"}")
        .write(
            "prisma/schema.prisma",
            &schema6("DATABASE_URL", Some("DIRECT_URL")),
        )
        .write(
            ".env",
            &format!("DATABASE_URL=\"{CLOSED}\"\nDIRECT_URL=\"{}\"\n", db.url()),
        )
        .real_migrations("prisma/migrations");
    let run = p.run(&["status", "--json"], &[]);
    run.expect_code(12);
    let status = contract::status(&run.stdout);
    assert_eq!(
        status.project,
        Some(expected(
            None,
            Some(("prisma/schema.prisma", "default")),
            ("prisma/migrations", "schema"),
            (Some("DIRECT_URL"), "schema_direct_url"),
            &[".env"]
        ))
    );
    // A variable that is set wins over the file.
    p.write(
        ".env",
        &format!("DATABASE_URL=\"{CLOSED}\"\nDIRECT_URL=\"{CLOSED}\"\n"),
    );
    let run = p.run(&["deploy", "--json"], &[("DIRECT_URL", db.url())]);
    assert_real_folder_applied(&db, &run);
}

#[test]
fn dotenv_is_not_loaded_when_a_config_file_exists() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "export default defineConfig({ datasource: { url: env(\"DIRECT_URL\") } })\n",
    )
    .write("prisma/schema.prisma", SCHEMA7)
    .write(".env", &format!("DIRECT_URL=\"{}\"\n", db.url()))
    .real_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &[]);
    run.expect_code(3);
    let report = contract::deploy(&run.stdout);
    assert_eq!(report.error.as_ref().unwrap().id, "config/url_missing");
    assert_eq!(report.project.unwrap().env_files, Vec::<String>::new());
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
}

/// Prisma 7's documented setup: the config file loads `.env` itself (`import 'dotenv/config'`), and
/// its values are written in TypeScript forms (`path.join(__dirname, …)`, `process.env.X!`).
#[test]
fn config_importing_dotenv_config_loads_env_and_typescript_forms_are_read() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import 'dotenv/config'\nimport path from 'node:path'\nimport { defineConfig } from 'prisma/config'\n\nexport default defineConfig({\n  schema: path.join('db', 'schema.prisma'),\n  migrations: {\n    path: path.join(__dirname, 'db', 'migrations'),\n  },\n  datasource: {\n    url: process.env.MIGRATE_URL!,\n  },\n})\n",
    )
    .write("db/schema.prisma", SCHEMA7)
    .write(".env", &format!("MIGRATE_URL=\"{}\"\n", db.url()))
    .real_migrations("db/migrations")
    .decoy_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &[("DATABASE_URL", CLOSED)]);
    assert_deployed(
        &db,
        &run,
        expected(
            Some("prisma.config.ts"),
            Some(("db/schema.prisma", "config")),
            ("db/migrations", "config"),
            (Some("MIGRATE_URL"), "config_url"),
            &[".env"],
        ),
    );
    // As with dotenv itself, a variable that is set wins over the file.
    p.write(".env", &format!("MIGRATE_URL=\"{CLOSED}\"\n"));
    let run = p.run(&["deploy"], &[("MIGRATE_URL", db.url())]);
    run.success();
}

#[test]
fn explicit_flags_win_over_the_project() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("elsewhere")
    .decoy_migrations("prisma/migrations");
    let run = p.run(
        &[
            "deploy",
            "--json",
            "--migrations",
            "elsewhere",
            "--database-url",
            db.url(),
        ],
        &[("DATABASE_URL", CLOSED), ("DIRECT_URL", CLOSED)],
    );
    assert_deployed(
        &db,
        &run,
        expected(
            None,
            Some(("prisma/schema.prisma", "default")),
            ("elsewhere", "flag"),
            (None, "database_url_flag"),
            &[],
        ),
    );
}

#[test]
fn pooled_url_chosen_while_a_direct_one_is_declared_is_refused() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("prisma/migrations");
    let pooled = format!("{}?pgbouncer=true", db.url());
    let run = p.run(
        &["deploy", "--json", "--url-env", "DATABASE_URL"],
        &[("DATABASE_URL", &pooled), ("DIRECT_URL", db.url())],
    );
    run.expect_code(3);
    let report = contract::deploy(&run.stdout);
    let error = report.error.as_ref().unwrap();
    assert_eq!(error.id, "project/pooled_url", "{run}");
    assert!(error.message.contains("DIRECT_URL"), "{run}");
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
}

#[test]
fn mysql_provider_is_refused_with_prismas_wording() {
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        "datasource db {\n  provider = \"mysql\"\n  url      = env(\"DATABASE_URL\")\n}\n",
    )
    .real_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &[("DATABASE_URL", CLOSED)]);
    run.expect_code(3);
    let error = contract::deploy(&run.stdout).error.unwrap();
    assert_eq!(error.id, "project/unsupported_provider", "{run}");
    assert!(
        error
            .message
            .contains("The datasource provider `mysql` specified in your schema"),
        "{run}"
    );
    let human = p.run(&["status"], &[("DATABASE_URL", CLOSED)]);
    human.expect_code(3);
    assert!(human.stderr.contains("`mysql`"), "{human}");
}

#[test]
fn prisma8_layout_is_refused() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import { defineConfig } from '@prisma/cli-engine';\nimport { defineConfig as ormConfig } from '@prisma/orm-postgres/config';\nexport default defineConfig({ orm: ormConfig({ contract: './contract.prisma', db: { connection: process.env.DATABASE_URL } }) });\n",
    )
    .write(
        "migrations/app/20260520T1317_migration/migration.json",
        "{}",
    )
    .write("migrations/app/20260520T1317_migration/ops.json", "[]");
    let run = p.run(&["deploy", "--json"], &[("DATABASE_URL", db.url())]);
    run.expect_code(3);
    let report = contract::deploy(&run.stdout);
    let error = report.error.unwrap();
    assert_eq!(error.id, "project/prisma8", "{run}");
    assert!(error.message.contains("Prisma 8"), "{run}");
    // A failing run still reports what was found.
    assert_eq!(
        report.project.unwrap().config_file.as_deref(),
        Some("prisma.config.ts")
    );
    assert!(!db.table_exists("_prisma_migrations"), "{run}");

    // The same layout without the config file is recognised by its migration packages.
    std::fs::remove_file(p.path().join("prisma.config.ts")).unwrap();
    let run = p.run(&["status", "--json"], &[("DATABASE_URL", db.url())]);
    run.expect_code(3);
    let status = contract::status(&run.stdout);
    assert_eq!(status.error.unwrap().id, "project/prisma8", "{run}");
}

#[test]
fn prisma8_database_is_refused() {
    let db = fresh_db();
    db.execute("CREATE SCHEMA prisma_contract; CREATE TABLE prisma_contract.marker (id int);");
    let p = Fixture::new();
    p.write("prisma/schema.prisma", &schema6("DATABASE_URL", None))
        .real_migrations("prisma/migrations");
    let run = p.run(&["deploy", "--json"], &[("DATABASE_URL", db.url())]);
    run.expect_code(3);
    let error = contract::deploy(&run.stdout).error.unwrap();
    assert_eq!(error.id, "project/prisma8", "{run}");
    assert!(error.message.contains("prisma_contract"), "{run}");
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
    assert!(!db.table_exists("real_table"), "{run}");
}

#[test]
fn every_command_uses_the_same_discovery() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "db/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("db/migrations");
    let envs = [("DATABASE_URL", CLOSED), ("DIRECT_URL", db.url())];
    let args = ["--schema", "db/schema.prisma", "--json"];
    let want = expected(
        None,
        Some(("db/schema.prisma", "flag")),
        ("db/migrations", "schema"),
        (Some("DIRECT_URL"), "schema_direct_url"),
        &[],
    );
    let status = p.run(&[&["status"][..], &args].concat(), &envs);
    status.expect_code(12);
    assert_eq!(
        contract::status(&status.stdout).project.as_ref(),
        Some(&want)
    );
    let resolve = p.run(
        &[
            &["resolve", "--applied", "20240101000000_init", "--yes"][..],
            &args,
        ]
        .concat(),
        &envs,
    );
    resolve.success();
    assert_eq!(
        contract::resolve(&resolve.stdout).project.as_ref(),
        Some(&want)
    );
    let diagnose = p.run(&[&["diagnose"][..], &args].concat(), &envs);
    diagnose.success();
    assert_eq!(
        contract::diagnose(&diagnose.stdout).project.as_ref(),
        Some(&want)
    );
    let guard = p.run(&["guard", "--schema", "db/schema.prisma"], &envs);
    guard.success();
    assert_eq!(db.applied_migrations(), ["20240101000000_init"]);
}

/// A Heroku dyno runs `prisma-release guard -- node server.js` in the slug (`/app`) with no flag: it
/// must find the project the release phase's bare `deploy` used (here a Prisma 7 config whose folder
/// is not `prisma/migrations`; a decoy there has the same name and other SQL, so `--strict` tells).
#[test]
fn bare_guard_finds_the_project_the_release_phase_deployed() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma.config.ts",
        "import 'dotenv/config'\nimport { defineConfig, env } from 'prisma/config'\n\nexport default defineConfig({\n  schema: 'db/schema.prisma',\n  datasource: { url: env('MIGRATE_URL') },\n})\n",
    )
    .write("db/schema.prisma", SCHEMA7)
    .real_migrations("db/migrations")
    .decoy_migrations("prisma/migrations");
    let envs = [("DATABASE_URL", CLOSED), ("MIGRATE_URL", db.url())];
    p.run(&["guard", "--", "true"], &envs).expect_code(12);
    let want = || {
        expected(
            Some("prisma.config.ts"),
            Some(("db/schema.prisma", "config")),
            ("db/migrations", "schema"),
            (Some("MIGRATE_URL"), "config_url"),
            &[],
        )
    };
    let deploy = p.run(&["deploy", "--json"], &envs);
    assert_deployed(&db, &deploy, want());
    let guard = p.run(&["guard", "--strict", "--", "true"], &envs);
    guard.success();
    let status = p.run(&["status", "--strict", "--json"], &envs);
    status.success();
    assert_eq!(contract::status(&status.stdout).project, Some(want()));
}

#[test]
fn verbose_says_where_each_piece_came_from() {
    let db = fresh_db();
    let p = Fixture::new();
    p.write(
        "prisma/schema.prisma",
        &schema6("DATABASE_URL", Some("DIRECT_URL")),
    )
    .real_migrations("prisma/migrations");
    let run = p.run(&["status", "-v"], &direct_url_envs(&db));
    run.expect_code(12);
    for needle in [
        "schema: prisma/schema.prisma (default location)",
        "migrations: prisma/migrations (next to the schema)",
        "migration URL: DIRECT_URL (directUrl of the schema)",
    ] {
        assert!(run.stderr.contains(needle), "{needle}\n{run}");
    }
    assert!(!run.output().contains("secret"), "{run}");
}

/// The newcomer's check: the repository's `examples/` with a schema that declares `directUrl`; a
/// bare `prisma-release deploy` (no flag at all) migrates through the direct URL.
#[test]
fn newcomer_examples_with_direct_url_deploy_bare() {
    let db = fresh_db();
    let p = Fixture::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    copy_dir(&examples, p.path());
    let schema_path = p.path().join("prisma/schema.prisma");
    let schema = std::fs::read_to_string(&schema_path).unwrap();
    let with_direct = schema.replace(
        "  url      = env(\"DATABASE_URL\")\n",
        "  url       = env(\"DATABASE_URL\")\n  directUrl = env(\"DIRECT_URL\")\n",
    );
    assert_ne!(
        schema, with_direct,
        "examples/prisma/schema.prisma changed shape"
    );
    std::fs::write(&schema_path, with_direct).unwrap();
    let run = p.run(&["deploy"], &direct_url_envs(&db));
    run.success();
    assert_eq!(db.applied_migrations().len(), 5, "{run}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
