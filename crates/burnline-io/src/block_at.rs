//! Positional access to a disk or a part of one ([`BlockAt`]), and where a
//! `seek` lands ([`seek_target`]): what the windows, patches and caches of
//! this crate are built on.

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
