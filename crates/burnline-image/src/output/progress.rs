//! Progress for `build`, counted per device as each one is built. On a
//! terminal: one bar (devices, a rounded rate, ETA) redrawn at most four
//! times a second. Otherwise (a pipe, a log): a start line, then a line
//! every [`EVERY`] from a thread of its own (so a slow device still shows
//! the run is alive), and a last line. `verbose` adds a line per device;
//! the summary is left to the caller, on a line of its own. Progress never
//! names a secret: it counts devices and names them by DeviceName. Lines go
//! through `burnline_io::console`, so a closed stderr stops the run instead of
//! crashing it.

use burnline_io::say;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed.
pub const EVERY: Duration = Duration::from_secs(2);

/// What became of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Built by this run.
    Built,
    /// Found done by an earlier run (resumed).
    Resumed,
    /// Failed.
    Failed,
}

/// The counts, shared by the builders and the line printer.
struct Counts {
    total: u64,
    built: AtomicU64,
    resumed: AtomicU64,
    failed: AtomicU64,
    start: Instant,
}

impl Counts {
    fn done(&self) -> u64 {
        self.built.load(Ordering::SeqCst)
            + self.resumed.load(Ordering::SeqCst)
            + self.failed.load(Ordering::SeqCst)
    }

    /// Devices per second this run built (or failed); resumed ones took no
    /// time and are left out.
    fn per_sec(&self) -> f64 {
        let worked = self.built.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst);
        worked as f64 / self.start.elapsed().as_secs_f64().max(1e-3)
    }

    fn line(&self) {
        let rate = self.per_sec();
        let left = self.total.saturating_sub(self.done());
        let eta = if rate > 0.0 && left > 0 {
            format!(", ETA {}", eta(left as f64 / rate))
        } else {
            String::new()
        };
        say!(
            "burnline: {}/{} devices done ({} failed), {} devices/s{eta}",
            self.done(),
            self.total,
            self.failed.load(Ordering::SeqCst),
            rounded(rate)
        );
    }
}

/// A rate people read: whole numbers from 10 up, one decimal below.
pub fn rounded(rate: f64) -> String {
    if rate >= 9.95 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.1}")
    }
}

/// Seconds as `42 s` or `3 min 20 s`.
fn eta(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A progress reporter; [`Progress::device`] may be called from any thread.
pub struct Progress {
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: Option<(Sender<()>, JoinHandle<()>)>,
    verbose: bool,
}

impl Progress {
    /// Progress over `total` devices. `show`: the bar or the lines;
    /// `verbose`: a line per device (shown even without `show`).
    pub fn new(total: u64, show: bool, verbose: bool) -> Self {
        let counts = Arc::new(Counts {
            total,
            built: AtomicU64::new(0),
            resumed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            start: Instant::now(),
        });
        let terminal = std::io::stderr().is_terminal();
        let bar = (show && terminal).then(|| {
            let b =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
            let style =
                ProgressStyle::with_template("{bar:40} {pos}/{len} devices  {rate}  ETA {eta}")
                    .map(|s| {
                        s.with_key("rate", |st: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{} devices/s", rounded(st.per_sec()));
                        })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style);
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        let ticker = (show && !terminal).then(|| {
            say!("burnline: building {total} device(s)");
            let (tx, rx) = mpsc::channel::<()>();
            let c = Arc::clone(&counts);
            let thread = std::thread::spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(EVERY) {
                    c.line();
                }
                // Stopped: the last line, unless nothing was left to count.
                if c.total > 0 {
                    c.line();
                }
            });
            (tx, thread)
        });
        Progress {
            counts,
            bar,
            ticker,
            verbose,
        }
    }

    /// Counts one device, named by its DeviceName.
    pub fn device(&self, name: &str, outcome: Outcome) {
        let c = &self.counts;
        match outcome {
            Outcome::Built => &c.built,
            Outcome::Resumed => &c.resumed,
            Outcome::Failed => &c.failed,
        }
        .fetch_add(1, Ordering::SeqCst);
        if self.verbose {
            let what = match outcome {
                Outcome::Built => "built",
                Outcome::Resumed => "already done (resumed)",
                Outcome::Failed => "failed",
            };
            let line = || say!("burnline: device {name}: {what} ({}/{})", c.done(), c.total);
            match &self.bar {
                Some(b) => b.suspend(line),
                None => line(),
            }
        }
        if let Some(b) = &self.bar {
            b.set_position(c.done());
        }
    }

    /// Ends the report: the bar is left as it is, with the cursor on the
    /// next line; the plain lines get a last one.
    pub fn finish(self) {
        if let Some(b) = &self.bar {
            b.set_position(self.counts.done());
            b.finish();
            // indicatif leaves the cursor at the bar's end: what follows
            // (the summary) gets a line of its own.
            say!("");
        }
        if let Some((tx, thread)) = self.ticker {
            drop(tx);
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{eta, rounded};

    #[test]
    fn rates_are_rounded() {
        assert_eq!(rounded(3.04321), "3.0");
        assert_eq!(rounded(0.0), "0.0");
        assert_eq!(rounded(9.96), "10");
        assert_eq!(rounded(12.5432), "13");
        assert_eq!(rounded(1234.5678), "1235");
    }

    #[test]
    fn eta_reads_as_minutes_and_seconds() {
        assert_eq!(eta(42.4), "42 s");
        assert_eq!(eta(200.0), "3 min 20 s");
    }
}
