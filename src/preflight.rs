//! Pre-flight size awareness (issue 12 item 4): before a release, name every pending statement that
//! rewrites or scans an existing table — `ALTER COLUMN … TYPE`, `ADD COLUMN` with a volatile default,
//! `SET NOT NULL`, `ADD CONSTRAINT` without `NOT VALID`, `CREATE INDEX` without `CONCURRENTLY`,
//! `VACUUM FULL`, `CLUSTER`, … — with the table's current size and the lock it takes, so a reviewer
//! sees "this rewrites `Order` (38 GB, ACCESS EXCLUSIVE)" in `--dry-run` and in the release log.
//!
//! Warnings only, never a refusal. The classification is pure (over the tokens of the crate's one
//! lexer, `crate::sql::tokens`, so it agrees with the splitter on where strings and comments end);
//! the sizes come from the catalog (`pg_total_relation_size`, `reltuples`), each read under a short
//! `lock_timeout` so that looking can never queue behind a lock.

use crate::connect::Session;
use crate::sql::{Kind, Statement};
use serde::Serialize;

/// What a statement does to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Writes a new copy of the table (and its indexes).
    Rewrite,
    /// Reads the whole table (to validate or to build an index) while holding the lock.
    Scan,
}

impl Effect {
    fn verb(self) -> &'static str {
        match self {
            Effect::Rewrite => "rewrites",
            Effect::Scan => "scans",
        }
    }
}

/// A statement of a pending migration that rewrites or scans a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub migration: String,
    /// 1-based index of the statement in `migration.sql`, and its line.
    pub statement: usize,
    pub line: usize,
    /// The operation, e.g. `ALTER COLUMN … TYPE`.
    pub operation: &'static str,
    pub effect: Effect,
    /// The table as the catalog names it (`"Order"`, `billing."Invoice"`).
    pub table: String,
    /// The lock the statement holds while it works: `ACCESS EXCLUSIVE`, `SHARE`, …
    pub lock: &'static str,
    /// `pg_total_relation_size` (table, indexes, TOAST); null when it could not be read in time.
    pub size_bytes: Option<i64>,
    /// `pg_class.reltuples` (an estimate; null when the table was never analyzed).
    pub estimated_rows: Option<i64>,
}

impl Finding {
    /// `migration `x` statement 2 (line 3): ALTER COLUMN … TYPE rewrites "Order" (38.0 GB, ~1200000
    /// rows) holding its ACCESS EXCLUSIVE lock: reads and writes of it wait until it is done`.
    pub fn message(&self) -> String {
        let size = match self.size_bytes {
            Some(bytes) => human_size(bytes),
            None => "size unknown".into(),
        };
        let rows = self
            .estimated_rows
            .map(|r| format!(", ~{r} rows"))
            .unwrap_or_default();
        let blocks = if self.lock == "ACCESS EXCLUSIVE" {
            "reads and writes"
        } else {
            "writes"
        };
        format!(
            "migration `{}` statement {} (line {}): {} {} {} ({size}{rows}) holding its {} lock: {blocks} of it wait until it is done",
            self.migration, self.statement, self.line, self.operation, self.effect.verb(), self.table, self.lock
        )
    }
}

/// A statement's heavy operation before the table is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heavy {
    pub operation: &'static str,
    pub effect: Effect,
    pub lock: &'static str,
    /// The table's name parts, case-folded as PostgreSQL does (unquoted → lowercase).
    pub table: Vec<String>,
}

/// A pending migration's script with its statements as the planner already split them (the way
/// the session lexes them), so the pre-flight does not split every script a second time.
pub struct Pending<'a> {
    pub name: &'a str,
    pub script: &'a str,
    pub statements: &'a [Statement],
}

