//! Statement classification (pure): what a statement of a failed migration does, which catalog fact
//! shows that its effect is in the database ([`Check`]), whether running it again is harmless, and the
//! SQL that undoes it.
//!
//! It recognises the statements Prisma generates — CREATE/DROP TABLE, ALTER TABLE ADD/DROP/RENAME
//! COLUMN, ADD/DROP CONSTRAINT, RENAME TO, CREATE \[UNIQUE\] INDEX \[CONCURRENTLY\], DROP INDEX, ALTER
//! INDEX … RENAME TO, CREATE TYPE … AS ENUM, DROP TYPE, ALTER TYPE … ADD VALUE, CREATE/DROP SCHEMA,
//! CREATE/DROP EXTENSION — plus the hand-written ones that show up in real histories (functions,
//! triggers, views, sequences, plain SELECTs). Anything else is unknown: the diagnosis lowers its
//! certainty rather than guess. Checks carry the object's *definition* where a name alone would lie
//! (Prisma drops and re-adds a constraint under the same name), so the probe can compare it with
//! `pg_get_constraintdef`, the column's type or `pg_get_indexdef`.
//!
//! Tokens come from [`crate::sql::tokens`], the crate's one lexer.

use crate::connect::quote_ident;
use crate::sql::{self, Kind};
use serde::Serialize;

/// What a statement does, as a stable snake_case id in the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    CreateTable,
    DropTable,
    RenameTable,
    AddColumn,
    DropColumn,
    RenameColumn,
    AlterColumn,
    AddConstraint,
    DropConstraint,
    RenameConstraint,
    AlterTable,
    CreateIndex,
    CreateUniqueIndex,
    DropIndex,
    RenameIndex,
    CreateEnum,
    CreateType,
    DropType,
    AddEnumValue,
    AlterType,
    CreateSchema,
    DropSchema,
    CreateExtension,
    DropExtension,
    CreateFunction,
    CreateTrigger,
    CreateView,
    CreateSequence,
    /// A plain `SELECT`: reads only, leaves nothing behind.
    Select,
    Other,
}

impl EffectKind {
    /// The wire name (`create_table`), for human output.
    pub fn as_str(self) -> &'static str {
        match self {
            EffectKind::CreateTable => "create_table",
            EffectKind::DropTable => "drop_table",
            EffectKind::RenameTable => "rename_table",
            EffectKind::AddColumn => "add_column",
            EffectKind::DropColumn => "drop_column",
            EffectKind::RenameColumn => "rename_column",
            EffectKind::AlterColumn => "alter_column",
            EffectKind::AddConstraint => "add_constraint",
            EffectKind::DropConstraint => "drop_constraint",
            EffectKind::RenameConstraint => "rename_constraint",
            EffectKind::AlterTable => "alter_table",
            EffectKind::CreateIndex => "create_index",
            EffectKind::CreateUniqueIndex => "create_unique_index",
            EffectKind::DropIndex => "drop_index",
            EffectKind::RenameIndex => "rename_index",
            EffectKind::CreateEnum => "create_enum",
            EffectKind::CreateType => "create_type",
            EffectKind::DropType => "drop_type",
            EffectKind::AddEnumValue => "add_enum_value",
            EffectKind::AlterType => "alter_type",
            EffectKind::CreateSchema => "create_schema",
            EffectKind::DropSchema => "drop_schema",
            EffectKind::CreateExtension => "create_extension",
            EffectKind::DropExtension => "drop_extension",
            EffectKind::CreateFunction => "create_function",
            EffectKind::CreateTrigger => "create_trigger",
            EffectKind::CreateView => "create_view",
            EffectKind::CreateSequence => "create_sequence",
            EffectKind::Select => "select",
            EffectKind::Other => "other",
        }
    }

    /// Leaves nothing in the database whatever happens.
    pub fn has_no_effect(self) -> bool {
        self == EffectKind::Select
    }
}

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
    /// `type_name`: the declared type of an added column, compared by OID when present.
    Column {
        table: QualifiedName,
        column: String,
        exists: bool,
        type_name: Option<String>,
    },
    ColumnRenamed {
        table: QualifiedName,
        from: String,
        to: String,
    },
    /// `definition`: the normalised definition of an added constraint ([`normalize_definition`]).
    Constraint {
        table: QualifiedName,
        name: String,
        exists: bool,
        definition: Option<String>,
    },
    /// `definition`: the normalised `CREATE INDEX` text, compared with `pg_get_indexdef`.
    Index {
        name: QualifiedName,
        exists: bool,
        definition: Option<String>,
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
    Function {
        name: QualifiedName,
    },
    Trigger {
        table: QualifiedName,
        name: String,
    },
    /// Several effects of one statement (e.g. `ALTER TABLE … ADD COLUMN a, ADD COLUMN b`).
    All(Vec<Check>),
}

