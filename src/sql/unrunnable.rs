//! The pre-flight check: what in a script only psql could run, or no driver can send (a NUL byte, a
//! psql meta-command, `COPY ... FROM STDIN` / `TO STDOUT`). Deploy runs it on every pending migration
//! before anything is written, so such a script fails with its statement and line instead of
//! half-applying.

use super::blockers::Tokens;
use super::lexer::{Kind, Lexer};
use super::{statements_in, Dialect};

/// Something in a script this tool cannot send, found before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrunnable {
    /// 1-based index of the statement among the script's statements.
    pub statement: usize,
    /// 1-based line.
    pub line: usize,
    pub reason: String,
}

/// The first thing in `script` that only psql could run, or that no driver can send: a NUL byte,
/// a psql meta-command (`\connect`, `\i`, …; a backslash outside strings is never SQL), or
/// `COPY … FROM STDIN` / `COPY … TO STDOUT` (the data would have to travel with the statement; the
/// driver's simple query cannot answer the server's copy protocol).
pub fn unrunnable(script: &str, dialect: Dialect) -> Option<Unrunnable> {
    let statements = statements_in(script, dialect);
    let at = |offset: usize, reason: String| Unrunnable {
        statement: statements
            .iter()
            .take_while(|s| s.body.start <= offset)
            .count()
            .max(1),
        line: 1 + script.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason,
    };
    let nul = script.find('\0').map(|offset| {
        (
            offset,
            "it contains a NUL byte, which cannot be sent to PostgreSQL".to_string(),
        )
    });
    let meta_command = Lexer::with_dialect(script, dialect)
        .find(|t| t.kind == Kind::Other && script.get(t.range.clone()) == Some("\\"))
        .map(|token| {
            let command: String = script[token.range.start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            let reason = format!("`{command}` is a psql meta-command, not SQL");
            (token.range.start, reason)
        });
    let copy = statements.iter().find_map(|s| {
        copy_with_client_data(s.text(script)).map(|reason| (s.body.start, reason.to_string()))
    });
    [nul, meta_command, copy]
        .into_iter()
        .flatten()
        .min_by_key(|(offset, _)| *offset)
        .map(|(offset, reason)| at(offset, reason))
}

/// `COPY … FROM STDIN` or `COPY … TO STDOUT` (at the top level of the statement).
fn copy_with_client_data(text: &str) -> Option<&'static str> {
    let t = Tokens::new(text);
    if !t.is(0, "COPY") {
        return None;
    }
    let mut i = 1;
    while i < t.len() {
        if t.kind(i) == Some(Kind::OpenParen) {
            i = t.after_parens(i);
            continue;
        }
        if t.is(i, "FROM") && t.is(i + 1, "STDIN") {
            return Some(
                "COPY … FROM STDIN needs psql to send the data; put the rows in INSERT statements",
            );
        }
        if t.is(i, "TO") && t.is(i + 1, "STDOUT") {
            return Some(
                "COPY … TO STDOUT sends data to a client that has no use for it; remove it",
            );
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrunnable_statements_are_named() {
        let d = Dialect::default();
        let copy = "CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n\\.\n";
        let found = unrunnable(copy, d).unwrap();
        assert_eq!((found.statement, found.line), (2, 2), "{found:?}");
        assert!(found.reason.contains("FROM STDIN"), "{found:?}");
        let out = unrunnable("SELECT 1;\nCOPY (SELECT 1) TO STDOUT;", d).unwrap();
        assert_eq!((out.statement, out.line), (2, 2));
        assert!(out.reason.contains("TO STDOUT"));
        let meta = unrunnable("SELECT 1;\n\\connect other\nSELECT 2;", d).unwrap();
        assert_eq!(meta.line, 2);
        assert!(meta.reason.contains("`\\connect`"), "{meta:?}");
        let nul = unrunnable("SELECT 1;\nSELECT '\0';", d).unwrap();
        assert_eq!((nul.statement, nul.line), (2, 2));
        assert!(nul.reason.contains("NUL"));
        for fine in [
            "COPY t FROM '/tmp/x.csv';",
            "SELECT 'a\\b', E'\\n', $$ \\x $$; -- \\c in a comment",
            "COPY t TO PROGRAM 'cat';",
        ] {
            assert_eq!(unrunnable(fine, d), None, "{fine}");
        }
    }
}
