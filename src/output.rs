//! Output: the only place that writes to stdout/stderr. Human or JSON, chosen once.
//!
//! Data goes to stdout (human summaries, or exactly one JSON document); progress notes, warnings and
//! errors go to stderr in JSON mode so stdout stays parseable. A closed pipe is not an error: writes
//! ignore `EPIPE` instead of panicking.

use crate::diagnose::Diagnosis;
use crate::duration;
use crate::outcome::MigrationFailure;
use crate::plan::{Refusal, State};
use crate::report::{
    DeployBody, DiagnoseBody, ErrorReport, GuardFindings, GuardOutcome, GuardStop, Report,
    ResolveAction, ResolveBody, StatusBody,
};
use serde::Serialize;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

/// Output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

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

/// Renders what clap refused or answered (help, version, a usage error) and returns the exit code:
/// 0 for help and version, 2 for a usage error. In JSON mode a usage error is one JSON document on
/// stdout (there is no command report), so scripts reading `--json` output always get JSON; clap's
/// text goes to stderr either way.
pub fn command_line_error(error: &clap::Error, format: Format) -> u8 {
    if !error.use_stderr() {
        let _ = error.print();
        return crate::error::exit::OK;
    }
    if format == Format::Json {
        usage_error_json(&error.kind().to_string(), &error.to_string());
    } else {
        let _ = error.print();
    }
    crate::error::exit::USAGE
}

/// A usage error as the one JSON document of a `--json` run, plus clap's text on stderr.
fn usage_error_json(kind: &str, text: &str) {
    let message = text.lines().find(|l| !l.trim().is_empty()).unwrap_or(kind);
    let document = serde_json::json!({
        "schema_version": crate::report::SCHEMA_VERSION,
        "command": null,
        "ok": false,
        "exit_code": crate::error::exit::USAGE,
        "error": {
            "id": "usage/invalid",
            "message": message.trim_start_matches("error: "),
            "hint": "run prisma-release --help",
            "prisma_code": null,
            "failure": null,
        },
    });
    write_line(&mut std::io::stdout(), &document.to_string());
    write_all(&mut std::io::stderr(), text);
}

/// A rendered human report, split by stream.
#[derive(Debug, Default)]
pub struct Human {
    pub stdout: String,
    pub stderr: String,
}

fn write_line(stream: &mut dyn Write, line: &str) {
    let _live = end_live_line();
    let _ = writeln!(stream, "{line}");
    let _ = stream.flush();
}

fn write_all(stream: &mut dyn Write, text: &str) {
    let _live = end_live_line();
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}

/// Whether the live progress line ([`crate::progress`], on a terminal) is shown, unfinished. Any
/// other output first erases it (the next update draws it again), or a warning written by the
/// apply thread would be glued to the end of the monitor's line. The lock is held while writing.
static LIVE_LINE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

fn end_live_line() -> std::sync::MutexGuard<'static, bool> {
    let mut shown = LIVE_LINE.lock().unwrap_or_else(|e| e.into_inner());
    if *shown {
        let _ = std::io::stderr().write_all(b"\r\x1b[2K");
        *shown = false;
    }
    shown
}

