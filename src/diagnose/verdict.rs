//! The verdict and its explanation (pure).
//!
//! Rules, in order:
//! - a present-but-broken effect (an INVALID index) → `partially_applied`;
//! - idempotent statements (`IF NOT EXISTS`, `OR REPLACE`, `IF EXISTS`) and plain SELECTs never count:
//!   running them again is harmless;
//! - every remaining effect present → `fully_applied` (applied by hand);
//! - with an exact location of a statement-by-statement run (Prisma's adapter, prisma-release):
//!   statements before the failing one committed, the rest never ran, so `partially_applied` when any
//!   of those that ran left something, else `not_applied` — whatever objects of the same names exist;
//! - otherwise from the probe alone: some present and some absent → `partially_applied`; none present
//!   → `not_applied` unless an unknown statement comes before the first absent one (statements run in
//!   order, so nothing after an absent effect ran); anything else → `unknown`.

use super::locate::{self, Location};
use super::logs::{LogFormat, ParsedLog};
use super::{Effect, LocalFile, Verdict};

/// The verdict from the probed effects and the location of the failure.
pub fn verdict(effects: &[Effect], location: Option<&Location>) -> Verdict {
    if effects.iter().any(|e| e.invalid) {
        return Verdict::PartiallyApplied;
    }
    if effects.is_empty() {
        return Verdict::Unknown;
    }
    let relevant: Vec<&Effect> = effects
        .iter()
        .filter(|e| !e.idempotent && !e.kind.has_no_effect())
        .collect();
    if relevant.is_empty() {
        return Verdict::NotApplied;
    }
    if relevant.iter().all(|e| e.present == Some(true)) {
        return Verdict::FullyApplied;
    }
    if location.is_some_and(|l| l.sequential && l.failing.exact) {
        return if relevant.iter().any(|e| e.is_damage()) {
            Verdict::PartiallyApplied
        } else {
            Verdict::NotApplied
        };
    }
    from_probe_alone(&relevant)
}

fn from_probe_alone(effects: &[&Effect]) -> Verdict {
    let present = effects.iter().filter(|e| e.present == Some(true)).count();
    let first_absent = effects.iter().position(|e| e.present == Some(false));
    let first_unknown = effects.iter().position(|e| e.present.is_none());
    match (present, first_absent, first_unknown) {
        (p, Some(_), _) if p > 0 => Verdict::PartiallyApplied,
        (p, None, Some(_)) if p > 0 => Verdict::Unknown,
        (_, Some(absent), Some(unknown)) if unknown < absent => Verdict::Unknown,
        (_, Some(_), _) => Verdict::NotApplied,
        _ => Verdict::Unknown,
    }
}

