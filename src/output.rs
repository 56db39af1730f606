//! Output: the only place that writes to stdout/stderr. Human or JSON, chosen once.
//!
//! Data goes to stdout (human summaries, or exactly one JSON document); progress notes, warnings and
//! errors go to stderr in JSON mode so stdout stays parseable. A closed pipe is not an error: writes
//! ignore `EPIPE` instead of panicking.

use crate::apply::MigrationFailure;
use crate::cli::Format;
use crate::plan::State;
use crate::report::{DeployBody, ErrorReport, FailedRow, Report, StatusBody};
use crate::timestamp::prisma_display;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The output channel handed to commands.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Format,
    pub verbosity: Verbosity,
}

impl Out {
    /// A progress line ("Applying migration …"): stdout in human mode, silent in JSON mode.
    pub fn progress(&self, line: &str) {
        if self.format == Format::Human && self.verbosity != Verbosity::Quiet {
            write_line(&mut std::io::stdout(), line);
        }
    }

    /// Extra detail for `-v` (SQL, timings): stderr, so it never mixes with data.
    pub fn detail(&self, line: &str) {
        if self.verbosity == Verbosity::Verbose {
            write_line(&mut std::io::stderr(), line);
        }
    }

    /// A warning: always on stderr, in both formats.
    pub fn warn(&self, line: &str) {
        write_line(&mut std::io::stderr(), &format!("warning: {line}"));
    }

    /// Raw text for stderr (the guard's whole output goes there: stdout belongs to the app).
    pub fn stderr(&self, text: &str) {
        write_all(&mut std::io::stderr(), text);
    }

    /// Prints the final report.
    pub fn report<B: Serialize>(&self, report: &Report<B>, human: impl Fn(&Report<B>) -> Human) {
        match self.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(report)
                    .unwrap_or_else(|e| format!("{{\"ok\":false,\"error\":\"{e}\"}}"));
                write_line(&mut std::io::stdout(), &text);
                if let Some(error) = &report.error {
                    write_line(&mut std::io::stderr(), &format!("error: {}", error.message));
                }
            }
            Format::Human => {
                let rendered = human(report);
                if self.verbosity != Verbosity::Quiet && !rendered.stdout.is_empty() {
                    write_all(&mut std::io::stdout(), &rendered.stdout);
                }
                write_all(&mut std::io::stderr(), &rendered.stderr);
            }
        }
    }
}

/// A rendered human report, split by stream.
#[derive(Debug, Default)]
pub struct Human {
    pub stdout: String,
    pub stderr: String,
}

fn write_line(stream: &mut dyn Write, line: &str) {
    let _ = writeln!(stream, "{line}");
}

fn write_all(stream: &mut dyn Write, text: &str) {
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}

/// Human rendering of `deploy`.
pub fn human_deploy(report: &Report<DeployBody>) -> Human {
    let mut out = Human::default();
    let body = &report.body;
    if body.dry_run {
        render_plan(&mut out.stdout, report);
    } else if report.error.is_none() {
        if body.applied.is_empty() {
            out.stdout.push_str("No pending migrations to apply.\n");
        } else {
            out.stdout
                .push_str("\nThe following migration(s) have been applied:\n\n");
            for applied in &body.applied {
                let _ = writeln!(
                    out.stdout,
                    "  {} ({} ms)",
                    applied.name, applied.duration_ms
                );
            }
            out.stdout
                .push_str("\nAll migrations have been successfully applied.\n");
        }
    }
    if let Some(error) = &report.error {
        render_error(&mut out.stderr, error, &body.failed);
    }
    out
}