/// Shows `line` as the live line on stderr (a terminal), in place of the one shown before.
pub fn show_live_line(line: &str) {
    let mut shown = end_live_line();
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r\x1b[2K{line}");
    let _ = stderr.flush();
    *shown = true;
}

/// Erases the live line, if one is shown.
pub fn clear_live_line() {
    let _ = std::io::stderr().flush();
    drop(end_live_line());
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
    for r in &report.body.resolved {
        let how = match r.action {
            crate::history::ResolveAs::RolledBack => "marking it rolled back",
            crate::history::ResolveAs::Delete => "deleting its row",
            crate::history::ResolveAs::Completed => "running the statements that never ran",
        };
        let _ = writeln!(
            out,
            "Dry run: would resolve failed migration `{}` ({}) by {how}",
            r.migration,
            r.verdict.as_str()
        );
    }
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
            "  {} ({}, {} statement{}",
            p.name,
            p.execution.as_str(),
            p.statements,
            if p.statements == 1 { "" } else { "s" }
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
fn render_error(out: &mut String, error: &ErrorReport, failed: &[Diagnosis]) {
    if let Some(failure) = &error.failure {
        render_failure(out, failure);
        if error.id != "migration/failed" {
            // e.g. migration/lock_timeout: the message names the blockers.
            let _ = writeln!(out, "error: {}", error.message);
        }
    } else if error.prisma_code == Some("P3009") {
        render_failed(out, failed);
    } else if error.id == "resolve/complete_refused" && !failed.is_empty() {
        render_failed(out, failed);
        let _ = writeln!(out, "error: {}", error.message);
    } else {
        if let Some(code) = error.prisma_code {
            let _ = write!(out, "Error: {code}\n\n");
        }
        let _ = writeln!(out, "error: {}", error.message);
    }
    let _ = writeln!(out, "hint: {}", error.hint);
}

/// Prisma's P3009 text (prisma-compat §4.5, one line per failed row, so scripts grepping for it keep
/// working), then the diagnosis of each row. The guard prints the same on stderr.
pub fn render_failed(out: &mut String, failed: &[Diagnosis]) {
    render_p3009_lines(
        out,
        failed
            .iter()
            .map(|d| (d.migration.as_str(), d.started_at.prisma_display())),
    );
    for d in failed {
        out.push('\n');
        render_diagnosis(out, d);
    }
    out.push('\n');
}

/// Prisma's P3009 text: the header and one line per failed row (name, `started_at` as Prisma shows it).
fn render_p3009_lines<'a>(out: &mut String, rows: impl Iterator<Item = (&'a str, String)>) {
    out.push_str("Error: P3009\n\nmigrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n");
    for (migration, started_at) in rows {
        let _ = writeln!(
            out,
            "The `{migration}` migration started at {started_at} failed"
        );
    }
}

