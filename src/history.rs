//! `_prisma_migrations`: the only module with SQL for Prisma's history table.
//!
//! Every row we write must be one the real Prisma CLI reads correctly, and we must read every row it
//! writes (prisma-compat §1).
//!
//! Where the table lives: one rule, resolved once per session by `connect` into
//! `session.target.schema` — the URL's `schema=` (or `--schema`) if given, else the session's
//! `current_schema()`, which is where Prisma's unqualified SQL finds it. Every statement here names
//! the table schema-qualified, so the existence check, the reads and the writes always agree, and no
//! migration can move the bookkeeping by changing `search_path`.

use crate::connect::{quote_ident, quote_literal, Session};
use crate::error::{Error, Result};
use crate::timestamp::Timestamp;
use postgres::types::Type;
use serde::Serialize;
use std::time::SystemTime;

/// Prisma's DDL, byte for byte (prisma-compat §1.2); sent schema-qualified by [`create_if_missing`].
pub const CREATE_TABLE: &str = "CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
";

/// The history table, schema-qualified and quoted: `"schema"."_prisma_migrations"`.
pub fn table(session: &Session) -> String {
    qualified(&session.target.schema)
}

fn qualified(schema: &str) -> String {
    format!("{}.\"_prisma_migrations\"", quote_ident(schema))
}

/// Columns we read and write, with the type families Prisma's reader accepts.
const EXPECTED_COLUMNS: [(&str, &[&str]); 8] = [
    ("id", &["character varying", "text"]),
    ("checksum", &["character varying", "text"]),
    ("finished_at", &["timestamp with time zone"]),
    ("migration_name", &["character varying", "text"]),
    ("logs", &["text", "character varying"]),
    ("rolled_back_at", &["timestamp with time zone"]),
    ("started_at", &["timestamp with time zone"]),
    ("applied_steps_count", &["integer"]),
];

/// PostGIS tables Prisma ignores in its P3005 emptiness check ([pg-differ]).
const IGNORED_TABLES: [&str; 5] = [
    "spatial_ref_sys",
    "geometry_columns",
    "geography_columns",
    "raster_columns",
    "raster_overviews",
];

/// One row of `_prisma_migrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    pub id: String,
    pub checksum: String,
    pub finished_at: Option<Timestamp>,
    pub migration_name: String,
    pub logs: Option<String>,
    pub rolled_back_at: Option<Timestamp>,
    pub started_at: Timestamp,
    pub applied_steps_count: i32,
}

impl HistoryRow {
    /// Prisma's P3009 state: neither finished nor rolled back.
    pub fn is_failed(&self) -> bool {
        self.finished_at.is_none() && self.rolled_back_at.is_none()
    }

    /// Counts as applied: finished and not rolled back.
    pub fn is_applied(&self) -> bool {
        self.finished_at.is_some() && self.rolled_back_at.is_none()
    }
}

/// What the target schema holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableState {
    /// The history table exists and has Prisma's columns.
    Present,
    /// No history table; `other_tables` lists the ordinary tables that would make creating it a P3005.
    Missing { other_tables: Vec<String> },
}

/// Looks at the target schema without writing: does the history table exist, is it Prisma's, and
/// which other ordinary tables are there. An incompatible table is refused here, before any write.
pub fn inspect(session: &mut Session) -> Result<TableState> {
    let schema = session.target.schema.clone();
    // Column details only for our table: a schema may hold thousands of tables.
    let rows = session
        .client
        .query_typed(
            "SELECT c.relname::text, \
                    CASE WHEN c.relname = '_prisma_migrations' THEN \
                      (SELECT json_agg(json_build_array(a.attname::text, \
                        format_type(a.atttypid, NULL), a.attnotnull, a.atthasdef))::text \
                       FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
                       AND NOT a.attisdropped) END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname = $1",
            &[(&schema, Type::TEXT)],
        )
        .map_err(|e| session.query_error("inspecting the schema", e))?;
    let mut other_tables = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        if name == "_prisma_migrations" {
            let columns: Option<String> = row.get(1);
            check_columns(columns.as_deref().unwrap_or("[]"))?;
            return Ok(TableState::Present);
        }
        if !IGNORED_TABLES.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            other_tables.push(name);
        }
    }
    other_tables.sort();
    Ok(TableState::Missing { other_tables })
}