/// The findings of every pending migration, with sizes; tables that do not exist yet (created by an
/// earlier pending migration) are empty and left out. Never fails: a size that cannot be read in
/// time is reported as unknown. One round trip finds which tables exist, so a release of many small
/// migrations pays almost nothing.
pub fn inspect(session: &mut Session, pending: &[Pending]) -> Vec<Finding> {
    let mut heavy = Vec::new();
    for p in pending {
        for (index, statement) in p.statements.iter().enumerate() {
            if let Some(h) = classify(statement.text(p.script)) {
                heavy.push((p.name, index + 1, statement.line, h));
            }
        }
    }
    if heavy.is_empty() {
        return Vec::new();
    }
    let names: Vec<String> = heavy
        .iter()
        .map(|(_, _, _, h)| qualified(&h.table))
        .collect();
    let existing = existing_tables(session, &names);
    let mut sizes: Vec<(String, Option<i64>)> = Vec::new();
    let mut findings = Vec::new();
    for ((migration, statement, line, h), name) in heavy.into_iter().zip(&names) {
        let Some((table, rows)) = existing
            .iter()
            .find(|e| e.0 == *name)
            .map(|e| (e.1.clone(), e.2))
        else {
            continue;
        };
        let size_bytes = match sizes.iter().find(|s| s.0 == *name) {
            Some((_, bytes)) => *bytes,
            None => {
                let bytes = total_size(session, name);
                sizes.push((name.clone(), bytes));
                bytes
            }
        };
        findings.push(Finding {
            migration: migration.to_string(),
            statement,
            line,
            operation: h.operation,
            effect: h.effect,
            table,
            lock: h.lock,
            size_bytes,
            estimated_rows: rows,
        });
    }
    findings
}

