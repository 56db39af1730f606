//! `diagnose`: the diagnosis of every failed row (SPEC "Diagnosis"). Read-only: no lock, no writes.

use super::Context;
use crate::cli::DiagnoseArgs;
use crate::error::{exit, Result};
use crate::history::{self, TableState};
use crate::report::{CommandName, DiagnoseBody, MigrationReport, Report};
use crate::{diagnose, migrations, plan};

/// Runs `diagnose`: exit 0 when no row failed, 10 when some did.
pub fn run(ctx: &Context, _args: &DiagnoseArgs) -> Report<DiagnoseBody> {
    let mut report = ctx.report(CommandName::Diagnose, DiagnoseBody::default());
    let result = diagnose_failed(ctx, &mut report);
    report.finish(result)
}

fn diagnose_failed(ctx: &Context, report: &mut Report<DiagnoseBody>) -> Result<u8> {
    ctx.check_project()?;
    let local = migrations::load(&ctx.migrations_dir)?;
    let spec = ctx.connect_spec()?;
    report.database = Some(spec.target.clone());
    let mut session = ctx.connect(&spec)?;
    report.database = Some(session.target.clone());
    let rows = match history::inspect(&mut session)? {
        TableState::Present => history::load_rows(&mut session)?,
        TableState::Missing { .. } => Vec::new(),
    };
    let plan = plan::plan(&local, &rows);
    report.migrations = MigrationReport::from_plan(&plan);
    report.body.failed = diagnose::diagnose_all(&mut session, &plan.failed_rows, &local)?;
    Ok(if report.body.failed.is_empty() {
        exit::OK
    } else {
        exit::FAILED_IN_DATABASE
    })
}
