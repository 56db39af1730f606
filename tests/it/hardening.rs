//! Issue 8: the user's real database, network and configuration are not the friendly defaults. Each
//! test reproduces one defect against a real PostgreSQL and checks what the user sees.

use crate::support::{
    admin_client, fresh_db, quote_ident, run, run_with_env, Migrations, TestDb, POSTGRES_LOCK_TOML,
};

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// A login role of its own for one test (roles are cluster-wide), dropped with what it owns.
struct Role {
    name: String,
    db_url: String,
}

impl Role {
    /// `CREATE ROLE <db>_<suffix> LOGIN` with the right to create schemas in `db`.
    fn new(db: &TestDb, suffix: &str) -> Role {
        let name = format!("{}_{suffix}", db.name());
        let mut admin = admin_client();
        admin
            .batch_execute(&format!(
                "CREATE ROLE {r} LOGIN; GRANT CONNECT, CREATE ON DATABASE {d} TO {r}",
                r = quote_ident(&name),
                d = quote_ident(db.name())
            ))
            .expect("create the test role");
        Role {
            name,
            db_url: db.url().to_string(),
        }
    }

    /// The test database's URL, logging in as this role (trust authentication).
    fn url(&self, query: &str) -> String {
        let mut url = url::Url::parse(&self.db_url).expect("test URL");
        url.set_username(&self.name).expect("user name");
        url.set_password(None).expect("no password");
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        url.to_string()
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.db_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP OWNED BY {r} CASCADE",
                r = quote_ident(&self.name)
            ));
        }
        let mut admin = admin_client();
        let _ = admin.batch_execute(&format!(
            "REVOKE ALL ON DATABASE {d} FROM {r}; DROP ROLE IF EXISTS {r}",
            d = quote_ident(
                self.db_url
                    .rsplit('/')
                    .next()
                    .and_then(|s| s.split('?').next())
                    .unwrap_or("")
            ),
            r = quote_ident(&self.name)
        ));
    }
}

fn one_migration() -> Migrations {
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_init", "CREATE TABLE a (id int);");
    m
}