impl Check {
    /// The catalog object this check is about (`constraint "T"."c"`), so a DROP and a later re-ADD of
    /// the same object can be paired. `None` for checks about several objects or a rename.
    pub fn identity(&self) -> Option<String> {
        match self {
            Check::Relation { name, .. } => Some(format!("relation {}", name.quoted())),
            Check::Column { table, column, .. } => {
                Some(format!("column {}.{}", table.quoted(), quote_ident(column)))
            }
            Check::Constraint { table, name, .. } => Some(format!(
                "constraint {}.{}",
                table.quoted(),
                quote_ident(name)
            )),
            Check::Index { name, .. } => Some(format!("relation {}", name.quoted())),
            Check::Type { name, .. } => Some(format!("type {}", name.quoted())),
            Check::Schema { name, .. } => Some(format!("schema {}", quote_ident(name))),
            Check::Extension { name, .. } => Some(format!("extension {}", quote_ident(name))),
            _ => None,
        }
    }

    /// A check that the object is gone (a DROP) rather than there.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Check::Relation { exists: false, .. }
                | Check::Column { exists: false, .. }
                | Check::Constraint { exists: false, .. }
                | Check::Index { exists: false, .. }
                | Check::Type { exists: false, .. }
                | Check::Schema { exists: false, .. }
                | Check::Extension { exists: false, .. }
        )
    }
}

/// A statement as the diagnosis understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: EffectKind,
    pub object: Option<String>,
    pub check: Option<Check>,
    /// Harmless to run again (`IF NOT EXISTS`, `OR REPLACE`, `IF EXISTS`): never damage.
    pub idempotent: bool,
    /// SQL that undoes the statement's effect; `None` when it must be reverted by hand.
    pub revert: Option<String>,
}

impl Classified {
    fn unknown(kind: EffectKind, object: Option<String>) -> Classified {
        Classified {
            kind,
            object,
            check: None,
            idempotent: false,
            revert: None,
        }
    }

    fn known(kind: EffectKind, object: String, check: Check, revert: Option<String>) -> Classified {
        Classified {
            kind,
            object: Some(object),
            check: Some(check),
            idempotent: false,
            revert,
        }
    }

    fn idempotent_if(mut self, idempotent: bool) -> Classified {
        self.idempotent = idempotent;
        self
    }
}

/// One significant token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word or number, case-folded to lower case.
    Word(String),
    /// A `"quoted"` identifier, unescaped.
    Quoted(String),
    /// A `'string'` or `$$dollar$$` literal, unescaped.
    Str(String),
    Symbol(char),
}

impl Token {
    fn is(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w == word)
    }

    fn identifier(&self) -> Option<String> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
            _ => None,
        }
    }

    /// The token as SQL again (identifiers quoted when they need it).
    fn sql(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => quote_ident(q),
            Token::Str(s) => crate::connect::quote_literal(s),
            Token::Symbol(c) => c.to_string(),
        }
    }

    /// The token in a normalised definition: case and quoting no longer matter.
    fn normalized(&self) -> String {
        match self {
            Token::Word(w) | Token::Quoted(w) => w.to_lowercase(),
            other => other.sql(),
        }
    }
}

/// The significant tokens of `text`, by the crate's lexer.
fn tokenize(text: &str) -> Vec<Token> {
    sql::tokens(text)
        .filter(|t| t.kind.is_significant())
        .filter_map(|t| {
            let raw = text.get(t.range.clone())?;
            Some(match t.kind {
                Kind::Word | Kind::Number | Kind::Param => Token::Word(raw.to_lowercase()),
                Kind::QuotedIdent => Token::Quoted(unquote(raw, '"')),
                Kind::Str => Token::Str(unquote(raw, '\'')),
                Kind::DollarStr => Token::Str(dollar_body(raw)),
                Kind::Semicolon => Token::Symbol(';'),
                Kind::OpenParen => Token::Symbol('('),
                Kind::CloseParen => Token::Symbol(')'),
                _ => Token::Symbol(raw.chars().next()?),
            })
        })
        .collect()
}

