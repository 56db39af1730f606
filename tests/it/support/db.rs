//! A fresh database per test, plus query helpers that panic with the SQL on error.

use super::server::{admin_client, connect, server};
use postgres::types::FromSqlOwned;
use postgres::Row;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database of its own for one test, on the test binary's server.
///
/// Dropping it drops the database (best effort, `WITH (FORCE)`), except while the test is
/// panicking: then the database is kept and its URL printed, so a failure can be inspected while
/// running against `TEST_DATABASE_URL` (a harness cluster vanishes with the test binary anyway).
pub struct TestDb {
    name: String,
    url: String,
}

/// Creates `t_<pid>_<counter>` (unique across test binaries running at the same time) on the
/// test server, starting the server first if this is the first use in this test binary.
pub fn fresh_db() -> TestDb {
    let server = server();
    let mut admin = admin_client();
    let pid = std::process::id();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{pid}_{n}");
        match admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
            Ok(()) => {
                let url = server.url_for(&name);
                return TestDb { name, url };
            }
            // Left over from an earlier run whose pid was the same (only with TEST_DATABASE_URL),
            // or a template that someone else is connected to for a moment: try again.
            Err(e) if attempts < 20 && is_retryable_create_error(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("CREATE DATABASE \"{name}\" failed: {}", describe(&e)),
        }
    }
}

fn is_retryable_create_error(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    match e.code() {
        Some(code) => *code == SqlState::DUPLICATE_DATABASE || *code == SqlState::OBJECT_IN_USE,
        None => false,
    }
}

/// The error with the server's detail and hint, when there are any.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut out = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                out.push_str(&format!("\nDETAIL: {detail}"));
            }
            if let Some(hint) = db.hint() {
                out.push_str(&format!("\nHINT: {hint}"));
            }
            out
        }
        None => {
            let mut out = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                out.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            out
        }
    }
}

