//! `deploy` end to end: the real binary against a real PostgreSQL, checked the way a user sees it —
//! exit code, stdout/stderr, the JSON contract, the rows of `_prisma_migrations` (as Prisma writes
//! them) and the objects in the catalog. Every test has its own database and migrations folder.

use crate::contract::{self, DeployReport};
use crate::support::{
    self, fresh_db, quote_ident, run, run_with_env, sha256_hex, Migrations, Run, TestDb,
    POSTGRES_LOCK_TOML, PRISMA_DDL,
};

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// A URL on which nothing listens (connection refused at once).
const CLOSED_PORT_URL: &str = "postgres://postgres@127.0.0.1:1/x";

/// `prisma-release --migrations <m> deploy <extra...>` with `DATABASE_URL` = the test database.
fn deploy(db: &TestDb, m: &Migrations, extra: &[&str]) -> Run {
    let mut args = vec!["deploy"];
    args.extend_from_slice(extra);
    run(db.url(), m.path(), &args)
}

/// [`deploy`] with `--format json`, the stdout parsed by the contract struct.
fn deploy_json(db: &TestDb, m: &Migrations, extra: &[&str]) -> (Run, DeployReport) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let run = deploy(db, m, &args);
    let report = parse_deploy(&run);
    (run, report)
}

/// stdout as exactly one deploy report (panics with the whole run otherwise).
fn parse_deploy(run: &Run) -> DeployReport {
    let _ = run.json();
    contract::deploy(&run.stdout)
}

/// Checks a JSON failure document: one contract document, `ok == false`, the exit code on the
/// process and in the document, `error.id`, `error.prisma_code`, and the error echoed on stderr.
#[track_caller]
fn expect_json_error(run: &Run, code: u8, id: &str, prisma_code: Option<&str>) -> DeployReport {
    assert_eq!(run.code, i32::from(code), "exit code\n{run}");
    let report = parse_deploy(run);
    assert_eq!(report.schema_version, 1, "{run}");
    assert_eq!(report.command, "deploy", "{run}");
    assert!(!report.ok, "ok must be false\n{run}");
    assert_eq!(report.exit_code, code, "exit_code field\n{run}");
    let error = report
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("error must be set\n{run}"));
    assert_eq!(error.id, id, "error.id\n{run}");
    assert_eq!(
        error.prisma_code.as_deref(),
        prisma_code,
        "prisma_code\n{run}"
    );
    assert!(!error.message.is_empty(), "error.message\n{run}");
    assert!(!error.hint.is_empty(), "error.hint\n{run}");
    assert!(
        run.stderr.contains(&format!("error: {}", error.message)),
        "the error is also on stderr\n{run}"
    );
    report
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// One row of `_prisma_migrations`, with the timestamp facts the tests need.
#[derive(Debug, Clone, PartialEq)]
struct HistoryRow {
    id: String,
    checksum: String,
    migration_name: String,
    logs: Option<String>,
    finished: bool,
    rolled_back: bool,
    /// `finished_at >= started_at`; NULL (None) when not finished.
    finished_not_before_start: Option<bool>,
    applied_steps_count: i32,
}

/// All rows of `<schema>._prisma_migrations`, in `started_at` order (the order they were applied).
fn history_in(db: &TestDb, schema: &str) -> Vec<HistoryRow> {
    db.query_rows(&format!(
        "SELECT id::text, checksum::text, migration_name::text, logs, finished_at IS NOT NULL, \
         rolled_back_at IS NOT NULL, finished_at >= started_at, applied_steps_count \
         FROM {}._prisma_migrations ORDER BY started_at, migration_name",
        quote_ident(schema)
    ))
    .iter()
    .map(|r| HistoryRow {
        id: r.get(0),
        checksum: r.get(1),
        migration_name: r.get(2),
        logs: r.get(3),
        finished: r.get(4),
        rolled_back: r.get(5),
        finished_not_before_start: r.get(6),
        applied_steps_count: r.get(7),
    })
    .collect()
}

fn history(db: &TestDb) -> Vec<HistoryRow> {
    history_in(db, "public")
}

fn names(rows: &[HistoryRow]) -> Vec<&str> {
    rows.iter().map(|r| r.migration_name.as_str()).collect()
}

/// Prisma's `Uuid::new_v4().to_string()`: 36 chars, lowercase hex, hyphens at 8/13/18/23, version
/// nibble 4, variant 8/9/a/b.
fn is_lowercase_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// A row exactly as Prisma's successful `migrate deploy` leaves it (prisma-compat §1.3).
#[track_caller]
fn assert_prisma_success_row(row: &HistoryRow, name: &str, checksum: &str, run: &Run) {
    assert_eq!(row.migration_name, name, "{row:?}\n{run}");
    assert!(
        is_lowercase_uuid_v4(&row.id),
        "id is not a lowercase UUID v4: {row:?}\n{run}"
    );
    assert_eq!(row.checksum, checksum, "checksum of {name}\n{run}");
    assert_eq!(row.logs, None, "logs must be NULL: {row:?}\n{run}");
    assert!(
        !row.rolled_back,
        "rolled_back_at must be NULL: {row:?}\n{run}"
    );
    assert_eq!(row.applied_steps_count, 1, "{row:?}\n{run}");
    assert!(row.finished, "finished_at must be set: {row:?}\n{run}");
    assert_eq!(
        row.finished_not_before_start,
        Some(true),
        "finished_at >= started_at: {row:?}\n{run}"
    );
}

/// Every user-visible object of the database outside the system schemas: schemas, relations
/// (tables, indexes, sequences, views), types, constraints and functions. Equal before and after a
/// run means the run wrote nothing.
fn catalog(db: &TestDb) -> Vec<String> {
    const USER: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";
    db.column_strings(&format!(
        "SELECT x FROM ( \
           SELECT 'schema ' || n.nspname AS x FROM pg_namespace n WHERE {USER} \
           UNION ALL SELECT 'relation(' || c.relkind::text || ') ' || n.nspname || '.' || c.relname \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} \
           UNION ALL SELECT 'type(' || t.typtype::text || ') ' || n.nspname || '.' || t.typname \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype IN ('e', 'd', 'r', 'm') AND {USER} \
           UNION ALL SELECT 'constraint ' || n.nspname || '.' || co.conname \
             FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE {USER} \
           UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER} \
         ) s ORDER BY x"
    ))
    .into_iter()
    .flatten()
    .collect()
}

/// Asserts that `run` changed nothing in the database compared with `before`, and that there is no
/// `_prisma_migrations` table anywhere.
#[track_caller]
fn assert_nothing_written(db: &TestDb, before: &[String], run: &Run) {
    let after = catalog(db);
    assert_eq!(after, before, "the catalog changed\n{run}");
    assert!(
        !after.iter().any(|o| o.ends_with("._prisma_migrations")),
        "no _prisma_migrations table may exist: {after:?}\n{run}"
    );
}

