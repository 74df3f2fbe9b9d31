//! Progress for `build`: one bar with devices/s and ETA on a terminal,
//! plain lines (at most one a second, and a last one) otherwise. Progress
//! never names a secret; it counts devices. Lines go through
//! [`super::console`], so a closed stderr stops the run instead of crashing
//! it.

use super::console::say;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress reporter.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    failed: u64,
    start: Instant,
    last_line: Instant,
    quiet: bool,
    printed: u64,
}

impl Progress {
    /// Progress over `total` devices; `quiet` prints nothing.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} devices  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            done: 0,
            failed: 0,
            start: now,
            last_line: now,
            quiet,
            printed: u64::MAX,
        }
    }

    /// Counts finished devices.
    pub fn advance(&mut self, built: u64, failed: u64) {
        self.done += built + failed;
        self.failed += failed;
        if let Some(b) = &self.bar {
            b.set_position(self.done);
        } else if !self.quiet && self.last_line.elapsed() >= Duration::from_secs(1) {
            self.last_line = Instant::now();
            self.line();
            self.printed = self.done;
        }
    }

    fn line(&self) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        say!(
            "burnline: {}/{} devices done ({} failed), {:.1} devices/s",
            self.done,
            self.total,
            self.failed,
            self.done as f64 / secs
        );
    }

    /// Ends the report.
    pub fn finish(self) {
        if let Some(b) = &self.bar {
            b.finish();
        } else if !self.quiet && self.printed != self.done {
            self.line();
        }
    }
}