/// `"we""ird"` → `we"ird`; a prefix such as `E'` or `U&"` is dropped.
fn unquote(raw: &str, quote: char) -> String {
    let start = raw.find(quote).map_or(0, |i| i + 1);
    let inner = raw.get(start..).unwrap_or("");
    let inner = inner.strip_suffix(quote).unwrap_or(inner);
    let doubled: String = [quote, quote].iter().collect();
    inner.replace(&doubled, &quote.to_string())
}

/// `$tag$ body $tag$` → ` body `.
fn dollar_body(raw: &str) -> String {
    let tag_end = raw[1..].find('$').map_or(raw.len(), |i| i + 2);
    let body = raw.get(tag_end..).unwrap_or("");
    body.strip_suffix(&raw[..tag_end.min(raw.len())])
        .unwrap_or(body)
        .to_string()
}

/// A definition with case, quoting, schema qualification and PostgreSQL's defaults normalised away,
/// so `FOREIGN KEY ("a") REFERENCES "A"("id") ON DELETE RESTRICT ON UPDATE CASCADE` and
/// `pg_get_constraintdef`'s `FOREIGN KEY (a) REFERENCES "A"(id) ON UPDATE CASCADE ON DELETE RESTRICT`
/// compare equal, and an index's `CREATE INDEX … ON "T"("a")` equals `pg_get_indexdef`'s
/// `CREATE INDEX … ON public."T" USING btree (a)`.
pub fn normalize_definition(text: &str) -> String {
    normalize(&tokenize(text))
}

fn normalize(tokens: &[Token]) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut actions: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let next_is_dot = tokens.get(i + 1) == Some(&Token::Symbol('.'));
        if t.identifier().is_some() && next_is_dot {
            i += 2; // drop a schema (or table) qualifier
            continue;
        }
        if t.is("on")
            && tokens
                .get(i + 1)
                .is_some_and(|n| n.is("delete") || n.is("update"))
        {
            let mut action = format!("on {}", tokens[i + 1].normalized());
            i += 2;
            while let Some(word) = tokens.get(i).filter(|w| {
                [
                    "cascade", "restrict", "set", "null", "default", "no", "action",
                ]
                .iter()
                .any(|a| w.is(a))
            }) {
                action.push(' ');
                action.push_str(&word.normalized());
                i += 1;
            }
            if !action.ends_with("no action") {
                actions.push(action);
            }
            continue;
        }
        const SKIPPED: [&[&str]; 5] = [
            &["concurrently"],
            &["only"],
            &["if", "not", "exists"],
            &["using", "btree"],
            &["match", "simple"],
        ];
        let skip = SKIPPED.iter().find(|seq| {
            seq.iter()
                .enumerate()
                .all(|(k, w)| tokens.get(i + k).is_some_and(|t| t.is(w)))
        });
        if let Some(seq) = skip {
            i += seq.len();
            continue;
        }
        if *t != Token::Symbol(';') {
            words.push(t.normalized());
        }
        i += 1;
    }
    actions.sort();
    words.extend(actions);
    words.join(" ")
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

/// Recognises a statement; unrecognised statements are [`EffectKind::Other`] without a check.
pub fn classify(text: &str) -> Classified {
    let tokens = tokenize(text);
    let mut c = Cursor {
        tokens: &tokens,
        at: 0,
    };
    let classified = if c.eat("create") {
        classify_create(&mut c)
    } else if c.eat("drop") {
        classify_drop(&mut c)
    } else if c.eat_all(&["alter", "table"]) {
        classify_alter_table(&mut c)
    } else if c.eat_all(&["alter", "type"]) {
        classify_alter_type(&mut c)
    } else if c.eat_all(&["alter", "index"]) {
        classify_alter_index(&mut c)
    } else if c.eat("select") && !tokens.iter().any(|t| t.is("into")) {
        Some(Classified::unknown(EffectKind::Select, None))
    } else {
        None
    };
    classified.unwrap_or_else(|| Classified::unknown(EffectKind::Other, None))
}