fn rows_of_migration(db: &TestDb, name: &str) -> Vec<HistoryRow> {
    history(db)
        .into_iter()
        .filter(|r| r.migration_name == name)
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Realistic Prisma migrations
// ---------------------------------------------------------------------------------------------------

const INIT_SQL: &str = r#"-- CreateEnum
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');

-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "Role" NOT NULL DEFAULT 'USER',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Post" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "content" TEXT,
    "published" BOOLEAN NOT NULL DEFAULT false,
    "authorId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
"#;

const ADD_ENUM_VALUE_SQL: &str = "-- AlterEnum\nALTER TYPE \"Role\" ADD VALUE 'MODERATOR';\n";

const BACKFILL_SQL: &str = r#"-- AlterTable
ALTER TABLE "User" ADD COLUMN     "displayName" TEXT;

-- Backfill (added by hand): existing users are shown under their name, or the local part of their email.
UPDATE "User" SET "displayName" = COALESCE("name", split_part("email", '@', 1)) WHERE "displayName" IS NULL;

-- AlterTable (added by hand)
ALTER TABLE "User" ALTER COLUMN "displayName" SET NOT NULL;
"#;

/// Written with CRLF line endings (a Windows checkout).
const COMMENTS_SQL_LF: &str = r#"-- CreateTable
CREATE TABLE "Comment" (
    "id" SERIAL NOT NULL,
    "body" TEXT NOT NULL,
    "postId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Comment_postId_idx" ON "Comment"("postId");

-- AddForeignKey
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_postId_fkey" FOREIGN KEY ("postId") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
"#;

const UNICODE_SQL: &str = r#"-- CreateTable
-- Catégories affichées dans l'interface (日本語の説明付き)
CREATE TABLE "Category" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL DEFAULT 'Général — 日本',

    CONSTRAINT "Category_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Category_label_key" ON "Category"("label");

-- Seed (added by hand): la catégorie par défaut
INSERT INTO "Category" DEFAULT VALUES;
"#;

const CONCURRENT_INDEX_SQL: &str = r#"-- CreateIndex
CREATE INDEX CONCURRENTLY "Post_authorId_createdAt_idx" ON "Post"("authorId", "createdAt");
"#;

/// The shape of `<schema>._prisma_migrations`: relation kind/persistence, columns (name, type,
/// not null, default), constraints and indexes (schema name stripped).
fn history_table_shape(db: &TestDb, schema: &str) -> Vec<String> {
    let mut client = db.client();
    let mut shape = Vec::new();
    let rel = "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE n.nspname = $1::text AND c.relname = '_prisma_migrations')";
    let queries = [
        format!(
            "SELECT 'relation ' || relkind::text || ' ' || relpersistence::text FROM pg_class \
             WHERE oid = {rel}"
        ),
        format!(
            "SELECT format('column %s %s notnull=%s default=%s', a.attname, \
                    format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    coalesce(pg_get_expr(d.adbin, d.adrelid), '<none>')) \
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = {rel} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        format!(
            "SELECT format('constraint %s %s %s', conname, contype, pg_get_constraintdef(oid)) \
             FROM pg_constraint WHERE conrelid = {rel} ORDER BY conname"
        ),
        format!(
            "SELECT format('index %s %s', c.relname, \
                    replace(pg_get_indexdef(i.indexrelid), quote_ident($1::text) || '.', '')) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = {rel} ORDER BY c.relname"
        ),
    ];
    for sql in &queries {
        let rows = client
            .query(sql.as_str(), &[&schema])
            .unwrap_or_else(|e| panic!("{}\n{sql}", support::describe(&e)));
        shape.extend(rows.iter().map(|r| r.get::<_, String>(0)));
    }
    shape
}

#[test]
fn applies_realistic_prisma_migrations_with_rows_exactly_as_prisma_writes_them() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240115093000_init", INIT_SQL)
        .add("20240201120000_add_moderator_role", ADD_ENUM_VALUE_SQL);

    // First release: schema only.
    let first = deploy(&db, &m, &[]);
    first.success();
    assert!(
        first
            .stdout
            .contains("The following migration(s) have been applied:")
            && first.stdout.contains("20240115093000_init")
            && first.stdout.contains("20240201120000_add_moderator_role")
            && first
                .stdout
                .contains("All migrations have been successfully applied."),
        "{first}"
    );

    // The app writes data; the next release backfills it.
    db.execute(
        r#"INSERT INTO "User" ("email", "name", "updatedAt") VALUES
             ('ada@example.com', 'Ada', now()), ('grace@example.com', NULL, now());"#,
    );
    let comments_crlf = COMMENTS_SQL_LF.replace('\n', "\r\n");
    m.add("20240301080000_backfill_display_name", BACKFILL_SQL)
        .add("20240315101500_add_comments_crlf", &comments_crlf)
        .add("20240320170000_add_categories_unicode", UNICODE_SQL)
        .add(
            "20240402083317_index_posts_by_author_concurrently",
            CONCURRENT_INDEX_SQL,
        );
    let (second, report) = deploy_json(&db, &m, &[]);
    second.success();
    assert!(
        report.ok && report.exit_code == 0 && !report.dry_run,
        "{second}"
    );
    assert!(
        report.error.is_none() && report.warnings.is_empty(),
        "{second}"
    );
    let applied: Vec<(&str, &str)> = report
        .applied
        .iter()
        .map(|a| (a.name.as_str(), a.execution.as_str()))
        .collect();
    assert_eq!(
        applied,
        [
            ("20240301080000_backfill_display_name", "transaction"),
            ("20240315101500_add_comments_crlf", "transaction"),
            ("20240320170000_add_categories_unicode", "transaction"),
            (
                "20240402083317_index_posts_by_author_concurrently",
                "statement_by_statement"
            ),
        ],
        "{second}"
    );
    let statements: Vec<usize> = report.applied.iter().map(|a| a.statements).collect();
    assert_eq!(statements, [3, 4, 3, 1], "{second}");
    assert!(report.applied.iter().all(|a| a.retries == 0), "{second}");

    // One row per migration, in application order, each exactly as Prisma writes it.
    let all = [
        "20240115093000_init",
        "20240201120000_add_moderator_role",
        "20240301080000_backfill_display_name",
        "20240315101500_add_comments_crlf",
        "20240320170000_add_categories_unicode",
        "20240402083317_index_posts_by_author_concurrently",
    ];
    let rows = history(&db);
    assert_eq!(names(&rows), all, "{second}");
    for (row, name) in rows.iter().zip(all) {
        assert_prisma_success_row(row, name, &m.checksum(name), &second);
    }
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "ids are unique: {rows:?}");
    for applied in &report.applied {
        let row = rows
            .iter()
            .find(|r| r.migration_name == applied.name)
            .unwrap();
        assert_eq!(applied.id, row.id, "JSON id = row id\n{second}");
    }
    // The CRLF file is hashed as it is on disk, CRs included.
    assert_eq!(
        rows[3].checksum,
        sha256_hex(comments_crlf.as_bytes()),
        "{second}"
    );
    assert_ne!(
        rows[3].checksum,
        sha256_hex(COMMENTS_SQL_LF.as_bytes()),
        "{second}"
    );
    assert_eq!(rows[4].checksum, sha256_hex(UNICODE_SQL.as_bytes()));

    // The objects.
    assert_eq!(db.enum_values("Role"), ["USER", "ADMIN", "MODERATOR"]);
    for table in ["User", "Post", "Comment", "Category"] {
        assert!(db.table_exists(table), "table {table} missing\n{second}");
    }
    let fk = db.query_rows(
        "SELECT confdeltype::text, confupdtype::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conname = 'Post_authorId_fkey' AND contype = 'f'",
    );
    assert_eq!(fk.len(), 1, "FK Post_authorId_fkey\n{second}");
    assert_eq!(
        (fk[0].get::<_, String>(0), fk[0].get::<_, String>(1)),
        ("r".to_string(), "c".to_string()),
        "ON DELETE RESTRICT ON UPDATE CASCADE: {}",
        fk[0].get::<_, String>(2)
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' \
             AND conname IN ('Comment_postId_fkey', 'Comment_authorId_fkey')"
        ),
        Some(2),
        "the CRLF migration's FKs\n{second}"
    );
    assert_eq!(
        db.scalar_bool(
            "SELECT i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = 'User_email_key'"
        ),
        Some(true),
        "unique index User_email_key\n{second}"
    );
    assert!(db.index_exists("Comment_postId_idx"), "{second}");
    assert!(
        db.index_is_valid("Post_authorId_createdAt_idx"),
        "the concurrent index must be valid\n{second}"
    );
    assert_eq!(
        db.column_strings(r#"SELECT "displayName" FROM "User" ORDER BY "id""#),
        [Some("Ada".to_string()), Some("grace".to_string())],
        "backfill\n{second}"
    );
    assert_eq!(
        db.scalar_bool(
            "SELECT attnotnull FROM pg_attribute \
             WHERE attrelid = '\"User\"'::regclass AND attname = 'displayName'"
        ),
        Some(true)
    );
    assert_eq!(
        db.scalar_string(r#"SELECT "label" FROM "Category""#)
            .as_deref(),
        Some("Général — 日本"),
        "non-ASCII text survives\n{second}"
    );
    assert_eq!(
        db.scalar_string(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef \
             WHERE adrelid = '\"Category\"'::regclass AND adnum = 2"
        )
        .as_deref(),
        Some("'Général — 日本'::text"),
        "{second}"
    );

    // The history table is Prisma's, column for column, compared with one made from Prisma's DDL.
    db.execute(&format!(
        "CREATE SCHEMA prisma_ref; SET search_path = prisma_ref; {PRISMA_DDL}"
    ));
    let ours = history_table_shape(&db, "public");
    let prisma = history_table_shape(&db, "prisma_ref");
    assert_eq!(ours, prisma, "_prisma_migrations differs from Prisma's DDL");
    assert_eq!(prisma.len(), 1 + 8 + 1 + 1, "{prisma:#?}");
    assert!(
        ours.contains(&"constraint _prisma_migrations_pkey p PRIMARY KEY (id)".to_string()),
        "{ours:#?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// A transactional migration that fails
// ---------------------------------------------------------------------------------------------------

const BROKEN_SQL: &str = r#"-- CreateTable
CREATE TABLE "A" (
    "id" SERIAL NOT NULL,
    CONSTRAINT "A_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "Missing" ADD COLUMN "x" TEXT;

-- CreateTable
CREATE TABLE "C" ("id" INTEGER NOT NULL);
"#;

/// Line of `ALTER TABLE "Missing"` in [`BROKEN_SQL`].
const BROKEN_LINE: usize = 8;

#[test]
fn failing_statement_2_of_3_rolls_back_everything_and_is_reported_then_the_fix_applies() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_init",
        "CREATE TABLE \"Base\" (\"id\" INTEGER);\n",
    )
    .add("20240102000000_broken", BROKEN_SQL)
    .add(
        "20240103000000_after",
        "CREATE TABLE \"After\" (\"id\" INTEGER);\n",
    );
    assert_eq!(
        BROKEN_SQL.lines().nth(BROKEN_LINE - 1),
        Some(r#"ALTER TABLE "Missing" ADD COLUMN "x" TEXT;"#)
    );

    // JSON first: init goes in, broken fails, after is not attempted.
    let (json_run, report) = deploy_json(&db, &m, &[]);
    let report_err = expect_json_error(&json_run, 11, "migration/failed", Some("P3018"));
    assert_eq!(report.applied.len(), 1, "{json_run}");
    assert_eq!(report.applied[0].name, "20240101000000_init", "{json_run}");
    let failure = report_err
        .error
        .and_then(|e| e.failure)
        .unwrap_or_else(|| panic!("error.failure must be set\n{json_run}"));
    assert_eq!(failure.migration, "20240102000000_broken", "{json_run}");
    assert_eq!(failure.execution, "transaction", "{json_run}");
    assert_eq!(failure.sqlstate.as_deref(), Some("42P01"), "{json_run}");
    assert!(
        failure
            .message
            .contains(r#"relation "Missing" does not exist"#),
        "{json_run}"
    );
    let statement = failure
        .statement
        .as_ref()
        .unwrap_or_else(|| panic!("the failing statement must be named\n{json_run}"));
    assert_eq!(statement.index, 2, "{json_run}");
    assert_eq!(statement.line, BROKEN_LINE, "{json_run}");
    assert_eq!(
        statement.text, r#"ALTER TABLE "Missing" ADD COLUMN "x" TEXT;"#,
        "{json_run}"
    );
    assert_eq!(failure.statements_total, 3, "{json_run}");
    assert_eq!(failure.statements_committed, 0, "{json_run}");
    assert!(failure.rolled_back, "{json_run}");

    let check_nothing_of_broken = |run: &Run| {
        assert!(
            !db.table_exists("A"),
            "statement 1 must be rolled back\n{run}"
        );
        assert!(!db.table_exists("C"), "{run}");
        assert!(
            !db.table_exists("After"),
            "later migrations are not attempted\n{run}"
        );
        let rows = history(&db);
        assert_eq!(
            names(&rows),
            ["20240101000000_init"],
            "no row at all for the failed migration\n{run}"
        );
        assert_prisma_success_row(
            &rows[0],
            "20240101000000_init",
            &m.checksum("20240101000000_init"),
            run,
        );
        assert!(db.table_exists("Base"), "{run}");
    };
    check_nothing_of_broken(&json_run);

    // Human: Prisma's P3018 text with the failing statement and its line.
    let human = deploy(&db, &m, &[]);
    human.expect_code(11);
    for needle in [
        "P3018",
        "Migration name: 20240102000000_broken",
        "Database error code: 42P01",
        r#"relation "Missing" does not exist"#,
        &format!("statement 2 of 3 (line {BROKEN_LINE})"),
        r#"ALTER TABLE "Missing" ADD COLUMN "x" TEXT;"#,
    ] {
        assert!(
            human.stderr.contains(needle),
            "stderr lacks {needle:?}\n{human}"
        );
    }
    assert!(
        !human.stdout.contains("have been applied"),
        "nothing was applied in this run\n{human}"
    );
    check_nothing_of_broken(&human);

    // Fix the file: the next deploy applies it and the one after it.
    let fixed = BROKEN_SQL.replace(
        r#"ALTER TABLE "Missing" ADD COLUMN "x" TEXT;"#,
        r#"ALTER TABLE "A" ADD COLUMN "x" TEXT;"#,
    );
    m.add("20240102000000_broken", &fixed);
    let again = deploy(&db, &m, &[]);
    again.success();
    assert!(
        db.table_exists("A") && db.table_exists("C") && db.table_exists("After"),
        "{again}"
    );
    assert!(db.column_exists("A", "x"), "{again}");
    let rows = history(&db);
    assert_eq!(
        names(&rows),
        [
            "20240101000000_init",
            "20240102000000_broken",
            "20240103000000_after"
        ],
        "{again}"
    );
    assert_prisma_success_row(
        &rows[1],
        "20240102000000_broken",
        &sha256_hex(&fixed),
        &again,
    );
}

#[test]
fn syntax_error_is_located_by_position_and_nothing_is_written() {
    let db = fresh_db();
    let m = Migrations::new();
    let script = r#"-- CreateTable
-- Données « clients » (日本)
CREATE TABLE "Client" (
    "id" SERIAL NOT NULL,
    "nom" TEXT NOT NULL DEFAULT 'Café',
    CONSTRAINT "Client_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Commande" (
    "id" SERIAL NOT NULL,
    "libellé" TEXT NOT NULL DEFAULT 'crème brûlée',,
    CONSTRAINT "Commande_pkey" PRIMARY KEY ("id")
);
"#;
    m.add("20240101000000_syntax", script);
    let start = script.find(r#"CREATE TABLE "Commande""#).unwrap();
    let statement_text = &script[start..=script.rfind(';').unwrap()];
    let second_comma = statement_text.find("',,").unwrap() + 2;
    let expected_position = statement_text[..second_comma].chars().count() + 1;

    let before = catalog(&db);
    let (run, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&run, 11, "migration/failed", Some("P3018"));
    let failure = report.error.and_then(|e| e.failure).unwrap();
    assert_eq!(failure.sqlstate.as_deref(), Some("42601"), "{run}");
    assert!(failure.message.contains("syntax error"), "{run}");
    let statement = failure
        .statement
        .unwrap_or_else(|| panic!("a syntax error is located by its position\n{run}"));
    assert_eq!(statement.index, 2, "{run}");
    assert_eq!(statement.line, 10, "{run}");
    assert_eq!(statement.text, statement_text, "{run}");
    assert_eq!(
        failure.position,
        Some(expected_position),
        "position (in characters) inside the failing statement\n{run}"
    );
    assert_eq!(failure.statements_total, 2, "{run}");
    assert!(failure.rolled_back, "{run}");
    assert!(
        !db.table_exists("Client") && !db.table_exists("Commande"),
        "{run}"
    );
    assert!(
        history(&db).is_empty(),
        "no row for the failed migration\n{run}"
    );

    let human = deploy(&db, &m, &[]);
    human.expect_code(11);
    assert!(
        human.stderr.contains("P3018")
            && human.stderr.contains("Database error code: 42601")
            && human.stderr.contains("statement 2 of 2 (line 10)"),
        "{human}"
    );

    // Only the history table itself was created.
    let mut expected = before;
    expected.extend([
        "constraint public._prisma_migrations_pkey".to_string(),
        "relation(i) public._prisma_migrations_pkey".to_string(),
        "relation(r) public._prisma_migrations".to_string(),
    ]);
    expected.sort();
    assert_eq!(catalog(&db), expected, "{human}");

    m.add("20240101000000_syntax", &script.replace("',,", "',"));
    let fixed = deploy(&db, &m, &[]);
    fixed.success();
    assert!(
        db.table_exists("Client") && db.table_exists("Commande"),
        "{fixed}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Non-transactional migrations
// ---------------------------------------------------------------------------------------------------

const ITEM_SQL: &str = r#"-- CreateTable
CREATE TABLE "Item" (
    "id" SERIAL NOT NULL,
    "sku" TEXT NOT NULL,
    "code" TEXT NOT NULL,

    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")
);

INSERT INTO "Item" ("sku", "code") VALUES ('a-1', 'A1'), ('b-2', 'B2');
"#;

#[test]
fn concurrent_index_migration_runs_statement_by_statement() {
    let db = fresh_db();
    let m = Migrations::new();
    let cic = r#"-- CreateIndex
CREATE INDEX CONCURRENTLY "Item_sku_idx" ON "Item"("sku");

-- CreateIndex
CREATE UNIQUE INDEX "Item_code_key" ON "Item"("code");
"#;
    m.add("20240101000000_items", ITEM_SQL)
        .add("20240102000000_item_indexes", cic);
    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    let applied: Vec<(&str, &str, usize)> = report
        .applied
        .iter()
        .map(|a| (a.name.as_str(), a.execution.as_str(), a.statements))
        .collect();
    assert_eq!(
        applied,
        [
            ("20240101000000_items", "transaction", 2),
            ("20240102000000_item_indexes", "statement_by_statement", 2)
        ],
        "{run}"
    );
    let planned = report
        .plan
        .iter()
        .find(|p| p.name == "20240102000000_item_indexes")
        .unwrap();
    assert!(
        planned
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("CONCURRENTLY")),
        "{run}"
    );
    assert!(db.index_is_valid("Item_sku_idx"), "{run}");
    assert!(db.index_is_valid("Item_code_key"), "{run}");
    let rows = history(&db);
    assert_eq!(
        names(&rows),
        ["20240101000000_items", "20240102000000_item_indexes"]
    );
    for row in &rows {
        assert_prisma_success_row(
            row,
            &row.migration_name,
            &m.checksum(&row.migration_name),
            &run,
        );
    }
}

#[test]
fn no_transaction_directive_runs_statement_by_statement() {
    let db = fresh_db();
    let m = Migrations::new();
    // A procedure-style COMMIT inside DO: only the server can tell that this cannot run inside a
    // transaction block, so only the directive makes it work.
    let body = r#"CREATE TABLE "Audit" ("id" INTEGER NOT NULL, CONSTRAINT "Audit_pkey" PRIMARY KEY ("id"));

DO $$
BEGIN
    INSERT INTO "Audit" ("id") VALUES (1);
    COMMIT;
    INSERT INTO "Audit" ("id") VALUES (2);
END
$$;
"#;
    m.add("20240101000000_audit", body);
    let (control, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&control, 11, "migration/failed", Some("P3018"));
    let failure = report.error.and_then(|e| e.failure).unwrap();
    assert_eq!(failure.execution, "transaction", "{control}");
    assert_eq!(failure.sqlstate.as_deref(), Some("2D000"), "{control}");
    assert!(!db.table_exists("Audit"), "{control}");
    assert!(history(&db).is_empty(), "{control}");

    let with_directive = format!("-- prisma-release: no-transaction\n{body}");
    m.add("20240101000000_audit", &with_directive);
    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    assert_eq!(report.applied.len(), 1, "{run}");
    assert_eq!(
        report.applied[0].execution, "statement_by_statement",
        "{run}"
    );
    assert_eq!(report.applied[0].statements, 2, "{run}");
    assert!(
        report.plan[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("no-transaction")),
        "{run}"
    );
    assert_eq!(db.count("Audit"), 2, "{run}");
    let rows = history(&db);
    assert_eq!(rows.len(), 1, "{run}");
    assert_prisma_success_row(
        &rows[0],
        "20240101000000_audit",
        &sha256_hex(&with_directive),
        &run,
    );
}

#[test]
fn tx_mode_always_on_a_concurrent_index_fails_with_25001_and_writes_no_row() {
    let db = fresh_db();
    let m = Migrations::new();
    let script = format!("{ITEM_SQL}\n-- CreateIndex\nCREATE INDEX CONCURRENTLY \"Item_sku_idx\" ON \"Item\"(\"sku\");\n");
    m.add("20240101000000_items", &script);
    let (run, _) = deploy_json(&db, &m, &["--tx-mode", "always"]);
    let report = expect_json_error(&run, 11, "migration/failed", Some("P3018"));
    let failure = report.error.and_then(|e| e.failure).unwrap();
    assert_eq!(failure.sqlstate.as_deref(), Some("25001"), "{run}");
    assert_eq!(failure.execution, "transaction", "{run}");
    assert!(failure.rolled_back, "{run}");
    assert_eq!(
        failure.statement.as_ref().map(|s| s.index),
        Some(3),
        "{run}"
    );
    assert!(
        !db.table_exists("Item") && !db.index_exists("Item_sku_idx"),
        "{run}"
    );
    assert!(history(&db).is_empty(), "no row\n{run}");

    // The default mode runs it statement by statement.
    let auto = deploy(&db, &m, &[]);
    auto.success();
    assert!(db.index_is_valid("Item_sku_idx"), "{auto}");
    assert_eq!(names(&history(&db)), ["20240101000000_items"], "{auto}");
}

#[test]
fn non_transactional_failure_keeps_committed_statements_and_leaves_a_failed_row() {
    let db = fresh_db();
    let m = Migrations::new();
    let script = r#"-- CreateIndex
CREATE INDEX CONCURRENTLY "Item_sku_idx" ON "Item"("sku");

-- AlterTable
ALTER TABLE "Missing" ADD COLUMN "x" TEXT;
"#;
    m.add("20240101000000_items", ITEM_SQL)
        .add("20240102000000_half", script);
    let run = deploy(&db, &m, &[]);
    run.expect_code(11);
    for needle in [
        "P3018",
        "Migration name: 20240102000000_half",
        "Database error code: 42P01",
        "statement 2 of 2 (line 5)",
        "1 of 2 statements were committed",
    ] {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}\n{run}"
        );
    }
    assert!(
        db.index_is_valid("Item_sku_idx"),
        "statement 1 was committed\n{run}"
    );
    let rows = rows_of_migration(&db, "20240102000000_half");
    assert_eq!(rows.len(), 1, "{run}");
    let row = &rows[0];
    assert!(is_lowercase_uuid_v4(&row.id), "{row:?}");
    assert_eq!(row.checksum, m.checksum("20240102000000_half"), "{run}");
    assert!(
        !row.finished && !row.rolled_back,
        "a failed row: {row:?}\n{run}"
    );
    assert_eq!(row.applied_steps_count, 0, "{row:?}");
    let logs = row.logs.as_deref().unwrap_or("");
    assert!(
        logs.contains("Database error code: 42P01")
            && logs.contains("1 of 2 statements were committed"),
        "logs: {logs}\n{run}"
    );
    assert!(
        logs.contains("Migration name: 20240102000000_half"),
        "{logs}"
    );

    // The next deploy refuses with Prisma's P3009 and applies nothing new.
    m.add(
        "20240103000000_next",
        "CREATE TABLE \"Next\" (\"id\" INTEGER);\n",
    );
    let next = deploy(&db, &m, &[]);
    next.expect_code(10);
    assert!(
        next.stderr.contains("P3009")
            && next
                .stderr
                .contains("migrate found failed migrations in the target database")
            && next
                .stderr
                .contains("The `20240102000000_half` migration started at"),
        "{next}"
    );
    assert!(!db.table_exists("Next"), "{next}");
    assert_eq!(history(&db).len(), 2, "{next}");
}

#[test]
fn failing_statement_is_named_even_when_the_script_lowers_client_min_messages() {
    // pg_dump output starts like this, and people paste it into migration.sql.
    let db = fresh_db();
    let m = Migrations::new();
    let script = "SET client_min_messages = warning;\n\
                  CREATE TABLE \"A\" (\"id\" INTEGER);\n\
                  ALTER TABLE \"Missing\" ADD COLUMN \"x\" TEXT;\n";
    m.add("20240101000000_dumped", script);
    let (run, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&run, 11, "migration/failed", Some("P3018"));
    let failure = report.error.and_then(|e| e.failure).unwrap();
    assert_eq!(failure.sqlstate.as_deref(), Some("42P01"), "{run}");
    assert_eq!(
        failure.statement.as_ref().map(|s| (s.index, s.line)),
        Some((3, 3)),
        "the failing statement is the ALTER TABLE (statement 3, line 3)\n{run}"
    );
    assert!(!db.table_exists("A") && history(&db).is_empty(), "{run}");
}

#[test]
fn failure_inside_the_scripts_own_transaction_is_recorded_in_logs() {
    // A script with its own BEGIN/COMMIT runs statement by statement; when it fails inside that
    // block, the block is aborted (nothing of it is committed) and the row must still say why.
    let db = fresh_db();
    let m = Migrations::new();
    let script = "BEGIN;\n\
                  CREATE TABLE \"X\" (\"id\" INTEGER);\n\
                  ALTER TABLE \"Missing\" ADD COLUMN \"y\" INTEGER;\n\
                  COMMIT;\n";
    m.add("20240101000000_own_tx", script);
    let run = deploy(&db, &m, &[]);
    run.expect_code(11);
    assert!(
        run.stderr.contains("P3018") && run.stderr.contains("statement 3 of 4 (line 3)"),
        "{run}"
    );
    assert!(
        !db.table_exists("X"),
        "the script's own transaction was aborted\n{run}"
    );
    assert!(
        run.stderr.contains("0 of 4 statements were committed"),
        "nothing inside the aborted block counts as committed\n{run}"
    );
    let rows = rows_of_migration(&db, "20240101000000_own_tx");
    assert_eq!(rows.len(), 1, "{run}");
    let row = &rows[0];
    assert!(
        !row.finished && !row.rolled_back,
        "a failed row: {row:?}\n{run}"
    );
    let logs = row.logs.as_deref().unwrap_or_else(|| {
        panic!("logs must say why the migration failed, got NULL: {row:?}\n{run}")
    });
    assert!(
        logs.contains("Migration name: 20240101000000_own_tx")
            && logs.contains("Database error code: 42P01"),
        "logs: {logs}\n{run}"
    );
    let next = deploy(&db, &m, &[]);
    next.expect_code(10);
    assert!(next.stderr.contains("P3009"), "{next}");
}

// ---------------------------------------------------------------------------------------------------
// P3005
// ---------------------------------------------------------------------------------------------------

#[test]
fn schema_with_a_table_and_no_history_is_refused_with_p3005() {
    let db = fresh_db();
    db.execute(r#"CREATE TABLE "Legacy" ("id" INTEGER PRIMARY KEY);"#);
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_init", INIT_SQL);
    let before = catalog(&db);
    let run = deploy(&db, &m, &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("P3005"), "{run}");
    assert!(
        run.stderr.contains("migrate resolve --applied"),
        "baseline hint\n{run}"
    );
    assert!(run.stderr.contains("Legacy"), "names the table\n{run}");
    assert_nothing_written(&db, &before, &run);
    assert!(!db.table_exists("User"), "{run}");

    let (json_run, _) = deploy_json(&db, &m, &[]);
    expect_json_error(&json_run, 3, "history/schema_not_empty", Some("P3005"));
    assert_nothing_written(&db, &before, &json_run);
}

#[test]
fn schema_holding_only_a_view_or_an_enum_is_not_refused() {
    for existing in [
        r#"CREATE VIEW "Report" AS SELECT 1 AS "n";"#,
        r#"CREATE TYPE "Mood" AS ENUM ('happy', 'sad');"#,
    ] {
        let db = fresh_db();
        db.execute(existing);
        let m = Migrations::new();
        m.add("20240101000000_init", INIT_SQL);
        let run = deploy(&db, &m, &[]);
        assert_eq!(run.code, 0, "after `{existing}`\n{run}");
        assert!(db.table_exists("User"), "{run}");
        assert_eq!(names(&history(&db)), ["20240101000000_init"], "{run}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Pre-flight validation: refused before the first write
// ---------------------------------------------------------------------------------------------------

#[test]
fn pending_directory_without_migration_sql_is_refused_before_any_write() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL).write_file(
        "20240102000000_lost/README.md",
        b"the script went missing\n",
    );
    let before = catalog(&db);
    let run = deploy(&db, &m, &[]);
    run.expect_code(3);
    assert!(run.output().contains("P3015"), "{run}");
    assert!(run.stderr.contains("20240102000000_lost"), "{run}");
    assert_nothing_written(&db, &before, &run);
}

#[test]
fn non_utf8_migration_is_refused_even_as_the_second_pending_one() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL).add_bytes(
        "20240102000000_latin1",
        b"CREATE TABLE \"Caf\xe9\" (\"id\" INTEGER);\n",
    );
    let before = catalog(&db);
    let run = deploy(&db, &m, &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("20240102000000_latin1") && run.stderr.contains("UTF-8"),
        "{run}"
    );
    assert_nothing_written(&db, &before, &run);
    assert!(
        !db.table_exists("User"),
        "the first migration must not be applied either\n{run}"
    );
}

#[test]
fn mysql_lock_file_is_refused_with_p3019() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file("# Please do not edit this file manually\nprovider = \"mysql\"\n")
        .add("20240101000000_init", INIT_SQL);
    let before = catalog(&db);
    let run = deploy(&db, &m, &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("P3019") && run.stderr.contains("mysql"),
        "{run}"
    );
    assert_nothing_written(&db, &before, &run);
}

#[test]
fn missing_migrations_folder_is_an_error() {
    let db = fresh_db();
    let m = Migrations::new();
    let missing = m.path().join("prisma").join("migrations");
    let before = catalog(&db);
    let run = run(db.url(), &missing, &["deploy"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("does not exist")
            && run.stderr.contains(&missing.display().to_string()),
        "{run}"
    );
    assert_nothing_written(&db, &before, &run);
}

#[test]
fn incompatible_history_table_is_refused_and_left_untouched() {
    let db = fresh_db();
    db.execute(
        "CREATE TABLE _prisma_migrations (
            id VARCHAR(36) PRIMARY KEY NOT NULL,
            checksum VARCHAR(64) NOT NULL,
            finished_at TIMESTAMPTZ,
            migration_name VARCHAR(255) NOT NULL,
            logs TEXT,
            rolled_back_at TIMESTAMPTZ,
            started_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at)
        VALUES ('0f9c6a51-7f43-4e0e-9a36-2a3f5e9d7c11', 'abc', now(), '20231201000000_old', now());",
    );
    let rows_sql = "SELECT row_to_json(p)::text FROM _prisma_migrations p ORDER BY id";
    let rows_before = db.column_strings(rows_sql);
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    let before = catalog(&db);
    let run = deploy(&db, &m, &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("_prisma_migrations") && run.stderr.contains("applied_steps_count"),
        "{run}"
    );
    assert_eq!(catalog(&db), before, "nothing created or altered\n{run}");
    assert_eq!(db.column_strings(rows_sql), rows_before, "{run}");
    assert!(
        !db.column_exists("_prisma_migrations", "applied_steps_count"),
        "{run}"
    );
    assert!(!db.table_exists("User"), "{run}");

    let (json_run, _) = deploy_json(&db, &m, &[]);
    expect_json_error(&json_run, 3, "history/incompatible_table", None);
    assert_eq!(catalog(&db), before, "{json_run}");
}

#[test]
fn bom_prefixed_migration_is_applied_and_hashed_with_its_bom() {
    let db = fresh_db();
    let m = Migrations::new();
    let sql = "-- CreateTable\r\nCREATE TABLE \"Bom\" (\"id\" INTEGER NOT NULL);\r\n";
    let bytes = [b"\xEF\xBB\xBF".as_slice(), sql.as_bytes()].concat();
    m.add_bytes("20240101000000_bom", &bytes);
    let run = deploy(&db, &m, &[]);
    run.success();
    assert!(db.table_exists("Bom"), "{run}");
    let rows = history(&db);
    assert_eq!(rows.len(), 1, "{run}");
    assert_prisma_success_row(&rows[0], "20240101000000_bom", &sha256_hex(&bytes), &run);
    assert_ne!(
        rows[0].checksum,
        sha256_hex(sql),
        "the BOM is part of the checksum"
    );

    let (again, report) = deploy_json(&db, &m, &[]);
    again.success();
    assert!(
        report.applied.is_empty() && report.warnings.is_empty(),
        "not modified\n{again}"
    );
    assert_eq!(report.migrations[0].state, "applied", "{again}");
}

// ---------------------------------------------------------------------------------------------------
// Configuration and usage
// ---------------------------------------------------------------------------------------------------

#[test]
fn missing_database_url_exits_3_naming_the_variable() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    for format in ["human", "json"] {
        let mut cmd = support::command(db.url(), m.path(), &["deploy", "--format", format]);
        cmd.env_remove("DATABASE_URL");
        let run = support::run_command(cmd);
        run.expect_code(3);
        assert!(run.stderr.contains("DATABASE_URL"), "{run}");
        if format == "json" {
            let report = expect_json_error(&run, 3, "config/url_missing", None);
            assert!(
                report.error.unwrap().message.contains("DATABASE_URL"),
                "{run}"
            );
        }
    }
    assert!(
        history_is_absent(&db),
        "nothing may be written without a URL: {:?}",
        catalog(&db)
    );
}

fn history_is_absent(db: &TestDb) -> bool {
    !db.table_exists("_prisma_migrations")
}

#[test]
fn url_env_reads_the_named_variable() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    // DATABASE_URL points nowhere: success proves OTHER_URL was used.
    let run = run_with_env(
        CLOSED_PORT_URL,
        m.path(),
        &["deploy", "--url-env", "OTHER_URL"],
        &[("OTHER_URL", db.url())],
    );
    run.success();
    assert!(db.table_exists("User"), "{run}");
    assert_eq!(names(&history(&db)), ["20240101000000_init"], "{run}");

    let empty = run_with_env(
        db.url(),
        m.path(),
        &["deploy", "--url-env", "OTHER_URL"],
        &[("OTHER_URL", "")],
    );
    empty.expect_code(3);
    assert!(empty.stderr.contains("OTHER_URL"), "{empty}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    let before = catalog(&db);
    let run = deploy(&db, &m, &["--frobnicate"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--frobnicate"), "{run}");
    assert!(
        run.stdout.is_empty(),
        "human usage errors go to stderr only\n{run}"
    );
    assert_nothing_written(&db, &before, &run);

    // With JSON asked for, even a command line that does not parse yields one JSON document.
    let json = deploy(&db, &m, &["--json", "--frobnicate"]);
    json.expect_code(2);
    let doc = json.json();
    assert_eq!(doc["ok"], false, "{json}");
    assert_eq!(doc["exit_code"], 2, "{json}");
    assert_eq!(doc["error"]["id"], "usage/invalid", "{json}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--frobnicate"),
        "{json}"
    );
    assert_nothing_written(&db, &before, &json);
}

#[test]
fn unreachable_server_exits_4() {
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    let human = run(CLOSED_PORT_URL, m.path(), &["deploy"]);
    human.expect_code(4);
    assert!(
        human.stderr.contains("cannot connect") && human.stderr.contains("127.0.0.1:1"),
        "{human}"
    );
    let json = run(CLOSED_PORT_URL, m.path(), &["deploy", "--json"]);
    let report = expect_json_error(&json, 4, "connect/failed", None);
    let database = report.database.unwrap();
    assert_eq!(
        (database.host.as_str(), database.port),
        ("127.0.0.1", 1),
        "{json}"
    );
}

#[test]
fn password_never_appears_in_any_output() {
    const SECRET: &str = "s3cr3t-pw-XYZ";
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    // A role whose password really is SECRET: it logs in on any server, whatever its pg_hba.
    let real = db.role_url(SECRET);
    let closed = format!("postgres://postgres:{SECRET}@127.0.0.1:1/x");
    let invalid = format!("postgres://postgres:{SECRET}@127.0.0.1:99999/x");
    let bad_escape = format!("postgres://postgres:{SECRET}%zz@127.0.0.1:1/x");
    let check = |run: &Run| {
        assert!(!run.output().contains(SECRET), "the password leaked\n{run}");
    };
    for format in ["human", "json"] {
        for url in [&closed, &invalid, &bad_escape] {
            let via_env = run(url, m.path(), &["deploy", "-v", "--format", format]);
            assert!(matches!(via_env.code, 3 | 4), "{via_env}");
            check(&via_env);
            let via_flag = run(
                "",
                m.path(),
                &["deploy", "-v", "--format", format, "--database-url", url],
            );
            assert!(matches!(via_flag.code, 3 | 4), "{via_flag}");
            check(&via_flag);
        }
    }
    // Usage errors with the URL on the command line.
    for bad in [
        ["--tx-mode", "bogus"],
        ["--lock-timeout", "xyz"],
        ["--frobnicate", "1"],
    ] {
        let usage = run(
            "",
            m.path(),
            &["deploy", "--database-url", &closed, bad[0], bad[1]],
        );
        usage.expect_code(2);
        check(&usage);
    }
    // The real server: success, then a failed migration.
    let ok = run(&real, m.path(), &["deploy", "-v"]);
    ok.success();
    check(&ok);
    m.add("20240102000000_broken", BROKEN_SQL);
    for format in ["human", "json"] {
        let failed = run(&real, m.path(), &["deploy", "-v", "--format", format]);
        failed.expect_code(11);
        check(&failed);
    }
    let status = run(&real, m.path(), &["status", "--format", "json"]);
    check(&status);
}

// ---------------------------------------------------------------------------------------------------
// Read-only server
// ---------------------------------------------------------------------------------------------------

#[test]
fn read_only_session_refuses_deploy_but_status_works() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL).add(
        "20240102000000_more",
        "CREATE TABLE \"More\" (\"id\" INTEGER);\n",
    );
    let url = with_param(db.url(), "options=-c%20default_transaction_read_only%3Don");
    let before = catalog(&db);
    let human = run(&url, m.path(), &["deploy"]);
    human.expect_code(4);
    assert!(human.stderr.contains("read-only"), "{human}");
    assert_nothing_written(&db, &before, &human);

    let json = run(&url, m.path(), &["deploy", "--json"]);
    expect_json_error(&json, 4, "connect/read_only", None);
    assert_nothing_written(&db, &before, &json);

    let status = run(&url, m.path(), &["status", "--json"]);
    status.expect_code(12);
    let report = contract::status(&status.stdout);
    assert_eq!(report.exit_code, 12, "{status}");
    assert_eq!(report.counts.pending, 2, "{status}");
    assert!(!report.has_migrations_table, "{status}");
    let human_status = run(&url, m.path(), &["status"]);
    human_status.expect_code(12);
    assert!(
        human_status.stdout.contains("20240102000000_more"),
        "{human_status}"
    );
}

// ---------------------------------------------------------------------------------------------------
// --dry-run
// ---------------------------------------------------------------------------------------------------

#[test]
fn dry_run_writes_nothing_and_prints_the_plan() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_items", ITEM_SQL).add(
        "20240102000000_sku_index",
        "-- CreateIndex\nCREATE INDEX CONCURRENTLY \"Item_sku_idx\" ON \"Item\"(\"sku\");\n",
    );
    let before = catalog(&db);
    let (run, report) = deploy_json(&db, &m, &["--dry-run"]);
    run.success();
    assert!(
        report.ok && report.dry_run && report.error.is_none(),
        "{run}"
    );
    assert!(report.applied.is_empty(), "{run}");
    let plan: Vec<(&str, &str, usize)> = report
        .plan
        .iter()
        .map(|p| (p.name.as_str(), p.execution.as_str(), p.statements))
        .collect();
    assert_eq!(
        plan,
        [
            ("20240101000000_items", "transaction", 2),
            ("20240102000000_sku_index", "statement_by_statement", 1)
        ],
        "{run}"
    );
    assert_eq!(report.plan[0].reason, None, "{run}");
    assert!(
        report.plan[1]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("CREATE INDEX CONCURRENTLY")),
        "{run}"
    );
    assert_nothing_written(&db, &before, &run);

    let human = deploy(&db, &m, &["--dry-run"]);
    human.success();
    assert!(
        human.stdout.contains("20240101000000_items")
            && human.stdout.contains("20240102000000_sku_index")
            && human.stdout.contains("statement by statement")
            && human.stdout.contains("Nothing was written."),
        "{human}"
    );
    assert_nothing_written(&db, &before, &human);
}

