//! Statement boundaries: a state machine fed with the lexer's tokens that decides where each statement
//! ends, mirroring psqlscan.l (parenthesis depth, psql's `BEGIN ... END` heuristic inside
//! `CREATE [OR REPLACE] FUNCTION|PROCEDURE`), and records the pieces with their line numbers.
//!
//! It is apart from the lexer because it is psql's *splitting* policy, not PostgreSQL's lexical rules.

use std::ops::Range;

use super::lexer::{Kind, Token};
use super::Statement;

/// psql's detection of `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the first letter of each of the first
/// four words, recorded only for the words that can make up that header.
#[derive(Debug, Default)]
struct RoutineHeader {
    letters: [u8; 4],
    seen: usize,
}

impl RoutineHeader {
    fn observe(&mut self, word: &str) {
        const HEADER_WORDS: [&str; 5] = ["create", "function", "procedure", "or", "replace"];
        if HEADER_WORDS.iter().any(|h| word.eq_ignore_ascii_case(h)) {
            if let Some(slot) = self.letters.get_mut(self.seen) {
                *slot = word.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
            }
        }
        self.seen = self.seen.saturating_add(1);
    }

    fn is_routine(&self) -> bool {
        let [a, b, c, d] = self.letters;
        a == b'c'
            && (b == b'f' || b == b'p' || (b == b'o' && c == b'r' && (d == b'f' || d == b'p')))
    }
}

/// Incremental 1-based line numbers for non-decreasing offsets.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, offset: usize) -> usize {
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let end = offset.min(self.bytes.len());
        let chunk = self.bytes.get(self.pos..end).unwrap_or(&[]);
        self.line += chunk.iter().filter(|&&b| b == b'\n').count();
        self.pos = end;
        self.line
    }
}

/// Statement-boundary state machine fed with tokens, mirroring psqlscan.l.
pub(super) struct Splitter<'a> {
    script: &'a str,
    pieces: Vec<Statement>,
    lines: LineCounter<'a>,
    span_start: usize,
    body: Option<Range<usize>>,
    paren_depth: usize,
    begin_depth: usize,
    header: RoutineHeader,
}

impl<'a> Splitter<'a> {
    pub(super) fn new(script: &'a str) -> Self {
        Splitter {
            script,
            pieces: Vec::new(),
            lines: LineCounter {
                bytes: script.as_bytes(),
                pos: 0,
                line: 1,
            },
            span_start: 0,
            body: None,
            paren_depth: 0,
            begin_depth: 0,
            header: RoutineHeader::default(),
        }
    }

    pub(super) fn feed(&mut self, token: &Token) {
        match token.kind {
            Kind::Space | Kind::Comment => {}
            Kind::Semicolon if self.paren_depth == 0 && self.begin_depth == 0 => {
                if let Some(body) = &mut self.body {
                    body.end = token.range.end;
                }
                self.close(token.range.end);
            }
            kind => {
                let body = self.body.get_or_insert(token.range.clone());
                body.end = token.range.end;
                self.track(kind, &token.range);
            }
        }
    }

    fn track(&mut self, kind: Kind, range: &Range<usize>) {
        match kind {
            Kind::OpenParen => self.paren_depth += 1,
            Kind::CloseParen => self.paren_depth = self.paren_depth.saturating_sub(1),
            Kind::Word => self.track_word(self.script.get(range.clone()).unwrap_or("")),
            _ => {}
        }
    }

    /// psql's `BEGIN ... END` depth inside `CREATE [OR REPLACE] FUNCTION|PROCEDURE` statements.
    fn track_word(&mut self, word: &str) {
        self.header.observe(word);
        if !self.header.is_routine() || self.paren_depth > 0 {
            return;
        }
        let opens_block = word.eq_ignore_ascii_case("begin")
            || (word.eq_ignore_ascii_case("case") && self.begin_depth > 0);
        if opens_block {
            self.begin_depth += 1;
        } else if word.eq_ignore_ascii_case("end") {
            self.begin_depth = self.begin_depth.saturating_sub(1);
        }
    }

    /// Ends the current piece at `end` and resets the per-statement state.
    fn close(&mut self, end: usize) {
        let body = self.body.take();
        self.push(self.span_start..end, body);
        self.span_start = end;
        self.paren_depth = 0;
        self.begin_depth = 0;
        self.header = RoutineHeader::default();
    }

    fn push(&mut self, span: Range<usize>, body: Option<Range<usize>>) {
        let body = body.unwrap_or(span.start..span.start);
        let line = self.lines.line_at(body.start);
        self.pieces.push(Statement { span, body, line });
    }