impl TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/NAME` for a harness cluster (no password), or
    /// `TEST_DATABASE_URL` with the database replaced.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name, e.g. `t_1234_7`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this database.
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
            .unwrap_or_else(|e| panic!("cannot connect to {}: {}", self.name, describe(&e)))
    }

    /// Runs `sql` (any number of statements, simple query protocol) on a new connection.
    pub fn execute(&self, sql: &str) {
        if let Err(e) = self.try_execute(sql) {
            panic!(
                "SQL failed in {}: {}\n--- SQL ---\n{sql}",
                self.name,
                describe(&e)
            );
        }
    }

    /// Like [`execute`](Self::execute), returning the error instead of panicking.
    pub fn try_execute(&self, sql: &str) -> Result<(), postgres::Error> {
        self.client().batch_execute(sql)
    }

    /// The rows of one statement (extended protocol, so values are typed).
    pub fn query_rows(&self, sql: &str) -> Vec<Row> {
        self.client().query(sql, &[]).unwrap_or_else(|e| {
            panic!(
                "query failed in {}: {}\n--- SQL ---\n{sql}",
                self.name,
                describe(&e)
            )
        })
    }

    /// The first column of the first row as `T`; `None` when there is no row or the value is NULL.
    pub fn scalar<T: FromSqlOwned>(&self, sql: &str) -> Option<T> {
        let rows = self.query_rows(sql);
        let row = rows.first()?;
        row.try_get::<_, Option<T>>(0).unwrap_or_else(|e| {
            panic!(
                "cannot read column 0 of `{sql}` as {}: {e}",
                std::any::type_name::<T>()
            )
        })
    }

    /// The first column of the first row as text (cast non-text columns with `::text`).
    pub fn scalar_string(&self, sql: &str) -> Option<String> {
        self.scalar::<String>(sql)
    }

    /// The first column of the first row as an integer; accepts int2, int4 and int8 columns.
    pub fn scalar_i64(&self, sql: &str) -> Option<i64> {
        let rows = self.query_rows(sql);
        let row = rows.first()?;
        if let Ok(v) = row.try_get::<_, Option<i64>>(0) {
            return v;
        }
        if let Ok(v) = row.try_get::<_, Option<i32>>(0) {
            return v.map(i64::from);
        }
        if let Ok(v) = row.try_get::<_, Option<i16>>(0) {
            return v.map(i64::from);
        }
        panic!(
            "column 0 of `{sql}` is not an integer (type {})",
            row.columns()[0].type_()
        )
    }

    /// The first column of the first row as a boolean.
    pub fn scalar_bool(&self, sql: &str) -> Option<bool> {
        self.scalar::<bool>(sql)
    }

    /// The first column of every row, as text (cast non-text columns with `::text`).
    pub fn column_strings(&self, sql: &str) -> Vec<Option<String>> {
        self.query_rows(sql)
            .iter()
            .map(|row| {
                row.try_get::<_, Option<String>>(0)
                    .unwrap_or_else(|e| panic!("cannot read column 0 of `{sql}` as text: {e}"))
            })
            .collect()
    }

    /// Number of rows in `table` (exact name, in the `public` schema).
    pub fn count(&self, table: &str) -> i64 {
        self.scalar_i64(&format!(
            "SELECT count(*) FROM public.{}",
            quote_ident(table)
        ))
        .expect("count(*) returns a row")
    }

    /// Whether table (or view) `name` exists in schema `public`. Exact (case-sensitive) name.
    pub fn table_exists(&self, name: &str) -> bool {
        self.table_exists_in("public", name)
    }

    /// Whether table (or view) `name` exists in `schema`. Exact (case-sensitive) names.
    pub fn table_exists_in(&self, schema: &str, name: &str) -> bool {
        let row = self
            .client()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = $1 AND table_name = $2)",
                &[&schema, &name],
            )
            .unwrap_or_else(|e| panic!("table_exists({schema}.{name}) failed: {}", describe(&e)));
        row.get(0)
    }

    /// Whether `table`.`column` exists in schema `public`.
    pub fn column_exists(&self, table: &str, column: &str) -> bool {
        let row = self
            .client()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2)",
                &[&table, &column],
            )
            .unwrap_or_else(|e| panic!("column_exists({table}.{column}) failed: {}", describe(&e)));
        row.get(0)
    }

    /// Whether an index called `name` exists in schema `public`.
    pub fn index_exists(&self, name: &str) -> bool {
        let row = self
            .client()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'public' AND indexname = $1)",
                &[&name],
            )
            .unwrap_or_else(|e| panic!("index_exists({name}) failed: {}", describe(&e)));
        row.get(0)
    }

    /// Whether index `name` (schema `public`) exists and is valid (a failed `CREATE INDEX
    /// CONCURRENTLY` leaves an invalid one behind).
    pub fn index_is_valid(&self, name: &str) -> bool {
        let row = self
            .client()
            .query_one(
                "SELECT coalesce((SELECT i.indisvalid FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relname = $1), false)",
                &[&name],
            )
            .unwrap_or_else(|e| panic!("index_is_valid({name}) failed: {}", describe(&e)));
        row.get(0)
    }

    /// The labels of enum type `name` (schema `public`) in their sort order; empty if no such type.
    pub fn enum_values(&self, name: &str) -> Vec<String> {
        self.client()
            .query(
                "SELECT e.enumlabel::text FROM pg_enum e \
                 JOIN pg_type t ON t.oid = e.enumtypid \
                 JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE n.nspname = 'public' AND t.typname = $1 ORDER BY e.enumsortorder",
                &[&name],
            )
            .unwrap_or_else(|e| panic!("enum_values({name}) failed: {}", describe(&e)))
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// This database's URL for the login role `r_<database>` with `password` (created on first
    /// use), which may create objects in `public`. Unlike the harness's own role it authenticates
    /// under any `pg_hba.conf` method (trust, md5, scram), so a test that needs a password, or a
    /// role it can change, runs against any server. Dropped with the database.
    pub fn role_url(&self, password: &str) -> String {
        let role = self.role();
        let literal = password.replace('\'', "''");
        admin_client()
            .batch_execute(&format!(
                "DO $$BEGIN CREATE ROLE {0} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$; \
                 ALTER ROLE {0} PASSWORD '{literal}'",
                quote_ident(&role)
            ))
            .unwrap_or_else(|e| panic!("create role {role}: {}", describe(&e)));
        self.execute(&format!(
            "GRANT ALL ON SCHEMA public TO {}",
            quote_ident(&role)
        ));
        let mut url = url::Url::parse(&self.url).expect("test database URL");
        url.set_username(&role).expect("user");
        url.set_password(Some(password)).expect("password");
        url.to_string()
    }

    /// The name of this database's own role (see [`TestDb::role_url`]).
    pub fn role(&self) -> String {
        format!("r_{}", self.name)
    }

    /// Names of the tables in schema `public`, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.query_rows(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY table_name",
        )
        .iter()
        .map(|row| row.get(0))
        .collect()
    }

    /// Names of the migrations recorded as applied in `public._prisma_migrations` (finished and
    /// not rolled back), in the order they were started. Empty when the table does not exist.
    pub fn applied_migrations(&self) -> Vec<String> {
        if !self.table_exists("_prisma_migrations") {
            return Vec::new();
        }
        self.query_rows(
            "SELECT migration_name FROM public._prisma_migrations \
             WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL \
             ORDER BY started_at, migration_name",
        )
        .iter()
        .map(|row| row.get(0))
        .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "note: keeping test database {} for inspection: {}",
                self.name, self.url
            );
            return;
        }
        if let Ok(mut admin) = connect(&server().admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
            // Separately: DROP DATABASE cannot share a (multi-statement) transaction.
            let _ = admin.batch_execute(&format!(
                "DROP ROLE IF EXISTS {}",
                quote_ident(&self.role())
            ));
        }
    }
}

/// Every row of `_prisma_migrations`, every column as text, in a stable order: equal
/// snapshots before and after a command prove it left the history untouched.
pub fn history_snapshot(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.query_rows(
        "SELECT id::text, checksum::text, finished_at::text, migration_name::text, logs, \
                rolled_back_at::text, started_at::text, applied_steps_count::text \
         FROM _prisma_migrations ORDER BY started_at, id",
    )
    .iter()
    .map(|row| (0..8).map(|i| row.get::<_, Option<String>>(i)).collect())
    .collect()
}

/// `name` as a double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