#[test]
fn dry_run_after_a_deploy_lists_only_pending_migrations() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_items", ITEM_SQL);
    deploy(&db, &m, &[]).success();
    m.add(
        "20240102000000_more",
        "CREATE TABLE \"More\" (\"id\" INTEGER);\n",
    );
    let rows_before = history(&db);
    let catalog_before = catalog(&db);
    let (run, report) = deploy_json(&db, &m, &["--dry-run"]);
    run.success();
    let planned: Vec<&str> = report.plan.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(planned, ["20240102000000_more"], "{run}");
    assert_eq!(history(&db), rows_before, "{run}");
    assert_eq!(catalog(&db), catalog_before, "{run}");
}

// ---------------------------------------------------------------------------------------------------
// Warnings
// ---------------------------------------------------------------------------------------------------

fn warning_ids(report: &DeployReport) -> Vec<(&str, Option<&str>)> {
    report
        .warnings
        .iter()
        .map(|w| (w.id.as_str(), w.migration.as_deref()))
        .collect()
}

#[test]
fn modified_applied_migration_is_a_warning_not_an_error() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    deploy(&db, &m, &[]).success();
    let recorded = m.checksum("20240101000000_init");
    m.add(
        "20240101000000_init",
        &format!("{INIT_SQL}\n-- edited after release\n"),
    )
    .add(
        "20240102000000_more",
        "CREATE TABLE \"More\" (\"id\" INTEGER);\n",
    );

    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    assert_eq!(
        warning_ids(&report),
        [("migration/modified", Some("20240101000000_init"))],
        "{run}"
    );
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("modified"),
        "{run}"
    );
    assert_eq!(report.applied.len(), 1, "{run}");
    assert_eq!(report.applied[0].name, "20240102000000_more", "{run}");
    let rows = history(&db);
    assert_eq!(
        rows[0].checksum, recorded,
        "history is not rewritten\n{run}"
    );

    let human = deploy(&db, &m, &[]);
    human.success();
    assert!(
        human.stderr.contains("warning:") && human.stderr.contains("20240101000000_init"),
        "{human}"
    );
}

