//! What burnline's crates share for files, disks and the terminal, below
//! every step of the pipeline: [`error`], the I/O failure of a named step;
//! [`atomic`], the one crash-safe writer (temp, fsync, rename, fsync the
//! directory); [`console`], lines on stdout and stderr that a closed pipe
//! cannot crash (the [`say!`] and [`show!`] macros); [`internal_error`], the
//! one-line panic; [`failpoint`], the tests' crash points ([`crash_point!`]).
//! Then the adapters a disk image is read and written through: inputs
//! opened so they cannot hang a build ([`source`]), positional access
//! ([`block_at`]), a [`window::Window`] onto part of a file, a
//! [`patch::PatchDevice`] that records writes in memory, extent-aware
//! copying ([`extents`]), whole-block patch writes ([`block_writes`]), card
//! I/O around the page cache ([`direct`]), bytes moved from file to card
//! without passing through user space ([`spliced`]), a file read many times that must
//! not change between reads ([`pinned`]), a write-back cache for file-system crates ([`write_back`]), block maps
//! ([`bmap`]), hashing of an image as base plus patches ([`hash`], and
//! BLAKE3 with the base's tree cached in [`tree_digest`]), the hash chain
//! that links each line of an append-only log to the one before it
//! ([`chain`]), and CSV for spreadsheets with no cell a formula
//! ([`sheet_csv`]).

pub mod error;
pub mod atomic;
pub mod console;
pub mod internal_error;
pub mod failpoint;
pub mod source;
pub mod block_at;
pub mod window;
pub mod patch;
pub mod extents;
pub mod block_writes;
pub mod direct;
pub mod spliced;
pub mod pinned;
pub mod write_back;
pub mod bmap;
pub mod hash;
pub mod tree_digest;
pub mod chain;
pub mod sheet_csv;

pub use block_at::{seek_target, BlockAt};
pub use error::{Error, IoContext, Result};
