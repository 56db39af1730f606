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

use std::ops::Range;

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

// ---------------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------------

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
struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// `standard_conforming_strings = off`: a backslash escapes inside plain `'…'` strings too.
    backslash_in_plain_strings: bool,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self::with_dialect(text, Dialect::default())
    }

    fn with_dialect(text: &'a str, dialect: Dialect) -> Self {
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

// ---------------------------------------------------------------------------------------------------
// Splitter
// ---------------------------------------------------------------------------------------------------

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
struct Splitter<'a> {
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
    fn new(script: &'a str) -> Self {
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

    fn feed(&mut self, token: &Token) {
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

    fn finish(mut self) -> Vec<Statement> {
        let len = self.script.len();
        if self.span_start < len {
            let body = self.body.take();
            self.push(self.span_start..len, body);
        }
        self.pieces
    }
}

// ---------------------------------------------------------------------------------------------------
// Transaction blockers
// ---------------------------------------------------------------------------------------------------

const CREATE_INDEX_CONCURRENTLY: &str =
    "CREATE INDEX CONCURRENTLY cannot run inside a transaction block";
const DROP_INDEX_CONCURRENTLY: &str =
    "DROP INDEX CONCURRENTLY cannot run inside a transaction block";
const REINDEX_CONCURRENTLY: &str = "REINDEX CONCURRENTLY cannot run inside a transaction block";
const REINDEX_MANY: &str =
    "REINDEX SCHEMA, DATABASE or SYSTEM cannot run inside a transaction block";
const CLUSTER_ALL: &str = "CLUSTER without a table name cannot run inside a transaction block";

/// The significant tokens of one statement, with keyword helpers.
struct Tokens<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let tokens = Lexer::new(text)
            .filter(|t| t.kind.is_significant())
            .take_while(|t| t.kind != Kind::Semicolon)
            .collect();
        Tokens { text, tokens }
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn kind(&self, i: usize) -> Option<Kind> {
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

    fn is(&self, i: usize, keyword: &str) -> bool {
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
    fn after_parens(&self, i: usize) -> usize {
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

    use super::*;
    use proptest::prelude::*;

    /// (text, line) of every non-blank statement.
    fn texts(script: &str) -> Vec<(&str, usize)> {
        statements(script)
            .iter()
            .map(|s| (s.text(script), s.line))
            .collect()
    }

    /// Raw span texts of every piece.
    fn spans(script: &str) -> Vec<&str> {
        split(script)
            .iter()
            .map(|s| &script[s.span.clone()])
            .collect()
    }

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