    pub(super) fn finish(mut self) -> Vec<Statement> {
        let len = self.script.len();
        if self.span_start < len {
            let body = self.body.take();
            self.push(self.span_start..len, body);
        }
        self.pieces
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{spans, texts};
    use super::super::{split, statements, Statement};

    #[test]
    fn spans_and_bodies_are_exact() {
        let script = "SELECT 1; -- after\nSELECT 2;\n";
        assert_eq!(
            split(script),
            vec![
                Statement {
                    span: 0..9,
                    body: 0..9,
                    line: 1
                },
                Statement {
                    span: 9..28,
                    body: 19..28,
                    line: 2
                },
                Statement {
                    span: 28..29,
                    body: 28..28,
                    line: 2
                },
            ]
        );
    }

    #[test]
    fn begin_atomic_function_bodies() {
        let function = "CREATE FUNCTION grade(score int) RETURNS text\nLANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN score > 50 THEN 'pass' ELSE 'fail' END;\n  SELECT 'x';\nEND;";
        let procedure = "create or replace procedure p()\nlanguage sql\nbegin atomic\n  insert into t values (1);\n  insert into t values (2);\nend;";
        let script = format!("{function}\n{procedure}\nSELECT 4;");
        assert_eq!(
            texts(&script),
            vec![(function, 1), (procedure, 7), ("SELECT 4;", 13)]
        );
    }

    #[test]
    fn begin_outside_routines_is_transaction_control() {
        assert_eq!(
            texts("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;"),
            vec![
                ("BEGIN;", 1),
                ("CREATE TABLE a (id int);", 2),
                ("COMMIT;", 3)
            ]
        );
        assert_eq!(
            texts("SELECT CASE WHEN true THEN 1 END; SELECT 2;"),
            vec![("SELECT CASE WHEN true THEN 1 END;", 1), ("SELECT 2;", 1)]
        );
        // A plpgsql function: BEGIN/END are inside the dollar quote, the statement ends normally.
        assert_eq!(
            texts("CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql; SELECT 2;"),
            vec![
                ("CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;", 1),
                ("SELECT 2;", 1)
            ]
        );
    }

    #[test]
    fn semicolons_inside_parentheses() {
        let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));";
        let script = format!("{rule} SELECT 1;");
        assert_eq!(texts(&script), vec![(rule, 1), ("SELECT 1;", 1)]);
        // An unmatched `)` does not make the depth negative.
        assert_eq!(texts("SELECT 1); SELECT 2;").len(), 2);
    }

    #[test]
    fn crlf_line_endings() {
        let script = "-- c\r\nSELECT 1;\r\n\r\nSELECT\r\n  2;\r\n/* x\r\n */ SELECT 3;\r\n";
        assert_eq!(
            texts(script),
            vec![("SELECT 1;", 2), ("SELECT\r\n  2;", 4), ("SELECT 3;", 7)]
        );
        assert_eq!(spans(script).last(), Some(&"\r\n"));
    }

    #[test]
    fn trailing_statement_without_semicolon() {
        assert_eq!(
            texts("SELECT 1;\nSELECT 2  \n"),
            vec![("SELECT 1;", 1), ("SELECT 2", 2)]
        );
        let script = "SELECT 1; SELECT 2 -- trailing comment";
        assert_eq!(texts(script), vec![("SELECT 1;", 1), ("SELECT 2", 1)]);
        assert_eq!(
            spans(script),
            vec!["SELECT 1;", " SELECT 2 -- trailing comment"]
        );
    }

    #[test]
    fn comments_only_and_empty_scripts() {
        let script = "-- nothing here\n/* or; here */\n";
        assert!(statements(script).is_empty());
        let pieces = split(script);
        assert_eq!(pieces.len(), 1);
        assert!(pieces[0].is_blank());
        assert_eq!(pieces[0].span, 0..script.len());
        assert_eq!(pieces[0].text(script), "");
        assert!(split("").is_empty());
        assert!(statements("   \n\t ").is_empty());
    }

    #[test]
    fn empty_statements_are_blank() {
        let script = ";;SELECT 1;; ";
        assert_eq!(texts(script), vec![("SELECT 1;", 1)]);
        assert_eq!(spans(script), vec![";", ";", "SELECT 1;", ";", " "]);
        assert!(split(script).iter().filter(|s| s.is_blank()).count() == 4);
    }
}
