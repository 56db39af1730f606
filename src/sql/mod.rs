//! Splitting PostgreSQL scripts into statements, the way `psql` does it.
//!
//! A Prisma migration is one `migration.sql` file holding many statements. Normally the whole file runs
//! inside one transaction, but some statements (`CREATE INDEX CONCURRENTLY`, `VACUUM`, transaction
//! control, ...) refuse to run inside a transaction block. Such migrations must be executed statement by
//! statement, and when a statement fails the error report has to name it (index, line, text). All of that
//! needs to know exactly where statements begin and end, which `split(';')` gets wrong as soon as a `;`
//! appears in a string, a comment, a quoted identifier, a dollar-quoted function body or a SQL-standard
//! `BEGIN ATOMIC ... END` body.
//!
//! This module therefore runs a small lexer that follows PostgreSQL's own lexical rules as psql's lexer
//! (`psqlscan.l`) applies them, so a script is split exactly where `psql -f` would split it:
//!
//! * `--` comments and nesting `/* ... */` comments;
//! * `'...'` strings (`''` escapes a quote; backslash is ordinary while `standard_conforming_strings` is
//!   on, the default, and escapes like in `E'...'` when the session has it off — see [`Dialect`]),
//!   `E'...'` escape strings (`\'` and `\\` escape too), `U&'...'`, `B'...'`, `X'...'`, `N'...'`;
//! * `$$ ... $$` and `$tag$ ... $tag$` dollar quotes (`$1` is a parameter, `a$b` an identifier);
//! * `"..."` quoted identifiers (`""` escapes a quote);
//! * a `;` inside parentheses does not end a statement;
//! * in a statement starting with `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, a bare `BEGIN` opens a block,
//!   `CASE` (inside a block) opens one too, `END` closes one, and `;` only ends the statement outside
//!   blocks (psql's heuristic for `BEGIN ATOMIC` bodies, including its quirks).
//!
//! Decisions made here:
//!
//! * Pieces returned by [`split`] cover the input exactly. Whitespace and comments *before* a statement
//!   belong to that statement's span; whatever follows the last `;` (if anything) is a final piece of its
//!   own, which is blank when it holds only whitespace and comments.
//! * An empty statement (a `;` preceded only by whitespace/comments) is a blank piece: there is nothing
//!   to execute. The empty script has no pieces at all.
//! * A blank piece's `body` is the empty range at the start of its span.
//! * Unterminated strings, quoted identifiers, comments and dollar quotes run to the end of the input.
//!
//! The work is split by concern: `lexer` turns text into tokens, `splitter` finds statement
//! boundaries among them, `blockers` tells which statements refuse a transaction block, and
//! `unrunnable` finds what no driver can send. This file is the façade the rest of the crate uses.

use std::ops::Range;

mod blockers;
mod lexer;
mod splitter;
mod unrunnable;

pub use blockers::transaction_blocker;
pub use lexer::{leading_words, tokens, Kind, Token};
pub use unrunnable::{unrunnable, Unrunnable};

use lexer::Lexer;
use splitter::Splitter;

/// One statement of a script. `span` ranges are byte offsets into the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Raw bytes this piece owns. Spans of consecutive pieces are contiguous and together cover the
    /// whole input exactly (the first starts at 0, the last ends at `input.len()`). Whitespace and
    /// comments before a statement belong to its span; whatever follows the last `;` forms a final piece
    /// (blank unless it holds a statement without a terminating `;`).
    pub span: Range<usize>,
    /// The executable text: from the first significant token (not whitespace, not a comment) to the end
    /// of the terminating `;` inclusive, or to the end of the last significant token when the input ends
    /// without `;`. For a blank piece (only whitespace, comments and possibly a lone `;`) it is the empty
    /// range `span.start..span.start`.
    pub body: Range<usize>,
    /// 1-based line number of `body.start` in the whole script (lines are separated by `\n`, so a
    /// `\r\n` counts once).
    pub line: usize,
}

impl Statement {
    /// True for a piece holding nothing to execute (whitespace, comments, an empty statement).
    pub fn is_blank(&self) -> bool {
        self.body.is_empty()
    }

    /// The executable text of this statement within `script` (the script it was split from).
    pub fn text<'a>(&self, script: &'a str) -> &'a str {
        script.get(self.body.clone()).unwrap_or("")
    }
}