fn render_plan(out: &mut String, report: &Report<DeployBody>) {
    let plan = &report.body.plan;
    if plan.is_empty() {
        out.push_str("Dry run: no pending migrations to apply.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Dry run: {} migration(s) would be applied:",
        plan.len()
    );
    for p in plan {
        let _ = write!(
            out,
            "  {} ({}, {} statements",
            p.name,
            p.execution.as_str(),
            p.statements
        );
        if let Some(reason) = &p.reason {
            let _ = write!(out, ": {reason}");
        }
        out.push(')');
        if p.out_of_order {
            out.push_str(" [out of order]");
        }
        out.push('\n');
    }
    out.push_str("Nothing was written.\n");
}

/// Errors as Prisma prints them (code, blank line, text) so scripts grepping for codes keep working,
/// followed by our hint.
fn render_error(out: &mut String, error: &ErrorReport, failed: &[FailedRow]) {
    if let Some(failure) = &error.failure {
        render_failure(out, failure);
    } else if error.prisma_code == Some("P3009") {
        render_p3009(out, failed);
    } else {
        if let Some(code) = error.prisma_code {
            let _ = write!(out, "Error: {code}\n\n");
        }
        let _ = writeln!(out, "error: {}", error.message);
    }
    let _ = writeln!(out, "hint: {}", error.hint);
}

/// Prisma's P3009 text (prisma-compat §4.5), one line per failed row.
fn render_p3009(out: &mut String, failed: &[FailedRow]) {
    out.push_str("Error: P3009\n\nmigrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n");
    for row in failed {
        let _ = writeln!(
            out,
            "The `{}` migration started at {} failed",
            row.migration,
            prisma_display(&row.started_at)
        );
    }
    out.push('\n');
}

/// Prisma's P3018 layout, plus the failing statement and what happened to the database.
fn render_failure(out: &mut String, f: &MigrationFailure) {
    let _ = write!(
        out,
        "Error: P3018\n\nA migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\nMigration name: {}\n\nDatabase error code: {}\n\nDatabase error:\nERROR: {}\n",
        f.migration,
        f.sqlstate.as_deref().unwrap_or("none"),
        f.message
    );
    if let Some(detail) = &f.detail {
        let _ = writeln!(out, "DETAIL: {detail}");
    }
    if let Some(hint) = &f.hint {
        let _ = writeln!(out, "HINT: {hint}");
    }
    match &f.statement {
        Some(s) => {
            let _ = writeln!(
                out,
                "\nFailing statement {} of {} (line {}):",
                s.index, f.statements_total, s.line
            );
            for line in s.text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        None => out.push_str("\nThe failing statement could not be located.\n"),
    }
    out.push('\n');
    if f.rolled_back {
        out.push_str(
            "Nothing was written: the migration and its history row were rolled back together.\n",
        );
    } else {
        let _ = writeln!(
            out,
            "This migration ran {}: {} of {} statements were committed before the failure, and its row is marked failed.",
            f.execution.as_str(),
            f.statements_committed,
            f.statements_total
        );
    }
}

/// Human rendering of `status`.
pub fn human_status(report: &Report<StatusBody>) -> Human {
    let mut out = Human::default();
    if let Some(error) = &report.error {
        render_error(&mut out.stderr, error, &report.body.failed);
        return out;
    }
    let s = &mut out.stdout;
    for m in &report.migrations {
        let mark = if m.out_of_order {
            "  (out of order)"
        } else {
            ""
        };
        let _ = writeln!(s, "  {:<16} {}{mark}", m.state.as_str(), m.name);
    }
    if !report.migrations.is_empty() {
        s.push('\n');
    }
    let names = |state: State| -> Vec<&str> {
        report
            .migrations
            .iter()
            .filter(|m| m.state == state)
            .map(|m| m.name.as_str())
            .collect()
    };
    let failed = names(State::Failed);
    let pending = names(State::Pending);
    if !failed.is_empty() {
        let _ = writeln!(
            out.stderr,
            "Following migration(s) have failed:\n{}\n",
            failed.join("\n")
        );
        let _ = writeln!(
            out.stderr,
            "The failed migration(s) can be marked as rolled back or applied:\n  npx prisma migrate resolve --rolled-back \"{0}\"\n  npx prisma migrate resolve --applied \"{0}\"",
            failed[0]
        );
    } else if !pending.is_empty() {
        let _ = writeln!(
            s,
            "Following migration(s) have not yet been applied:\n{}\n\nTo apply migrations in production run prisma-release deploy.",
            pending.join("\n")
        );
    } else {
        s.push_str("Database schema is up to date!\n");
    }
    out
}