fn classify_alter_index(c: &mut Cursor) -> Option<Classified> {
    let _ = c.eat_all(&["if", "exists"]);
    let from = c.qualified_name()?;
    c.eat_all(&["rename", "to"]).then_some(())?;
    let to = QualifiedName {
        schema: from.schema.clone(),
        name: c.identifier()?,
    };
    let revert = format!(
        "ALTER INDEX {} RENAME TO {};",
        to.quoted(),
        quote_ident(&from.name)
    );
    Some(Classified::known(
        EffectKind::RenameIndex,
        from.quoted(),
        Check::Renamed { from, to },
        Some(revert),
    ))
}

fn classify_create(c: &mut Cursor) -> Option<Classified> {
    let or_replace = c.eat_all(&["or", "replace"]);
    if c.eat("table") {
        let if_not_exists = c.eat_all(&["if", "not", "exists"]);
        let name = c.qualified_name()?;
        let revert = format!("DROP TABLE {};", name.quoted());
        let check = Check::Relation {
            name: name.clone(),
            exists: true,
        };
        return Some(
            Classified::known(EffectKind::CreateTable, name.quoted(), check, Some(revert))
                .idempotent_if(if_not_exists),
        );
    }
    let unique = c.eat("unique");
    if c.eat("index") {
        return classify_create_index(c, unique);
    }
    if c.eat("type") {
        let name = c.qualified_name()?;
        let kind = if c.eat_all(&["as", "enum"]) {
            EffectKind::CreateEnum
        } else {
            EffectKind::CreateType
        };
        let revert = format!("DROP TYPE {};", name.quoted());
        let check = Check::Type {
            name: name.clone(),
            exists: true,
        };
        return Some(Classified::known(kind, name.quoted(), check, Some(revert)));
    }
    if c.eat("schema") {
        let if_not_exists = c.eat_all(&["if", "not", "exists"]);
        let name = c.identifier()?;
        let revert = format!("DROP SCHEMA {};", quote_ident(&name));
        let check = Check::Schema {
            name: name.clone(),
            exists: true,
        };
        return Some(
            Classified::known(
                EffectKind::CreateSchema,
                quote_ident(&name),
                check,
                Some(revert),
            )
            .idempotent_if(if_not_exists),
        );
    }
    if c.eat("extension") {
        let if_not_exists = c.eat_all(&["if", "not", "exists"]);
        let name = c.identifier()?;
        let revert = format!("DROP EXTENSION {};", quote_ident(&name));
        let check = Check::Extension {
            name: name.clone(),
            exists: true,
        };
        return Some(
            Classified::known(
                EffectKind::CreateExtension,
                quote_ident(&name),
                check,
                Some(revert),
            )
            .idempotent_if(if_not_exists),
        );
    }
    classify_create_routine_or_view(c, or_replace)
}

fn classify_create_index(c: &mut Cursor, unique: bool) -> Option<Classified> {
    let statement = c.tokens;
    let _ = c.eat("concurrently");
    let if_not_exists = c.eat_all(&["if", "not", "exists"]);
    let kind = if unique {
        EffectKind::CreateUniqueIndex
    } else {
        EffectKind::CreateIndex
    };
    if c.peek().is_some_and(|t| t.is("on")) {
        return Some(Classified::unknown(kind, None));
    }
    let mut name = c.qualified_name()?;
    c.eat("on").then_some(())?;
    let _ = c.eat("only");
    let table = c.qualified_name()?;
    if name.schema.is_none() {
        name.schema = table.schema;
    }
    let revert = format!("DROP INDEX {};", name.quoted());
    let check = Check::Index {
        name: name.clone(),
        exists: true,
        definition: Some(normalize(statement)),
    };
    Some(Classified::known(kind, name.quoted(), check, Some(revert)).idempotent_if(if_not_exists))
}

