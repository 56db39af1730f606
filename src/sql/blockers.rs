//! Which statements refuse to run inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`,
//! transaction control, ...). A migration holding one must run statement by statement, so the apply
//! engine and the diagnosis ask [`transaction_blocker`] about every statement.
//!
//! Matching is on significant tokens ([`Tokens`]), never on raw text, so a keyword inside a string,
//! comment or quoted identifier never counts.

use super::lexer::{Kind, Lexer, Token};

const CREATE_INDEX_CONCURRENTLY: &str =
    "CREATE INDEX CONCURRENTLY cannot run inside a transaction block";
const DROP_INDEX_CONCURRENTLY: &str =
    "DROP INDEX CONCURRENTLY cannot run inside a transaction block";
const REINDEX_CONCURRENTLY: &str = "REINDEX CONCURRENTLY cannot run inside a transaction block";
const REINDEX_MANY: &str =
    "REINDEX SCHEMA, DATABASE or SYSTEM cannot run inside a transaction block";
const CLUSTER_ALL: &str = "CLUSTER without a table name cannot run inside a transaction block";

/// The significant tokens of one statement, with keyword helpers.
pub(super) struct Tokens<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let tokens = Lexer::new(text)
            .filter(|t| t.kind.is_significant())
            .take_while(|t| t.kind != Kind::Semicolon)
            .collect();
        Tokens { text, tokens }
    }

    pub(super) fn len(&self) -> usize {
        self.tokens.len()
    }

    pub(super) fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    fn raw(&self, i: usize) -> Option<&'a str> {
        self.tokens
            .get(i)
            .and_then(|t| self.text.get(t.range.clone()))
    }

    /// The bare word at `i`, uppercased, or "" when `i` is not a bare word.
    fn upper(&self, i: usize) -> String {
        match self.kind(i) {
            Some(Kind::Word) => self.raw(i).unwrap_or("").to_ascii_uppercase(),
            _ => String::new(),
        }
    }

    pub(super) fn is(&self, i: usize, keyword: &str) -> bool {
        self.kind(i) == Some(Kind::Word)
            && self.raw(i).is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    }

    fn is_name(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(Kind::Word | Kind::QuotedIdent))
    }

    /// Index after a possibly qualified name (`a`, `"a".b`, ...) starting at `i`.
    fn after_name(&self, i: usize) -> usize {
        if !self.is_name(i) {
            return i;
        }
        let mut j = i + 1;
        while self.raw(j) == Some(".") && self.is_name(j + 1) {
            j += 2;
        }
        j
    }

    /// Index after the parenthesized group opening at `i` (or `i` itself when it is no `(`).
    pub(super) fn after_parens(&self, i: usize) -> usize {
        if self.kind(i) != Some(Kind::OpenParen) {
            return i;
        }
        let mut depth = 0usize;
        for j in i..self.len() {
            match self.kind(j) {
                Some(Kind::OpenParen) => depth += 1,
                Some(Kind::CloseParen) => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return j + 1;
            }
        }
        self.len()
    }

    /// The boolean value of option `name` in the `( name [=] [value], ... )` list opening at `open`:
    /// `None` when absent, `Some(true)` when given without a value or with a true-ish one.
    fn option_value(&self, open: usize, name: &str) -> Option<bool> {
        let end = self.after_parens(open);
        let mut depth = 0usize;
        for i in open..end {
            match self.kind(i) {
                Some(Kind::OpenParen) => depth += 1,
                Some(Kind::CloseParen) => depth = depth.saturating_sub(1),
                _ if depth == 1 && self.is(i, name) && self.starts_option(i) => {
                    let value = if self.raw(i + 1) == Some("=") {
                        i + 2
                    } else {
                        i + 1
                    };
                    return Some(!self.is_false(value));
                }
                _ => {}
            }
        }
        None
    }

    fn starts_option(&self, i: usize) -> bool {
        i > 0 && (self.kind(i - 1) == Some(Kind::OpenParen) || self.raw(i - 1) == Some(","))
    }

    /// `FALSE`, `OFF`, `0`, `'false'`, `'off'` (what `defGetBoolean` reads as false).
    fn is_false(&self, i: usize) -> bool {
        let raw = self.raw(i).unwrap_or("");
        match self.kind(i) {
            Some(Kind::Word) => ["false", "off"].iter().any(|f| raw.eq_ignore_ascii_case(f)),
            Some(Kind::Number) => raw == "0",
            Some(Kind::Str) => ["'false'", "'off'"]
                .iter()
                .any(|f| raw.eq_ignore_ascii_case(f)),
            _ => false,
        }
    }
}

