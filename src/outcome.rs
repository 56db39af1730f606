//! What applying one migration produced, as plain data: how it ran ([`Execution`]) and, when it
//! failed, where and why ([`MigrationFailure`]). A leaf module (no I/O, no other crate module):
//! the error enum, the JSON report, the renderer and the log parser all carry these values without
//! depending on the apply engine, which needs a database connection.

use serde::Serialize;

/// How one migration is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    Transaction,
    StatementByStatement,
}

impl Execution {
    pub fn as_str(self) -> &'static str {
        match self {
            Execution::Transaction => "transaction",
            Execution::StatementByStatement => "statement by statement",
        }
    }
}

/// The failing statement of a script.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailingStatement {
    /// 1-based index among the script's statements.
    pub index: usize,
    /// 1-based line in `migration.sql` where the statement starts.
    pub line: usize,
    pub text: String,
}

/// A migration that failed during this run (P3018).
#[derive(Debug, Clone, Serialize)]
pub struct MigrationFailure {
    pub migration: String,
    pub execution: Execution,
    pub sqlstate: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position of the error inside the failing statement, when the server gave one.
    pub position: Option<usize>,
    pub statement: Option<FailingStatement>,
    pub statements_total: usize,
    /// Statements that were committed before the failure (always 0 for a transaction).
    pub statements_committed: usize,
    /// True when nothing of the migration was written (transactional path).
    pub rolled_back: bool,
    /// An INVALID index the failed `CREATE INDEX CONCURRENTLY` left behind, by name: not counted as
    /// a committed statement, yet it is in the database. Said in `hint` and `logs`, not a JSON field.
    #[serde(skip)]
    pub invalid_index: Option<String>,
}

impl MigrationFailure {
    /// One line for error summaries.
    pub fn summary(&self) -> String {
        let mut text = match &self.sqlstate {
            Some(code) => format!("{} ({code})", self.message),
            None => self.message.clone(),
        };
        if let Some(s) = &self.statement {
            text.push_str(&format!(
                " at statement {} of {} (line {})",
                s.index, self.statements_total, s.line
            ));
        }
        text
    }

    /// What to do next.
    pub fn hint(&self) -> String {
        if let Some(cure) = self.transaction_cure() {
            cure.into()
        } else if self.rolled_back {
            "nothing was written: fix migration.sql and deploy again".into()
        } else {
            format!(
                "{} of {} statements were committed{} and the row is marked failed: inspect the database, \
                 then npx prisma migrate resolve --rolled-back \"{}\" (or --applied) before deploying again",
                self.statements_committed,
                self.statements_total,
                self.left_behind(),
                self.migration
            )
        }
    }

    /// For errors that only happen because the script ran inside a transaction (55P04 enum value
    /// used before commit, 25001 statement not allowed in a transaction block, 2D000 COMMIT inside
    /// a transaction-wrapped DO/procedure): how to run it outside one.
    fn transaction_cure(&self) -> Option<&'static str> {
        if !self.rolled_back || self.execution != Execution::Transaction {
            return None;
        }
        match self.sqlstate.as_deref()? {
            "55P04" | "25001" | "2D000" => Some(
                "nothing was written: this script cannot run inside one transaction — make \
                 `-- prisma-release: no-transaction` its first line (the checksum changes: only before it \
                 is applied anywhere), or deploy with --tx-mode never (statement by statement, like Prisma 7.4+)",
            ),
            _ => None,
        }
    }

    /// `, and … left an INVALID index …` when the failure left one, else "".
    fn left_behind(&self) -> String {
        match &self.invalid_index {
            Some(index) => format!(
                ", and the failed CREATE INDEX CONCURRENTLY left the INVALID index `{index}` behind \
                 (drop it with DROP INDEX CONCURRENTLY before retrying)"
            ),
            None => String::new(),
        }
    }

    /// The `logs` text stored for a failed non-transactional migration. It follows Prisma's P3018
    /// layout so one parser reads both, then says which statement failed and what was committed.
    pub fn logs(&self) -> String {
        let mut error = format!("ERROR: {}", self.message);
        if let Some(d) = &self.detail {
            error.push_str(&format!("\nDETAIL: {d}"));
        }
        if let Some(h) = &self.hint {
            error.push_str(&format!("\nHINT: {h}"));
        }
        let mut text = format!(
            "A migration failed to apply. New migrations cannot be applied before the error is recovered from. \
             Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n\
             Migration name: {}\n\nDatabase error code: {}\n\nDatabase error:\n{error}\n",
            self.migration,
            self.sqlstate.as_deref().unwrap_or("none"),
        );
        text.push_str(&format!(
            "\nprisma-release: non-transactional migration; {} of {} statements were committed before the failure.\n",
            self.statements_committed, self.statements_total
        ));
        if let Some(index) = &self.invalid_index {
            text.push_str(&format!(
                "The failed CREATE INDEX CONCURRENTLY left the INVALID index `{index}` behind; drop it \
                 (DROP INDEX CONCURRENTLY) before retrying.\n"
            ));
        }
        if let Some(s) = &self.statement {
            text.push_str(&format!(
                "Failing statement {} of {} (line {}):\n{}\n",
                s.index, self.statements_total, s.line, s.text
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(sqlstate: &str, execution: Execution, rolled_back: bool) -> MigrationFailure {
        MigrationFailure {
            migration: "m".into(),
            execution,
            sqlstate: Some(sqlstate.into()),
            message: "x".into(),
            detail: None,
            hint: None,
            position: None,
            statement: None,
            statements_total: 2,
            statements_committed: 0,
            rolled_back,
            invalid_index: None,
        }
    }

    #[test]
    fn errors_of_the_transaction_wrapper_name_the_cure() {
        for code in ["55P04", "25001", "2D000"] {
            let hint = failure(code, Execution::Transaction, true).hint();
            assert!(
                hint.contains("-- prisma-release: no-transaction")
                    && hint.contains("--tx-mode never")
                    && !hint.contains("  "),
                "{code}: {hint}"
            );
        }
        let other = failure("42P01", Execution::Transaction, true).hint();
        assert!(!other.contains("no-transaction"), "{other}");
        let outside = failure("25001", Execution::StatementByStatement, false).hint();
        assert!(outside.contains("resolve --rolled-back"), "{outside}");
    }

    #[test]
    fn logs_follow_the_p3018_layout() {
        let failure = MigrationFailure {
            migration: "20240101_x".into(),
            execution: Execution::StatementByStatement,
            sqlstate: Some("42P01".into()),
            message: "relation \"a\" does not exist".into(),
            detail: None,
            hint: Some("h".into()),
            position: None,
            statement: Some(FailingStatement {
                index: 2,
                line: 4,
                text: "DROP TABLE a;".into(),
            }),
            statements_total: 3,
            statements_committed: 1,
            rolled_back: false,
            invalid_index: None,
        };
        let logs = failure.logs();
        assert!(logs.contains("Migration name: 20240101_x\n\nDatabase error code: 42P01\n\nDatabase error:\nERROR: relation \"a\" does not exist\nHINT: h\n"));
        assert!(logs.contains("1 of 3 statements were committed"));
        assert!(logs.contains("Failing statement 2 of 3 (line 4):\nDROP TABLE a;"));
    }
}
