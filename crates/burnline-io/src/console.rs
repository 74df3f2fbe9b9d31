//! Lines for the person at the terminal, on stdout or stderr, written so
//! that a closed stream (`burnline build … 2>&1 | head -1`) never panics, as
//! `println!` and `eprintln!` do. The first write that fails is remembered
//! ([`closed`]): a `build` takes it as an interruption, finishing the batch
//! in flight and journaling it, and what it would have printed is dropped.
//! A long-running command (`station serve`, `flash`) calls
//! [`stamp_when_piped`]: when stderr is not a terminal (a journal, a log
//! file), each of its lines then starts with the time its caller formats.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static CLOSED: AtomicBool = AtomicBool::new(false);
static STAMP: OnceLock<fn() -> String> = OnceLock::new();

/// From now on, when stderr is not a terminal, each line on it starts with
/// `now()` (the host tool's: `2026-12-02T01:15:03+00:00`) and a space. The
/// first call that sets it wins.
pub fn stamp_when_piped(now: fn() -> String) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        let _ = STAMP.set(now);
    }
}

/// Whether a write to stdout or stderr has failed (the reader went away).
pub fn closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

/// Writes one line to stderr; a failure is remembered, not raised.
pub fn err_line(line: fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let written = if let Some(now) = STAMP.get() {
        writeln!(e, "{} {line}", now())
    } else {
        writeln!(e, "{line}")
    };
    if written.and_then(|()| e.flush()).is_err() {
        CLOSED.store(true, Ordering::SeqCst);
    }
}

/// Writes one line to stdout; a failure is remembered, not raised.
pub fn out_line(line: fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if writeln!(o, "{line}").and_then(|()| o.flush()).is_err() {
        CLOSED.store(true, Ordering::SeqCst);
    }
}

/// `eprintln!` that never panics: see [`err_line`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::err_line(format_args!($($arg)*))
    };
}

/// `println!` that never panics: see [`out_line`].
#[macro_export]
macro_rules! show {
    ($($arg:tt)*) => {
        $crate::console::out_line(format_args!($($arg)*))
    };
}
