//! Lines for the person at the terminal, on stdout or stderr, written so
//! that a closed stream (`burnline build … 2>&1 | head -1`) never panics, as
//! `println!` and `eprintln!` do. The first write that fails is remembered
//! ([`closed`]): a `build` takes it as an interruption, finishing the batch
//! in flight and journaling it, and what it would have printed is dropped.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write to stdout or stderr has failed (the reader went away).
pub fn closed() -> bool {
    CLOSED.load(Ordering::SeqCst)
}

/// Writes one line to stderr; a failure is remembered, not raised.
pub fn err_line(line: fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    if writeln!(e, "{line}").and_then(|()| e.flush()).is_err() {
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
