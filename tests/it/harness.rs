//! Tests of the test harness itself (no dependency on the binary).

use crate::support::*;

#[test]
fn fresh_db_answers_select_1() {
    let db = fresh_db();
    assert_eq!(db.scalar_i64("SELECT 1"), Some(1));
    assert_eq!(
        db.scalar_string("SELECT current_database()::text")
            .as_deref(),
        Some(db.name())
    );
    assert!(
        db.url().ends_with(&format!("/{}", db.name())),
        "{}",
        db.url()
    );
}

#[test]
fn two_fresh_dbs_are_different_databases() {
    let a = fresh_db();
    let b = fresh_db();
    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());
    a.execute("CREATE TABLE only_in_a (id int); INSERT INTO only_in_a VALUES (1), (2);");
    assert!(a.table_exists("only_in_a"));
    assert!(!b.table_exists("only_in_a"));
    assert_eq!(a.count("only_in_a"), 2);
}

#[test]
fn server_version_is_readable() {
    let db = fresh_db();
    let version = db
        .scalar_string("SELECT current_setting('server_version_num')")
        .expect("server_version_num");
    let num: i64 = version.parse().expect("numeric server_version_num");
    assert!(num >= 100_000, "server_version_num = {num}");
}

#[test]
fn the_cluster_is_reused_across_tests() {
    let a = fresh_db();
    let b = fresh_db();
    let port = server_port();
    assert_eq!(port, server_port());
    for db in [&a, &b] {
        let port_of_db = db
            .scalar_string("SELECT current_setting('port')")
            .expect("port");
        if server_is_managed() {
            assert_eq!(port_of_db, port.to_string());
        }
        assert!(
            db.url().contains(&format!(":{port}/")),
            "{} vs port {port}",
            db.url()
        );
    }
    // The admin URL points at the same server, not at a second one.
    let mut admin = admin_client();
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = ANY($1)",
            &[&vec![a.name(), b.name()]],
        )
        .expect("pg_database");
    assert_eq!(row.get::<_, i64>(0), 2, "{}", server_description());
    assert!(server_admin_url().starts_with("postgres"));
}

#[test]
fn helpers_read_schema_objects() {
    let db = fresh_db();
    db.execute(
        r#"CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
           CREATE TABLE "User" ("id" SERIAL NOT NULL, "role" "Role" NOT NULL DEFAULT 'USER',
                                CONSTRAINT "User_pkey" PRIMARY KEY ("id"));
           CREATE UNIQUE INDEX "User_role_key" ON "User"("role");"#,
    );
    assert!(db.table_exists("User"));
    assert!(!db.table_exists("user"), "names are exact");
    assert!(db.column_exists("User", "role"));
    assert!(db.index_exists("User_role_key"));
    assert!(db.index_is_valid("User_role_key"));
    assert_eq!(db.enum_values("Role"), ["USER", "ADMIN"]);
    assert_eq!(db.table_names(), ["User"]);
    assert!(db.applied_migrations().is_empty());
    assert_eq!(db.scalar_bool("SELECT true"), Some(true));
    assert_eq!(db.scalar_string("SELECT NULL::text"), None);
    assert!(db.try_execute("SELECT * FROM nope").is_err());
}

#[test]
fn migrations_folder_and_checksum() {
    let m = Migrations::new();
    m.add("20240101000000_init", "SELECT 1;\n")
        .lock_file(POSTGRES_LOCK_TOML);
    let sql = m.path().join("20240101000000_init").join("migration.sql");
    assert_eq!(std::fs::read_to_string(&sql).unwrap(), "SELECT 1;\n");
    assert!(m.path().join("migration_lock.toml").is_file());
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        m.checksum("20240101000000_init"),
        sha256_hex(b"SELECT 1;\n")
    );
}

#[test]
fn run_display_shows_everything() {
    let run = Run {
        code: 3,
        stdout: "{\"a\": 1}\n".into(),
        stderr: "warning".into(),
    };
    let shown = format!("{run}");
    assert!(
        shown.contains("exit code: 3") && shown.contains("{\"a\": 1}") && shown.contains("warning")
    );
    assert_eq!(run.json()["a"], 1);
    let two = Run {
        code: 0,
        stdout: "{} {}".into(),
        stderr: String::new(),
    };
    assert!(std::panic::catch_unwind(|| two.json()).is_err());
}
