//! Discovery and precedence on fixture folders (no database: the URL is only named here).

use super::*;

fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn inputs(dir: &tempfile::TempDir) -> Inputs {
    Inputs {
        cwd: dir.path().to_path_buf(),
        ..Inputs::default()
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

const DS6: &str =
    "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n  directUrl = env(\"DIRECT_URL\")\n}\n";
const DS7: &str = "datasource db {\n  provider = \"postgresql\"\n}\n";

fn var(choice: &UrlChoice) -> (String, UrlOrigin) {
    match choice {
        UrlChoice::Variable { name, origin } => (name.clone(), *origin),
        other => panic!("not a variable: {other:?}"),
    }
}

#[test]
fn nothing_found_keeps_todays_defaults() {
    let dir = fixture(&[]);
    let (project, problem) = discover(&inputs(&dir), &no_env);
    assert_eq!(problem, None);
    assert_eq!(project.migrations_dir, PathBuf::from("prisma/migrations"));
    assert_eq!(project.migrations_origin, Origin::Default);
    assert_eq!(
        var(&project.url),
        ("DATABASE_URL".into(), UrlOrigin::Default)
    );
}

#[test]
fn config_paths_are_relative_to_the_config_file() {
    let dir = fixture(&[
        (
            ".config/prisma.ts",
            "export default { schema: '../db/schema.prisma', migrations: { path: '../db/m' } }",
        ),
        ("db/schema.prisma", DS6),
    ]);
    let (project, problem) = discover(&inputs(&dir), &no_env);
    assert_eq!(problem, None);
    assert_eq!(
        project.config_file,
        Some(PathBuf::from(".config/prisma.ts"))
    );
    assert_eq!(project.schema, Some(PathBuf::from("db/schema.prisma")));
    assert_eq!(project.migrations_dir, PathBuf::from("db/m"));
    assert_eq!(
        var(&project.url),
        ("DIRECT_URL".into(), UrlOrigin::SchemaDirectUrl)
    );
}

#[test]
fn package_json_is_found_upwards_and_ignored_by_a_prisma7_config() {
    let dir = fixture(&[
        (
            "package.json",
            r#"{"prisma": {"schema": "db/schema.prisma"}}"#,
        ),
        ("db/schema.prisma", DS6),
        ("app/.keep", ""),
    ]);
    let mut sub = inputs(&dir);
    sub.cwd = dir.path().join("app");
    let (project, problem) = discover(&sub, &no_env);
    assert_eq!(problem, None);
    assert_eq!(project.schema, Some(PathBuf::from("../db/schema.prisma")));
    assert_eq!(project.migrations_dir, PathBuf::from("../db/migrations"));

    let dir = fixture(&[
        (
            "package.json",
            r#"{"prisma": {"schema": "db/schema.prisma"}}"#,
        ),
        ("db/schema.prisma", DS6),
        ("prisma/schema.prisma", DS7),
        (
            "prisma.config.ts",
            "export default { datasource: { url: env('U') } }",
        ),
    ]);
    let (project, _) = discover(&inputs(&dir), &no_env);
    assert_eq!(project.schema, Some(PathBuf::from("prisma/schema.prisma")));
    assert_eq!(var(&project.url), ("U".into(), UrlOrigin::ConfigUrl));
}

#[test]
fn folder_schema_migrations_follow_the_version_rules() {
    // Prisma 6.6+: next to the file holding the datasource (it has a `url`).
    let dir = fixture(&[
        ("prisma/schema/ds/main.prisma", DS6),
        ("prisma/schema/ds/migrations/.keep", ""),
        ("prisma/migrations/.keep", ""),
    ]);
    let mut i = inputs(&dir);
    i.schema = Some("prisma/schema".into());
    let (project, _) = discover(&i, &no_env);
    assert_eq!(
        project.migrations_dir,
        PathBuf::from("prisma/schema/ds/migrations")
    );
    // Prisma 5–6.5: next to the folder, when that is the one that exists.
    std::fs::remove_dir_all(dir.path().join("prisma/schema/ds/migrations")).unwrap();
    let (project, _) = discover(&i, &no_env);
    assert_eq!(project.migrations_dir, PathBuf::from("prisma/migrations"));
    // Prisma 7 (no url): inside the folder.
    let dir = fixture(&[("db/main.prisma", DS7)]);
    let mut i = inputs(&dir);
    i.schema = Some("db".into());
    let (project, _) = discover(&i, &no_env);
    assert_eq!(project.migrations_dir, PathBuf::from("db/migrations"));
}

#[test]
fn strict_env_in_config_paths_must_be_set() {
    let dir = fixture(&[(
        "prisma.config.ts",
        "export default { migrations: { path: env('MIGRATIONS') }, datasource: { url: env('U') } }",
    )]);
    let (_, problem) = discover(&inputs(&dir), &no_env);
    assert!(
        matches!(&problem, Some(Problem::Unreadable { key: "migrations.path", flag, .. }) if flag.contains("--migrations")),
        "{problem:?}"
    );
    let env = |name: &str| (name == "MIGRATIONS").then(|| "db/m".to_string());
    let (project, problem) = discover(&inputs(&dir), &env);
    assert_eq!(problem, None);
    assert_eq!(project.migrations_dir, PathBuf::from("db/m"));
}

#[test]
fn missing_schema_given_explicitly_is_an_error() {
    let dir = fixture(&[]);
    let mut i = inputs(&dir);
    i.schema = Some("nope/schema.prisma".into());
    let (_, problem) = discover(&i, &no_env);
    assert!(matches!(problem, Some(Problem::SchemaNotFound { .. })));
    let mut i = inputs(&dir);
    i.config = Some("prisma.config.json".into());
    std::fs::write(dir.path().join("prisma.config.json"), "{}").unwrap();
    let (_, problem) = discover(&i, &no_env);
    assert!(matches!(problem, Some(Problem::ConfigExtension { .. })));
}

#[test]
fn literal_schema_url_is_used_but_never_shown() {
    let dir = fixture(&[(
        "prisma/schema.prisma",
        "datasource db {\n  provider = \"postgresql\"\n  url = \"postgres://u:hunter2@h/d\"\n}\n",
    )]);
    let (project, problem) = discover(&inputs(&dir), &no_env);
    assert_eq!(problem, None);
    assert!(matches!(
        project.url,
        UrlChoice::Literal {
            origin: UrlOrigin::SchemaUrl,
            ..
        }
    ));
    let shown = format!(
        "{project:?} {:?} {}",
        project.report(),
        project.notes.join(" ")
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn normalize_resolves_dots() {
    assert_eq!(
        normalize(Path::new(".config/../prisma/./m")),
        PathBuf::from("prisma/m")
    );
    assert_eq!(normalize(Path::new("../a")), PathBuf::from("../a"));
    assert_eq!(normalize(Path::new("/x/../y")), PathBuf::from("/y"));
}

#[test]
fn a_flag_naming_the_declared_direct_variable_is_not_a_pooler_conflict() {
    let dir = fixture(&[("prisma/schema.prisma", DS6)]);
    let mut i = inputs(&dir);
    i.url_env = Some("DIRECT_URL".into());
    let (project, _) = discover(&i, &no_env);
    assert_eq!(project.declared_direct, None);
    i.url_env = Some("DATABASE_URL".into());
    let (project, _) = discover(&i, &no_env);
    assert_eq!(project.declared_direct.as_deref(), Some("DIRECT_URL"));
}

#[test]
fn config_direct_url_from_an_unset_process_env_is_not_declared() {
    let dir = fixture(&[
        (
            "prisma.config.ts",
            "export default defineConfig({ engine: 'classic', datasource: { url: env('DATABASE_URL'), directUrl: process.env.DIRECT_URL } })",
        ),
        ("prisma/schema.prisma", DS7),
    ]);
    let url_set = |k: &str| (k == "DATABASE_URL").then(|| "postgres://h/d".to_string());
    let (project, problem) = discover(&inputs(&dir), &url_set);
    assert_eq!(problem, None);
    assert_eq!(
        var(&project.url),
        ("DATABASE_URL".into(), UrlOrigin::ConfigUrl)
    );
    let both_set = |_: &str| Some("postgres://h/d".to_string());
    let (project, _) = discover(&inputs(&dir), &both_set);
    assert_eq!(
        var(&project.url),
        ("DIRECT_URL".into(), UrlOrigin::ConfigDirectUrl)
    );
}