/// Schemas holding a `_prisma_migrations` table, sorted.
fn history_schemas(db: &TestDb) -> Vec<String> {
    db.query_rows(
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = '_prisma_migrations' ORDER BY 1",
    )
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Deploys twice, then checks status (JSON) and guard, all through `url`: the history table must be
/// in `schema`, next to the migration's table, and everything must agree that the migration is applied.
fn deploy_twice_and_check(db: &TestDb, m: &Migrations, url: &str, schema: &str) {
    run(url, m.path(), &["deploy"]).success();
    let second = run(url, m.path(), &["deploy"]);
    second.success();
    assert!(
        second.stdout.contains("No pending migrations to apply."),
        "{second}"
    );
    assert_eq!(history_schemas(db), vec![schema.to_string()]);
    assert!(db.table_exists_in(schema, "a"), "the migration's table");
    let status = run(url, m.path(), &["status", "--json"]);
    status.success();
    let json = status.json();
    assert_eq!(json["database"]["schema"], schema, "{status}");
    assert_eq!(json["migrations"][0]["state"], "applied", "{status}");
    let guard = run(url, m.path(), &["guard", "--", "true"]);
    assert_eq!(guard.code, 0, "guard must start the app\n{guard}");
}

// ---------------------------------------------------------------------------------------------------
// 1. Where the history table lives
// ---------------------------------------------------------------------------------------------------

#[test]
fn history_table_lives_in_a_user_private_schema() {
    let db = fresh_db();
    let role = Role::new(&db, "app");
    db.execute(&format!(
        "CREATE SCHEMA {r} AUTHORIZATION {r}",
        r = quote_ident(&role.name)
    ));
    let m = one_migration();
    let url = role.url("");
    deploy_twice_and_check(&db, &m, &url, &role.name);
    // A failed row there is found by deploy, diagnose and resolve alike.
    m.add(
        "20240102000000_fails",
        "-- prisma-release: no-transaction\nCREATE TABLE c (id int);\nSELECT 1/0;\n",
    );
    assert_eq!(run(&url, m.path(), &["deploy"]).code, 11);
    assert_eq!(
        run(&url, m.path(), &["deploy"]).code,
        10,
        "P3009 on the second deploy"
    );
    let diagnose = run(&url, m.path(), &["diagnose", "--json"]);
    assert_eq!(diagnose.code, 10, "{diagnose}");
    assert!(
        diagnose.stdout.contains("20240102000000_fails"),
        "{diagnose}"
    );
    run(
        &url,
        m.path(),
        &["resolve", "--rolled-back", "20240102000000_fails"],
    )
    .success();
    let rolled_back = db.scalar_i64(&format!(
        "SELECT count(*) FROM {}._prisma_migrations WHERE rolled_back_at IS NOT NULL",
        quote_ident(&role.name)
    ));
    assert_eq!(rolled_back, Some(1));
    assert_eq!(history_schemas(&db), vec![role.name.clone()]);
}

#[test]
fn history_table_follows_alter_role_set_search_path() {
    let db = fresh_db();
    let role = Role::new(&db, "tenant");
    db.execute(&format!(
        "CREATE SCHEMA tenant AUTHORIZATION {r}; ALTER ROLE {r} SET search_path = tenant, public",
        r = quote_ident(&role.name)
    ));
    let m = one_migration();
    deploy_twice_and_check(&db, &m, &role.url(""), "tenant");
}

#[test]
fn history_table_follows_search_path_in_url_options() {
    let db = fresh_db();
    db.execute("CREATE SCHEMA app");
    let mut url = url::Url::parse(db.url()).expect("test URL");
    url.query_pairs_mut()
        .append_pair("options", "-c search_path=app,public");
    let m = one_migration();
    deploy_twice_and_check(&db, &m, url.as_str(), "app");
}

// ---------------------------------------------------------------------------------------------------
// 4 and 10. URLs that would leak a password or smuggle a NUL; issue 13's `%+1`
// ---------------------------------------------------------------------------------------------------

#[test]
fn password_with_unencoded_slash_or_question_mark_is_refused_without_echo() {
    let m = one_migration();
    for url in [
        "postgres://app:/S3cret@127.0.0.1:1/db",
        "postgres://app:1234/S3cret@127.0.0.1:1/db",
        "postgres://app:1234?S3cret@127.0.0.1:1/db",
    ] {
        for args in [&["deploy", "-v"][..], &["status", "--json"][..]] {
            let run = run(url, m.path(), args);
            assert_eq!(run.code, 3, "{url} {args:?}\n{run}");
            assert!(
                run.output().contains("percent-encode reserved characters"),
                "{run}"
            );
            assert!(!run.output().contains("S3cret"), "password echoed\n{run}");
        }
    }
}

#[test]
fn invalid_escapes_and_encoded_nul_are_configuration_errors() {
    let m = one_migration();
    for (url, expected) in [
        (
            "postgres://app:a%+1b@127.0.0.1:1/db",
            "invalid percent-encoded sequence",
        ),
        ("postgres://app:pw@127.0.0.1:1/a%00b", "NUL"),
        ("postgres://a%00pp:pw@127.0.0.1:1/db", "NUL"),
        ("postgres://app:p%00w@127.0.0.1:1/db", "NUL"),
    ] {
        let run = run(url, m.path(), &["deploy", "--json"]);
        assert_eq!(run.code, 3, "{url}\n{run}");
        assert!(run.output().contains(expected), "{url}\n{run}");
        assert!(!run.output().contains('\0'), "raw NUL in output\n{run}");
        assert!(!run.output().contains("\\u0000"), "NUL in JSON\n{run}");
    }
}

// ---------------------------------------------------------------------------------------------------
// 6. Environment values versus flags
// ---------------------------------------------------------------------------------------------------

#[test]
fn explicit_flags_win_over_empty_or_invalid_variables() {
    let db = fresh_db();
    let m = one_migration();
    // `--migrations` is given by the helper; an empty variable must not matter.
    let run = run_with_env(
        db.url(),
        m.path(),
        &["--format", "human", "deploy"],
        &[
            ("PRISMA_MIGRATIONS_DIR", ""),
            ("PRISMA_RELEASE_FORMAT", "yaml"),
        ],
    );
    run.success();
    assert!(run.stdout.contains("20240101000000_init"), "{run}");
    // The boot guard still starts the app when the flag is given.
    let guard = run_with_env(
        db.url(),
        m.path(),
        &[
            "--format",
            "human",
            "guard",
            "--",
            "sh",
            "-c",
            "echo app-started",
        ],
        &[
            ("PRISMA_RELEASE_FORMAT", "JSON!"),
            ("PRISMA_MIGRATIONS_DIR", ""),
        ],
    );
    guard.success();
    assert!(guard.stdout.contains("app-started"), "{guard}");
}

#[test]
fn format_variable_empty_is_unset_capitals_work_and_invalid_names_the_variable() {
    let db = fresh_db();
    let m = one_migration();
    let empty = run_with_env(
        db.url(),
        m.path(),
        &["status"],
        &[("PRISMA_RELEASE_FORMAT", "")],
    );
    assert_eq!(empty.code, 12, "pending migration\n{empty}");
    assert!(
        !empty.stdout.trim_start().starts_with('{'),
        "human\n{empty}"
    );
    let capitals = run_with_env(
        db.url(),
        m.path(),
        &["status"],
        &[("PRISMA_RELEASE_FORMAT", "JSON")],
    );
    assert_eq!(capitals.json()["command"], "status", "{capitals}");
    let invalid = run_with_env(
        db.url(),
        m.path(),
        &["status"],
        &[("PRISMA_RELEASE_FORMAT", "yaml")],
    );
    assert_eq!(invalid.code, 2, "{invalid}");
    assert!(
        invalid.stderr.contains("PRISMA_RELEASE_FORMAT"),
        "{invalid}"
    );
    assert!(
        !invalid.stderr.contains("--format <"),
        "names the variable, not the flag\n{invalid}"
    );
}

#[test]
fn migrations_variable_is_used_without_the_flag_and_empty_means_default() {
    let db = fresh_db();
    let m = one_migration();
    let dir = m.path().to_str().expect("utf-8 temp path");
    let from_env = crate::support::run_raw(
        ["status", "--json"],
        &[("DATABASE_URL", db.url()), ("PRISMA_MIGRATIONS_DIR", dir)],
    );
    assert_eq!(
        from_env.json()["migrations"][0]["name"],
        "20240101000000_init",
        "{from_env}"
    );
    let empty = crate::support::run_raw(
        ["status", "--json"],
        &[("DATABASE_URL", db.url()), ("PRISMA_MIGRATIONS_DIR", "")],
    );
    assert_eq!(
        empty.code, 3,
        "the default folder does not exist here\n{empty}"
    );
    assert!(empty.output().contains("prisma/migrations"), "{empty}");
}

// ---------------------------------------------------------------------------------------------------
// 2. What only psql can run is refused before anything is written
// ---------------------------------------------------------------------------------------------------

#[test]
fn copy_stdin_stdout_meta_commands_and_nul_are_refused_in_preflight() {
    let cases: [(&[u8], &str, &str); 4] = [
        (
            b"CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n2\n\\.\n",
            "COPY",
            "statement 2 (line 2)",
        ),
        (
            b"CREATE TABLE t (a int);\n\nCOPY (SELECT 1) TO STDOUT;\n",
            "TO STDOUT",
            "statement 2 (line 3)",
        ),
        (
            b"CREATE TABLE t (a int);\n\\connect other\nCREATE TABLE u (a int);\n",
            "`\\connect` is a psql meta-command",
            "line 2",
        ),
        (
            b"CREATE TABLE t (a int);\nINSERT INTO t VALUES (1); -- \0\n",
            "NUL",
            "statement 2 (line 2)",
        ),
    ];
    for (script, reason, place) in cases {
        let db = fresh_db();
        let m = one_migration();
        m.add_bytes("20240102000000_bad", script);
        for env in [&[][..], &[("PRISMA_SCHEMA_DISABLE_ADVISORY_LOCK", "1")][..]] {
            let run = run_with_env(db.url(), m.path(), &["deploy"], env);
            assert_eq!(run.code, 3, "{run}");
            assert!(run.stderr.contains(reason), "{run}");
            assert!(run.stderr.contains(place), "{run}");
            assert!(run.stderr.contains("20240102000000_bad"), "{run}");
            assert!(
                !db.table_exists("_prisma_migrations"),
                "nothing written\n{run}"
            );
            assert!(!db.table_exists("a") && !db.table_exists("t"), "{run}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// 8. The splitter lexes by the session's standard_conforming_strings
// ---------------------------------------------------------------------------------------------------

#[test]
fn backslash_quotes_split_like_the_server_when_standard_conforming_strings_is_off() {
    let db = fresh_db();
    db.execute(&format!(
        "ALTER DATABASE {} SET standard_conforming_strings = off",
        quote_ident(db.name())
    ));
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(
        "20240101000000_quotes",
        "CREATE TABLE t (s text);\nINSERT INTO t SELECT 'it\\'s; here';\n",
    );
    let plan = run(db.url(), m.path(), &["deploy", "--dry-run", "--json"]);
    plan.success();
    assert_eq!(plan.json()["plan"][0]["statements"], 2, "{plan}");
    let tx = run(db.url(), m.path(), &["deploy"]);
    tx.success();
    assert_eq!(
        db.scalar_string("SELECT s FROM t").as_deref(),
        Some("it's; here")
    );
    // The statement-by-statement path splits the same way.
    let db2 = fresh_db();
    db2.execute(&format!(
        "ALTER DATABASE {} SET standard_conforming_strings = off",
        quote_ident(db2.name())
    ));
    run(db2.url(), m.path(), &["deploy", "--tx-mode", "never"]).success();
    assert_eq!(db2.scalar_i64("SELECT count(*) FROM t"), Some(1));
}

// ---------------------------------------------------------------------------------------------------
// 7. A migration that changes search_path
// ---------------------------------------------------------------------------------------------------

#[test]
fn search_path_changes_do_not_reach_the_bookkeeping_or_the_next_migration() {
    let db = fresh_db();
    db.execute("CREATE SCHEMA other");
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_dump",
            "SELECT pg_catalog.set_config('search_path', '', false);\n\
             CREATE TABLE public.a (id int);\n",
        )
        .add(
            "20240102000000_other",
            "SET search_path = other;\nCREATE TABLE in_other (id int);\n",
        )
        .add("20240103000000_b", "CREATE TABLE b (id int);\n");
    let run = run(db.url(), m.path(), &["deploy"]);
    run.success();
    assert_eq!(
        db.applied_migrations(),
        vec![
            "20240101000000_dump",
            "20240102000000_other",
            "20240103000000_b"
        ]
    );
    assert!(db.table_exists_in("other", "in_other"));
    assert!(
        db.table_exists_in("public", "b"),
        "the third migration starts from the session's own search_path"
    );
    assert!(!db.table_exists_in("other", "b"));
}

/// Not only `search_path`: a session-level `SET` of a timeout or of `client_encoding` in one migration
/// once applied to every later migration of the same run (a pg_dump header's `SET statement_timeout`
/// cancelled the next migration; `LATIN1` re-encoded its text literals).
#[test]
fn session_settings_of_one_migration_do_not_reach_the_next() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_settings",
            "SET statement_timeout = '200ms';\nSET client_encoding = 'LATIN1';\n",
        )
        .add(
            "20240102000000_uses",
            "CREATE TABLE t (v text);\nINSERT INTO t VALUES ('caf\u{e9}');\nSELECT pg_sleep(0.6);\n",
        );
    let run = run(db.url(), m.path(), &["deploy"]);
    run.success();
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM t WHERE v = 'caf\u{e9}' AND length(v) = 4"),
        Some(1),
        "the text arrived as written\n{run}"
    );
}

#[test]
fn statement_by_statement_failure_after_emptying_search_path_keeps_its_logs() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(
        "20240101000000_dump",
        "-- prisma-release: no-transaction\n\
         SELECT pg_catalog.set_config('search_path', '', false);\n\
         CREATE TABLE public.x (id int);\n\
         CREATE TABLE public.x (id int);\n",
    );
    let run = run(db.url(), m.path(), &["deploy"]);
    assert_eq!(run.code, 11, "{run}");
    let logs = db.scalar_string("SELECT logs FROM public._prisma_migrations");
    let logs = logs.expect("the failed row has its logs");
    assert!(logs.contains("already exists"), "{logs}");
    assert!(logs.contains("2 of 3 statements were committed"), "{logs}");
    let diagnose = crate::support::run(db.url(), m.path(), &["diagnose"]);
    assert!(
        !diagnose.output().contains("died"),
        "the logs say what happened\n{diagnose}"
    );
}

