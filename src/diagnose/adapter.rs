//! A model of how Prisma's driver adapter runs a migration (pure), to locate its failures.
//!
//! `@prisma/adapter-pg` 6.x `executeScript` does `script.split(";").map(s => s.trim()).filter(s =>
//! s.length > 0)` and sends the fragments one by one in autocommit: each one that succeeds is committed
//! on its own, the first that fails stops the run. A `;` inside a `$$` body, a comment, a string literal
//! or a quoted identifier therefore cuts a statement in two, and the log quotes the fragment PostgreSQL
//! choked on (`unterminated dollar-quoted string at or near "$$ BEGIN …"`). Here we cut the script the
//! same way, map every fragment to the statement of our splitter ([`crate::sql`]) it came from, say why
//! a cut happened, and find the fragment a logged error can only have come from.

use crate::sql::{self, Kind};
use serde::Serialize;
use std::ops::Range;

/// Why the adapter cut at a `;` that does not end a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CutReason {
    DollarQuote,
    LineComment,
    BlockComment,
    StringLiteral,
    QuotedIdentifier,
    /// Inside parentheses or a `BEGIN ATOMIC … END` body.
    Nesting,
}

impl CutReason {
    /// In words, for explanations.
    pub fn describe(self) -> &'static str {
        match self {
            CutReason::DollarQuote => "a `;` inside a `$$` body",
            CutReason::LineComment => "a `;` inside a `--` comment",
            CutReason::BlockComment => "a `;` inside a `/* */` comment",
            CutReason::StringLiteral => "a `;` inside a string literal",
            CutReason::QuotedIdentifier => "a `;` inside a quoted identifier",
            CutReason::Nesting => "a `;` inside parentheses or a BEGIN ATOMIC body",
        }
    }
}

/// One fragment the adapter sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// 1-based position among the fragments sent.
    pub number: usize,
    /// The trimmed text's byte range in the script.
    pub range: Range<usize>,
    /// 0-based index of the statement (of [`sql::statements`]) whose span holds it; `None` for text
    /// after the last statement.
    pub statement: Option<usize>,
    /// Holds something besides whitespace and comments (a comment-only fragment is an empty query).
    pub significant: bool,
    /// Why the `;` that ends this fragment is not a statement end (`None`: it is one, or the end).
    pub cut_after: Option<CutReason>,
}

/// How the adapter runs a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterRun {
    pub fragments: Vec<Fragment>,
    /// Per statement: the adapter sent it as written ([`AdapterRun::runs_intact`]).
    intact: Vec<bool>,
}

/// Where a logged adapter error comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentMatch {
    /// Index into [`AdapterRun::fragments`].
    pub fragment: usize,
    /// The log allows no other fragment.
    pub exact: bool,
}

impl AdapterRun {
    /// Cuts `script` exactly as `script.split(";")` + trim + filter does.
    pub fn model(script: &str) -> AdapterRun {
        let statements = sql::statements(script);
        let cuts = cut_reasons(script);
        let mut fragments = Vec::new();
        let mut start = 0;
        for end in script
            .match_indices(';')
            .map(|(i, _)| i)
            .chain([script.len()])
        {
            let range = trimmed(script, start..end);
            if !range.is_empty() {
                let text = &script[range.clone()];
                fragments.push(Fragment {
                    number: fragments.len() + 1,
                    statement: statements
                        .iter()
                        .position(|s| s.span.contains(&range.start)),
                    significant: sql::tokens(text).any(|t| t.kind.is_significant()),
                    cut_after: cuts.iter().find(|(at, _)| *at == end).map(|(_, r)| *r),
                    range,
                });
            }
            start = end + 1;
        }
        let intact = (0..statements.len())
            .map(|i| sent_as_written(script, &statements[i], &fragments, i))
            .collect();
        AdapterRun { fragments, intact }
    }

