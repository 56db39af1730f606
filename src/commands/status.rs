//! `status`: every migration's state and the warnings. Never writes, never locks.

use super::Context;
use crate::cli::StatusArgs;
use crate::diagnose;
use crate::error::{exit, Result};
use crate::history::{self, TableState};
use crate::migrations;
use crate::plan;
use crate::report::{plan_warnings, CommandName, Counts, MigrationReport, Report, StatusBody};

/// Runs `status` and returns its report (exit 0, 10, 12 or 13, or an error's code).
pub fn run(ctx: &Context, args: &StatusArgs) -> Report<StatusBody> {
    let mut report = ctx.report(CommandName::Status, StatusBody::default());
    let result = status(ctx, args, &mut report);
    report.finish(result)
}

fn status(ctx: &Context, args: &StatusArgs, report: &mut Report<StatusBody>) -> Result<u8> {
    ctx.check_project()?;
    migrations::check_lock_file(&ctx.migrations_dir)?;
    let local = migrations::load(&ctx.migrations_dir)?;
    let spec = ctx.connect_spec()?;
    report.database = Some(spec.target.clone());
    let mut session = ctx.connect(&spec)?;
    report.database = Some(session.target.clone());
    let rows = match history::inspect(&mut session)? {
        TableState::Present => {
            report.body.has_migrations_table = true;
            history::load_rows(&mut session)?
        }
        TableState::Missing { .. } => Vec::new(),
    };
    let plan = plan::plan(&local, &rows);
    report.migrations = MigrationReport::from_plan(&plan);
    report.warnings = plan_warnings(&plan);
    for warning in &report.warnings {
        ctx.out.warn(&warning.message);
    }
    report.body.counts = Counts::of(&plan);
    report.body.failed = diagnose::diagnose_all(&mut session, &plan.failed_rows, &local)?;
    // SPEC: failed → 10, pending → 12, modified with --strict → 13, else 0.
    Ok(plan
        .refusal(false, args.strict)
        .map_or(exit::OK, plan::Refusal::exit_code))
}