// ---------------------------------------------------------------------------------------------------
// 5. A migration that releases the deploy lock
// ---------------------------------------------------------------------------------------------------

/// Starts two deploys half a second apart (the second waits for the lock) and returns both runs.
fn two_concurrent_deploys(
    db: &TestDb,
    m: &Migrations,
) -> (crate::support::Run, crate::support::Run) {
    let first = crate::support::spawn(db.url(), m.path(), &["deploy"], &[]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let second = crate::support::spawn(db.url(), m.path(), &["deploy"], &[]);
    (
        crate::support::finish(first),
        crate::support::finish(second),
    )
}

/// Every migration has at most one applied row, and `t` got at most one row.
fn assert_nothing_applied_twice(db: &TestDb, runs: &str) {
    let doubled = db.scalar_i64(
        "SELECT count(*) FROM (SELECT migration_name FROM public._prisma_migrations \
         WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL \
         GROUP BY migration_name HAVING count(*) > 1) d",
    );
    assert_eq!(doubled, Some(0), "a migration applied twice\n{runs}");
    if db.table_exists("t") {
        assert!(db.count("t") <= 1, "the INSERT ran twice\n{runs}");
    }
}

#[test]
fn a_transactional_migration_that_unlocks_is_rolled_back_and_nothing_runs_twice() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_unlock",
            "CREATE TABLE t (id int);\nSELECT pg_sleep(1.5);\nSELECT pg_advisory_unlock(72707369);\n",
        )
        .add(
            "20240102000000_insert",
            "INSERT INTO t VALUES (1);\nSELECT pg_sleep(2);\n",
        );
    let (first, second) = two_concurrent_deploys(&db, &m);
    let runs = format!("{first}\n{second}");
    assert_nothing_applied_twice(&db, &runs);
    assert_eq!(first.code, 11, "{runs}");
    assert!(
        first
            .stderr
            .contains("released the migration advisory lock"),
        "{runs}"
    );
    assert!(db.applied_migrations().is_empty(), "{runs}");
}