    /// The fragment's text as sent.
    pub fn text<'a>(&self, script: &'a str, fragment: usize) -> &'a str {
        self.fragments
            .get(fragment)
            .and_then(|f| script.get(f.range.clone()))
            .unwrap_or("")
    }

    /// Significant fragments of statement `index`, in order.
    pub fn fragments_of(&self, index: usize) -> Vec<&Fragment> {
        self.fragments
            .iter()
            .filter(|f| f.significant && f.statement == Some(index))
            .collect()
    }

    /// The adapter ran statement `index` as written: one significant fragment holding its whole body
    /// and nothing else but comments.
    pub fn runs_intact(&self, index: usize) -> bool {
        self.intact.get(index).copied().unwrap_or(false)
    }

    /// The first cut inside statement `index` (its span, leading comments included).
    pub fn cut_in(&self, index: usize) -> Option<CutReason> {
        self.fragments
            .iter()
            .filter(|f| f.statement == Some(index))
            .find_map(|f| f.cut_after)
    }

    /// The fragment a logged error message can only have come from (see `candidates`).
    pub fn locate(&self, script: &str, message: &str) -> Option<FragmentMatch> {
        let candidates = self.candidates(script, message);
        let first = *candidates.first()?;
        Some(FragmentMatch {
            fragment: first,
            exact: candidates.len() == 1,
        })
    }

    /// Fragments consistent with the message: holding the quoted `at or near "…"` text; for `at end of
    /// input`, a fragment that ends at a cut; otherwise holding the object the message names. For a
    /// syntax error, fragments of cut statements are preferred: a statement sent whole is valid SQL.
    fn candidates(&self, script: &str, message: &str) -> Vec<usize> {
        let significant = self
            .fragments
            .iter()
            .enumerate()
            .filter(|(_, f)| f.significant);
        let matching: Vec<usize> = if let Some(quoted) = near_text(message) {
            significant
                .filter(|(i, _)| self.text(script, *i).contains(quoted))
                .map(|(i, _)| i)
                .collect()
        } else if message.contains("at end of input") {
            // The text stops mid-statement: the fragment ends at a cut.
            significant
                .filter(|(_, f)| f.cut_after.is_some())
                .map(|(i, _)| i)
                .collect()
        } else if let Some(object) = named_object(message) {
            significant
                .filter(|(i, _)| mentions(self.text(script, *i), object))
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        let syntax = message.contains("syntax error") || message.starts_with("unterminated");
        let cut: Vec<usize> = matching
            .iter()
            .copied()
            .filter(|i| {
                let statement = self.fragments[*i].statement;
                statement.is_some_and(|s| !self.runs_intact(s))
            })
            .collect();
        if syntax && !cut.is_empty() {
            cut
        } else {
            matching
        }
    }
}

fn sent_as_written(
    script: &str,
    statement: &sql::Statement,
    fragments: &[Fragment],
    index: usize,
) -> bool {
    let body_end = statement.body.end - usize::from(script[statement.body.clone()].ends_with(';'));
    let mut significant = fragments
        .iter()
        .filter(|f| f.significant && f.statement == Some(index));
    match (significant.next(), significant.next()) {
        (Some(only), None) => {
            only.range.start <= statement.body.start
                && only.range.end >= body_end
                && !sql::tokens(&script[only.range.start..statement.body.start])
                    .any(|t| t.kind.is_significant())
        }
        _ => false,
    }
}

/// `text` without the whitespace JavaScript's `trim()` removes (Unicode spaces and the BOM).
fn trimmed(script: &str, range: Range<usize>) -> Range<usize> {
    let text = &script[range.clone()];
    let is_space = |c: char| c.is_whitespace() || c == '\u{feff}';
    let start = range.start + (text.len() - text.trim_start_matches(is_space).len());
    let end = range.end - (text.len() - text.trim_end_matches(is_space).len());
    start..end.max(start)
}

/// Every `;` that our lexer does not read as a statement end, with the reason.
fn cut_reasons(script: &str) -> Vec<(usize, CutReason)> {
    let ends: Vec<usize> = sql::split(script)
        .iter()
        .filter(|p| script[p.body.clone()].ends_with(';'))
        .map(|p| p.body.end - 1)
        .collect();
    let mut cuts = Vec::new();
    for token in sql::tokens(script) {
        let raw = &script[token.range.clone()];
        let reason = match token.kind {
            Kind::Comment if raw.starts_with("--") => CutReason::LineComment,
            Kind::Comment => CutReason::BlockComment,
            Kind::Str => CutReason::StringLiteral,
            Kind::DollarStr => CutReason::DollarQuote,
            Kind::QuotedIdent => CutReason::QuotedIdentifier,
            Kind::Semicolon if !ends.contains(&token.range.start) => CutReason::Nesting,
            _ => continue,
        };
        cuts.extend(
            raw.match_indices(';')
                .map(|(i, _)| (token.range.start + i, reason)),
        );
    }
    cuts
}

/// The text PostgreSQL quotes in `… at or near "X"` (X may hold quotes and newlines).
pub fn near_text(message: &str) -> Option<&str> {
    let start = message.find("at or near \"")? + "at or near \"".len();
    let end = message.rfind('"')?;
    (end > start).then(|| &message[start..end])
}