/// Why this statement cannot run inside a transaction block, or `None`. `text` is one statement's body.
///
/// Matching is on the leading tokens, case-insensitively, so words inside strings, comments or quoted
/// identifiers never count. Besides the index/database/tablespace/subscription/system commands and
/// transaction control, this also reports `REINDEX SCHEMA|DATABASE|SYSTEM`, `DISCARD ALL`,
/// `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` and `ALTER SUBSCRIPTION ... {SET|ADD|DROP}
/// PUBLICATION` without `refresh = false`. Cases only the server can see (a `DO` block or procedure
/// that commits, `CLUSTER` of a partitioned table) are not detected.
pub fn transaction_blocker(text: &str) -> Option<&'static str> {
    let t = Tokens::new(text);
    let first = t.upper(0);
    match first.as_str() {
        "CREATE" => create_blocker(&t),
        "DROP" => drop_blocker(&t),
        "ALTER" => alter_blocker(&t),
        "REINDEX" => reindex_blocker(&t),
        "CLUSTER" => cluster_blocker(&t),
        "VACUUM" => Some("VACUUM cannot run inside a transaction block"),
        "DISCARD" => t
            .is(1, "ALL")
            .then_some("DISCARD ALL cannot run inside a transaction block"),
        _ => transaction_control(&t, &first),
    }
}

fn create_blocker(t: &Tokens) -> Option<&'static str> {
    let index_at = if t.is(1, "UNIQUE") { 2 } else { 1 };
    if t.is(index_at, "INDEX") && t.is(index_at + 1, "CONCURRENTLY") {
        return Some(CREATE_INDEX_CONCURRENTLY);
    }
    match t.upper(1).as_str() {
        "DATABASE" => Some("CREATE DATABASE cannot run inside a transaction block"),
        "TABLESPACE" => Some("CREATE TABLESPACE cannot run inside a transaction block"),
        "SUBSCRIPTION" => Some("CREATE SUBSCRIPTION cannot run inside a transaction block"),
        _ => None,
    }
}

fn drop_blocker(t: &Tokens) -> Option<&'static str> {
    match t.upper(1).as_str() {
        "INDEX" => t.is(2, "CONCURRENTLY").then_some(DROP_INDEX_CONCURRENTLY),
        "DATABASE" => Some("DROP DATABASE cannot run inside a transaction block"),
        "TABLESPACE" => Some("DROP TABLESPACE cannot run inside a transaction block"),
        "SUBSCRIPTION" => Some("DROP SUBSCRIPTION cannot run inside a transaction block"),
        _ => None,
    }
}

fn alter_blocker(t: &Tokens) -> Option<&'static str> {
    match t.upper(1).as_str() {
        "SYSTEM" => Some("ALTER SYSTEM cannot run inside a transaction block"),
        "DATABASE" => (t.is_name(2) && t.is(3, "SET") && t.is(4, "TABLESPACE"))
            .then_some("ALTER DATABASE ... SET TABLESPACE cannot run inside a transaction block"),
        "SUBSCRIPTION" => subscription_blocker(t),
        "TABLE" => detach_blocker(t),
        _ => None,
    }
}

/// `ALTER SUBSCRIPTION s REFRESH PUBLICATION`, and `{SET|ADD|DROP} PUBLICATION` unless `refresh = false`.
fn subscription_blocker(t: &Tokens) -> Option<&'static str> {
    if !t.is_name(2) || !t.is(4, "PUBLICATION") {
        return None;
    }
    if t.is(3, "REFRESH") {
        return Some(
            "ALTER SUBSCRIPTION ... REFRESH PUBLICATION cannot run inside a transaction block",
        );
    }
    if !["SET", "ADD", "DROP"].iter().any(|w| t.is(3, w)) {
        return None;
    }
    let refresh = (5..t.len())
        .find(|&i| t.is(i, "WITH") && t.kind(i + 1) == Some(Kind::OpenParen))
        .and_then(|with| t.option_value(with + 1, "REFRESH"))
        .unwrap_or(true);
    refresh.then_some(
        "ALTER SUBSCRIPTION ... PUBLICATION with refresh cannot run inside a transaction block",
    )
}

/// `ALTER TABLE ... DETACH PARTITION name CONCURRENTLY`.
fn detach_blocker(t: &Tokens) -> Option<&'static str> {
    let detach = (2..t.len()).find(|&i| t.is(i, "DETACH") && t.is(i + 1, "PARTITION"))?;
    t.is(t.after_name(detach + 2), "CONCURRENTLY").then_some(
        "ALTER TABLE ... DETACH PARTITION CONCURRENTLY cannot run inside a transaction block",
    )
}

