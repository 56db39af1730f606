//! The catalog probe: for each statement of a failed migration, is its effect in the database now?
//!
//! [`classify`] (pure) recognises the statements Prisma generates — CREATE/DROP TABLE, ALTER TABLE
//! ADD/DROP/RENAME COLUMN, ADD/DROP CONSTRAINT, RENAME TO, CREATE [UNIQUE] INDEX [CONCURRENTLY], DROP
//! INDEX, ALTER INDEX … RENAME TO, CREATE TYPE … AS ENUM, DROP TYPE, ALTER TYPE … ADD VALUE, CREATE/DROP
//! SCHEMA, CREATE/DROP EXTENSION — and turns each into a [`Check`]; [`evaluate`] asks the catalog.
//! Anything else is unknown (`present: null`): we lower the verdict's certainty rather than guess.

use crate::connect::{quote_ident, Session};
use crate::error::Result;
use postgres::types::Type;

/// A possibly schema-qualified name, already case-folded as PostgreSQL does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualifiedName {
    /// The quoted form `to_regclass`/`to_regtype` resolve exactly (through `search_path` if unqualified).
    pub fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }
}

/// What must be true in the catalog for a statement's effect to be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Relation {
        name: QualifiedName,
        exists: bool,
    },
    Renamed {
        from: QualifiedName,
        to: QualifiedName,
    },
    Column {
        table: QualifiedName,
        column: String,
        exists: bool,
    },
    ColumnRenamed {
        table: QualifiedName,
        from: String,
        to: String,
    },
    Constraint {
        table: QualifiedName,
        name: String,
        exists: bool,
    },
    Index {
        name: QualifiedName,
        exists: bool,
    },
    Type {
        name: QualifiedName,
        exists: bool,
    },
    EnumValue {
        type_name: QualifiedName,
        value: String,
    },
    Schema {
        name: String,
        exists: bool,
    },
    Extension {
        name: String,
        exists: bool,
    },
    /// Several effects of one statement (e.g. `ALTER TABLE … ADD COLUMN a, ADD COLUMN b`).
    All(Vec<Check>),
}

/// A recognised statement: its kind (stable snake_case id), the object it touches, and the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: &'static str,
    pub object: Option<String>,
    pub check: Option<Check>,
}

/// The result of evaluating a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub present: bool,
    /// Something a person must know, e.g. an INVALID index left by a failed CREATE INDEX CONCURRENTLY.
    pub note: Option<String>,
}

/// One lexical token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word, case-folded to lower case.
    Word(String),
    /// A `"quoted"` identifier, verbatim.
    Quoted(String),
    /// A `'string'` literal, unescaped.
    Str(String),
    Symbol(char),
}

impl Token {
    fn is(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn identifier(&self) -> Option<String> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
            _ => None,
        }
    }
}

/// Tokenizes one statement's text (comments skipped). Good enough for DDL headers; bodies of
/// functions are never examined.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i = skip_block_comment(&chars, i);
        } else if c == '"' || c == '\'' {
            let (value, next) = read_quoted(&chars, i, c);
            tokens.push(if c == '"' {
                Token::Quoted(value)
            } else {
                Token::Str(value)
            });
            i = next;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token::Word(word.to_ascii_lowercase()));
        } else {
            tokens.push(Token::Symbol(c));
            i += 1;
        }
    }
    tokens
}

fn skip_block_comment(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Reads `"…""…"` or `'…''…'` starting at `start`; returns the unescaped value and the next index.
fn read_quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                value.push(quote);
                i += 2;
                continue;
            }
            return (value, i + 1);
        }
        value.push(chars[i]);
        i += 1;
    }
    (value, i)
}