/// The session setting that changes how SQL text lexes. psql follows the server's
/// `standard_conforming_strings`; so must we, or `'it\'s; here'` (one string when the setting is off)
/// would be split in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub standard_conforming_strings: bool,
}

impl Default for Dialect {
    /// PostgreSQL's default since 9.1: `standard_conforming_strings = on`.
    fn default() -> Self {
        Dialect {
            standard_conforming_strings: true,
        }
    }
}

/// Splits a script into pieces covering it exactly, as `psql` would split it (with the default
/// [`Dialect`]). Never panics.
pub fn split(script: &str) -> Vec<Statement> {
    split_in(script, Dialect::default())
}

/// [`split`] for a session with this `dialect`.
pub fn split_in(script: &str, dialect: Dialect) -> Vec<Statement> {
    let mut splitter = Splitter::new(script);
    for token in Lexer::with_dialect(script, dialect) {
        splitter.feed(&token);
    }
    splitter.finish()
}

/// Only the non-blank pieces of [`split`]: the statements to execute, in order.
pub fn statements(script: &str) -> Vec<Statement> {
    statements_in(script, Dialect::default())
}

/// [`statements`] for a session with this `dialect`.
pub fn statements_in(script: &str, dialect: Dialect) -> Vec<Statement> {
    split_in(script, dialect)
        .into_iter()
        .filter(|s| !s.is_blank())
        .collect()
}

/// Helpers shared by the submodules' tests: what a script splits into, in forms easy to compare.
#[cfg(test)]
mod test_support {
    use super::{split, statements};

    /// (text, line) of every non-blank statement.
    pub(super) fn texts(script: &str) -> Vec<(&str, usize)> {
        statements(script)
            .iter()
            .map(|s| (s.text(script), s.line))
            .collect()
    }