#[test]
fn line_ending_change_is_not_reported_as_modified() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL);
    deploy(&db, &m, &[]).success();
    m.add("20240101000000_init", &INIT_SQL.replace('\n', "\r\n"));
    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    assert!(report.warnings.is_empty(), "{run}");
    assert_eq!(report.migrations[0].state, "applied", "{run}");
    assert!(!run.stderr.contains("warning:"), "{run}");
}

#[test]
fn migration_missing_locally_is_a_warning() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_init", INIT_SQL).add(
        "20240102000000_more",
        "CREATE TABLE \"More\" (\"id\" INTEGER);\n",
    );
    deploy(&db, &m, &[]).success();
    m.remove("20240102000000_more");
    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    assert_eq!(
        warning_ids(&report),
        [("migration/missing_locally", Some("20240102000000_more"))],
        "{run}"
    );
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("20240102000000_more"),
        "{run}"
    );
    assert!(report.applied.is_empty(), "{run}");
    assert_eq!(
        names(&history(&db)),
        ["20240101000000_init", "20240102000000_more"],
        "the row stays\n{run}"
    );
}

#[test]
fn out_of_order_pending_migration_is_applied_with_a_warning() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240102000000_b", "CREATE TABLE \"B\" (\"id\" INTEGER);\n");
    deploy(&db, &m, &[]).success();
    m.add("20240101000000_a", "CREATE TABLE \"A\" (\"id\" INTEGER);\n");
    let (run, report) = deploy_json(&db, &m, &[]);
    run.success();
    assert_eq!(
        warning_ids(&report),
        [("migration/out_of_order", Some("20240101000000_a"))],
        "{run}"
    );
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("out of order"),
        "{run}"
    );
    assert_eq!(report.plan.len(), 1, "{run}");
    assert!(report.plan[0].out_of_order, "{run}");
    let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(applied, ["20240101000000_a"], "{run}");
    assert!(db.table_exists("A"), "{run}");
    let rows = history(&db);
    assert_eq!(
        names(&rows),
        ["20240102000000_b", "20240101000000_a"],
        "{run}"
    );
    assert_prisma_success_row(
        &rows[1],
        "20240101000000_a",
        &m.checksum("20240101000000_a"),
        &run,
    );
}