/// `CREATE [OR REPLACE] FUNCTION | PROCEDURE | TRIGGER | VIEW | SEQUENCE`.
fn classify_create_routine_or_view(c: &mut Cursor, or_replace: bool) -> Option<Classified> {
    let _ = c.eat("constraint");
    let _ = c.eat("materialized");
    if c.eat("function") || c.eat("procedure") {
        let name = c.qualified_name()?;
        let revert = format!("DROP ROUTINE {};", name.quoted());
        let check = Check::Function { name: name.clone() };
        return Some(
            Classified::known(
                EffectKind::CreateFunction,
                name.quoted(),
                check,
                Some(revert),
            )
            .idempotent_if(or_replace),
        );
    }
    if c.eat("trigger") {
        let name = c.identifier()?;
        let on = c.rest().iter().position(|t| t.is("on"))?;
        c.at += on + 1;
        let table = c.qualified_name()?;
        let object = format!("{} on {}", quote_ident(&name), table.quoted());
        let revert = format!("DROP TRIGGER {} ON {};", quote_ident(&name), table.quoted());
        let check = Check::Trigger { table, name };
        return Some(
            Classified::known(EffectKind::CreateTrigger, object, check, Some(revert))
                .idempotent_if(or_replace),
        );
    }
    let (kind, drop) = if c.eat("view") {
        (EffectKind::CreateView, "VIEW")
    } else if c.eat("sequence") {
        (EffectKind::CreateSequence, "SEQUENCE")
    } else {
        return None;
    };
    let if_not_exists = c.eat_all(&["if", "not", "exists"]);
    let name = c.qualified_name()?;
    let revert = format!("DROP {drop} {};", name.quoted());
    let check = Check::Relation {
        name: name.clone(),
        exists: true,
    };
    Some(
        Classified::known(kind, name.quoted(), check, Some(revert))
            .idempotent_if(or_replace || if_not_exists),
    )
}

fn classify_drop(c: &mut Cursor) -> Option<Classified> {
    type Make = fn(QualifiedName) -> Check;
    let (kind, make): (EffectKind, Make) = if c.eat("table") {
        (EffectKind::DropTable, |name| Check::Relation {
            name,
            exists: false,
        })
    } else if c.eat("index") {
        let _ = c.eat("concurrently");
        (EffectKind::DropIndex, |name| Check::Index {
            name,
            exists: false,
            definition: None,
        })
    } else if c.eat("type") {
        (EffectKind::DropType, |name| Check::Type {
            name,
            exists: false,
        })
    } else if c.eat("schema") {
        (EffectKind::DropSchema, |name| Check::Schema {
            name: name.name,
            exists: false,
        })
    } else if c.eat("extension") {
        (EffectKind::DropExtension, |name| Check::Extension {
            name: name.name,
            exists: false,
        })
    } else {
        return None;
    };
    let if_exists = c.eat_all(&["if", "exists"]);
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
    Some(Classified::known(kind, object, check, None).idempotent_if(if_exists))
}

/// One action of an `ALTER TABLE`: its kind, check, revert, and whether it is idempotent.
struct Action {
    kind: EffectKind,
    check: Option<Check>,
    revert: Option<String>,
    idempotent: bool,
}

