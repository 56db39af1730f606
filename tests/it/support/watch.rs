//! A spawned `prisma-release` whose stdout and stderr are read line by line while it runs, so a test
//! can act when the tool (or the app the guard started) says something — that it waits for the lock,
//! that it retries — instead of sleeping and hoping. Killed if dropped unfinished.

use super::cli::{exit_code, spawn, Run};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a [`Watched`] waits for a line or for the exit before failing the test (a 2-core CI
/// machine running tests in parallel).
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Watched {
    child: Option<Child>,
    stdout: Stream,
    stderr: Stream,
}

/// One output stream: the lines still to look at, and everything received so far.
struct Stream {
    lines: mpsc::Receiver<String>,
    seen: String,
    name: &'static str,
}

impl Watched {
    pub fn spawn(db_url: &str, dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Watched {
        let mut child = spawn(db_url, dir, args, envs);
        let stdout = Stream::read(child.stdout.take().expect("piped stdout"), "stdout");
        let stderr = Stream::read(child.stderr.take().expect("piped stderr"), "stderr");
        Watched {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Blocks until a stderr line contains `needle` and returns it (panics after
    /// [`WATCH_TIMEOUT`] or when stderr closes first).
    pub fn wait_for_stderr(&mut self, needle: &str) -> String {
        self.stderr.wait_for(needle)
    }

    /// Like [`Watched::wait_for_stderr`], on stdout.
    pub fn wait_for_stdout(&mut self, needle: &str) -> String {
        self.stdout.wait_for(needle)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("not finished yet").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        let child = self.child.as_mut().expect("not finished yet");
        child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the exit (at most [`WATCH_TIMEOUT`]); returns the code and everything printed.
    pub fn finish(mut self) -> Run {
        let mut child = self.child.take().expect("not finished yet");
        let deadline = Instant::now() + WATCH_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the process did not exit within {WATCH_TIMEOUT:?}\nstderr so far:\n{}",
                    self.stderr.seen
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            code: exit_code(status),
            stdout: self.stdout.rest(),
            stderr: self.stderr.rest(),
        }
    }
}

impl Stream {
    fn read<R: Read + Send + 'static>(pipe: R, name: &'static str) -> Stream {
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Stream {
            lines,
            seen: String::new(),
            name,
        }
    }

    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WATCH_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no {} line containing {needle:?} ({e:?}); {} so far:\n{}",
                    self.name, self.name, self.seen
                ),
            }
        }
    }

    /// Everything, once the process has exited (the reader ends with the pipe).
    fn rest(&mut self) -> String {
        for line in self.lines.iter() {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        std::mem::take(&mut self.seen)
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