// ---------------------------------------------------------------------------------------------------
// Nothing to do
// ---------------------------------------------------------------------------------------------------

#[test]
fn second_deploy_has_nothing_to_do() {
    let db = fresh_db();
    let m = Migrations::new();
    m.lock_file(POSTGRES_LOCK_TOML)
        .add("20240101000000_init", INIT_SQL)
        .add("20240102000000_role", ADD_ENUM_VALUE_SQL);
    deploy(&db, &m, &[]).success();
    let rows = history(&db);

    let human = deploy(&db, &m, &[]);
    human.success();
    assert!(
        human.stdout.contains("No pending migrations to apply."),
        "{human}"
    );
    assert!(!human.stdout.contains("have been applied"), "{human}");
    assert!(human.stderr.is_empty(), "{human}");

    let (json, report) = deploy_json(&db, &m, &[]);
    json.success();
    assert!(report.ok && report.error.is_none(), "{json}");
    assert!(
        report.applied.is_empty() && report.plan.is_empty(),
        "{json}"
    );
    let states: Vec<&str> = report.migrations.iter().map(|m| m.state.as_str()).collect();
    assert_eq!(states, ["applied", "applied"], "{json}");
    for migration in &report.migrations {
        assert_eq!(migration.checksum, migration.recorded_checksum, "{json}");
    }
    assert_eq!(history(&db), rows, "no row added or changed\n{json}");
}