fn classify_alter_table(c: &mut Cursor) -> Option<Classified> {
    let _ = c.eat_all(&["if", "exists"]);
    let _ = c.eat("only");
    let table = c.qualified_name()?;
    let actions: Vec<Action> = split_actions(c.rest())
        .into_iter()
        .map(|action| alter_table_action(&table, action))
        .collect();
    let object = match actions.as_slice() {
        [Action {
            check: Some(Check::Constraint { name, .. }),
            ..
        }] => {
            format!("{} on {}", quote_ident(name), table.quoted())
        }
        [Action {
            check: Some(Check::Column { column, .. }),
            ..
        }] => {
            format!("{}.{}", table.quoted(), quote_ident(column))
        }
        _ => table.quoted(),
    };
    let kind = match actions.as_slice() {
        [single] => single.kind,
        [first, rest @ ..] if rest.iter().all(|a| a.kind == first.kind) => first.kind,
        _ => EffectKind::AlterTable,
    };
    let idempotent = !actions.is_empty() && actions.iter().all(|a| a.idempotent);
    let reverts: Option<Vec<String>> = actions.iter().rev().map(|a| a.revert.clone()).collect();
    let revert = match actions.as_slice() {
        [Action {
            check: Some(Check::Renamed { from, to }),
            ..
        }] => Some(format!(
            "ALTER TABLE {} RENAME TO {};",
            to.quoted(),
            quote_ident(&from.name)
        )),
        _ => reverts
            .filter(|r| !r.is_empty())
            .map(|r| format!("ALTER TABLE {} {};", table.quoted(), r.join(", "))),
    };
    let mut checks: Option<Vec<Check>> = actions.into_iter().map(|a| a.check).collect();
    let check = match checks.as_mut() {
        Some(all) if all.len() == 1 => Some(all.remove(0)),
        Some(all) if !all.is_empty() => Some(Check::All(std::mem::take(all))),
        _ => None,
    };
    Some(Classified {
        kind,
        object: Some(object),
        check,
        idempotent,
        revert,
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

fn action(kind: EffectKind, check: Option<Check>, revert: Option<String>) -> Action {
    Action {
        kind,
        check,
        revert,
        idempotent: false,
    }
}

fn alter_table_action(table: &QualifiedName, tokens: &[Token]) -> Action {
    let mut c = Cursor { tokens, at: 0 };
    let table = table.clone();
    if c.eat_all(&["add", "constraint"]) {
        let Some(name) = c.identifier() else {
            return action(EffectKind::AddConstraint, None, None);
        };
        let revert = format!("DROP CONSTRAINT {}", quote_ident(&name));
        let definition = Some(normalize(c.rest()));
        let check = Check::Constraint {
            table,
            name,
            exists: true,
            definition,
        };
        return action(EffectKind::AddConstraint, Some(check), Some(revert));
    }
    if c.eat_all(&["drop", "constraint"]) {
        let if_exists = c.eat_all(&["if", "exists"]);
        let check = c.identifier().map(|name| Check::Constraint {
            table,
            name,
            exists: false,
            definition: None,
        });
        let mut dropped = action(EffectKind::DropConstraint, check, None);
        dropped.idempotent = if_exists;
        return dropped;
    }
    if c.eat_all(&["rename", "to"]) {
        let to = c.identifier().map(|name| QualifiedName {
            schema: table.schema.clone(),
            name,
        });
        // The revert names the new table, so `classify_alter_table` writes it as its own statement.
        let check = to.map(|to| Check::Renamed { from: table, to });
        return action(EffectKind::RenameTable, check, None);
    }
    if c.eat_all(&["rename", "constraint"]) {
        return action(EffectKind::RenameConstraint, None, None);
    }
    if c.eat("rename") {
        let _ = c.eat("column");
        let from = c.identifier();
        let to = c.eat("to").then(|| c.identifier()).flatten();
        let revert = from
            .as_ref()
            .zip(to.as_ref())
            .map(|(f, t)| format!("RENAME COLUMN {} TO {}", quote_ident(t), quote_ident(f)));
        let check = from
            .zip(to)
            .map(|(from, to)| Check::ColumnRenamed { table, from, to });
        return action(EffectKind::RenameColumn, check, revert);
    }
    if c.eat("add") {
        return add_action(&mut c, table);
    }
    if c.eat("drop") {
        let _ = c.eat("column");
        let if_exists = c.eat_all(&["if", "exists"]);
        let check = c.identifier().map(|column| Check::Column {
            table,
            column,
            exists: false,
            type_name: None,
        });
        let mut dropped = action(EffectKind::DropColumn, check, None);
        dropped.idempotent = if_exists;
        return dropped;
    }
    if c.eat("alter") {
        return action(EffectKind::AlterColumn, None, None);
    }
    action(EffectKind::AlterTable, None, None)
}

/// `ADD [COLUMN] [IF NOT EXISTS] name type …` or an unnamed `ADD PRIMARY KEY …`.
fn add_action(c: &mut Cursor, table: QualifiedName) -> Action {
    if ["primary", "foreign", "unique", "check", "exclude"]
        .iter()
        .any(|w| c.peek().is_some_and(|t| t.is(w)))
    {
        return action(EffectKind::AddConstraint, None, None);
    }
    let _ = c.eat("column");
    let if_not_exists = c.eat_all(&["if", "not", "exists"]);
    let Some(column) = c.identifier() else {
        return action(EffectKind::AddColumn, None, None);
    };
    let revert = format!("DROP COLUMN {}", quote_ident(&column));
    let check = Check::Column {
        table,
        column,
        exists: true,
        type_name: column_type(c.rest()),
    };
    let mut added = action(EffectKind::AddColumn, Some(check), Some(revert));
    added.idempotent = if_not_exists;
    added
}

/// The declared type of a column definition: the tokens before its first constraint keyword.
fn column_type(tokens: &[Token]) -> Option<String> {
    const ENDS: [&str; 11] = [
        "not",
        "null",
        "default",
        "constraint",
        "primary",
        "unique",
        "references",
        "check",
        "generated",
        "collate",
        "identity",
    ];
    let end = tokens
        .iter()
        .position(|t| ENDS.iter().any(|w| t.is(w)))
        .unwrap_or(tokens.len());
    let mut text = String::new();
    for token in &tokens[..end] {
        let sql = token.sql();
        if !text.is_empty() && sql != "." && !text.ends_with('.') {
            text.push(' ');
        }
        text.push_str(&sql);
    }
    let serial = match text.as_str() {
        "serial" | "serial4" => Some("integer"),
        "bigserial" | "serial8" => Some("bigint"),
        "smallserial" | "serial2" => Some("smallint"),
        _ => None,
    };
    (!text.is_empty()).then(|| serial.map_or(text, str::to_string))
}

fn classify_alter_type(c: &mut Cursor) -> Option<Classified> {
    let type_name = c.qualified_name()?;
    if c.eat_all(&["add", "value"]) {
        let if_not_exists = c.eat_all(&["if", "not", "exists"]);
        let value = c.string()?;
        let object = format!("{} value '{}'", type_name.quoted(), value);
        let check = Check::EnumValue { type_name, value };
        return Some(
            Classified::known(EffectKind::AddEnumValue, object, check, None)
                .idempotent_if(if_not_exists),
        );
    }
    Some(Classified::unknown(
        EffectKind::AlterType,
        Some(type_name.quoted()),
    ))
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
        classify(sql).check
    }

    #[test]
    fn prisma_create_table_and_enum() {
        let c = classify("CREATE TABLE \"User\" (\n \"id\" SERIAL NOT NULL,\n CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);");
        assert_eq!(c.kind, EffectKind::CreateTable);
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
            Some(Check::Constraint { table: name("Post"), name: "Post_authorId_fkey".into(), exists: true, definition: Some("foreign key ( authorid ) references user ( id ) on delete restrict on update cascade".into()) })
        );
        assert_eq!(
            check("ALTER TABLE \"User\" ADD COLUMN \"name\" TEXT, ADD COLUMN \"age\" INTEGER NOT NULL DEFAULT 0;"),
            Some(Check::All(vec![
                Check::Column { table: name("User"), column: "name".into(), exists: true, type_name: Some("text".into()) },
                Check::Column { table: name("User"), column: "age".into(), exists: true, type_name: Some("integer".into()) },
            ]))
        );
        assert_eq!(
            check("ALTER TABLE \"User\" DROP COLUMN \"legacy\";"),
            Some(Check::Column {
                table: name("User"),
                column: "legacy".into(),
                exists: false,
                type_name: None
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
                exists: false,
                definition: None
            })
        );
    }

    #[test]
    fn alter_table_objects_name_the_constraint_or_column() {
        let c = classify("ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_fkey\" FOREIGN KEY (\"a\") REFERENCES \"U\"(\"id\");");
        assert_eq!(c.object.as_deref(), Some("\"Post_fkey\" on \"Post\""));
        let c = classify("ALTER TABLE \"Post\" ADD COLUMN \"views\" INTEGER;");
        assert_eq!(c.object.as_deref(), Some("\"Post\".\"views\""));
    }

    #[test]
    fn alter_column_is_unknown() {
        let c = classify("ALTER TABLE \"User\" ALTER COLUMN \"email\" SET NOT NULL;");
        assert_eq!(c.kind, EffectKind::AlterColumn);
        assert_eq!(c.check, None);
        let c =
            classify("ALTER TABLE \"User\" ADD COLUMN \"x\" int, ALTER COLUMN \"y\" DROP DEFAULT;");
        assert_eq!(
            c.check, None,
            "one unknown action makes the statement unknown"
        );
    }

    #[test]
    fn indexes() {
        assert_eq!(
            classify("CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");").kind,
            EffectKind::CreateUniqueIndex
        );
        assert_eq!(
            check("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix\" ON app.\"Post\" (\"a\");"),
            Some(Check::Index {
                name: QualifiedName {
                    schema: Some("app".into()),
                    name: "ix".into()
                },
                exists: true,
                definition: Some("create index ix on post ( a )".into())
            })
        );
        assert_eq!(
            check("DROP INDEX CONCURRENTLY IF EXISTS \"ix\";"),
            Some(Check::Index {
                name: name("ix"),
                exists: false,
                definition: None
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
            classify("CREATE INDEX ON t (a);").check,
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
        assert_eq!(
            classify("UPDATE \"User\" SET \"name\" = 'x';").kind,
            EffectKind::Other
        );
        assert_eq!(classify("INSERT INTO t VALUES (1);").check, None);
        assert_eq!(classify("SELECT 1/0;").kind, EffectKind::Select);
        assert_eq!(classify("SELECT 1 INTO t;").kind, EffectKind::Other);
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

#[cfg(test)]
mod definitions {
    use super::*;

    #[test]
    fn prisma_and_catalog_definitions_compare_equal() {
        let prisma = classify("ALTER TABLE \"B\" ADD CONSTRAINT \"B_a_fkey\" FOREIGN KEY (\"a\") REFERENCES \"A\"(\"id\") ON DELETE CASCADE ON UPDATE CASCADE;");
        let Some(Check::Constraint {
            definition: Some(def),
            ..
        }) = prisma.check
        else {
            panic!("{prisma:?}")
        };
        assert_eq!(
            def,
            normalize_definition(
                "FOREIGN KEY (a) REFERENCES \"A\"(id) ON UPDATE CASCADE ON DELETE CASCADE"
            )
        );
        assert_ne!(
            def,
            normalize_definition("FOREIGN KEY (a) REFERENCES \"A\"(id)"),
            "NO ACTION differs from CASCADE"
        );
        assert_eq!(
            normalize_definition("FOREIGN KEY (a) REFERENCES \"A\"(id) ON DELETE NO ACTION"),
            normalize_definition("FOREIGN KEY (a) REFERENCES \"A\"(id)")
        );
        let index = classify("CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");");
        let Some(Check::Index {
            definition: Some(def),
            ..
        }) = index.check
        else {
            panic!("{index:?}")
        };
        assert_eq!(
            def,
            normalize_definition(
                "CREATE UNIQUE INDEX \"User_email_key\" ON public.\"User\" USING btree (email)"
            )
        );
    }

    #[test]
    fn idempotent_statements_and_reverts() {
        assert!(classify("CREATE EXTENSION IF NOT EXISTS \"pgcrypto\";").idempotent);
        assert!(
            classify("CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;")
                .idempotent
        );
        assert!(classify("ALTER TABLE \"T\" ADD COLUMN IF NOT EXISTS \"a\" INT;").idempotent);
        assert!(!classify("CREATE TABLE \"T\" (a int);").idempotent);
        let several = classify(
            "ALTER TABLE \"User\" ADD COLUMN \"a\" TEXT, ADD COLUMN \"b\" \"Role\" NOT NULL;",
        );
        assert_eq!(several.kind, EffectKind::AddColumn);
        assert_eq!(
            several.revert.as_deref(),
            Some("ALTER TABLE \"User\" DROP COLUMN \"b\", DROP COLUMN \"a\";")
        );
        assert_eq!(
            classify(
                "CREATE TRIGGER \"t\" BEFORE UPDATE ON \"User\" FOR EACH ROW EXECUTE FUNCTION f();"
            )
            .revert
            .as_deref(),
            Some("DROP TRIGGER \"t\" ON \"User\";")
        );
        assert_eq!(
            classify("ALTER TABLE \"Old\" RENAME TO \"New\";")
                .revert
                .as_deref(),
            Some("ALTER TABLE \"New\" RENAME TO \"Old\";")
        );
        assert_eq!(
            classify("DROP TABLE \"A\";").revert,
            None,
            "a drop cannot be undone automatically"
        );
    }
}