/// The object an error names: `relation "X" does not exist`, or the adapter's `No such table: X`.
pub fn named_object(message: &str) -> Option<&str> {
    for prefix in ["No such table: ", "No such column: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let name = rest.lines().next()?.trim();
            return Some(name.rsplit('.').next().unwrap_or(name));
        }
    }
    let start = message.find('"')? + 1;
    let end = start + message[start..].find('"')?;
    Some(&message[start..end])
}

/// `text` names `object` as a quoted identifier or as a bare word.
pub fn mentions(text: &str, object: &str) -> bool {
    text.contains(&format!("\"{object}\""))
        || text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == object)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTION: &str = "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN \"updatedAt\" TIMESTAMP(3);\n\n\
-- CreateFunction\nCREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.\"updatedAt\" = now();\n  \
RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\n-- CreateTrigger\nCREATE TRIGGER \"t\" BEFORE UPDATE ON \"User\" \
FOR EACH ROW EXECUTE FUNCTION touch();\n";

    #[test]
    fn a_dollar_body_is_cut_and_the_logged_fragment_is_found() {
        let run = AdapterRun::model(FUNCTION);
        let numbers: Vec<(usize, Option<usize>, Option<CutReason>)> = run
            .fragments
            .iter()
            .map(|f| (f.number, f.statement, f.cut_after))
            .collect();
        assert_eq!(
            numbers,
            vec![
                (1, Some(0), None),
                (2, Some(1), Some(CutReason::DollarQuote)),
                (3, Some(1), Some(CutReason::DollarQuote)),
                (4, Some(1), Some(CutReason::DollarQuote)),
                (5, Some(1), None),
                (6, Some(2), None),
            ]
        );
        assert!(run.runs_intact(0) && !run.runs_intact(1) && run.runs_intact(2));
        let message = "unterminated dollar-quoted string at or near \"$$\nBEGIN\n  NEW.\"updatedAt\" = now()\"";
        let found = run.locate(FUNCTION, message).unwrap();
        assert_eq!((found.fragment, found.exact), (1, true));
        assert!(run
            .text(FUNCTION, 1)
            .starts_with("-- CreateFunction\nCREATE FUNCTION"));
    }

    #[test]
    fn a_comment_before_a_statement_cuts_that_statement() {
        let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\n\n-- note: this; that\nALTER TABLE \"User\" ADD COLUMN \"b\" INTEGER;\n";
        let run = AdapterRun::model(script);
        assert_eq!(run.fragments.len(), 3);
        assert!(
            !run.fragments[1].significant,
            "`-- note: this` is an empty query"
        );
        assert_eq!(run.cut_in(1), Some(CutReason::LineComment));
        let found = run
            .locate(script, "syntax error at or near \"that\"")
            .unwrap();
        assert_eq!((found.fragment, found.exact), (2, true));
        assert_eq!(run.fragments[2].statement, Some(1));
    }

    #[test]
    fn strings_end_of_input_and_objects() {
        let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nINSERT INTO \"User\" (\"email\") VALUES ('x;y');\n";
        let run = AdapterRun::model(script);
        assert_eq!(run.cut_in(1), Some(CutReason::StringLiteral));
        let found = run
            .locate(script, "unterminated quoted string at or near \"'x\"")
            .unwrap();
        assert_eq!((found.fragment, found.exact), (1, true));

        let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER, -- first; second\n  ADD COLUMN \"b\" INTEGER;\n";
        let run = AdapterRun::model(script);
        let found = run.locate(script, "syntax error at end of input").unwrap();
        assert_eq!((found.fragment, found.exact), (0, true));

        let script = "ALTER TABLE \"User\" ADD COLUMN \"a\" INTEGER;\nALTER TABLE \"Nope\" ADD COLUMN \"b\" INTEGER;\n";
        let run = AdapterRun::model(script);
        let found = run.locate(script, "No such table: Nope").unwrap();
        assert_eq!((found.fragment, found.exact), (1, true));
        assert_eq!(run.locate(script, "division by zero"), None);
    }

    #[test]
    fn several_candidates_are_not_exact() {
        let script = "SELECT 'a;b';\nSELECT 'a;c';\n";
        let run = AdapterRun::model(script);
        let found = run
            .locate(script, "unterminated quoted string at or near \"'a\"")
            .unwrap();
        assert_eq!((found.fragment, found.exact), (0, false));
    }
}