// ---------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------

const TENANT_SQL: &str = r#"-- CreateEnum
CREATE TYPE "Plan" AS ENUM ('FREE', 'PRO');

-- CreateTable
CREATE TABLE "Account" (
    "id" SERIAL NOT NULL,
    "plan" "Plan" NOT NULL DEFAULT 'FREE',

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);
"#;

/// Relations and enum types of `schema`, sorted.
fn objects_in(db: &TestDb, schema: &str) -> Vec<String> {
    catalog(db)
        .into_iter()
        .filter(|o| !o.starts_with("schema ") && o.contains(&format!(" {schema}.")))
        .collect()
}

#[track_caller]
fn assert_deployed_into_tenant_a(db: &TestDb, m: &Migrations, run: &Run) {
    assert!(
        db.table_exists_in("tenant_a", "_prisma_migrations"),
        "{run}"
    );
    assert!(db.table_exists_in("tenant_a", "Account"), "{run}");
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = 'tenant_a' AND t.typname = 'Plan' AND t.typtype = 'e'"
        ),
        Some(1),
        "{run}"
    );
    let rows = history_in(db, "tenant_a");
    assert_eq!(rows.len(), 1, "{run}");
    assert_prisma_success_row(
        &rows[0],
        "20240101000000_tenant",
        &m.checksum("20240101000000_tenant"),
        run,
    );
    let public: Vec<String> = objects_in(db, "public")
        .into_iter()
        .filter(|o| !o.contains("Legacy"))
        .collect();
    assert!(public.is_empty(), "nothing in public: {public:?}\n{run}");
}

