//! The tokenizer: PostgreSQL's lexical rules as psql's `psqlscan.l` applies them (comments, the
//! string and dollar-quote forms, quoted identifiers, `standard_conforming_strings`).
//!
//! It is the crate's one lexer: statement splitting, transaction-blocker matching, the pre-flight
//! check and the diagnosis all read SQL through it, so they can never disagree about where a string
//! or comment ends.

use std::ops::Range;

use super::Dialect;

/// Token classes; only as fine-grained as splitting and keyword matching need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Space,
    Comment,
    /// Unquoted identifier or keyword.
    Word,
    QuotedIdent,
    /// Any single-quoted string, prefixed or not.
    Str,
    DollarStr,
    Param,
    Number,
    Semicolon,
    OpenParen,
    CloseParen,
    /// Any other single (ASCII) character: operators, punctuation.
    Other,
}

impl Kind {
    /// Not whitespace, not a comment.
    pub fn is_significant(self) -> bool {
        !matches!(self, Kind::Space | Kind::Comment)
    }
}

/// One lexical token: its class and its byte range in the lexed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Every token of `text` (whitespace and comments included), by PostgreSQL's lexical rules. The
/// diagnosis reads DDL headers and locates the `;` Prisma's adapter cuts at with it, so there is one
/// tokenizer in the crate.
pub fn tokens(text: &str) -> impl Iterator<Item = Token> + '_ {
    Lexer::new(text)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// PostgreSQL's `ident_start`: every byte of a non-ASCII character counts as a letter.
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Characters allowed in a dollar-quote tag after the first one (`$` excluded).
fn is_tag_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Byte-level tokenizer. Every token boundary falls on a char boundary: special characters are ASCII
/// and non-ASCII bytes only ever occur inside words, strings, identifiers and comments.
pub(super) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// `standard_conforming_strings = off`: a backslash escapes inside plain `'…'` strings too.
    backslash_in_plain_strings: bool,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self::with_dialect(text, Dialect::default())
    }

    pub(super) fn with_dialect(text: &'a str, dialect: Dialect) -> Self {
        Lexer {
            src: text.as_bytes(),
            pos: 0,
            backslash_in_plain_strings: !dialect.standard_conforming_strings,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn at(&self, pattern: &[u8]) -> bool {
        self.src
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(pattern))
    }

    fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    fn advance_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek(0).is_some_and(&pred) {
            self.pos += 1;
        }
    }

    fn single(&mut self, kind: Kind) -> Kind {
        self.advance(1);
        kind
    }

    /// Consumes one token starting with byte `b` and returns its kind.
    fn lex(&mut self, b: u8) -> Kind {
        match b {
            _ if is_space(b) => {
                self.advance_while(is_space);
                Kind::Space
            }
            b'-' if self.peek(1) == Some(b'-') => self.skip_line_comment(),
            b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
            b'\'' => self.skip_quoted(b'\'', self.backslash_in_plain_strings, Kind::Str),
            b'"' => self.skip_quoted(b'"', false, Kind::QuotedIdent),
            b'$' => self.lex_dollar(),
            b'0'..=b'9' => {
                self.advance_while(|c| is_tag_char(c) || c == b'.');
                Kind::Number
            }
            b';' => self.single(Kind::Semicolon),
            b'(' => self.single(Kind::OpenParen),
            b')' => self.single(Kind::CloseParen),
            _ if is_ident_start(b) => self.lex_word(),
            _ => self.single(Kind::Other),
        }
    }

    fn skip_line_comment(&mut self) -> Kind {
        self.advance_while(|c| c != b'\n' && c != b'\r');
        Kind::Comment
    }

    /// `/* ... */`, nesting like PostgreSQL's; unterminated runs to the end of input.
    fn skip_block_comment(&mut self) -> Kind {
        self.advance(2);
        let mut depth = 1usize;
        while depth > 0 && self.pos < self.src.len() {
            if self.at(b"/*") {
                depth += 1;
                self.advance(2);
            } else if self.at(b"*/") {
                depth -= 1;
                self.advance(2);
            } else {
                self.advance(1);
            }
        }
        Kind::Comment
    }

    /// A quoted token starting at the opening `quote`: a doubled quote is an escaped quote, and with
    /// `backslash` (escape strings) a backslash escapes the next byte.
    fn skip_quoted(&mut self, quote: u8, backslash: bool, kind: Kind) -> Kind {
        self.advance(1);
        while let Some(c) = self.peek(0) {
            let escaped = backslash && c == b'\\';
            if escaped || (c == quote && self.peek(1) == Some(quote)) {
                self.advance(2);
            } else if c == quote {
                self.advance(1);
                break;
            } else {
                self.advance(1);
            }
        }
        kind
    }

    /// `$1` parameter, `$tag$ ... $tag$` dollar quote, or a lone `$`.
    fn lex_dollar(&mut self) -> Kind {
        if self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.advance(1);
            self.advance_while(is_tag_char);
            return Kind::Param;
        }
        let src = self.src;
        let after = src.get(self.pos + 1..).unwrap_or(&[]);
        let tag_len = after.iter().take_while(|&&c| is_tag_char(c)).count();
        if self.peek(tag_len + 1) != Some(b'$') {
            return self.single(Kind::Other);
        }
        let delimiter = src.get(self.pos..self.pos + tag_len + 2).unwrap_or(b"$$");
        self.advance(delimiter.len());
        let rest = src.get(self.pos..).unwrap_or(&[]);
        match rest.windows(delimiter.len()).position(|w| w == delimiter) {
            Some(found) => self.advance(found + delimiter.len()),
            None => self.pos = src.len(),
        }
        Kind::DollarStr
    }

    /// An unquoted word, or a prefixed string (`E'..'`, `B'..'`, `X'..'`, `N'..'`, `U&'..'`, `U&".."`).
    fn lex_word(&mut self) -> Kind {
        let start = self.pos;
        self.advance_while(is_ident_cont);
        if self.pos - start != 1 {
            return Kind::Word;
        }
        let first = self.src.get(start).map_or(0, u8::to_ascii_lowercase);
        match (first, self.peek(0), self.peek(1)) {
            (b'e', Some(b'\''), _) => self.skip_quoted(b'\'', true, Kind::Str),
            (b'n', Some(b'\''), _) => {
                self.skip_quoted(b'\'', self.backslash_in_plain_strings, Kind::Str)
            }
            (b'b' | b'x', Some(b'\''), _) => self.skip_quoted(b'\'', false, Kind::Str),
            (b'u', Some(b'&'), Some(b'\'')) => {
                self.advance(1);
                self.skip_quoted(b'\'', false, Kind::Str)
            }
            (b'u', Some(b'&'), Some(b'"')) => {
                self.advance(1);
                self.skip_quoted(b'"', false, Kind::QuotedIdent)
            }
            _ => Kind::Word,
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        let b = self.peek(0)?;
        let kind = self.lex(b);
        if self.pos <= start {
            // Every branch consumes at least one byte; this only guards termination.
            self.pos = self.src.len();
        }
        Some(Token {
            kind,
            range: start..self.pos,
        })
    }
}