/// Validates the column list (`[[name, type, not_null, has_default], …]` as JSON text).
fn check_columns(columns_json: &str) -> Result<()> {
    let columns: Vec<(String, String, bool, bool)> =
        serde_json::from_str(columns_json).map_err(|e| Error::Query {
            context: "reading the history table's columns".into(),
            cause: e.to_string(),
        })?;
    let mut problems = Vec::new();
    for (name, accepted) in EXPECTED_COLUMNS {
        match columns.iter().find(|c| c.0 == name) {
            None => problems.push(format!("column `{name}` is missing")),
            Some((_, ty, _, _)) if !accepted.iter().any(|a| ty.starts_with(a)) => problems.push(
                format!("column `{name}` has type {ty}, expected {}", accepted[0]),
            ),
            Some(_) => {}
        }
    }
    for (name, ty, not_null, has_default) in &columns {
        let known = EXPECTED_COLUMNS.iter().any(|(n, _)| n == name);
        if !known && *not_null && !has_default {
            problems.push(format!(
                "extra column `{name}` ({ty}) is NOT NULL without a default, so Prisma's inserts would fail"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::HistoryTableIncompatible {
            problems: problems.join("; "),
        })
    }
}

/// Creates the table with Prisma's DDL, unless the schema already holds ordinary tables: then it is
/// Prisma's P3005 and the user must baseline first.
pub fn create_if_missing(session: &mut Session, state: &TableState) -> Result<bool> {
    let TableState::Missing { other_tables } = state else {
        return Ok(false);
    };
    if !other_tables.is_empty() {
        return Err(Error::SchemaNotEmpty {
            schema: session.target.schema.clone(),
            tables: other_tables.join(", "),
        });
    }
    session
        .client
        .batch_execute(&CREATE_TABLE.replacen(
            "CREATE TABLE _prisma_migrations",
            &format!("CREATE TABLE {}", table(session)),
            1,
        ))
        .map_err(|e| session.query_error("creating _prisma_migrations", e))?;
    Ok(true)
}

/// All rows in Prisma's order (`started_at` ascending). Call only when the table is present.
/// Timestamps travel in binary and are formatted here, independent of the session's TimeZone.
pub fn load_rows(session: &mut Session) -> Result<Vec<HistoryRow>> {
    let sql = format!(
        "SELECT id::text, checksum::text, finished_at, migration_name::text, logs::text, \
         rolled_back_at, started_at, applied_steps_count \
         FROM {} ORDER BY started_at ASC, id ASC",
        table(session)
    );
    let rows = session
        .client
        .query_typed(&sql, &[])
        .map_err(|e| session.query_error("reading _prisma_migrations", e))?;
    let time = |t: Option<SystemTime>| t.map(Timestamp::from);
    rows.iter()
        .map(|r| {
            let id: String = r.get(0);
            let migration_name: String = r.get(3);
            // NOT NULL in Prisma's DDL; a foreign row without it is refused, not given a fake time.
            let started_at = time(r.get(6)).ok_or_else(|| Error::HistoryTableIncompatible {
                problems: format!("row {id} of `{migration_name}` has no started_at"),
            })?;
            Ok(HistoryRow {
                id,
                checksum: r.get(1),
                finished_at: time(r.get(2)),
                migration_name,
                logs: r.get(4),
                rolled_back_at: time(r.get(5)),
                started_at,
                applied_steps_count: r.get(7),
            })
        })
        .collect()
}

/// The rows of one history entry that we write, as SQL literals for a single simple-protocol batch.
/// Timestamps come from the server's `clock_timestamp()`, so `finished_at` ≥ `started_at` always holds
/// and every row of one deploy shares one clock.
pub struct NewRow<'a> {
    /// The schema-qualified history table ([`table`]).
    pub table: String,
    pub id: String,
    pub checksum: &'a str,
    pub migration_name: &'a str,
}

impl<'a> NewRow<'a> {
    /// A row with a fresh id (a lowercase, hyphenated UUID v4, as Prisma writes it) in the session's
    /// history table.
    pub fn new(session: &Session, checksum: &'a str, migration_name: &'a str) -> NewRow<'a> {
        NewRow {
            table: table(session),
            id: uuid::Uuid::new_v4().to_string(),
            checksum,
            migration_name,
        }
    }

    /// The "started" insert (Prisma's `record_migration_started`).
    pub fn insert_started(&self) -> String {
        format!(
            "INSERT INTO {} (\"id\", \"checksum\", \"started_at\", \"migration_name\") \
             VALUES ({}, {}, clock_timestamp(), {})",
            self.table,
            quote_literal(&self.id),
            quote_literal(self.checksum),
            quote_literal(self.migration_name)
        )
    }

    /// Marks the row finished with one step, as Prisma's successful deploy leaves it.
    pub fn mark_finished(&self) -> String {
        format!(
            "UPDATE {} SET \"finished_at\" = clock_timestamp(), \
             \"applied_steps_count\" = 1 WHERE \"id\" = {}",
            self.table,
            quote_literal(&self.id)
        )
    }

    /// Records why a non-transactional migration failed (Prisma's `record_failed_step`).
    pub fn record_logs(&self, logs: &str) -> String {
        format!(
            "UPDATE {} SET \"logs\" = {} WHERE \"id\" = {}",
            self.table,
            quote_literal(logs),
            quote_literal(&self.id)
        )
    }
}