/// The human form of one diagnosis.
pub fn render_diagnosis(out: &mut String, d: &Diagnosis) {
    let _ = writeln!(
        out,
        "Diagnosis of `{}` (row {}, started {})",
        d.migration,
        d.id,
        d.started_at.prisma_display()
    );
    let e = &d.error;
    match (&e.sqlstate, &e.message) {
        (None, None) => out.push_str("  error:       none recorded\n"),
        (code, message) => {
            let code = code.as_deref().unwrap_or("no SQLSTATE in the log");
            let condition = e.condition.map(|c| format!(" {c}")).unwrap_or_default();
            let message = message.as_deref().unwrap_or("(no message)");
            let mut lines = message.lines();
            let _ = writeln!(
                out,
                "  error:       {code}{condition}: {}",
                lines.next().unwrap_or("")
            );
            for line in lines {
                let _ = writeln!(out, "               {line}");
            }
        }
    }
    if let Some(detail) = &e.detail {
        let _ = writeln!(out, "  detail:      {detail}");
    }
    if let Some(hint) = &e.hint {
        let _ = writeln!(out, "  hint:        {hint}");
    }
    let file = match (d.local_file.present, d.local_file.changed_since_failure) {
        (false, _) => "missing locally".to_string(),
        (true, Some(true)) => "present, edited since the failure".to_string(),
        (true, _) => "present, unchanged since the failure".to_string(),
    };
    let _ = writeln!(
        out,
        "  local file:  {file}; {} statement{}",
        d.statements,
        if d.statements == 1 { "" } else { "s" }
    );
    match &d.failing_statement {
        Some(f) => {
            let exact = if f.exact { "" } else { " (best guess)" };
            let fragment = f
                .fragment
                .as_ref()
                .map(|g| {
                    format!(
                        ", in fragment {} of the {} Prisma's adapter sent",
                        g.number, g.of
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  failed at:   statement {} (line {}){fragment}{exact}:",
                f.statement.index, f.statement.line
            );
            for line in f.statement.text.lines() {
                let _ = writeln!(out, "                {line}");
            }
        }
        None => {
            let why = d.not_located_because.as_deref().unwrap_or("no evidence");
            let _ = writeln!(out, "  failed at:   not located ({why})");
        }
    }
    if !d.effects.is_empty() {
        out.push_str("  effects in the database:\n");
        for effect in &d.effects {
            let mut state = match effect.present {
                Some(true) => "present",
                Some(false) => "absent",
                None => "unknown",
            }
            .to_string();
            match effect.ran {
                Some(true) => state.push_str(", committed before the failure"),
                Some(false) => state.push_str(", never ran"),
                None => {}
            }
            if effect.idempotent {
                state.push_str(", idempotent");
            }
            let _ = writeln!(
                out,
                "    {:>3}. line {:<4} {:<20} {:<32} {state}",
                effect.index,
                effect.line,
                effect.kind.as_str(),
                effect.object.as_deref().unwrap_or("")
            );
        }
    }
    let _ = writeln!(out, "  verdict:     {}", d.verdict.as_str());
    let _ = writeln!(out, "  why:         {}", d.explanation);
    if d.complete.possible {
        let _ = writeln!(
            out,
            "  complete:    possible: prisma-release deploy --resolve-failed complete runs {}",
            d.complete.remaining_text()
        );
    } else {
        let _ = writeln!(
            out,
            "  complete:    refused: {}",
            d.complete.refused_because.join("; ")
        );
    }
    out.push_str("  next steps:\n");
    render_steps(out, &d.next_steps);
    if d.complete.possible && !d.revert_steps.is_empty() {
        out.push_str("  or, to undo it instead:\n");
        render_steps(out, &d.revert_steps);
    } else if !d.complete.possible && !d.revert_steps.is_empty() {
        let _ = writeln!(
            out,
            "  or, to finish it by hand instead: run the statements that never ran, then\n    \
             prisma-release resolve --applied \"{0}\"   (or npx prisma migrate resolve --applied \"{0}\")",
            d.migration
        );
    }
}

fn render_steps(out: &mut String, steps: &[crate::diagnose::NextStep]) {
    for step in steps {
        let _ = writeln!(out, "    {}\n        # {}", step.command, step.why);
    }
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

/// Human rendering of `diagnose`: diagnoses on stdout (they are the data asked for).
pub fn human_diagnose(report: &Report<DiagnoseBody>) -> Human {
    let mut out = Human::default();
    if let Some(error) = &report.error {
        render_error(&mut out.stderr, error, &report.body.failed);
        return out;
    }
    if report.body.failed.is_empty() {
        out.stdout.push_str("No failed migrations.\n");
    }
    for (i, d) in report.body.failed.iter().enumerate() {
        if i > 0 {
            out.stdout.push('\n');
        }
        render_diagnosis(&mut out.stdout, d);
    }
    out
}

/// Human rendering of `resolve`, with Prisma's success lines.
pub fn human_resolve(report: &Report<ResolveBody>) -> Human {
    let mut out = Human::default();
    if let Some(error) = &report.error {
        render_error(&mut out.stderr, error, &[]);
        return out;
    }
    let name = report.body.migration.as_deref().unwrap_or("");
    let _ = match report.body.action {
        Some(ResolveAction::Applied) => writeln!(out.stdout, "Migration {name} marked as applied."),
        Some(ResolveAction::Completed) => writeln!(
            out.stdout,
            "Migration {name} completed: the statements that never ran were applied and it is recorded as applied."
        ),
        Some(ResolveAction::Deleted) => writeln!(
            out.stdout,
            "Deleted {} failed row{} of migration {name}.",
            report.body.rows.len(),
            if report.body.rows.len() == 1 { "" } else { "s" }
        ),
        _ => writeln!(out.stdout, "Migration {name} marked as rolled back."),
    };
    out
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
    } else if report.exit_code == crate::error::exit::DRIFT {
        let _ = writeln!(
            out.stderr,
            "Drift (--strict): these applied migrations were modified after they were applied:\n{}",
            names(State::Modified).join("\n")
        );
    } else {
        s.push_str("Database schema is up to date!\n");
    }
    out
}

/// The guard's note that it waits (`--wait`).
pub fn guard_waiting(findings: &GuardFindings, wait: Duration) -> String {
    format!(
        "prisma-release guard: {}; waiting up to {} (--wait)\n",
        refusal_cause(findings),
        duration::display(wait)
    )
}

fn refusal_cause(f: &GuardFindings) -> String {
    match f.refusal {
        None => String::new(),
        Some(Refusal::Failed) => format!(
            "{} failed migration(s) recorded in {}",
            f.failed.len(),
            f.target
        ),
        Some(Refusal::Pending) => format!(
            "{} migration(s) not yet applied to {}",
            f.pending.len(),
            f.target
        ),
        Some(Refusal::Modified) => format!(
            "{} applied migration(s) modified locally (--strict)",
            f.modified.len()
        ),
    }
}

/// The guard's refusal: the cause, the names, that the app did not start, and the next step.
pub fn guard_refusal(outcome: &GuardOutcome, command: &[OsString]) -> String {
    let f = &outcome.findings;
    let Some(refusal) = f.refusal else {
        return String::new();
    };
    let mut text = String::new();
    let names = match refusal {
        Refusal::Failed => {
            match &outcome.diagnoses {
                Some(diagnoses) => render_failed(&mut text, diagnoses),
                None => {
                    let rows = f.failed.iter();
                    render_p3009_lines(
                        &mut text,
                        rows.map(|r| (r.migration_name.as_str(), r.started_at.prisma_display())),
                    );
                    text.push_str("(no diagnosis: run `prisma-release diagnose` for it)\n\n");
                }
            }
            &[][..]
        }
        Refusal::Pending => &f.pending[..],
        Refusal::Modified => &f.modified[..],
    };
    let colon = if names.is_empty() { "" } else { ":" };
    let _ = writeln!(text, "error: {}{colon}", refusal_cause(f));
    for name in names {
        let _ = writeln!(text, "  {name}");
    }
    if let Some(waited) = outcome.waited {
        let _ = writeln!(
            text,
            "Still so after waiting {}.",
            duration::display(waited)
        );
    }
    let app = match command {
        [] => "The app".to_string(),
        command => format!("The app ({})", program_label(command).trim_start()),
    };
    let _ = writeln!(
        text,
        "{app} was not started. (prisma-release guard, exit {})",
        refusal.exit_code()
    );
    let hint = match refusal {
        Refusal::Failed => crate::error::Error::FailedMigrationsInDatabase {
            names: f.failed.iter().map(|r| r.migration_name.clone()).collect(),
        }
        .hint(),
        Refusal::Pending => "apply them with `prisma-release deploy` (the Procfile's `release:` line does this on every release); \
             pass --allow-pending to start the app anyway, or --wait DUR to wait for a release in progress".into(),
        Refusal::Modified => "an applied migration.sql must not change: restore it from version control, or drop --strict to only warn".into(),
    };
    let _ = writeln!(text, "hint: {hint}");
    text
}

/// The one line the guard prints when the app starts.
pub fn guard_start(outcome: &GuardOutcome, command: &[OsString]) -> String {
    let f = &outcome.findings;
    let waited = outcome
        .waited
        .map(|w| format!(" after waiting {}", duration::display(w)))
        .unwrap_or_default();
    let what = match command {
        [] => String::new(),
        _ => format!("; starting{}", program_label(command)),
    };
    let state = match f.pending.len() {
        0 => format!("is up to date ({} migration(s) applied)", f.applied),
        pending => format!(
            "has {} migration(s) applied and {pending} pending (--allow-pending)",
            f.applied
        ),
    };
    format!("prisma-release guard: {} {state}{waited}{what}\n", f.target)
}

/// Why the guard stopped without an answer about the migrations, and what to do.
pub fn guard_stop(stop: &GuardStop, budget: Duration) -> String {
    let budget = duration::display(budget);
    match stop {
        GuardStop::Error(error) => format!("error: {error}\nhint: {}\n", error.hint()),
        GuardStop::GaveUp(error) => format!(
            "error: {error}\nRetried for the guard's budget of {budget} (--connect-budget); the app was not started.\nhint: {}\n",
            error.hint()
        ),
        GuardStop::TimedOut {
            target,
            connecting,
            last_error,
        } => {
            let doing = if *connecting {
                "could not connect to"
            } else {
                "got no answer from"
            };
            let mut text = format!(
                "error: {doing} {target} within the guard's budget of {budget} (--connect-budget)"
            );
            match last_error {
                Some(error) => {
                    let _ = write!(text, "; last error: {error}");
                }
                None if *connecting => {
                    text.push_str("; the server did not answer (no connection error either)")
                }
                None => {}
            }
            text.push_str("\nThe app was not started.\nhint: check that the database is up and that the URL is right (heroku pg:info); the dyno will be restarted, or raise --connect-budget (boot has 60 s on Heroku)\n");
            text
        }
        GuardStop::Internal(what) => {
            format!("error: {what} (a bug in prisma-release; please report it)\n")
        }
    }
}

/// The guard could not `exec` the app: what happened and where to fix it.
pub fn guard_exec_failed(program: &str, what: &str) -> String {
    format!(
        "prisma-release guard: {program}: {what}\nhint: check the command after `--` (in the Procfile: `web: prisma-release guard -- node dist/server.js`)\n"
    )
}

/// `` `node dist/server.js` `` with a leading space, for messages (lossy: only for display).
fn program_label(command: &[OsString]) -> String {
    if command.is_empty() {
        return String::new();
    }
    let words: Vec<String> = command
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    format!(" `{}`", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryRow;
    use crate::timestamp::Timestamp;
    use std::time::UNIX_EPOCH;

    fn failed_findings() -> GuardFindings {
        GuardFindings {
            target: "database `shop` at db:5432".into(),
            refusal: Some(Refusal::Failed),
            applied: 1,
            pending: Vec::new(),
            modified: Vec::new(),
            failed: vec![HistoryRow {
                id: "id-1".into(),
                checksum: "c".into(),
                finished_at: None,
                migration_name: "20250108025104_add_email".into(),
                logs: None,
                rolled_back_at: None,
                started_at: Timestamp::from(UNIX_EPOCH + Duration::from_secs(1_736_304_664)),
                applied_steps_count: 0,
            }],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn guard_refusal_without_diagnosis_prints_prismas_p3009_lines_without_a_stray_blank_line() {
        let outcome = GuardOutcome {
            findings: failed_findings(),
            diagnoses: None,
            waited: None,
        };
        let text = guard_refusal(&outcome, &["node".into(), "server.js".into()]);
        assert!(
            text.starts_with("Error: P3009\n\nmigrate found failed migrations"),
            "{text}"
        );
        assert!(
            text.contains(
                "https://pris.ly/d/migrate-resolve\nThe `20250108025104_add_email` migration started at 2025-01-08 02:51:04 UTC failed\n(no diagnosis"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "The app (`node server.js`) was not started. (prisma-release guard, exit 10)"
            ),
            "{text}"
        );
        assert!(text.contains("hint: read the diagnosis above"), "{text}");
    }

    #[test]
    fn guard_refusal_and_status_share_the_p3009_header() {
        let mut with_diagnosis = String::new();
        render_failed(&mut with_diagnosis, &[]);
        let outcome = GuardOutcome {
            findings: failed_findings(),
            diagnoses: None,
            waited: None,
        };
        let header = with_diagnosis.trim_end();
        assert!(guard_refusal(&outcome, &[]).starts_with(header));
    }

    #[test]
    fn guard_stop_names_the_budget_and_the_last_error() {
        let stop = GuardStop::TimedOut {
            target: "database `shop` at db:5432".into(),
            connecting: true,
            last_error: Some("Connection refused".into()),
        };
        let text = guard_stop(&stop, Duration::from_millis(1500));
        assert!(
            text.starts_with("error: could not connect to database `shop` at db:5432 within the guard's budget of 1.5s (--connect-budget); last error: Connection refused\nThe app was not started.\n"),
            "{text}"
        );
        assert_eq!(stop.exit_code(), 4);
    }
}
