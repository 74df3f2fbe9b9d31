//! Reading and writing a card around the page cache (`O_DIRECT`).
//!
//! A card written through the page cache is written twice over in memory
//! (the copy into the cache, then writeback by the kernel's own threads),
//! and on a busy station that writeback lags the card: through the
//! simulated cards of `scripts/bench-w3.sh` the buffered path gave 13–18
//! MB/s of a 20 MB/s card, `O_DIRECT` 18–19.5. A read-back through the
//! cache may not come from the card at all. So a block device is also
//! opened with `O_DIRECT` ([`open`]), and every whole, aligned piece
//! ([`aligned`]) goes through it from an [`AlignedBuf`]; whatever is not
//! aligned (a partition-table region of an image whose size is not a
//! multiple of [`ALIGN`]) goes through the cache as before.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The alignment of offsets, lengths and buffers: the largest logical
/// block size of the cards a station meets (4Kn), a multiple of 512.
pub const ALIGN: usize = 4096;

/// A zeroed buffer whose first byte lies on an [`ALIGN`] boundary.
pub struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes, aligned.
    pub fn new(len: usize) -> Self {
        let raw = vec![0u8; len + ALIGN];
        let addr = raw.as_ptr() as usize;
        let start = (ALIGN - addr % ALIGN) % ALIGN;
        AlignedBuf { raw, start, len }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// Whether `buf` at `offset` can go through an `O_DIRECT` descriptor:
/// offset, length and address all multiples of [`ALIGN`], and not empty.
pub fn aligned(offset: u64, buf: &[u8]) -> bool {
    !buf.is_empty()
        && offset % ALIGN as u64 == 0
        && buf.len() % ALIGN == 0
        && (buf.as_ptr() as usize) % ALIGN == 0
}

/// Opens `path` for reading and writing with `O_DIRECT`.
pub fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
}

/// Whether `e` is the kernel refusing a direct transfer (alignment, or a
/// file that does not take `O_DIRECT`): the caller goes through the cache.
pub fn refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn buffers_are_aligned_whatever_their_length() {
        for len in [0, 1, 511, ALIGN, 3 * ALIGN + 7, 1 << 20] {
            let mut b = AlignedBuf::new(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % ALIGN, 0, "len {len}");
            assert!(b.iter().all(|&x| x == 0));
            b.fill(0xa5);
            assert!(b.iter().all(|&x| x == 0xa5));
        }
    }

    #[test]
    fn only_whole_aligned_pieces_are_direct() {
        let b = AlignedBuf::new(2 * ALIGN);
        assert!(aligned(0, &b));
        assert!(aligned(8 * ALIGN as u64, &b[ALIGN..]));
        assert!(!aligned(512, &b), "offset");
        assert!(!aligned(0, &b[..ALIGN - 1]), "length");
        assert!(!aligned(0, &b[1..ALIGN + 1]), "address");
        assert!(!aligned(0, &b[..0]), "empty");
    }

    /// A direct write and a direct read of a file give the bytes back;
    /// an unaligned one is refused as [`refused`] says.
    #[test]
    fn a_direct_write_reads_back_and_an_unaligned_one_is_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("card");
        std::fs::write(&p, vec![0u8; 4 * ALIGN]).expect("make");
        let f = open(&p).expect("O_DIRECT open");
        let mut w = AlignedBuf::new(2 * ALIGN);
        w.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
        f.write_all_at(&w, ALIGN as u64).expect("direct write");
        let mut r = AlignedBuf::new(2 * ALIGN);
        f.read_exact_at(&mut r, ALIGN as u64).expect("direct read");
        assert_eq!(&r[..], &w[..]);
        assert_eq!(std::fs::read(&p).expect("read")[ALIGN..3 * ALIGN], w[..]);
        let e = f.write_all_at(&w[..100], 3).expect_err("unaligned");
        assert!(refused(&e), "{e}");
    }
}