/// The first `n` keywords/identifiers of a statement's text, ASCII-uppercased. Skips comments and
/// whitespace; stops at the first token that is not a bare (unquoted) word.
pub fn leading_words(text: &str, n: usize) -> Vec<String> {
    Lexer::new(text)
        .filter(|t| t.kind.is_significant())
        .take_while(|t| t.kind == Kind::Word)
        .take(n)
        .filter_map(|t| text.get(t.range))
        .map(str::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{spans, texts};
    use super::super::{split, statements, statements_in, Dialect};
    use super::*;

    #[test]
    fn backslash_escapes_follow_standard_conforming_strings() {
        let script = "INSERT INTO t VALUES ('it\\'s; here');\nSELECT 1;";
        let off = Dialect {
            standard_conforming_strings: false,
        };
        assert_eq!(statements_in(script, off).len(), 2);
        assert_eq!(
            statements_in(script, off)[0].text(script),
            "INSERT INTO t VALUES ('it\\'s; here');"
        );
        // With the setting on, the backslash is ordinary and the string ends at `it\'`.
        assert_ne!(
            statements(script)[0].text(script),
            statements_in(script, off)[0].text(script)
        );
        assert_eq!(statements_in("SELECT N'a\\'b;c';", off).len(), 1);
    }

    #[test]
    fn plpgsql_function_with_dollar_quotes() {
        let function = "CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.updated_at := now(); -- it's fine\n  RAISE NOTICE 'done; ok';\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;";
        let script = format!("-- CreateFunction\n{function}\nSELECT 1;");
        assert_eq!(texts(&script), vec![(function, 2), ("SELECT 1;", 9)]);
    }

    #[test]
    fn tagged_dollar_quote_containing_double_dollar() {
        let function = "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$ BEGIN RETURN $$;$$; END $body$;";
        let script = format!("{function}\nSELECT 2;");
        assert_eq!(texts(&script), vec![(function, 1), ("SELECT 2;", 2)]);
    }

    #[test]
    fn dollar_quote_closes_only_on_its_own_tag() {
        let script = "SELECT $a$ $b$; $ab$; $$; $a$; SELECT 2;";
        assert_eq!(
            texts(script),
            vec![("SELECT $a$ $b$; $ab$; $$; $a$;", 1), ("SELECT 2;", 1)]
        );
        let script = "SELECT $a$x$$a$;$a$;";
        assert_eq!(texts(script), vec![("SELECT $a$x$$a$;", 1), ("$a$;", 1)]);
    }

    #[test]
    fn do_blocks() {
        let block = "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'x') THEN\n    CREATE TYPE x AS ENUM ('a');\n  END IF;\nEND\n$$;";
        let tagged = "DO $do$ BEGIN PERFORM ';'; END $do$;";
        let script = format!("{block}\n{tagged}\nSELECT 3;");
        assert_eq!(
            texts(&script),
            vec![(block, 1), (tagged, 8), ("SELECT 3;", 9)]
        );
    }

    #[test]
    fn escape_strings() {
        assert_eq!(
            texts("SELECT E'it\\'s; here'; SELECT 2;"),
            vec![("SELECT E'it\\'s; here';", 1), ("SELECT 2;", 1)]
        );
        assert_eq!(
            texts("SELECT e'a\\\\'; SELECT 2;"),
            vec![("SELECT e'a\\\\';", 1), ("SELECT 2;", 1)]
        );
        assert_eq!(
            texts("SELECT E'a''b;c'; SELECT 2;"),
            vec![("SELECT E'a''b;c';", 1), ("SELECT 2;", 1)]
        );
        // Unterminated because `\'` escapes the quote: everything to the end is one statement.
        assert_eq!(
            texts("SELECT E'x\\'; SELECT 2;"),
            vec![("SELECT E'x\\'; SELECT 2;", 1)]
        );
    }

    #[test]
    fn standard_strings_do_not_treat_backslash_as_escape() {
        assert_eq!(
            texts("SELECT 'a\\'; SELECT 2;"),
            vec![("SELECT 'a\\';", 1), ("SELECT 2;", 1)]
        );
        // `name'x'` is an identifier followed by a standard string, not an escape string.
        assert_eq!(
            texts("SELECT name'x\\'; SELECT 2;"),
            vec![("SELECT name'x\\';", 1), ("SELECT 2;", 1)]
        );
        assert_eq!(
            texts("SELECT 'it''s; here'; SELECT 2;"),
            vec![("SELECT 'it''s; here';", 1), ("SELECT 2;", 1)]
        );
    }

    #[test]
    fn prefixed_strings() {
        let one = "SELECT U&'d\\0061t;', B'10;1', X'1F;', N'abc;', U&\"a;b\";";
        let script = format!("{one}SELECT 2;");
        assert_eq!(texts(&script), vec![(one, 1), ("SELECT 2;", 1)]);
    }

    #[test]
    fn quoted_identifiers() {
        assert_eq!(
            texts("CREATE TABLE \"weird;name\" (\"a\"\"b;c\" int); SELECT \"--\", '/*'; SELECT 2;"),
            vec![
                ("CREATE TABLE \"weird;name\" (\"a\"\"b;c\" int);", 1),
                ("SELECT \"--\", '/*';", 1),
                ("SELECT 2;", 1)
            ]
        );
    }

    #[test]
    fn nested_comments() {
        let script = "/* outer /* inner ; ' */ still ; comment */ SELECT 1; /* a */ /* b /* c */ */ SELECT 2;";
        assert_eq!(texts(script), vec![("SELECT 1;", 1), ("SELECT 2;", 1)]);
        assert_eq!(
            spans(script),
            vec![
                "/* outer /* inner ; ' */ still ; comment */ SELECT 1;",
                " /* a */ /* b /* c */ */ SELECT 2;"
            ]
        );
    }

    #[test]
    fn comments_inside_statements() {
        let script = "SELECT 1 -- no; end\n; SELECT /* ; */ 2;";
        assert_eq!(
            texts(script),
            vec![("SELECT 1 -- no; end\n;", 1), ("SELECT /* ; */ 2;", 2)]
        );
        assert_eq!(
            texts("SELECT '--;'; SELECT 2 - -1;"),
            vec![("SELECT '--;';", 1), ("SELECT 2 - -1;", 1)]
        );
    }

    #[test]
    fn params_and_dollar_signs_in_identifiers() {
        assert_eq!(
            texts("PREPARE q(int) AS SELECT $1; EXECUTE q(1);"),
            vec![("PREPARE q(int) AS SELECT $1;", 1), ("EXECUTE q(1);", 1)]
        );
        assert_eq!(
            texts("SELECT a$b$c FROM t$; SELECT $2$x;"),
            vec![("SELECT a$b$c FROM t$;", 1), ("SELECT $2$x;", 1)]
        );
        assert_eq!(
            texts("SELECT $ ; SELECT 1$$;$$;"),
            vec![("SELECT $ ;", 1), ("SELECT 1$$;$$;", 1)]
        );
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        let script = "SELECT 1; SELECT 'abc;\nSELECT 2;";
        assert_eq!(
            texts(script),
            vec![("SELECT 1;", 1), ("SELECT 'abc;\nSELECT 2;", 1)]
        );
        assert_eq!(split(script).last().map(|s| s.span.end), Some(script.len()));
        assert_eq!(
            texts("SELECT $$abc; SELECT 2;"),
            vec![("SELECT $$abc; SELECT 2;", 1)]
        );
        assert_eq!(texts("SELECT \"abc; x"), vec![("SELECT \"abc; x", 1)]);
        let script = "SELECT 1; /* never closed; SELECT 2;";
        assert_eq!(texts(script), vec![("SELECT 1;", 1)]);
        assert_eq!(
            spans(script),
            vec!["SELECT 1;", " /* never closed; SELECT 2;"]
        );
        assert_eq!(texts("SELECT 1 /* x"), vec![("SELECT 1", 1)]);
        assert_eq!(texts("SELECT (1;\n2"), vec![("SELECT (1;\n2", 1)]);
    }

    #[test]
    fn non_ascii_text() {
        let script = "INSERT INTO \"tëst\" VALUES ('héllo; wörld');\nSELECT café, 'ü' FROM 日本;\n-- ça va; oui\nSELECT E'\\é;';";
        assert_eq!(
            texts(script),
            vec![
                ("INSERT INTO \"tëst\" VALUES ('héllo; wörld');", 1),
                ("SELECT café, 'ü' FROM 日本;", 2),
                ("SELECT E'\\é;';", 4)
            ]
        );
    }

    #[test]
    fn leading_words_examples() {
        assert_eq!(
            leading_words(
                "/* c */ -- x\n create Unique INDEX concurrently \"i\" ON t",
                10
            ),
            vec!["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"]
        );
        assert_eq!(
            leading_words("ALTER TABLE t ADD", 2),
            vec!["ALTER", "TABLE"]
        );
        assert_eq!(
            leading_words("REINDEX (CONCURRENTLY) TABLE x", 5),
            vec!["REINDEX"]
        );
        assert_eq!(leading_words("SELECT E'x' FROM t", 5), vec!["SELECT"]);
        assert_eq!(leading_words("select café", 5), vec!["SELECT", "CAFé"]);
        assert_eq!(leading_words("VACUUM;", 5), vec!["VACUUM"]);
        assert!(leading_words("-- only a comment", 3).is_empty());
        assert!(leading_words("\"quoted\" x", 3).is_empty());
        assert!(leading_words("SELECT 1", 0).is_empty());
        assert!(leading_words("", 3).is_empty());
    }
}
