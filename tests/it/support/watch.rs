//! A spawned `prisma-release` whose stderr is read line by line while it runs, so a test can act
//! when the tool says something (that it waits for the lock, that it retries) instead of sleeping
//! and hoping. Killed if dropped unfinished.

use super::cli::{finish, spawn, Run};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long [`Watched::wait_for_stderr`] waits for a line before failing the test.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Watched {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Watched {
    pub fn spawn(db_url: &str, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Watched {
        let mut child = spawn(db_url, dir, args, envs);
        let pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                {
                    let mut all = sink.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
                let _ = tx.send(line);
            }
        });
        Watched {
            child: Some(child),
            lines,
            stderr,
            reader: Some(reader),
        }
    }

    /// Blocks until a stderr line contains `needle` (panics after [`WATCH_TIMEOUT`] or when stderr
    /// closes).
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + WATCH_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!(
                    "no stderr line containing {needle:?} ({e:?}); stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        let child = self.child.as_mut().expect("not finished yet");
        child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the process (with the harness timeout) and returns its run, stderr included.
    pub fn finish(mut self) -> Run {
        let child = self.child.take().expect("not finished yet");
        let mut run = finish(child);
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        run.stderr = self.stderr.lock().unwrap().clone();
        run
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