/// A cursor over tokens with the few parsing moves DDL headers need.
struct Cursor<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, word: &str) -> bool {
        let matched = self.peek().is_some_and(|t| t.is(word));
        if matched {
            self.at += 1;
        }
        matched
    }

    fn eat_all(&mut self, words: &[&str]) -> bool {
        let save = self.at;
        if words.iter().all(|w| self.eat(w)) {
            return true;
        }
        self.at = save;
        false
    }

    fn identifier(&mut self) -> Option<String> {
        let ident = self.peek()?.identifier()?;
        self.at += 1;
        Some(ident)
    }

    fn qualified_name(&mut self) -> Option<QualifiedName> {
        let first = self.identifier()?;
        if self.peek() == Some(&Token::Symbol('.')) {
            self.at += 1;
            let name = self.identifier()?;
            return Some(QualifiedName {
                schema: Some(first),
                name,
            });
        }
        Some(QualifiedName {
            schema: None,
            name: first,
        })
    }

    fn string(&mut self) -> Option<String> {
        match self.peek()? {
            Token::Str(s) => {
                self.at += 1;
                Some(s.clone())
            }
            _ => None,
        }
    }

    fn rest(&self) -> &'a [Token] {
        &self.tokens[self.at.min(self.tokens.len())..]
    }
}

/// Recognises a statement. `None` for statements the probe does not understand.
pub fn classify(text: &str) -> Option<Classified> {
    let tokens = tokenize(text);
    let mut c = Cursor {
        tokens: &tokens,
        at: 0,
    };
    if c.eat("create") {
        classify_create(&mut c)
    } else if c.eat("drop") {
        classify_drop(&mut c)
    } else if c.eat_all(&["alter", "table"]) {
        classify_alter_table(&mut c)
    } else if c.eat_all(&["alter", "type"]) {
        classify_alter_type(&mut c)
    } else if c.eat_all(&["alter", "index"]) {
        let _ = c.eat_all(&["if", "exists"]);
        let from = c.qualified_name()?;
        c.eat_all(&["rename", "to"]).then_some(())?;
        let to = QualifiedName {
            schema: from.schema.clone(),
            name: c.identifier()?,
        };
        Some(known(
            "rename_index",
            from.quoted(),
            Check::Renamed { from, to },
        ))
    } else {
        None
    }
}

fn known(kind: &'static str, object: String, check: Check) -> Classified {
    Classified {
        kind,
        object: Some(object),
        check: Some(check),
    }
}

fn classify_create(c: &mut Cursor) -> Option<Classified> {
    let _ = c.eat_all(&["or", "replace"]);
    if c.eat("table") {
        let _ = c.eat_all(&["if", "not", "exists"]);
        let name = c.qualified_name()?;
        return Some(known(
            "create_table",
            name.quoted(),
            Check::Relation { name, exists: true },
        ));
    }
    let unique = c.eat("unique");
    if c.eat("index") {
        let _ = c.eat("concurrently");
        let _ = c.eat_all(&["if", "not", "exists"]);
        let kind = if unique {
            "create_unique_index"
        } else {
            "create_index"
        };
        if c.peek().is_some_and(|t| t.is("on")) {
            return Some(Classified {
                kind,
                object: None,
                check: None,
            });
        }
        let mut name = c.qualified_name()?;
        c.eat("on").then_some(())?;
        let _ = c.eat("only");
        let table = c.qualified_name()?;
        if name.schema.is_none() {
            name.schema = table.schema;
        }
        return Some(known(
            kind,
            name.quoted(),
            Check::Index { name, exists: true },
        ));
    }
    if c.eat("type") {
        let name = c.qualified_name()?;
        return if c.eat_all(&["as", "enum"]) {
            Some(known(
                "create_enum",
                name.quoted(),
                Check::Type { name, exists: true },
            ))
        } else {
            Some(known(
                "create_type",
                name.quoted(),
                Check::Type { name, exists: true },
            ))
        };
    }
    if c.eat("schema") {
        let _ = c.eat_all(&["if", "not", "exists"]);
        let name = c.identifier()?;
        return Some(known(
            "create_schema",
            quote_ident(&name),
            Check::Schema { name, exists: true },
        ));
    }
    if c.eat("extension") {
        let _ = c.eat_all(&["if", "not", "exists"]);
        let name = c.identifier()?;
        return Some(known(
            "create_extension",
            quote_ident(&name),
            Check::Extension { name, exists: true },
        ));
    }
    None
}

