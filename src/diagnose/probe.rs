//! The catalog probe (I/O): is a classified statement's effect in the database now? Each
//! [`Check`] from [`super::classify`] becomes one or a few catalog queries; where a name alone would
//! lie, the object's definition is compared too (`pg_get_constraintdef`, the column's type,
//! `pg_get_indexdef`), so a constraint Prisma dropped and re-added with new options counts as
//! re-added only when its definition is the new one.

use super::classify::{normalize_definition, Check, QualifiedName};
use crate::connect::Session;
use crate::error::Result;
use postgres::types::{ToSql, Type};

/// The result of evaluating a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub present: bool,
    /// Something a person must know (a definition that differs, an INVALID index).
    pub note: Option<String>,
    /// Present but broken (an INVALID index left by a failed CREATE INDEX CONCURRENTLY): neither
    /// applied nor absent.
    pub invalid: bool,
}

impl Observation {
    fn plain(present: bool) -> Observation {
        Observation {
            present,
            note: None,
            invalid: false,
        }
    }
}

/// Asks the catalog whether a check holds now.
pub fn evaluate(session: &mut Session, check: &Check) -> Result<Observation> {
    Ok(match check {
        Check::Relation { name, exists } => {
            Observation::plain(relation_exists(session, name)? == *exists)
        }
        Check::Renamed { from, to } => Observation::plain(
            relation_exists(session, to)? && !relation_exists(session, from)?,
        ),
        Check::Column {
            table,
            column,
            exists,
            type_name,
        } => evaluate_column(session, table, column, *exists, type_name.as_deref())?,
        Check::ColumnRenamed { table, from, to } => Observation::plain(
            column_exists(session, table, to)? && !column_exists(session, table, from)?,
        ),
        Check::Constraint {
            table,
            name,
            exists,
            definition,
        } => evaluate_constraint(session, table, name, *exists, definition.as_deref())?,
        Check::Index {
            name,
            exists,
            definition,
        } => evaluate_index(session, name, *exists, definition.as_deref())?,
        Check::Type { name, exists } => Observation::plain(
            flag(session, "SELECT to_regtype($1) IS NOT NULL", &[&name.quoted()])? == *exists,
        ),
        Check::EnumValue { type_name, value } => Observation::plain(flag(
            session,
            "SELECT EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = to_regtype($1) AND enumlabel = $2)",
            &[&type_name.quoted(), value],
        )?),
        Check::Schema { name, exists } => Observation::plain(
            flag(session, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[name])? == *exists,
        ),
        Check::Extension { name, exists } => Observation::plain(
            flag(session, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)", &[name])? == *exists,
        ),
        Check::Function { name } => Observation::plain(flag(
            session,
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = $1 \
             AND ($2 = '' OR pronamespace = to_regnamespace($2)))",
            &[&name.name, &name.schema.as_deref().map(crate::connect::quote_ident).unwrap_or_default()],
        )?),
        Check::Trigger { table, name } => Observation::plain(flag(
            session,
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
            &[&table.quoted(), name],
        )?),
        Check::All(checks) => {
            let mut all = Observation::plain(true);
            for check in checks {
                let observed = evaluate(session, check)?;
                all.present &= observed.present;
                all.invalid |= observed.invalid;
                all.note = all.note.or(observed.note);
            }
            all
        }
    })
}

/// An added column is there only with the declared type (compared by OID; typmods aside).
fn evaluate_column(
    session: &mut Session,
    table: &QualifiedName,
    column: &str,
    exists: bool,
    type_name: Option<&str>,
) -> Result<Observation> {
    let row = catalog_row(
        session,
        "SELECT format_type(a.atttypid, a.atttypmod), a.atttypid = to_regtype(NULLIF($3, '')) \
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 \
         AND a.attnum > 0 AND NOT a.attisdropped",
        &[&table.quoted(), column, type_name.unwrap_or("")],
        "probing a column",
    )?;
    let Some(row) = row else {
        return Ok(Observation::plain(!exists));
    };
    if !exists || type_name.is_none() {
        return Ok(Observation::plain(exists));
    }
    let actual: String = row.get(0);
    let same: Option<bool> = row.get(1);
    Ok(match same {
        Some(true) => Observation::plain(true),
        _ => Observation {
            present: false,
            note: Some(format!(
                "column {}.{} exists with type {actual}, not the migration's {}",
                table.quoted(),
                crate::connect::quote_ident(column),
                type_name.unwrap_or("?")
            )),
            invalid: false,
        },
    })
}

/// An added constraint is there only with the migration's definition.
fn evaluate_constraint(
    session: &mut Session,
    table: &QualifiedName,
    name: &str,
    exists: bool,
    definition: Option<&str>,
) -> Result<Observation> {
    let row = catalog_row(
        session,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = to_regclass($1) AND conname = $2",
        &[&table.quoted(), name],
        "probing a constraint",
    )?;
    let Some(row) = row else {
        return Ok(Observation::plain(!exists));
    };
    let actual: String = row.get(0);
    let object = format!("constraint {}", crate::connect::quote_ident(name));
    Ok(by_definition(exists, definition, &actual, &object))
}

/// An object of the right name counts as the statement's only with the statement's definition.
fn by_definition(
    exists: bool,
    definition: Option<&str>,
    actual: &str,
    object: &str,
) -> Observation {
    match definition {
        Some(expected) if exists && normalize_definition(actual) != expected => Observation {
            present: false,
            note: Some(format!(
                "{object} exists with another definition ({actual})"
            )),
            invalid: false,
        },
        _ => Observation::plain(exists),
    }
}

/// An index is there only valid and with the migration's definition; an INVALID one is named.
fn evaluate_index(
    session: &mut Session,
    name: &QualifiedName,
    exists: bool,
    definition: Option<&str>,
) -> Result<Observation> {
    let row = catalog_row(
        session,
        "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         WHERE i.indexrelid = to_regclass($1)",
        &[&name.quoted()],
        "probing an index",
    )?;
    let Some(row) = row else {
        return Ok(Observation::plain(!exists));
    };
    let (valid, actual): (bool, String) = (row.get(0), row.get(1));
    if !valid {
        return Ok(Observation {
            present: exists,
            note: Some(format!(
                "index {} exists but is INVALID (left behind by a failed CREATE INDEX CONCURRENTLY); \
                 drop it before retrying: DROP INDEX CONCURRENTLY IF EXISTS {};",
                name.quoted(),
                name.quoted()
            )),
            invalid: true,
        });
    }
    let object = format!("index {}", name.quoted());
    Ok(by_definition(exists, definition, &actual, &object))
}

fn relation_exists(session: &mut Session, name: &QualifiedName) -> Result<bool> {
    flag(
        session,
        "SELECT to_regclass($1) IS NOT NULL",
        &[&name.quoted()],
    )
}

fn column_exists(session: &mut Session, table: &QualifiedName, column: &str) -> Result<bool> {
    flag(
        session,
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) \
         AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
        &[&table.quoted(), column],
    )
}

/// Runs a catalog query with text parameters that returns at most one row.
fn catalog_row(
    session: &mut Session,
    sql: &str,
    params: &[&str],
    context: &str,
) -> Result<Option<postgres::Row>> {
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
        .iter()
        .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
        .collect();
    session
        .client
        .query_typed_opt(sql, &typed)
        .map_err(|e| session.query_error(context, e))
}

/// Runs a boolean catalog query with text parameters (one round trip).
fn flag(session: &mut Session, sql: &str, params: &[&str]) -> Result<bool> {
    Ok(catalog_row(session, sql, params, "probing the catalog")?.is_some_and(|row| row.get(0)))
}
