//! The old name of the small fixture's helpers, left only for
//! `tests/flash.rs` and `tests/resume.rs` until they run burnline through
//! the `Test` builder of `tests/common`; then this file goes. The fixture
//! itself lives in `tests/common`; the spawning helpers below are the old
//! ones, unchanged.

#![allow(dead_code, reason = "each test binary uses a part of these helpers")]

#[path = "../common/mod.rs"]
mod common;

pub use common::fixtures::fixture;
pub use common::images::sha;
pub use common::s;

use std::path::Path;
use std::process::{Command, Output};

/// The burnline binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_burnline");

/// Runs burnline with `args`.
pub fn burnline(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("running burnline")
}

/// Runs burnline and asserts success.
pub fn ok(args: &[&str]) -> Output {
    let o = burnline(args);
    assert!(
        o.status.success(),
        "burnline {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs a real tool and asserts success; a missing tool fails the test.
pub fn tool(name: &str, args: &[&str], cwd: &Path) -> Output {
    let o = Command::new(name)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("the test tool `{name}` is required and could not be run: {e}"));
    assert!(
        o.status.success(),
        "{name} {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
