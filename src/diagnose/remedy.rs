//! The way forward (pure): the commands to run, in order, for a verdict.
//!
//! Reverts cover every statement that left (or may have left) something: the SQL that undoes each
//! recognised effect, newest first so dependents go before what they depend on (a column using a type
//! is dropped before the type), and an explicit "no automatic revert for statement N" line for anything
//! else — never a silent gap. When the failure is located exactly, finishing the migration
//! (`--resolve-failed complete`) comes first and the reverts are the alternative. The Prisma CLI
//! steps (`tool: prisma`) are always the same move with the other tool; the others, run in order,
//! are one path that works.

use super::complete::Completion;
use super::{Effect, NextStep, Tool, Verdict};

/// The primary path and the revert path.
pub struct Steps {
    pub next: Vec<NextStep>,
    pub revert: Vec<NextStep>,
}

fn step(tool: Tool, command: String, why: &str) -> NextStep {
    NextStep {
        tool,
        command,
        why: why.to_string(),
    }
}

fn rolled_back(name: &str, why: &str) -> [NextStep; 2] {
    [
        step(
            Tool::PrismaRelease,
            format!("prisma-release resolve --rolled-back \"{name}\""),
            &format!("{why}mark it rolled back; the next deploy applies it again"),
        ),
        step(
            Tool::Prisma,
            format!("npx prisma migrate resolve --rolled-back \"{name}\""),
            &format!("{why}the same with the Prisma CLI"),
        ),
    ]
}

fn applied(name: &str, why: &str) -> [NextStep; 2] {
    [
        step(
            Tool::PrismaRelease,
            format!("prisma-release resolve --applied \"{name}\""),
            &format!("{why}record it as applied without running it"),
        ),
        step(
            Tool::Prisma,
            format!("npx prisma migrate resolve --applied \"{name}\""),
            &format!("{why}the same with the Prisma CLI"),
        ),
    ]
}

/// The steps for a diagnosis.
pub fn steps(name: &str, verdict: Verdict, effects: &[Effect], completion: &Completion) -> Steps {
    let mut revert = Vec::new();
    if matches!(verdict, Verdict::PartiallyApplied | Verdict::Unknown) {
        revert.extend(invalid_index_drops(effects));
        revert.extend(reverts(effects));
        revert.extend(rolled_back(name, "after reverting what it applied: "));
    }
    let mut next = Vec::new();
    if completion.possible {
        next.push(step(
            Tool::PrismaRelease,
            "prisma-release deploy --resolve-failed complete".into(),
            &format!(
                "run the statements that never ran ({}), record the migration applied, then deploy the rest",
                completion.remaining_text()
            ),
        ));
    }
    match verdict {
        Verdict::NotApplied if !completion.possible => {
            next.push(step(
                Tool::PrismaRelease,
                "prisma-release deploy --resolve-failed safe".into(),
                "resolve it (nothing was applied) and deploy again",
            ));
            let [_, prisma] = rolled_back(name, "or, with the Prisma CLI: ");
            next.push(prisma);
        }
        Verdict::FullyApplied => next.extend(applied(name, "")),
        // The reverts are the path; finishing by hand (then `resolve --applied`) is an alternative the
        // human output mentions apart, so that running these steps in order is always right.
        Verdict::PartiallyApplied | Verdict::Unknown if !completion.possible => {
            next.extend(revert.iter().cloned());
        }
        _ => {}
    }
    Steps { next, revert }
}

fn invalid_index_drops(effects: &[Effect]) -> Vec<NextStep> {
    effects
        .iter()
        .filter(|e| e.invalid)
        .filter_map(|e| e.object.as_ref())
        .map(|object| {
            step(
                Tool::Sql,
                format!("DROP INDEX CONCURRENTLY IF EXISTS {object};"),
                "remove the invalid index a failed CREATE INDEX CONCURRENTLY left",
            )
        })
        .collect()
}

/// Newest first: one revert (or one by-hand line) per statement that left something.
fn reverts(effects: &[Effect]) -> Vec<NextStep> {
    effects
        .iter()
        .rev()
        .filter(|e| e.is_damage() && !e.invalid)
        .map(|e| match (&e.revert, e.present) {
            (Some(sql), Some(true)) => step(
                Tool::Sql,
                sql.clone(),
                &format!(
                    "reverts statement {} (line {}, {}) — review before running",
                    e.index,
                    e.line,
                    e.kind.as_str()
                ),
            ),
            (_, Some(false)) => step(
                Tool::Sql,
                format!(
                    "-- no automatic revert for statement {} ({}): it ran but its effect is not in the database; check it by hand",
                    e.index,
                    e.kind.as_str()
                ),
                e.note.as_deref().unwrap_or("the probe found its object missing or different"),
            ),
            _ => step(
                Tool::Sql,
                format!(
                    "-- no automatic revert for statement {} ({}): revert it by hand",
                    e.index,
                    e.kind.as_str()
                ),
                &format!(
                    "line {}: prisma-release cannot tell what it changed{}",
                    e.line,
                    e.object
                        .as_deref()
                        .map(|o| format!(" on {o}"))
                        .unwrap_or_default()
                ),
            ),
        })
        .collect()
}