/// How a failed row is resolved (`--resolve-as`, and the `action` of a resolved row in the JSON
/// report): the two history writes [`mark_rolled_back`] and [`delete_failed`] stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveAs {
    /// Set `rolled_back_at` (Prisma's `migrate resolve --rolled-back`).
    RolledBack,
    /// Delete the failed row.
    Delete,
    /// Finished by `--resolve-failed complete` (never a `--resolve-as` value).
    #[value(skip)]
    Completed,
}

/// Marks a failed row rolled back (Prisma's `resolve --rolled-back`), compare-and-set: only while it is
/// still failed. `false` means someone changed it meanwhile.
pub fn mark_rolled_back(session: &mut Session, id: &str) -> Result<bool> {
    let sql = format!(
        "UPDATE {} SET \"rolled_back_at\" = clock_timestamp() \
         WHERE \"id\" = $1 AND \"finished_at\" IS NULL AND \"rolled_back_at\" IS NULL",
        table(session)
    );
    execute_one(session, &sql, id, "marking a migration rolled back")
}

/// Deletes a failed row, compare-and-set like [`mark_rolled_back`].
pub fn delete_failed(session: &mut Session, id: &str) -> Result<bool> {
    let sql = format!(
        "DELETE FROM {} \
         WHERE \"id\" = $1 AND \"finished_at\" IS NULL AND \"rolled_back_at\" IS NULL",
        table(session)
    );
    execute_one(session, &sql, id, "deleting a failed row")
}

/// Replaces the `logs` of a failed row, compare-and-set like [`mark_rolled_back`] (used when a
/// completion ran part of the migration and stopped, so the logs say how far it got).
pub fn record_failed_logs(session: &mut Session, id: &str, logs: &str) -> Result<bool> {
    let sql = format!(
        "UPDATE {} SET \"logs\" = $2 \
         WHERE \"id\" = $1 AND \"finished_at\" IS NULL AND \"rolled_back_at\" IS NULL",
        table(session)
    );
    session
        .client
        .execute_typed(&sql, &[(&id, Type::TEXT), (&logs, Type::TEXT)])
        .map(|n| n == 1)
        .map_err(|e| session.query_error("recording what a completion did", e))
}

fn execute_one(session: &mut Session, sql: &str, id: &str, context: &str) -> Result<bool> {
    session
        .client
        .execute_typed(sql, &[(&id, Type::TEXT)])
        .map(|n| n == 1)
        .map_err(|e| session.query_error(context, e))
}

