//! Live progress of a long migration, the monitor's voice: on a terminal one line that updates in
//! place, in a log (not a TTY — the Heroku release log) a plain line every ~10 s and whenever a new
//! blocker appears, nothing with `-q`. Everything goes to stderr, so stdout keeps only data (and
//! exactly one JSON document with `--json`).
//!
//! Hand-written rather than with `indicatif`: one line rewritten with `\r` + "erase line" is all we
//! need, and it keeps the dependency tree and the binary small. The line itself is drawn by
//! [`crate::output`], which erases it before writing anything else, so a warning never lands on it.

use crate::monitor::{Sample, Sink};
use std::io::Write;
use std::time::{Duration, Instant};

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// stderr is a terminal: one line updated in place.
    Terminal,
    /// stderr is a file or pipe: a line every `every`, and when a new blocker shows up.
    Log {
        every: Duration,
    },
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet with `-q`, else by whether stderr is a terminal.
    /// `PRISMA_RELEASE_WATCH_LOG_EVERY` changes the log interval (10s).
    pub fn detect(quiet: bool) -> Mode {
        use std::io::IsTerminal;
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Log {
                every: crate::monitor::env_duration("PRISMA_RELEASE_WATCH_LOG_EVERY")
                    .unwrap_or(Duration::from_secs(10)),
            }
        }
    }
}

/// The renderer's memory: what it printed last and when.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    line_open: bool,
    last_printed: Option<Instant>,
    blockers_shown: Vec<i32>,
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        Progress {
            mode,
            line_open: false,
            last_printed: None,
            blockers_shown: Vec::new(),
        }
    }
}

impl Sink for Progress {
    /// Shows a sample, if this mode wants one now.
    fn show(&mut self, sample: &Sample) {
        let new_blocker = sample
            .blockers
            .iter()
            .any(|b| !self.blockers_shown.contains(&b.pid));
        self.blockers_shown
            .extend(sample.blockers.iter().map(|b| b.pid));
        match self.mode {
            Mode::Quiet => {}
            Mode::Terminal => {
                crate::output::show_live_line(&fit(&describe(sample), terminal_width()));
                self.line_open = true;
            }
            Mode::Log { every } => {
                let due = self.last_printed.is_none_or(|t| t.elapsed() >= every);
                if due || new_blocker {
                    write_stderr(&format!("{}\n", describe(sample)));
                    self.last_printed = Some(Instant::now());
                }
            }
        }
    }

    /// The migration ended: erase the live line, forget the blockers shown.
    fn finish(&mut self) {
        if self.line_open {
            crate::output::clear_live_line();
            self.line_open = false;
        }
        self.last_printed = None;
        self.blockers_shown.clear();
    }
}

/// One line: `migration `x`: 12s, waiting for a lock (Lock/relation), blocked by pid 42 (…)`.
pub fn describe(sample: &Sample) -> String {
    let mut line = format!(
        "migration `{}`: {}s",
        sample.migration,
        sample.elapsed.as_secs()
    );
    if let Some(phase) = &sample.phase {
        line.push_str(&format!(", {}", phase.label()));
        if let (Some(done), Some(total @ 1..)) = (phase.blocks_done, phase.blocks_total) {
            line.push_str(&format!(", blocks {done}/{total}{}", percent(done, total)));
        } else if let (Some(done), Some(total @ 1..)) = (phase.tuples_done, phase.tuples_total) {
            line.push_str(&format!(", tuples {done}/{total}{}", percent(done, total)));
        }
    }
    match (&sample.wait, sample.blockers.as_slice()) {
        (Some(wait), []) if wait.starts_with("Lock") => {
            line.push_str(&format!(", waiting for a lock ({wait})"))
        }
        (Some(wait), blockers) if wait.starts_with("Lock") => {
            line.push_str(&format!(", waiting for a lock ({wait}), blocked by "));
            let names: Vec<String> = blockers.iter().map(ToString::to_string).collect();
            line.push_str(&names.join("; "));
        }
        (Some(wait), _) => line.push_str(&format!(", waiting on {wait}")),
        (None, _) if sample.phase.is_none() => line.push_str(", running"),
        (None, _) => {}
    }
    line
}

fn percent(done: i64, total: i64) -> String {
    if total > 0 {
        format!(" ({}%)", done.saturating_mul(100) / total)
    } else {
        String::new()
    }
}

/// The terminal's width, read again for every update (the window may be resized): the window
/// size of stderr's terminal, else `COLUMNS`, else 80. The live line must not wrap, or `\r` and
/// "erase line" would only rewrite its last row and leave the others on the screen.
fn terminal_width() -> usize {
    window_columns()
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
        .filter(|&c: &usize| c >= 20)
        .unwrap_or(80)
}

/// The columns of the terminal stderr writes to (`TIOCGWINSZ`); none when it has no size (a
/// pseudo-terminal nobody sized reports 0).
#[cfg(unix)]
fn window_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes one `winsize` into `size`, which lives across the call.
    let read = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    (read == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn window_columns() -> Option<usize> {
    None
}

/// Cuts `line` to `width - 1` characters, with `…` when cut.
fn fit(line: &str, width: usize) -> String {
    let limit = width.saturating_sub(1);
    if line.chars().count() <= limit {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Blocker, Phase};

    #[test]
    fn a_blocked_migration_names_its_blocker() {
        let sample = Sample {
            migration: "20240102000000_add_c".into(),
            elapsed: Duration::from_millis(12_300),
            wait: Some("Lock/relation".into()),
            blockers: vec![Blocker {
                pid: 4242,
                application_name: "report-job".into(),
                state: "idle in transaction".into(),
                transaction_ms: Some(31_000),
                query_ms: Some(30_500),
                query: "UPDATE \"T\" SET c = 1".into(),
            }],
            phase: None,
        };
        assert_eq!(
            describe(&sample),
            "migration `20240102000000_add_c`: 12s, waiting for a lock (Lock/relation), blocked by \
             pid 4242 (application_name `report-job`, idle in transaction, transaction open 31s, \
             last query 30s ago): UPDATE \"T\" SET c = 1"
        );
    }

    #[test]
    fn a_phase_shows_its_counts() {
        let sample = Sample {
            migration: "m".into(),
            elapsed: Duration::from_secs(5),
            wait: None,
            blockers: Vec::new(),
            phase: Some(Phase {
                command: "CREATE INDEX CONCURRENTLY".into(),
                phase: "building index: scanning table".into(),
                blocks_done: Some(250),
                blocks_total: Some(1000),
                tuples_done: None,
                tuples_total: None,
            }),
        };
        assert_eq!(
            describe(&sample),
            "migration `m`: 5s, CREATE INDEX CONCURRENTLY: building index: scanning table, blocks 250/1000 (25%)"
        );
    }

    #[test]
    fn long_lines_are_cut_to_the_width() {
        assert_eq!(fit("abcdef", 5), "abc…");
        assert_eq!(fit("abc", 5), "abc");
    }
}
