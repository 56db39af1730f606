//! Enum values added and used in the same migration. PostgreSQL refuses to use a value added by
//! `ALTER TYPE … ADD VALUE` before the adding transaction commits (55P04, "unsafe use of new value"),
//! so such a script cannot run as one transaction. Prisma ≥ 7.4 runs each statement on its own and
//! deploys it; `--tx-mode auto` detects it here and runs the migration statement by statement too,
//! with a notice, instead of failing.
//!
//! Detection is textual and errs on the side of leaving the transaction: a later statement that
//! contains the added value as a string literal (`'x'`) counts as a use.

use crate::sql;

/// The reason to leave the transaction when a statement uses an enum value added by an earlier one.
pub fn added_then_used(script: &str) -> Option<String> {
    let statements = sql::statements(script);
    let texts: Vec<&str> = statements.iter().map(|s| s.text(script)).collect();
    for (i, text) in texts.iter().enumerate() {
        let Some(value) = added_value(text) else {
            continue;
        };
        let literal = format!("'{}'", value.replace('\'', "''"));
        if let Some(offset) = texts[i + 1..].iter().position(|t| t.contains(&literal)) {
            return Some(format!(
                "statement {} adds the enum value {literal} and statement {} uses it: PostgreSQL only allows that after a commit (55P04)",
                i + 1,
                i + 2 + offset
            ));
        }
    }
    None
}

/// The value of `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'value' …`.
fn added_value(text: &str) -> Option<String> {
    if sql::leading_words(text, 2) != ["ALTER", "TYPE"] {
        return None;
    }
    let upper = text.to_ascii_uppercase();
    let after = upper.find("ADD VALUE")? + "ADD VALUE".len();
    let rest = &text[after..];
    let start = rest.find('\'')?;
    let mut value = String::new();
    let mut chars = rest[start + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return Some(value);
            }
        }
        value.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_add_then_use() {
        let script = "ALTER TYPE \"Role\" ADD VALUE 'GUEST';\nUPDATE \"User\" SET role = 'GUEST' WHERE id = 1;\n";
        let reason = added_then_used(script).unwrap();
        assert!(
            reason.contains("'GUEST'") && reason.contains("statement 2"),
            "{reason}"
        );
        let script =
            "alter type mood add value if not exists 'it''s' before 'sad';\nselect 'it''s'::mood;";
        assert!(added_then_used(script).is_some());
    }

    #[test]
    fn leaves_other_scripts_alone() {
        for script in [
            "ALTER TYPE \"Role\" ADD VALUE 'GUEST';",
            "ALTER TYPE \"Role\" ADD VALUE 'GUEST';\nCREATE TABLE t (id int);",
            "UPDATE t SET r = 'GUEST';\nALTER TYPE \"Role\" ADD VALUE 'GUEST';",
            "ALTER TYPE \"Role\" RENAME VALUE 'A' TO 'B';\nSELECT 'B';",
            "-- ALTER TYPE x ADD VALUE 'A';\nSELECT 'A';",
        ] {
            assert_eq!(added_then_used(script), None, "{script}");
        }
    }
}