#[test]
fn schema_flag_targets_that_schema_and_creates_it() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_tenant", TENANT_SQL);
    let (run, report) = deploy_json(&db, &m, &["--db-schema", "tenant_a"]);
    run.success();
    assert_eq!(
        report.database.as_ref().map(|d| d.schema.as_str()),
        Some("tenant_a"),
        "{run}"
    );
    assert_deployed_into_tenant_a(&db, &m, &run);
}

#[test]
fn schema_url_parameter_targets_that_schema() {
    let db = fresh_db();
    // An ordinary table in `public` is no P3005 for another schema.
    db.execute(r#"CREATE TABLE "Legacy" ("id" INTEGER);"#);
    let m = Migrations::new();
    m.add("20240101000000_tenant", TENANT_SQL);
    let url = with_param(db.url(), "schema=tenant_a");
    let first = run(&url, m.path(), &["deploy"]);
    first.success();
    assert_deployed_into_tenant_a(&db, &m, &first);
    let again = run(&url, m.path(), &["deploy"]);
    again.success();
    assert!(
        again.stdout.contains("No pending migrations to apply."),
        "{again}"
    );
    assert_eq!(history_in(&db, "tenant_a").len(), 1, "{again}");
}

// ---------------------------------------------------------------------------------------------------
// JSON on failure
// ---------------------------------------------------------------------------------------------------

#[test]
fn json_failure_documents_for_exit_3_4_10_and_11() {
    // exit 3: a pending migration without migration.sql.
    let db = fresh_db();
    let m = Migrations::new();
    m.write_file("20240101000000_empty/.keep", b"");
    let (run3, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&run3, 3, "migrations/file_missing", Some("P3015"));
    assert!(report.applied.is_empty(), "{run3}");

    // exit 4: nothing listens.
    let run4 = run(CLOSED_PORT_URL, m.path(), &["deploy", "--format", "json"]);
    expect_json_error(&run4, 4, "connect/failed", None);

    // exit 10: a failed row as Prisma leaves it behind.
    let db = fresh_db();
    let m = Migrations::new();
    m.add(
        "20240101000000_init",
        "CREATE TABLE \"Base\" (\"id\" INTEGER);\n",
    );
    deploy(&db, &m, &[]).success();
    m.add("20240102000000_broken", BROKEN_SQL).add(
        "20240103000000_after",
        "CREATE TABLE \"After\" (\"id\" INTEGER);\n",
    );
    db.execute(&format!(
        "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name, logs) \
         VALUES ('6d1f1e8e-1f7a-4b8e-9a52-3c2b1d0e9f77', '{}', now(), '20240102000000_broken', \
                 'A migration failed to apply.')",
        m.checksum("20240102000000_broken")
    ));
    let (run10, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&run10, 10, "history/failed_migration", Some("P3009"));
    assert_eq!(report.failed.len(), 1, "{run10}");
    let failed = &report.failed[0];
    assert_eq!(failed.migration, "20240102000000_broken", "{run10}");
    assert_eq!(failed.id, "6d1f1e8e-1f7a-4b8e-9a52-3c2b1d0e9f77", "{run10}");
    assert_eq!(
        failed.logs.as_deref(),
        Some("A migration failed to apply."),
        "{run10}"
    );
    assert!(
        report.applied.is_empty() && !db.table_exists("After"),
        "{run10}"
    );

    // exit 11: a failing migration.
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240102000000_broken", BROKEN_SQL);
    let (run11, _) = deploy_json(&db, &m, &[]);
    let report = expect_json_error(&run11, 11, "migration/failed", Some("P3018"));
    let failure = report.error.unwrap().failure.unwrap();
    assert_eq!(
        failure.statement.map(|s| (s.index, s.line)),
        Some((2, BROKEN_LINE)),
        "{run11}"
    );
}