    /// Raw span texts of every piece.
    pub(super) fn spans(script: &str) -> Vec<&str> {
        split(script)
            .iter()
            .map(|s| &script[s.span.clone()])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{spans, texts};
    use super::*;
    use proptest::prelude::*;

    const ENUM: &str = r#"CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');"#;

    const USER_TABLE: &str = "CREATE TABLE \"User\" (\n    \"id\" SERIAL NOT NULL,\n    \"email\" TEXT NOT NULL,\n    \"role\" \"Role\" NOT NULL DEFAULT 'USER',\n\n    CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\")\n);";

    const UNIQUE_INDEX: &str = r#"CREATE UNIQUE INDEX "User_email_key" ON "User"("email");"#;

    const FOREIGN_KEY: &str = r#"ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;"#;

    fn prisma_migration() -> String {
        format!(
            "-- CreateEnum\n{ENUM}\n\n-- CreateTable\n{USER_TABLE}\n\n-- CreateIndex\n{UNIQUE_INDEX}\n\n-- AddForeignKey\n{FOREIGN_KEY}\n"
        )
    }

    #[test]
    fn prisma_generated_migration() {
        let script = prisma_migration();
        assert_eq!(
            texts(&script),
            vec![
                (ENUM, 2),
                (USER_TABLE, 5),
                (UNIQUE_INDEX, 14),
                (FOREIGN_KEY, 17)
            ]
        );
        assert_eq!(
            spans(&script),
            vec![
                format!("-- CreateEnum\n{ENUM}"),
                format!("\n\n-- CreateTable\n{USER_TABLE}"),
                format!("\n\n-- CreateIndex\n{UNIQUE_INDEX}"),
                format!("\n\n-- AddForeignKey\n{FOREIGN_KEY}"),
                "\n".to_string(),
            ]
        );
        let pieces = split(&script);
        assert!(pieces[4].is_blank());
        assert_eq!(pieces[4].line, 17);
        assert!(statements(&script)
            .iter()
            .all(|s| transaction_blocker(s.text(&script)).is_none()));
    }

    // ---------------------------------------------------------------------------------------------
    // Properties
    // ---------------------------------------------------------------------------------------------

    const FRAGMENTS: &[&str] = &[
        ";",
        ";",
        ";",
        "'",
        "''",
        "$$",
        "$a$",
        "$1",
        "$",
        "--",
        "/*",
        "*/",
        "\n",
        "\r\n",
        "\r",
        "\"",
        "E'",
        "e'",
        "U&'",
        "\\",
        "BEGIN",
        "ATOMIC",
        "END",
        "CASE",
        "CREATE",
        "FUNCTION",
        "PROCEDURE",
        "OR",
        "REPLACE",
        "(",
        ")",
        "é",
        "€",
        "x",
        "a$b",
        " ",
        " ",
        "-",
        "/",
        "*",
    ];

    fn only_insignificant(text: &str) -> bool {
        let tokens: Vec<Token> = Lexer::new(text)
            .filter(|t| t.kind.is_significant())
            .collect();
        match tokens.as_slice() {
            [] => true,
            [one] => one.kind == Kind::Semicolon && one.range.end == text.len(),
            _ => false,
        }
    }

    fn no_significant_token(text: &str) -> bool {
        Lexer::new(text).all(|t| !t.kind.is_significant())
    }

    fn check_piece(s: &str, piece: &Statement, is_last: bool) {
        let (span, body) = (&piece.span, &piece.body);
        assert!(span.start < span.end, "empty span {span:?}");
        assert!(span.start <= body.start && body.end <= span.end);
        assert_eq!(piece.line, s[..body.start].matches('\n').count() + 1);
        if !is_last {
            assert!(
                s[..span.end].ends_with(';'),
                "non-last piece must end with ;"
            );
        }
        if piece.is_blank() {
            assert_eq!(body.start, span.start);
            assert!(
                only_insignificant(&s[span.clone()]),
                "blank piece {:?}",
                &s[span.clone()]
            );
            return;
        }
        let text = piece.text(s);
        assert!(no_significant_token(&s[span.start..body.start]));
        assert!(no_significant_token(&s[body.end..span.end]));
        if !is_last {
            assert!(text.ends_with(';'));
            assert_eq!(body.end, span.end);
        }
        // Re-splitting one statement's text yields exactly that statement.
        let again = split(text);
        assert_eq!(again.len(), 1, "{text:?}");
        assert_eq!(again[0].body, 0..text.len());
    }

    fn check_invariants(s: &str) {
        let pieces = split(s);
        assert_eq!(pieces.is_empty(), s.is_empty());
        let mut pos = 0;
        let mut last_line = 1;
        for (i, piece) in pieces.iter().enumerate() {
            assert_eq!(piece.span.start, pos, "spans must be contiguous");
            check_piece(s, piece, i + 1 == pieces.len());
            assert!(piece.line >= last_line);
            last_line = piece.line;
            pos = piece.span.end;
        }
        assert_eq!(pos, s.len());
        let joined: String = pieces.iter().map(|p| &s[p.span.clone()]).collect();
        assert_eq!(joined, s);
        let non_blank = pieces.iter().filter(|p| !p.is_blank()).count();
        assert_eq!(statements(s).len(), non_blank);
        for statement in statements(s) {
            let _ = transaction_blocker(statement.text(s));
            let _ = leading_words(statement.text(s), 3);
        }
    }

    fn fragments() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..60)
            .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_strings_keep_invariants(s in any::<String>()) {
            check_invariants(&s);
        }

        #[test]
        fn tricky_fragments_keep_invariants(s in fragments()) {
            check_invariants(&s);
        }

        #[test]
        fn routine_fragments_keep_invariants(s in fragments()) {
            check_invariants(&format!("CREATE OR REPLACE FUNCTION f() {s}"));
            check_invariants(&format!("CREATE PROCEDURE p() BEGIN ATOMIC {s}"));
        }

        #[test]
        fn statements_joined_with_semicolons_split_back(
            words in proptest::collection::vec("[a-z]{1,8}( [a-z0-9]{1,8}){0,4}", 1..8)
        ) {
            let script = words.iter().map(|w| format!("{w};")).collect::<Vec<_>>().join("\n");
            let got: Vec<String> = statements(&script).iter().map(|s| s.text(&script).to_string()).collect();
            let expected: Vec<String> = words.iter().map(|w| format!("{w};")).collect();
            let lines: Vec<usize> = statements(&script).iter().map(|s| s.line).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(lines, (1..=words.len()).collect::<Vec<_>>());
        }
    }
}
