//! Small composable I/O pieces (crash-safe files are
//! `burnline_io::atomic`: write temp, fsync, rename, fsync the directory):
//! inputs opened so they cannot hang a
//! build ([`source`]), a [`window::Window`] onto part of a file, a
//! [`patch::PatchDevice`] that records writes in memory, extent-aware copying
//! ([`extents`]), whole-block patch writes ([`block_writes`]), a write-back
//! cache for file-system crates ([`write_back`]) and hashing of
//! an image as base plus patches ([`hash`], and BLAKE3 with the base's tree
//! cached in [`tree_digest`]). [`append_log`] is the one append-only JSON
//! lines log under the registration ledger, the station ledger and the
//! resume journal: fsynced appends, a lock against a second process, and one
//! rule for what a crash leaves (a torn last line is cut) and what damage
//! is (any other unreadable line stops the run, naming the file and line),
//! with every line linked to the one before it by [`chain`]. CSV for
//! spreadsheets, with no cell a formula, is [`sheet_csv`].

pub mod append_log;
pub mod block_writes;
pub mod bmap;
pub mod chain;
pub mod extents;
pub mod hash;
pub mod patch;
pub mod sheet_csv;
pub mod source;
pub mod tree_digest;
pub mod window;
pub mod write_back;

use std::io;

/// Positional access to a disk or a part of one.
pub trait BlockAt {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
}

/// The position a `seek` on a device of `len` bytes at `pos` lands on.
pub fn seek_target(to: io::SeekFrom, pos: u64, len: u64) -> io::Result<u64> {
    let target = match to {
        io::SeekFrom::Start(p) => Some(p),
        io::SeekFrom::End(d) => len.checked_add_signed(d),
        io::SeekFrom::Current(d) => pos.checked_add_signed(d),
    };
    target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
}
