//! Lines for the person at the terminal, on stdout or stderr, written so
//! that a closed stream (`burnline build … 2>&1 | head -1`) never panics, as
//! `println!` and `eprintln!` do. The first write that fails is remembered
//! ([`closed`]): a `build` takes it as an interruption, finishing the batch
//! in flight and journaling it, and what it would have printed is dropped.
//! A long-running command (`station serve`, `flash`) calls
//! [`stamp_when_piped`]: when stderr is not a terminal (a journal, a log
//! file), each of its lines then starts with the UTC time.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static STAMP: AtomicBool = AtomicBool::new(false);

/// From now on, when stderr is not a terminal, each line on it starts with
/// the time (`2026-12-02T01:15:03+00:00 `).
pub fn stamp_when_piped() {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        STAMP.store(true, Ordering::SeqCst);
    }
}

/// Whether a write to stdout or stderr has failed (the reader went away).
pub fn closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

/// Writes one line to stderr; a failure is remembered, not raised.
pub fn err_line(line: fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let written = if STAMP.load(Ordering::SeqCst) {
        let now = i64::try_from(crate::station::slot_state::now()).unwrap_or(i64::MAX);
        let at = crate::station::report::rfc3339(now, crate::station::report::UtcOffset(0));
        writeln!(e, "{at} {line}")
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
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::console::err_line(format_args!($($arg)*))
    };
}

/// `println!` that never panics: see [`out_line`].
macro_rules! show {
    ($($arg:tt)*) => {
        $crate::output::console::out_line(format_args!($($arg)*))
    };
}

pub(crate) use {say, show};