fn classify_drop(c: &mut Cursor) -> Option<Classified> {
    let (kind, make): (&'static str, fn(QualifiedName) -> Check) = if c.eat("table") {
        ("drop_table", |name| Check::Relation {
            name,
            exists: false,
        })
    } else if c.eat("index") {
        let _ = c.eat("concurrently");
        ("drop_index", |name| Check::Index {
            name,
            exists: false,
        })
    } else if c.eat("type") {
        ("drop_type", |name| Check::Type {
            name,
            exists: false,
        })
    } else if c.eat("schema") {
        ("drop_schema", |name| Check::Schema {
            name: name.name,
            exists: false,
        })
    } else if c.eat("extension") {
        ("drop_extension", |name| Check::Extension {
            name: name.name,
            exists: false,
        })
    } else {
        return None;
    };
    let _ = c.eat_all(&["if", "exists"]);
    let mut names = vec![c.qualified_name()?];
    while c.peek() == Some(&Token::Symbol(',')) {
        c.at += 1;
        names.push(c.qualified_name()?);
    }
    let object = names
        .iter()
        .map(QualifiedName::quoted)
        .collect::<Vec<_>>()
        .join(", ");
    let mut checks: Vec<Check> = names.into_iter().map(make).collect();
    let check = if checks.len() == 1 {
        checks.remove(0)
    } else {
        Check::All(checks)
    };
    Some(known(kind, object, check))
}

fn classify_alter_table(c: &mut Cursor) -> Option<Classified> {
    let _ = c.eat_all(&["if", "exists"]);
    let _ = c.eat("only");
    let table = c.qualified_name()?;
    let mut kinds = Vec::new();
    let mut checks = Vec::new();
    for action in split_actions(c.rest()) {
        let (kind, check) = alter_table_action(&table, action);
        kinds.push(kind);
        checks.push(check);
    }
    let object = match checks.as_slice() {
        [Some(Check::Constraint { name, .. })] => {
            format!("{} on {}", quote_ident(name), table.quoted())
        }
        [Some(Check::Column { column, .. })] => {
            format!("{}.{}", table.quoted(), quote_ident(column))
        }
        _ => table.quoted(),
    };
    let kind = match kinds.as_slice() {
        [single] => *single,
        [first, rest @ ..] if rest.iter().all(|k| k == first) => *first,
        _ => "alter_table",
    };
    let check = match checks.into_iter().collect::<Option<Vec<_>>>() {
        Some(mut all) if all.len() == 1 => Some(all.remove(0)),
        Some(all) if !all.is_empty() => Some(Check::All(all)),
        _ => None,
    };
    Some(Classified {
        kind,
        object: Some(object),
        check,
    })
}