/// Inserts the row of Prisma's `resolve --applied`: `logs` = '', `applied_steps_count` 0 (the column
/// default) and `started_at` = `finished_at`, one timestamp. Returns the new id.
pub fn insert_applied(session: &mut Session, name: &str, checksum: &str) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let sql = format!(
        "INSERT INTO {} (\"id\", \"checksum\", \"logs\", \"started_at\", \"finished_at\", \"migration_name\") \
         SELECT $1, $2, '', now.ts, now.ts, $3 FROM (SELECT clock_timestamp() AS ts) AS now",
        table(session)
    );
    session
        .client
        .execute_typed(
            &sql,
            &[
                (&id, Type::TEXT),
                (&checksum, Type::TEXT),
                (&name, Type::TEXT),
            ],
        )
        .map_err(|e| session.query_error("recording a migration as applied", e))?;
    Ok(id)
}

/// Inserts the row of a migration finished by `--resolve-failed complete`: shaped as a successful
/// deploy leaves it (`applied_steps_count` 1, `finished_at` ≥ `started_at`), with `logs` saying how it
/// was completed (Prisma ignores `logs` of finished rows). Returns the new id.
pub fn insert_completed(
    session: &mut Session,
    name: &str,
    checksum: &str,
    note: &str,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let sql = format!(
        "INSERT INTO {} (\"id\", \"checksum\", \"logs\", \"started_at\", \"finished_at\", \"migration_name\", \"applied_steps_count\") \
         VALUES ($1, $2, $3, now(), clock_timestamp(), $4, 1)",
        table(session)
    );
    session
        .client
        .execute_typed(
            &sql,
            &[
                (&id, Type::TEXT),
                (&checksum, Type::TEXT),
                (&note, Type::TEXT),
                (&name, Type::TEXT),
            ],
        )
        .map_err(|e| session.query_error("recording a completed migration", e))?;
    Ok(id)
}

/// Is the row with this id recorded as finished? Used after a lost connection to learn whether a
/// COMMIT that got no answer took effect.
pub fn is_finished(session: &mut Session, id: &str) -> Result<bool> {
    let sql = format!(
        "SELECT finished_at IS NOT NULL FROM {} WHERE id = $1",
        table(session)
    );
    let row = session
        .client
        .query_typed_opt(&sql, &[(&id, Type::TEXT)])
        .map_err(|e| session.query_error("checking a migration's row", e))?;
    Ok(row.map(|r| r.get::<_, bool>(0)).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prisma_columns() -> String {
        serde_json::json!([
            ["id", "character varying", true, false],
            ["checksum", "character varying", true, false],
            ["finished_at", "timestamp with time zone", false, false],
            ["migration_name", "character varying", true, false],
            ["logs", "text", false, false],
            ["rolled_back_at", "timestamp with time zone", false, false],
            ["started_at", "timestamp with time zone", true, true],
            ["applied_steps_count", "integer", true, true]
        ])
        .to_string()
    }

    #[test]
    fn prismas_columns_pass() {
        assert!(check_columns(&prisma_columns()).is_ok());
    }

    #[test]
    fn missing_or_mistyped_columns_are_refused() {
        let cols = prisma_columns().replace("[\"logs\",\"text\",false,false],", "");
        let err = check_columns(&cols).unwrap_err().to_string();
        assert!(err.contains("`logs` is missing"), "{err}");
        let cols = prisma_columns().replace(
            "\"applied_steps_count\",\"integer\"",
            "\"applied_steps_count\",\"text\"",
        );
        assert!(check_columns(&cols)
            .unwrap_err()
            .to_string()
            .contains("applied_steps_count"));
    }

    #[test]
    fn nullable_extra_columns_are_fine_but_required_ones_are_not() {
        let mut cols: Vec<serde_json::Value> = serde_json::from_str(&prisma_columns()).unwrap();
        cols.push(serde_json::json!(["note", "text", false, false]));
        assert!(check_columns(&serde_json::to_string(&cols).unwrap()).is_ok());
        cols.push(serde_json::json!(["owner", "text", true, false]));
        assert!(check_columns(&serde_json::to_string(&cols).unwrap()).is_err());
    }

    #[test]
    fn row_literals_are_quoted() {
        let row = NewRow {
            table: qualified("we\"ird"),
            id: "x".into(),
            checksum: "c",
            migration_name: "it's",
        };
        assert!(row
            .insert_started()
            .ends_with("VALUES ('x', 'c', clock_timestamp(), 'it''s')"));
        assert!(row
            .insert_started()
            .starts_with("INSERT INTO \"we\"\"ird\".\"_prisma_migrations\" ("));
    }
}