/// Why the verdict is what it is, in words.
pub fn explain(
    parsed: &ParsedLog,
    local: &LocalFile,
    effects: &[Effect],
    verdict: Verdict,
    location: Option<&Location>,
) -> String {
    let mut parts = vec![format_sentence(parsed)];
    if !local.present {
        parts.push("The migration's local migration.sql is missing, so its statements cannot be probed; only the log is evidence.".into());
    } else if local.changed_since_failure == Some(true) {
        parts.push("The local migration.sql was edited since the failure; the probe checks the current file.".into());
    }
    if let Some(location) = location {
        parts.push(locate::describe(location, parsed));
        if let Some(committed) = committed_sentence(location, effects.len()) {
            parts.push(committed);
        }
    }
    let damage: Vec<String> = effects
        .iter()
        .filter(|e| e.is_damage())
        .map(|e| {
            format!(
                "statement {} {} {}",
                e.index,
                e.kind.as_str(),
                e.object.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string()
        })
        .collect();
    parts.push(match verdict {
        Verdict::NotApplied => "No effect of the migration is in the database: it is safe to mark it rolled back and apply it again.".into(),
        Verdict::PartiallyApplied => format!("Some statements left effects in the database ({}): complete the migration, or revert them, before deploying again.", damage.join(", ")),
        Verdict::FullyApplied => "Every effect of the migration is in the database (applied by hand?): mark it applied.".into(),
        Verdict::Unknown => "The probe cannot tell what the migration left behind (statements it does not understand, or no local file): inspect the database before resolving.".into(),
    });
    parts.extend(effects.iter().filter_map(|e| {
        let note = e.note.as_deref()?.trim_end_matches(['.', ';']);
        Some(format!("Statement {}: {note}.", e.index))
    }));
    parts.join(" ")
}

fn format_sentence(parsed: &ParsedLog) -> String {
    match parsed.format {
        LogFormat::Empty => "The logs are empty: the migrating process died (or was killed) mid-migration, before it could record an error.".to_string(),
        LogFormat::NativeEngine => "Prisma's native engine recorded the failure (it runs a file as one implicit transaction, unless the file has its own transaction control).".to_string(),
        LogFormat::DriverAdapter => "Prisma recorded the failure through its driver adapter, which cuts the file at every `;` and runs the pieces one by one, each committed on its own.".to_string(),
        LogFormat::PrismaRelease => match parsed.statements_committed {
            Some(k) => format!("prisma-release ran this migration statement by statement; {k} statement(s) were committed before the failure."),
            None => "prisma-release ran this migration statement by statement.".to_string(),
        },
        LogFormat::Unrecognized => "The logs are in a format this tool does not recognise; see the raw text.".to_string(),
    }
}

/// "Statements 1–3 committed before the failure; statements 4–6 never ran."
fn committed_sentence(location: &Location, total: usize) -> Option<String> {
    if !location.sequential || !location.failing.exact {
        return None;
    }
    let k = location.failing.statement.index;
    let committed = match k {
        1 => "No statement committed before the failure".to_string(),
        2 => "Statement 1 committed before the failure".to_string(),
        _ => format!("Statements 1–{} committed before the failure", k - 1),
    };
    let first_unrun = if location.ran_partly { k + 1 } else { k };
    let never = match total.checked_sub(first_unrun) {
        None => String::new(),
        Some(0) => format!("; statement {first_unrun} never ran"),
        Some(_) => format!("; statements {first_unrun}–{total} never ran"),
    };
    Some(format!("{committed}{never}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::classify::EffectKind;

    fn effects(states: &[Option<bool>]) -> Vec<Effect> {
        states
            .iter()
            .enumerate()
            .map(|(i, present)| Effect {
                index: i + 1,
                line: i + 1,
                kind: EffectKind::Other,
                object: None,
                present: *present,
                note: None,
                idempotent: false,
                ran: None,
                invalid: false,
                revert: None,
            })
            .collect()
    }

    #[test]
    fn verdicts_from_the_probe_alone() {
        use Verdict::*;
        let v = |s: &[Option<bool>]| verdict(&effects(s), None);
        assert_eq!(v(&[Some(false), Some(false)]), NotApplied);
        assert_eq!(
            v(&[Some(false), None, Some(false)]),
            NotApplied,
            "unknowns after an absent effect never ran"
        );
        assert_eq!(
            v(&[None, Some(false)]),
            Unknown,
            "an unknown before the first absent effect may have run"
        );
        assert_eq!(v(&[Some(true), Some(false)]), PartiallyApplied);
        assert_eq!(v(&[Some(true), None, Some(false)]), PartiallyApplied);
        assert_eq!(v(&[Some(true), Some(true)]), FullyApplied);
        assert_eq!(v(&[Some(true), None]), Unknown);
        assert_eq!(v(&[None]), Unknown);
        assert_eq!(v(&[]), Unknown, "no file, no evidence");
        let mut broken = effects(&[Some(true)]);
        broken[0].invalid = true;
        assert_eq!(
            verdict(&broken, None),
            PartiallyApplied,
            "an invalid index is neither applied nor absent"
        );
    }

    #[test]
    fn idempotent_statements_and_selects_are_never_damage() {
        let mut e = effects(&[None, Some(true), Some(false)]);
        e[0].kind = EffectKind::Select;
        e[1].idempotent = true;
        assert_eq!(verdict(&e, None), Verdict::NotApplied);
        e[2].present = Some(true);
        assert_eq!(verdict(&e, None), Verdict::FullyApplied);
    }
}