/// Splits `ADD COLUMN a int, ADD COLUMN b int` at top-level commas.
fn split_actions(tokens: &[Token]) -> Vec<&[Token]> {
    let mut actions = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Symbol('(') => depth += 1,
            Token::Symbol(')') => depth -= 1,
            Token::Symbol(',') | Token::Symbol(';') if depth == 0 => {
                actions.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    actions.push(&tokens[start..]);
    actions.into_iter().filter(|a| !a.is_empty()).collect()
}

fn alter_table_action(table: &QualifiedName, action: &[Token]) -> (&'static str, Option<Check>) {
    let mut c = Cursor {
        tokens: action,
        at: 0,
    };
    let table = table.clone();
    if c.eat_all(&["add", "constraint"]) {
        let check = c.identifier().map(|name| Check::Constraint {
            table,
            name,
            exists: true,
        });
        return ("add_constraint", check);
    }
    if c.eat_all(&["drop", "constraint"]) {
        let _ = c.eat_all(&["if", "exists"]);
        let check = c.identifier().map(|name| Check::Constraint {
            table,
            name,
            exists: false,
        });
        return ("drop_constraint", check);
    }
    if c.eat_all(&["rename", "to"]) {
        let to = c.identifier().map(|name| QualifiedName {
            schema: table.schema.clone(),
            name,
        });
        return (
            "rename_table",
            to.map(|to| Check::Renamed { from: table, to }),
        );
    }
    if c.eat_all(&["rename", "constraint"]) {
        return ("rename_constraint", None);
    }
    if c.eat("rename") {
        let _ = c.eat("column");
        let from = c.identifier();
        let to = c.eat("to").then(|| c.identifier()).flatten();
        let check = from
            .zip(to)
            .map(|(from, to)| Check::ColumnRenamed { table, from, to });
        return ("rename_column", check);
    }
    if c.eat("add") {
        if ["primary", "foreign", "unique", "check", "exclude"]
            .iter()
            .any(|w| c.peek().is_some_and(|t| t.is(w)))
        {
            return ("add_constraint", None);
        }
        let _ = c.eat("column");
        let _ = c.eat_all(&["if", "not", "exists"]);
        let check = c.identifier().map(|column| Check::Column {
            table,
            column,
            exists: true,
        });
        return ("add_column", check);
    }
    if c.eat("drop") {
        let _ = c.eat("column");
        let _ = c.eat_all(&["if", "exists"]);
        let check = c.identifier().map(|column| Check::Column {
            table,
            column,
            exists: false,
        });
        return ("drop_column", check);
    }
    if c.eat("alter") {
        return ("alter_column", None);
    }
    ("alter_table", None)
}

fn classify_alter_type(c: &mut Cursor) -> Option<Classified> {
    let type_name = c.qualified_name()?;
    if c.eat_all(&["add", "value"]) {
        let _ = c.eat_all(&["if", "not", "exists"]);
        let value = c.string()?;
        let object = format!("{} value '{}'", type_name.quoted(), value);
        return Some(known(
            "add_enum_value",
            object,
            Check::EnumValue { type_name, value },
        ));
    }
    Some(Classified {
        kind: "alter_type",
        object: Some(type_name.quoted()),
        check: None,
    })
}

/// Asks the catalog whether a check holds now.
pub fn evaluate(session: &mut Session, check: &Check) -> Result<Observation> {
    let plain = |present: bool| Observation {
        present,
        note: None,
    };
    Ok(match check {
        Check::Relation { name, exists } => plain(relation_exists(session, name)? == *exists),
        Check::Renamed { from, to } => {
            plain(relation_exists(session, to)? && !relation_exists(session, from)?)
        }
        Check::Column { table, column, exists } => {
            plain(column_exists(session, table, column)? == *exists)
        }
        Check::ColumnRenamed { table, from, to } => plain(
            column_exists(session, table, to)? && !column_exists(session, table, from)?,
        ),
        Check::Constraint { table, name, exists } => plain(
            flag(
                session,
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
                &[&table.quoted(), name],
            )? == *exists,
        ),
        Check::Index { name, exists } => evaluate_index(session, name, *exists)?,
        Check::Type { name, exists } => plain(
            flag(session, "SELECT to_regtype($1) IS NOT NULL", &[&name.quoted()])? == *exists,
        ),
        Check::EnumValue { type_name, value } => plain(flag(
            session,
            "SELECT EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = to_regtype($1) AND enumlabel = $2)",
            &[&type_name.quoted(), value],
        )?),
        Check::Schema { name, exists } => plain(
            flag(session, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[name])? == *exists,
        ),
        Check::Extension { name, exists } => plain(
            flag(session, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)", &[name])? == *exists,
        ),
        Check::All(checks) => {
            let mut all = Observation { present: true, note: None };
            for check in checks {
                let observed = evaluate(session, check)?;
                all.present &= observed.present;
                all.note = all.note.or(observed.note);
            }
            all
        }
    })
}

fn evaluate_index(
    session: &mut Session,
    name: &QualifiedName,
    exists: bool,
) -> Result<Observation> {
    let row = session
        .client
        .query_typed_opt(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
            &[(&name.quoted(), Type::TEXT)],
        )
        .map_err(|e| session.query_error("probing an index", e))?;
    let valid: Option<bool> = row.map(|r| r.get(0));
    let note = (valid == Some(false)).then(|| {
        format!(
            "index {} exists but is INVALID (left behind by a failed CREATE INDEX CONCURRENTLY); \
             drop it before retrying: DROP INDEX CONCURRENTLY IF EXISTS {};",
            name.quoted(),
            name.quoted()
        )
    });
    Ok(Observation {
        present: valid.is_some() == exists,
        note,
    })
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
        &[&table.quoted(), &column.to_string()],
    )
}