/// `REINDEX [(options)] {INDEX|TABLE|SCHEMA|DATABASE|SYSTEM} [CONCURRENTLY] name`.
fn reindex_blocker(t: &Tokens) -> Option<&'static str> {
    let mut target = 1;
    let mut concurrently = false;
    if t.kind(1) == Some(Kind::OpenParen) {
        concurrently = t.option_value(1, "CONCURRENTLY") == Some(true);
        target = t.after_parens(1);
    }
    if concurrently || t.is(target + 1, "CONCURRENTLY") {
        return Some(REINDEX_CONCURRENTLY);
    }
    matches!(t.upper(target).as_str(), "SCHEMA" | "DATABASE" | "SYSTEM").then_some(REINDEX_MANY)
}

/// `CLUSTER [(options)] [VERBOSE]` with no table name.
fn cluster_blocker(t: &Tokens) -> Option<&'static str> {
    let mut next = t.after_parens(1);
    if t.is(next, "VERBOSE") {
        next += 1;
    }
    (next >= t.len()).then_some(CLUSTER_ALL)
}

fn transaction_control(t: &Tokens, first: &str) -> Option<&'static str> {
    let reason = match first {
        "BEGIN" if !t.is(1, "ATOMIC") => "transaction control statement (BEGIN)",
        "START" if t.is(1, "TRANSACTION") => "transaction control statement (START TRANSACTION)",
        "COMMIT" if t.is(1, "PREPARED") => "transaction control statement (COMMIT PREPARED)",
        "COMMIT" => "transaction control statement (COMMIT)",
        "ROLLBACK" if t.is(1, "PREPARED") => "transaction control statement (ROLLBACK PREPARED)",
        "ROLLBACK" => "transaction control statement (ROLLBACK)",
        "END" => "transaction control statement (END)",
        "ABORT" => "transaction control statement (ABORT)",
        "SAVEPOINT" => "transaction control statement (SAVEPOINT)",
        "RELEASE" => "transaction control statement (RELEASE)",
        "PREPARE"
            if t.is(1, "TRANSACTION") && !t.is(2, "AS") && t.kind(2) != Some(Kind::OpenParen) =>
        {
            "transaction control statement (PREPARE TRANSACTION)"
        }
        _ => return None,
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_blockers_positive() {
        let cases = [
            (
                "CREATE INDEX CONCURRENTLY \"i\" ON \"t\"(\"x\");",
                CREATE_INDEX_CONCURRENTLY,
            ),
            (
                "create unique index concurrently i on t(x)",
                CREATE_INDEX_CONCURRENTLY,
            ),
            (
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x)",
                CREATE_INDEX_CONCURRENTLY,
            ),
            (
                "CREATE INDEX CONCURRENTLY ON t (x)",
                CREATE_INDEX_CONCURRENTLY,
            ),
            (
                "/* why */ -- because\nCREATE INDEX CONCURRENTLY i ON t (x)",
                CREATE_INDEX_CONCURRENTLY,
            ),
            (
                "DROP INDEX CONCURRENTLY IF EXISTS i;",
                DROP_INDEX_CONCURRENTLY,
            ),
            ("REINDEX (CONCURRENTLY) TABLE x;", REINDEX_CONCURRENTLY),
            (
                "REINDEX (VERBOSE, CONCURRENTLY true) INDEX x",
                REINDEX_CONCURRENTLY,
            ),
            (
                "REINDEX (CONCURRENTLY ON, VERBOSE) INDEX x",
                REINDEX_CONCURRENTLY,
            ),
            ("REINDEX TABLE CONCURRENTLY x", REINDEX_CONCURRENTLY),
            ("reindex index concurrently \"x\"", REINDEX_CONCURRENTLY),
            ("REINDEX SCHEMA public", REINDEX_MANY),
            ("REINDEX (VERBOSE) DATABASE d", REINDEX_MANY),
            ("REINDEX SYSTEM", REINDEX_MANY),
            ("CLUSTER", CLUSTER_ALL),
            ("CLUSTER;", CLUSTER_ALL),
            ("cluster verbose", CLUSTER_ALL),
            ("CLUSTER (VERBOSE);", CLUSTER_ALL),
        ];
        for (sql, reason) in cases {
            assert_eq!(transaction_blocker(sql), Some(reason), "{sql}");
        }
    }

    #[test]
    fn transaction_blockers_positive_by_keyword() {
        let cases = [
            ("VACUUM", "VACUUM"),
            ("vacuum (analyze, verbose) t;", "VACUUM"),
            ("CREATE DATABASE d", "CREATE DATABASE"),
            ("DROP DATABASE IF EXISTS d", "DROP DATABASE"),
            ("CREATE TABLESPACE ts LOCATION '/x'", "CREATE TABLESPACE"),
            ("DROP TABLESPACE ts", "DROP TABLESPACE"),
            ("ALTER SYSTEM SET work_mem = '1MB'", "ALTER SYSTEM"),
            (
                "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p",
                "CREATE SUBSCRIPTION",
            ),
            ("DROP SUBSCRIPTION s", "DROP SUBSCRIPTION"),
            (
                "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
                "REFRESH PUBLICATION",
            ),
            ("ALTER SUBSCRIPTION s SET PUBLICATION p", "with refresh"),
            (
                "ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = true)",
                "with refresh",
            ),
            ("ALTER DATABASE \"d\" SET TABLESPACE ts", "SET TABLESPACE"),
            ("DISCARD ALL", "DISCARD ALL"),
            (
                "ALTER TABLE t DETACH PARTITION p CONCURRENTLY",
                "DETACH PARTITION",
            ),
            (
                "ALTER TABLE \"s\".\"t\" DETACH PARTITION \"s\".p CONCURRENTLY;",
                "DETACH PARTITION",
            ),
            ("BEGIN", "(BEGIN)"),
            ("begin transaction isolation level serializable;", "(BEGIN)"),
            ("START TRANSACTION", "(START TRANSACTION)"),
            ("COMMIT;", "(COMMIT)"),
            ("COMMIT AND CHAIN", "(COMMIT)"),
            ("END", "(END)"),
            ("ROLLBACK", "(ROLLBACK)"),
            ("ROLLBACK TO SAVEPOINT a", "(ROLLBACK)"),
            ("ABORT", "(ABORT)"),
            ("SAVEPOINT a", "(SAVEPOINT)"),
            ("RELEASE SAVEPOINT a", "(RELEASE)"),
            ("PREPARE TRANSACTION 'x'", "(PREPARE TRANSACTION)"),
            ("COMMIT PREPARED 'x'", "(COMMIT PREPARED)"),
            ("ROLLBACK PREPARED 'x'", "(ROLLBACK PREPARED)"),
        ];
        for (sql, needle) in cases {
            let reason = transaction_blocker(sql);
            assert!(
                reason.is_some_and(|r| r.contains(needle)),
                "{sql}: {reason:?}"
            );
        }
    }

    #[test]
    fn transaction_blockers_negative() {
        let cases = [
            "",
            "-- VACUUM\n",
            "/* COMMIT; */ SELECT 1",
            "-- VACUUM\nCREATE TABLE \"vacuum\" (id int);",
            "CREATE TABLE t (\"concurrently\" int)",
            "CREATE INDEX i ON t (concurrently)",
            "CREATE INDEX \"concurrently\" ON t (x)",
            "CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");",
            "SELECT 'VACUUM'",
            "SELECT 1; VACUUM",
            "\"BEGIN\"",
            "E'COMMIT'",
            "BEGIN ATOMIC SELECT 1; END",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
            "CREATE TABLE d (database int)",
            "DROP INDEX i",
            "DROP TABLE \"database\"",
            "REINDEX TABLE t",
            "REINDEX (VERBOSE) INDEX i",
            "REINDEX (CONCURRENTLY false) TABLE t",
            "REINDEX (CONCURRENTLY off, VERBOSE) INDEX i",
            "CLUSTER t",
            "CLUSTER (VERBOSE) t USING i",
            "CLUSTER VERBOSE t",
            "ALTER DATABASE d SET search_path = x",
            "ALTER DATABASE d SET default_tablespace = x",
            "ALTER SUBSCRIPTION s ENABLE",
            "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
            "ALTER SUBSCRIPTION s DROP PUBLICATION p WITH (copy_data = true, refresh = off)",
            "ALTER TABLE t DETACH PARTITION p",
            "ALTER TABLE t DETACH PARTITION p FINALIZE",
            "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\")",
            "ALTER TYPE \"Role\" ADD VALUE 'GUEST'",
            "DISCARD PLANS",
            "ANALYZE t",
            "PREPARE q AS SELECT 1",
            "PREPARE transaction AS SELECT 1",
            "PREPARE transaction (int) AS SELECT $1",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
            "SET LOCAL lock_timeout = '1s'",
            "UPDATE t SET commit = 1",
            "INSERT INTO t VALUES ('ROLLBACK')",
        ];
        for sql in cases {
            assert_eq!(transaction_blocker(sql), None, "{sql}");
        }
    }
}