fn qualified(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| crate::connect::quote_ident(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// Of `names` (quoted, possibly qualified), the tables that exist now: (name asked, catalog name,
/// row estimate). Reads only `pg_class`, which takes no lock on the tables.
fn existing_tables(session: &mut Session, names: &[String]) -> Vec<(String, String, Option<i64>)> {
    session
        .client
        .query(
            "SELECT n, c.oid::regclass::text, CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END \
             FROM unnest($1::text[]) AS n JOIN pg_class c ON c.oid = to_regclass(n) \
             WHERE c.relkind IN ('r', 'p', 'm')",
            &[&names],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        .unwrap_or_default()
}

/// `pg_total_relation_size` needs an ACCESS SHARE lock: it is taken under a 500 ms `lock_timeout`
/// in a read-only transaction, so if the table is locked exclusively right now the size is unknown
/// rather than waited for.
fn total_size(session: &mut Session, name: &str) -> Option<i64> {
    let mut tx = session.client.transaction().ok()?;
    let size = tx
        .batch_execute("SET TRANSACTION READ ONLY; SET LOCAL lock_timeout = '500ms'")
        .and_then(|()| tx.query_one("SELECT pg_total_relation_size(to_regclass($1))", &[&name]))
        .ok()
        .and_then(|row| row.get(0));
    let _ = tx.rollback();
    size
}

/// `8.0 kB`, `38.2 GB`: base 1024, as `pg_size_pretty` (which says kB, MB, GB, TB).
pub fn human_size(bytes: i64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// What a statement does, if it rewrites or scans a table (pure).
pub fn classify(text: &str) -> Option<Heavy> {
    if !may_be_heavy(text) {
        return None;
    }
    let tokens = tokenize(text);
    let is = |i: usize, word: &str| tokens.get(i).is_some_and(|t| t.is_keyword(word));
    if is(0, "ALTER") && is(1, "TABLE") {
        alter_table(&tokens)
    } else if is(0, "CREATE") && (is(1, "INDEX") || is(1, "UNIQUE") && is(2, "INDEX")) {
        create_index(&tokens)
    } else if is(0, "VACUUM") {
        vacuum_full(&tokens)
    } else if is(0, "CLUSTER") {
        let (table, _) = name_at(&tokens, 1)?;
        Some(heavy("CLUSTER", Effect::Rewrite, "ACCESS EXCLUSIVE", table))
    } else if is(0, "REINDEX") && is(1, "TABLE") && !is(2, "CONCURRENTLY") {
        let (table, _) = name_at(&tokens, 2)?;
        Some(heavy("REINDEX TABLE", Effect::Scan, "SHARE", table))
    } else {
        None
    }
}

/// Whether the statement's first words are those of a statement [`classify`] may flag. Most of a
/// release's statements (`CREATE TABLE`, `INSERT`, …) are not: they are not lexed past their first
/// words, so the pre-flight costs almost nothing where there is nothing to find.
fn may_be_heavy(text: &str) -> bool {
    let lead = crate::sql::leading_words(text, 3);
    let is = |i: usize, word: &str| lead.get(i).is_some_and(|w| w == word);
    match lead.first().map(String::as_str) {
        Some("ALTER") => is(1, "TABLE"),
        Some("CREATE") => is(1, "INDEX") || is(1, "UNIQUE") && is(2, "INDEX"),
        Some("VACUUM" | "CLUSTER") => true,
        Some("REINDEX") => is(1, "TABLE"),
        _ => false,
    }
}

fn heavy(operation: &'static str, effect: Effect, lock: &'static str, table: Vec<String>) -> Heavy {
    Heavy {
        operation,
        effect,
        lock,
        table,
    }
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name action [, action …]`: the heaviest action decides.
fn alter_table(tokens: &[Token]) -> Option<Heavy> {
    let mut at = 2;
    if tokens.get(at).is_some_and(|t| t.is_keyword("IF")) {
        at += 2;
    }
    if tokens.get(at).is_some_and(|t| t.is_keyword("ONLY")) {
        at += 1;
    }
    let (table, after) = name_at(tokens, at)?;
    let actions = split_top_level(&tokens[after..]);
    let found: Vec<(&'static str, Effect, &'static str)> =
        actions.iter().filter_map(|a| alter_action(a)).collect();
    let pick = found
        .iter()
        .find(|f| f.1 == Effect::Rewrite)
        .or_else(|| found.iter().find(|f| f.2 == "ACCESS EXCLUSIVE"))
        .or(found.first())?;
    Some(heavy(pick.0, pick.1, pick.2, table))
}

const VOLATILE_DEFAULTS: &[&str] = &[
    "RANDOM",
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V4",
    "UUID_GENERATE_V1",
    "CLOCK_TIMESTAMP",
    "TIMEOFDAY",
    "NEXTVAL",
];

/// One action of `ALTER TABLE`, as keywords.
fn alter_action(action: &[Token]) -> Option<(&'static str, Effect, &'static str)> {
    let words: Vec<String> = action
        .iter()
        .map(|t| t.keyword().unwrap_or_default())
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    let has_seq = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let first = words.first().map(String::as_str).unwrap_or("");
    let second = words.get(1).map(String::as_str).unwrap_or("");
    match first {
        "ALTER" if has("TYPE") => {
            Some(("ALTER COLUMN … TYPE", Effect::Rewrite, "ACCESS EXCLUSIVE"))
        }
        "ALTER" if has_seq("SET", "NOT") && has("NULL") => {
            Some(("SET NOT NULL", Effect::Scan, "ACCESS EXCLUSIVE"))
        }
        "ADD" if has_seq("NOT", "VALID") || has_seq("USING", "INDEX") => None,
        "ADD"
            if matches!(
                second,
                "CONSTRAINT" | "FOREIGN" | "CHECK" | "PRIMARY" | "UNIQUE" | "EXCLUDE"
            ) =>
        {
            if has("FOREIGN") {
                Some((
                    "ADD FOREIGN KEY without NOT VALID",
                    Effect::Scan,
                    "SHARE ROW EXCLUSIVE",
                ))
            } else if has("CHECK") {
                Some((
                    "ADD CHECK without NOT VALID",
                    Effect::Scan,
                    "ACCESS EXCLUSIVE",
                ))
            } else {
                Some((
                    "ADD CONSTRAINT (builds an index)",
                    Effect::Scan,
                    "ACCESS EXCLUSIVE",
                ))
            }
        }
        "ADD" => {
            let serial = words
                .iter()
                .any(|w| matches!(w.as_str(), "SERIAL" | "BIGSERIAL" | "SMALLSERIAL"));
            let volatile = has("DEFAULT")
                && words
                    .iter()
                    .any(|w| VOLATILE_DEFAULTS.contains(&w.as_str()));
            let stored = has("GENERATED") && has("STORED");
            (serial || volatile || stored).then_some((
                "ADD COLUMN with a volatile default",
                Effect::Rewrite,
                "ACCESS EXCLUSIVE",
            ))
        }
        "SET" if matches!(second, "LOGGED" | "UNLOGGED" | "TABLESPACE") => Some((
            "SET LOGGED/UNLOGGED/TABLESPACE",
            Effect::Rewrite,
            "ACCESS EXCLUSIVE",
        )),
        _ => None,
    }
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON [ONLY] table`, unless `CONCURRENTLY`.
fn create_index(tokens: &[Token]) -> Option<Heavy> {
    let on = tokens.iter().position(|t| t.is_keyword("ON"))?;
    if tokens[..on].iter().any(|t| t.is_keyword("CONCURRENTLY")) {
        return None;
    }
    let at = if tokens.get(on + 1).is_some_and(|t| t.is_keyword("ONLY")) {
        on + 2
    } else {
        on + 1
    };
    let (table, _) = name_at(tokens, at)?;
    Some(heavy(
        "CREATE INDEX without CONCURRENTLY",
        Effect::Scan,
        "SHARE",
        table,
    ))
}

/// `VACUUM FULL [table]` or `VACUUM (FULL …) table`.
fn vacuum_full(tokens: &[Token]) -> Option<Heavy> {
    let mut at = 1;
    let mut full = false;
    if tokens.get(1) == Some(&Token::Symbol('(')) {
        let close = tokens.iter().position(|t| *t == Token::Symbol(')'))?;
        full = tokens[1..close].iter().any(|t| t.is_keyword("FULL"));
        at = close + 1;
    }
    while let Some(word) = tokens.get(at).and_then(Token::keyword) {
        if !matches!(word.as_str(), "FULL" | "FREEZE" | "VERBOSE" | "ANALYZE") {
            break;
        }
        full |= word == "FULL";
        at += 1;
    }
    let (table, _) = name_at(tokens, at)?;
    full.then(|| heavy("VACUUM FULL", Effect::Rewrite, "ACCESS EXCLUSIVE", table))
}

/// A possibly qualified name starting at `at`: its folded parts and the index after it.
fn name_at(tokens: &[Token], mut at: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![tokens.get(at)?.identifier()?];
    at += 1;
    while tokens.get(at) == Some(&Token::Symbol('.')) {
        parts.push(tokens.get(at + 1)?.identifier()?);
        at += 2;
    }
    Some((parts, at))
}

/// Splits at commas outside parentheses.
fn split_top_level<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Symbol('(') => depth += 1,
            Token::Symbol(')') => depth -= 1,
            Token::Symbol(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// A significant token of the statement as the classification reads it (comments and whitespace
/// dropped by the crate's lexer, [`crate::sql::tokens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    /// An unquoted word, as written.
    Word(&'a str),
    /// A `"quoted"` identifier, unescaped.
    Quoted(String),
    /// A string, dollar-quoted string, number or parameter (its value does not matter here).
    Literal,
    Symbol(char),
}

impl Token<'_> {
    /// Whether this is the keyword `word` (upper case), without allocating.
    fn is_keyword(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// The upper-cased word, for keyword comparisons (quoted identifiers are never keywords).
    fn keyword(&self) -> Option<String> {
        match self {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// An identifier as PostgreSQL folds it.
    fn identifier(&self) -> Option<String> {
        match self {
            Token::Word(w) => Some(w.to_lowercase()),
            Token::Quoted(q) => Some(q.clone()),
            _ => None,
        }
    }
}

/// The significant tokens of `text`, by the crate's one lexer.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    crate::sql::tokens(text)
        .filter(|t| t.kind.is_significant())
        .filter_map(|t| {
            let raw = text.get(t.range)?;
            Some(match t.kind {
                Kind::Word => Token::Word(raw),
                Kind::QuotedIdent => Token::Quoted(unquote_ident(raw)),
                Kind::Str | Kind::DollarStr | Kind::Number | Kind::Param => Token::Literal,
                Kind::Semicolon => Token::Symbol(';'),
                Kind::OpenParen => Token::Symbol('('),
                Kind::CloseParen => Token::Symbol(')'),
                Kind::Other => Token::Symbol(raw.chars().next()?),
                Kind::Space | Kind::Comment => return None,
            })
        })
        .collect()
}

/// `"we""ird"` → `we"ird` (a `U&` prefix is dropped).
fn unquote_ident(raw: &str) -> String {
    let inner = raw.get(raw.find('"').map_or(0, |i| i + 1)..).unwrap_or("");
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    inner.replace("\"\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(sql: &str) -> Option<(&'static str, Effect, &'static str, Vec<String>)> {
        classify(sql).map(|h| (h.operation, h.effect, h.lock, h.table))
    }

    fn t(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn prisma_shaped_statements_are_classified() {
        assert_eq!(
            op("ALTER TABLE \"Order\" ALTER COLUMN \"total\" SET DATA TYPE BIGINT;"),
            Some((
                "ALTER COLUMN … TYPE",
                Effect::Rewrite,
                "ACCESS EXCLUSIVE",
                t(&["Order"])
            ))
        );
        assert_eq!(
            op("ALTER TABLE \"Order\" ALTER COLUMN \"email\" SET NOT NULL;"),
            Some((
                "SET NOT NULL",
                Effect::Scan,
                "ACCESS EXCLUSIVE",
                t(&["Order"])
            ))
        );
        assert_eq!(
            op("ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;"),
            Some(("ADD FOREIGN KEY without NOT VALID", Effect::Scan, "SHARE ROW EXCLUSIVE", t(&["Post"])))
        );
        assert_eq!(
            op("CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");"),
            Some((
                "CREATE INDEX without CONCURRENTLY",
                Effect::Scan,
                "SHARE",
                t(&["User"])
            ))
        );
        assert_eq!(
            op("ALTER TABLE billing.\"Invoice\" ADD COLUMN \"token\" UUID NOT NULL DEFAULT gen_random_uuid();"),
            Some(("ADD COLUMN with a volatile default", Effect::Rewrite, "ACCESS EXCLUSIVE", t(&["billing", "Invoice"])))
        );
        assert_eq!(
            op("VACUUM (FULL, VERBOSE) orders"),
            Some((
                "VACUUM FULL",
                Effect::Rewrite,
                "ACCESS EXCLUSIVE",
                t(&["orders"])
            ))
        );
        assert_eq!(
            op("CLUSTER Orders USING orders_pkey").map(|o| o.3),
            Some(t(&["orders"]))
        );
    }

    #[test]
    fn cheap_statements_are_not_flagged() {
        for sql in [
            "ALTER TABLE \"Order\" ADD COLUMN \"note\" TEXT;",
            "ALTER TABLE \"Order\" ADD COLUMN \"at\" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;",
            "ALTER TABLE \"Order\" ADD CONSTRAINT c CHECK (total > 0) NOT VALID;",
            "ALTER TABLE \"Order\" ALTER COLUMN \"email\" DROP NOT NULL;",
            "CREATE INDEX CONCURRENTLY \"i\" ON \"Order\"(\"x\");",
            "VACUUM orders",
            "CREATE TABLE \"A\" (id int);",
            "ALTER TABLE \"A\" ADD COLUMN b text DEFAULT 'random()'",
            "-- ALTER TABLE x ALTER COLUMN y TYPE int\nSELECT 1",
        ] {
            assert_eq!(op(sql), None, "{sql}");
        }
    }

    #[test]
    fn strings_and_comments_end_where_postgresql_ends_them() {
        // `E'it\'s'` is one string: the `serial` column after it is still seen.
        assert_eq!(
            op("ALTER TABLE t ADD COLUMN a text DEFAULT E'it\\'s', ADD COLUMN b serial")
                .map(|o| o.0),
            Some("ADD COLUMN with a volatile default")
        );
        // Block comments nest: the ALTER inside is commented out.
        assert_eq!(
            op("/* outer /* inner */ ALTER TABLE t ALTER COLUMN c TYPE int */ SELECT 1"),
            None
        );
        assert_eq!(
            op("ALTER TABLE U&\"Ord\"\"er\" ALTER COLUMN c TYPE int").map(|o| o.3),
            Some(t(&["Ord\"er"]))
        );
    }

    #[test]
    fn sizes_read_like_pg_size_pretty() {
        assert_eq!(human_size(8192), "8.0 kB");
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(41_000_000_000), "38.2 GB");
    }
}
