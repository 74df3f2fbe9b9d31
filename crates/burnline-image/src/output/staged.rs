//! A device's outputs written under temp names and not yet in place: its
//! manifest entry and the renames that will put its files in place once the
//! batch is durable. A device already done in an earlier run (see
//! `crate::resume`) is staged with no renames.

use crate::manifest::Entry;
use std::path::PathBuf;

/// Outputs waiting for their batch's `syncfs` and renames.
#[derive(Debug)]
pub struct Staged {
    /// The manifest entry.
    pub entry: Entry,
    /// (temp, final) pairs.
    pub renames: Vec<(PathBuf, PathBuf)>,
    /// Whether this device was built by this run (not taken from the journal).
    pub fresh: bool,
}

impl Staged {
    /// Removes the temp files (after a failure).
    pub fn discard(&self) {
        for (tmp, _) in &self.renames {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