#[test]
fn a_statement_by_statement_migration_that_unlocks_never_lets_the_next_run_twice() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_unlock",
            "-- prisma-release: no-transaction\nCREATE TABLE t (id int);\nSELECT pg_sleep(1.5);\n\
             SELECT pg_advisory_unlock_all();\n",
        )
        .add(
            "20240102000000_insert",
            "INSERT INTO t VALUES (1);\nSELECT pg_sleep(2);\n",
        );
    let (first, second) = two_concurrent_deploys(&db, &m);
    let runs = format!("{first}\n{second}");
    assert_nothing_applied_twice(&db, &runs);
    assert_eq!(db.count("t"), 1, "{runs}");
    assert_eq!(
        db.applied_migrations(),
        vec!["20240101000000_unlock", "20240102000000_insert"],
        "{runs}"
    );
    // Whichever deploy ran the unlocking migration noticed (the other may have been first to start).
    assert!(
        format!("{}{}", first.stderr, second.stderr)
            .contains("released the migration advisory lock 72707369; taking it again"),
        "{runs}"
    );
}

/// `DISCARD ALL` (what a pooler runs between clients) releases every advisory lock and resets the
/// session. It cannot run inside a transaction, so with or without the directive the migration runs
/// statement by statement. The second deploy starts only once the *next* migration runs: had the
/// first deploy not taken the lock again, the second would get it at once and apply that one too.
#[test]
fn a_migration_with_discard_all_never_lets_the_next_run_twice() {
    for directive in ["-- prisma-release: no-transaction\n", ""] {
        let db = fresh_db();
        let m = Migrations::new();
        m.lock_file(POSTGRES_LOCK_TOML)
            .add(
                "20240101000000_discard",
                &format!("{directive}CREATE TABLE t (id int);\nDISCARD ALL;\n"),
            )
            .add(
                "20240102000000_insert",
                "INSERT INTO t VALUES (1);\nSELECT pg_sleep(2.5);\n",
            );
        let mut first = crate::support::spawn(db.url(), m.path(), &["deploy"], &[]);
        wait_until_running(&db, "pg_sleep(2.5)", &mut first);
        let second = crate::support::spawn(db.url(), m.path(), &["deploy"], &[]);
        let (first, second) = (
            crate::support::finish(first),
            crate::support::finish(second),
        );
        let runs = format!("{directive:?}\n{first}\n{second}");
        assert_nothing_applied_twice(&db, &runs);
        assert_eq!(db.count("t"), 1, "{runs}");
        assert_eq!((first.code, second.code), (0, 0), "{runs}");
        assert!(
            first
                .stderr
                .contains("released the migration advisory lock 72707369; taking it again"),
            "{runs}"
        );
        assert!(
            second.stdout.contains("No pending migrations to apply."),
            "{runs}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// 10. Smaller misreports
// ---------------------------------------------------------------------------------------------------

#[test]
fn unreadable_or_non_utf8_lock_file_is_p3019() {
    let db = fresh_db();
    let m = one_migration();
    m.write_file("migration_lock.toml", b"provider = \"mysql\"\n\xff\n");
    let run = run(db.url(), m.path(), &["deploy", "--json"]);
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(run.json()["error"]["prisma_code"], "P3019", "{run}");
    assert!(run.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("UTF-8"));
    assert!(!db.table_exists("_prisma_migrations"));
    // A lock "file" that is a directory cannot be read either (root reads any mode, so not chmod).
    let m = Migrations::new();
    m.write_file("migration_lock.toml/x", b"")
        .add("20240101000000_init", "CREATE TABLE a (id int);");
    let run = crate::support::run(db.url(), m.path(), &["deploy"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("migration_lock.toml cannot be read"),
        "{run}"
    );
}

#[test]
fn an_unreadable_applied_migration_is_not_called_modified() {
    let db = fresh_db();
    let m = one_migration();
    run(db.url(), m.path(), &["deploy"]).success();
    // Replace the applied migration.sql by something that cannot be read as a file.
    std::fs::remove_file(m.sql_path("20240101000000_init")).expect("remove");
    std::fs::create_dir(m.sql_path("20240101000000_init")).expect("mkdir");
    let status = run(db.url(), m.path(), &["status", "--json"]);
    status.success();
    let json = status.json();
    assert_eq!(json["migrations"][0]["state"], "applied", "{status}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("migration/unreadable"), "{status}");
    assert!(warnings.contains("cannot be read"), "{status}");
    assert!(!warnings.contains("modified"), "{status}");
}

#[test]
fn a_device_as_sslrootcert_is_a_configuration_error_not_a_hang() {
    let m = one_migration();
    let url = "postgres://app@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/dev/zero";
    let started = std::time::Instant::now();
    let run = run(url, m.path(), &["status"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("not a regular file"), "{run}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_failed_create_index_concurrently_reports_the_invalid_index_it_left() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_data",
            "CREATE TABLE u (a int);\nINSERT INTO u VALUES (1), (1);\n",
        )
        .add(
            "20240102000000_index",
            "CREATE UNIQUE INDEX CONCURRENTLY u_a ON u (a);\n",
        );
    let run = run(db.url(), m.path(), &["deploy"]);
    assert_eq!(run.code, 11, "{run}");
    assert!(
        !db.index_is_valid("u_a"),
        "the server left an INVALID index"
    );
    assert!(run.stderr.contains("INVALID index `u_a`"), "{run}");
    let logs = db
        .scalar_string("SELECT logs FROM _prisma_migrations WHERE finished_at IS NULL")
        .expect("logs");
    assert!(logs.contains("INVALID index `u_a`"), "{logs}");
}

#[test]
fn a_do_block_that_commits_hints_the_no_transaction_directive() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(
        "20240101000000_commit",
        "CREATE TABLE a (id int);\nDO $$BEGIN COMMIT; END$$;\n",
    );
    let run = run(db.url(), m.path(), &["deploy", "--json"]);
    assert_eq!(run.code, 11, "{run}");
    let json = run.json();
    assert_eq!(json["error"]["failure"]["sqlstate"], "2D000", "{run}");
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap_or("")
            .contains("-- prisma-release: no-transaction"),
        "{run}"
    );
}

// ---------------------------------------------------------------------------------------------------
// 3. A network partition while a migration runs (network namespaces of our own)
// ---------------------------------------------------------------------------------------------------

/// `deploy` run inside the client namespace of `p`, against `db` through the partitionable path,
/// with dead-peer detection shortened to `socket_timeout` seconds.
fn spawn_deploy_across(
    p: &crate::support::netns::Partition,
    db: &TestDb,
    m: &Migrations,
    query: &str,
) -> std::process::Child {
    let mut url = url::Url::parse(db.url()).expect("test URL");
    url.set_host(Some(&p.server_addr.to_string()))
        .expect("host");
    url.set_port(Some(p.port)).expect("port");
    url.set_query(Some(query));
    let mut cmd = p.command_in_client(&crate::support::bin());
    crate::support::scrub_env(&mut cmd);
    cmd.env("DATABASE_URL", url.as_str())
        .arg("--migrations")
        .arg(m.path())
        .arg("deploy")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.spawn()
        .expect("start prisma-release in the client namespace")
}

/// Waits until the server runs a statement containing `needle` for this database; if it never does,
/// kills `child` (the deploy that should have run it) before failing, so nothing is left running.
fn wait_until_running(db: &TestDb, needle: &str, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state = 'active' AND pid <> pg_backend_pid() AND position('{needle}' in query) > 0"
    );
    while db.scalar_i64(&sql) != Some(1) {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the migration never started (`{needle}` never ran)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts `deploy` of `m` across a fresh partitionable path and cuts the path while the first
/// migration's `pg_sleep(4)` runs. The partition is returned to heal it (and removed on drop).
fn deploy_cut_midway(
    db: &TestDb,
    m: &Migrations,
    query: &str,
) -> (crate::support::netns::Partition, std::process::Child) {
    let p = crate::support::netns::Partition::new(crate::support::server_port());
    let mut child = spawn_deploy_across(&p, db, m, query);
    wait_until_running(db, "pg_sleep(4)", &mut child);
    p.cut();
    (p, child)
}

fn sleepy_migrations() -> Migrations {
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add(
            "20240101000000_slow",
            "CREATE TABLE a (id int);\nSELECT pg_sleep(4);\n",
        )
        .add("20240102000000_next", "CREATE TABLE b (id int);\n");
    m
}

#[test]
fn a_partition_during_a_committed_migration_is_detected_and_the_truth_read_back() {
    let db = fresh_db();
    let m = sleepy_migrations();
    let started = std::time::Instant::now();
    let (p, child) = deploy_cut_midway(&db, &m, "socket_timeout=2&connect_timeout=2");
    // The server finishes and commits while the client hears nothing; heal after detection.
    std::thread::sleep(std::time::Duration::from_secs(7));
    p.heal();
    let run = crate::support::wait_with_timeout(
        child,
        std::time::Duration::from_secs(90),
        "deploy across a partition",
    );
    run.success();
    assert!(
        run.stderr.contains("commit state unknown — checking"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("it was committed before the connection was lost"),
        "{run}"
    );
    assert!(!run.stderr.contains("nothing was committed"), "{run}");
    assert_eq!(
        db.applied_migrations(),
        vec!["20240101000000_slow", "20240102000000_next"],
        "each migration exactly once\n{run}"
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM _prisma_migrations"),
        Some(2)
    );
    eprintln!(
        "partition test: {:.1}s in all\n{run}",
        started.elapsed().as_secs_f64()
    );
}

/// During a partition of a local network, reconnecting fails with "no route to host" (address
/// resolution gives up) rather than a timeout: that is transient too, retried until the path heals.
#[test]
fn no_route_to_host_while_reconnecting_is_retried_until_the_partition_heals() {
    let db = fresh_db();
    let m = sleepy_migrations();
    let (p, child) = deploy_cut_midway(&db, &m, "socket_timeout=2&connect_timeout=5");
    p.forget_neighbour();
    // Detection after ~2 s, then at least one reconnect that ends in "no route to host" (~3 s).
    std::thread::sleep(std::time::Duration::from_secs(9));
    p.heal();
    let run = crate::support::wait_with_timeout(
        child,
        std::time::Duration::from_secs(90),
        "deploy across a partition",
    );
    run.success();
    assert!(
        run.stderr.to_ascii_lowercase().contains("no route to host"),
        "the reconnect met an unreachable host\n{run}"
    );
    assert!(
        run.stderr
            .contains("it was committed before the connection was lost"),
        "{run}"
    );
    assert_eq!(
        db.applied_migrations(),
        vec!["20240101000000_slow", "20240102000000_next"],
        "each migration exactly once\n{run}"
    );
}

#[test]
fn a_partition_that_does_not_heal_ends_with_commit_state_unknown() {
    let db = fresh_db();
    let m = sleepy_migrations();
    let started = std::time::Instant::now();
    let (_partition, child) = deploy_cut_midway(&db, &m, "socket_timeout=2&connect_timeout=1");
    let run = crate::support::wait_with_timeout(
        child,
        std::time::Duration::from_secs(60),
        "deploy across a partition",
    );
    let elapsed = started.elapsed();
    assert_eq!(run.code, 4, "{run}");
    assert!(
        run.stderr.contains("commit state unknown — checking"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("commit state unknown: run `prisma-release status`"),
        "{run}"
    );
    assert!(!run.stderr.contains("nothing was committed"), "{run}");
    assert!(
        elapsed < std::time::Duration::from_secs(30),
        "bounded: {elapsed:?}\n{run}"
    );
    eprintln!(
        "unhealed partition: exit 4 after {:.1}s\n{run}",
        elapsed.as_secs_f64()
    );
}

/// The default (no `socket_timeout` in the URL): a partition is still noticed, in about 30 s.
#[test]
fn slow_default_dead_peer_detection_ends_an_unhealed_partition_within_a_minute() {
    let db = fresh_db();
    let m = sleepy_migrations();
    let (_partition, child) = deploy_cut_midway(&db, &m, "connect_timeout=1");
    let cut = std::time::Instant::now();
    let run = crate::support::wait_with_timeout(
        child,
        std::time::Duration::from_secs(120),
        "deploy across a partition",
    );
    let detected = cut.elapsed();
    assert_eq!(run.code, 4, "{run}");
    assert!(
        run.stderr.contains("commit state unknown — checking"),
        "{run}"
    );
    assert!(
        detected > std::time::Duration::from_secs(15)
            && detected < std::time::Duration::from_secs(60),
        "about 30 s: {detected:?}\n{run}"
    );
    eprintln!(
        "default dead-peer detection: exit 4 {:.1}s after the cut",
        detected.as_secs_f64()
    );
}

#[test]
fn a_partition_during_a_statement_by_statement_migration_says_commit_state_unknown() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML).add(
        "20240101000000_steps",
        "-- prisma-release: no-transaction\nCREATE TABLE a (id int);\nSELECT pg_sleep(4);\n\
         CREATE TABLE b (id int);\n",
    );
    let (_partition, child) = deploy_cut_midway(&db, &m, "socket_timeout=2&connect_timeout=1");
    let run = crate::support::wait_with_timeout(
        child,
        std::time::Duration::from_secs(60),
        "deploy across a partition",
    );
    assert_eq!(run.code, 11, "{run}");
    assert!(run.stderr.contains("commit state unknown"), "{run}");
    assert!(run.stderr.contains("while statement 2 ran"), "{run}");
    assert!(db.table_exists("a") && !db.table_exists("b"), "{run}");
    let status = run_with_env(db.url(), m.path(), &["status"], &[]);
    assert_eq!(
        status.code, 10,
        "the row is left failed for a person to decide\n{status}"
    );
}
