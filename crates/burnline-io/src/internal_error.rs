//! No panic reaches the user as Rust's text: the panic hook the binary
//! installs prints one line, `burnline: internal error: MESSAGE (at
//! FILE:LINE); this is a bug, please report it`, and ends the process with
//! the code `install` was given (the CLI's `Case::Internal`, 70), whichever thread panicked (a rayon worker
//! too: the run ends there, it does not wait for the others). A thread whose
//! panic must not end a long-running service or the other cards of a batch
//! (a station's slot writer, the page's server threads, `flash`'s writer
//! threads) runs its work through [`contain`] or is marked with
//! [`contain_thread`]: there the line is printed and the caller goes on.

use std::cell::Cell;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// How many [`contain`] calls this thread is inside (or `u32::MAX`
    /// for a thread marked with [`contain_thread`]).
    static CONTAINED: Cell<u32> = const { Cell::new(0) };
}

/// Installs the hook, which ends the process with `code` (after the one
/// line); `main` does, before anything else.
pub fn install(code: u8) {
    std::panic::set_hook(Box::new(move |info| hook(info, code)));
}

/// Set by the first panic that ends the process.
static ENDING: AtomicBool = AtomicBool::new(false);

fn hook(info: &PanicHookInfo<'_>, code: u8) {
    let contained = CONTAINED.with(Cell::get) > 0;
    // Workers that panic together print one line: the first ends the
    // process, the others wait for the end.
    if !contained && ENDING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    // A closed stderr is no reason for a second panic.
    let _ = writeln!(std::io::stderr().lock(), "{}", line(info));
    if !contained {
        std::process::exit(code.into());
    }
}

/// The one line a panic prints: its message on one line, and where it was.
fn line(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = info
        .location()
        .map(|l| format!(" (at {}:{})", l.file(), l.line()))
        .unwrap_or_default();
    format!("burnline: internal error: {message}{at}; this is a bug, please report it")
}

/// Runs `f`; a panic in it is printed as one line and returned as `Err`,
/// and the process goes on.
pub fn contain<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    CONTAINED.with(|c| c.set(c.get().saturating_add(1)));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(c.get().saturating_sub(1)));
    result
}

/// Marks the calling thread for good: a panic on it is printed as one line
/// and unwinds as Rust's would (a tokio worker catches it and goes on).
pub fn contain_thread() {
    CONTAINED.with(|c| c.set(u32::MAX));
}