/// Runs a boolean catalog query with text parameters (one round trip).
fn flag(session: &mut Session, sql: &str, params: &[&String]) -> Result<bool> {
    let typed: Vec<(&(dyn postgres::types::ToSql + Sync), Type)> = params
        .iter()
        .map(|p| (*p as &(dyn postgres::types::ToSql + Sync), Type::TEXT))
        .collect();
    session
        .client
        .query_typed_one(sql, &typed)
        .map(|row| row.get(0))
        .map_err(|e| session.query_error("probing the catalog", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> QualifiedName {
        QualifiedName {
            schema: None,
            name: n.into(),
        }
    }

    fn check(sql: &str) -> Option<Check> {
        classify(sql).and_then(|c| c.check)
    }

    #[test]
    fn prisma_create_table_and_enum() {
        let c = classify("CREATE TABLE \"User\" (\n \"id\" SERIAL NOT NULL,\n CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);").unwrap();
        assert_eq!(c.kind, "create_table");
        assert_eq!(
            c.check,
            Some(Check::Relation {
                name: name("User"),
                exists: true
            })
        );
        assert_eq!(
            check("CREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');"),
            Some(Check::Type {
                name: name("Role"),
                exists: true
            })
        );
    }

    #[test]
    fn unquoted_names_fold_to_lower_case_and_schemas_are_kept() {
        assert_eq!(
            check("create table if not exists Public.Users (id int)"),
            Some(Check::Relation {
                name: QualifiedName {
                    schema: Some("public".into()),
                    name: "users".into()
                },
                exists: true
            })
        );
    }

    #[test]
    fn alter_table_actions() {
        assert_eq!(
            check("ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;"),
            Some(Check::Constraint { table: name("Post"), name: "Post_authorId_fkey".into(), exists: true })
        );
        assert_eq!(
            check("ALTER TABLE \"User\" ADD COLUMN \"name\" TEXT, ADD COLUMN \"age\" INTEGER NOT NULL DEFAULT 0;"),
            Some(Check::All(vec![
                Check::Column { table: name("User"), column: "name".into(), exists: true },
                Check::Column { table: name("User"), column: "age".into(), exists: true },
            ]))
        );
        assert_eq!(
            check("ALTER TABLE \"User\" DROP COLUMN \"legacy\";"),
            Some(Check::Column {
                table: name("User"),
                column: "legacy".into(),
                exists: false
            })
        );
        assert_eq!(
            check("ALTER TABLE \"User\" RENAME COLUMN \"a\" TO \"b\";"),
            Some(Check::ColumnRenamed {
                table: name("User"),
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(
            check("ALTER TABLE \"Old\" RENAME TO \"New\";"),
            Some(Check::Renamed {
                from: name("Old"),
                to: name("New")
            })
        );
        assert_eq!(
            check("ALTER TABLE \"Post\" DROP CONSTRAINT \"Post_authorId_fkey\";"),
            Some(Check::Constraint {
                table: name("Post"),
                name: "Post_authorId_fkey".into(),
                exists: false
            })
        );
    }

    #[test]
    fn alter_table_objects_name_the_constraint_or_column() {
        let c = classify("ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_fkey\" FOREIGN KEY (\"a\") REFERENCES \"U\"(\"id\");").unwrap();
        assert_eq!(c.object.as_deref(), Some("\"Post_fkey\" on \"Post\""));
        let c = classify("ALTER TABLE \"Post\" ADD COLUMN \"views\" INTEGER;").unwrap();
        assert_eq!(c.object.as_deref(), Some("\"Post\".\"views\""));
    }

    #[test]
    fn alter_column_is_unknown() {
        let c = classify("ALTER TABLE \"User\" ALTER COLUMN \"email\" SET NOT NULL;").unwrap();
        assert_eq!(c.kind, "alter_column");
        assert_eq!(c.check, None);
        let c =
            classify("ALTER TABLE \"User\" ADD COLUMN \"x\" int, ALTER COLUMN \"y\" DROP DEFAULT;")
                .unwrap();
        assert_eq!(
            c.check, None,
            "one unknown action makes the statement unknown"
        );
    }

    #[test]
    fn indexes() {
        assert_eq!(
            classify("CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");")
                .unwrap()
                .kind,
            "create_unique_index"
        );
        assert_eq!(
            check("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix\" ON app.\"Post\" (\"a\");"),
            Some(Check::Index {
                name: QualifiedName {
                    schema: Some("app".into()),
                    name: "ix".into()
                },
                exists: true
            })
        );
        assert_eq!(
            check("DROP INDEX CONCURRENTLY IF EXISTS \"ix\";"),
            Some(Check::Index {
                name: name("ix"),
                exists: false
            })
        );
        assert_eq!(
            check("ALTER INDEX \"a\" RENAME TO \"b\";"),
            Some(Check::Renamed {
                from: name("a"),
                to: name("b")
            })
        );
        assert_eq!(
            classify("CREATE INDEX ON t (a);").unwrap().check,
            None,
            "an unnamed index cannot be probed"
        );
    }

    #[test]
    fn enum_values_schemas_extensions_and_drops() {
        assert_eq!(
            check("ALTER TYPE \"Role\" ADD VALUE 'MODERATOR';"),
            Some(Check::EnumValue {
                type_name: name("Role"),
                value: "MODERATOR".into()
            })
        );
        assert_eq!(
            check("CREATE SCHEMA IF NOT EXISTS \"tenant\";"),
            Some(Check::Schema {
                name: "tenant".into(),
                exists: true
            })
        );
        assert_eq!(
            check("CREATE EXTENSION IF NOT EXISTS \"pgcrypto\";"),
            Some(Check::Extension {
                name: "pgcrypto".into(),
                exists: true
            })
        );
        assert_eq!(
            check("DROP TABLE \"A\", \"B\" CASCADE;"),
            Some(Check::All(vec![
                Check::Relation {
                    name: name("A"),
                    exists: false
                },
                Check::Relation {
                    name: name("B"),
                    exists: false
                }
            ]))
        );
        assert_eq!(
            check("DROP TYPE \"Role\";"),
            Some(Check::Type {
                name: name("Role"),
                exists: false
            })
        );
    }

    #[test]
    fn other_statements_are_unknown() {
        assert_eq!(classify("UPDATE \"User\" SET \"name\" = 'x';"), None);
        assert_eq!(classify("INSERT INTO t VALUES (1);"), None);
        assert_eq!(
            classify("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;"),
            None
        );
    }

    #[test]
    fn comments_and_escaped_quotes() {
        assert_eq!(
            check(
                "-- CreateTable\n/* a /* nested */ comment */ CREATE TABLE \"we\"\"ird\" (id int);"
            ),
            Some(Check::Relation {
                name: name("we\"ird"),
                exists: true
            })
        );
    }
}
