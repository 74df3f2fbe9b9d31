//! Copying an image while keeping its holes. On file systems with reflink
//! (XFS, btrfs) the destination shares the source's extents (`FICLONE`);
//! elsewhere each data extent, found with `SEEK_DATA`/`SEEK_HOLE`, is copied
//! in the kernel with `copy_file_range`, and holes stay holes.

use rustix::fs::SeekFrom;
use rustix::io::Errno;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// How a copy was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// Extents shared with `FICLONE`.
    Reflink,
    /// Data extents copied with `copy_file_range`.
    Extents,
}

/// The data extents of `file` as (offset, length), within `len` bytes.
pub fn data_extents(file: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let start = match rustix::fs::seek(file, SeekFrom::Data(pos)) {
            Ok(s) => s,
            Err(Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        if start >= len {
            break;
        }
        let end = rustix::fs::seek(file, SeekFrom::Hole(start))?.min(len);
        out.push((start, end - start));
        pos = end;
    }
    Ok(out)
}

/// Copies `len` bytes of `src` into the empty file `dst`, sharing extents
/// where the file system can, and sets `dst`'s length to `len`.
pub fn clone_or_copy(
    src: &File,
    dst: &File,
    len: u64,
    try_reflink: bool,
) -> io::Result<CopyMethod> {
    if try_reflink {
        match rustix::fs::ioctl_ficlone(dst, src) {
            Ok(()) => {
                // A clone has the source's length. Truncating to the same
                // length is not free: XFS then logs a truncation and flushes
                // the file on close.
                if dst.metadata()?.len() != len {
                    dst.set_len(len)?;
                }
                return Ok(CopyMethod::Reflink);
            }
            Err(Errno::OPNOTSUPP | Errno::XDEV | Errno::INVAL | Errno::NOTTY | Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
    }
    copy_extents(src, dst, &data_extents(src, len)?, 0)?;
    dst.set_len(len)?;
    Ok(CopyMethod::Extents)
}

/// Copies the given extents of `src` to `dst`, each `shift` bytes further.
pub fn copy_extents(src: &File, dst: &File, extents: &[(u64, u64)], shift: u64) -> io::Result<()> {
    for &(start, length) in extents {
        let mut off_in = start;
        let mut off_out = start + shift;
        let mut left = length;
        while left > 0 {
            let chunk = left.min(1 << 30) as usize;
            let n = match rustix::fs::copy_file_range(
                src,
                Some(&mut off_in),
                dst,
                Some(&mut off_out),
                chunk,
            ) {
                Ok(n) => n,
                // Across file systems some kernels refuse: copy through memory.
                Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    let n = chunk.min(1 << 20);
                    let mut buf = vec![0u8; n];
                    let got = src.read_at(&mut buf, off_in)?;
                    dst.write_all_at(&buf[..got], off_out)?;
                    off_in += got as u64;
                    off_out += got as u64;
                    got
                }
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "source shorter than expected",
                ));
            }
            left -= n as u64;
        }
    }
    Ok(())
}

/// Whether `FICLONE` works from `src` into a file in the same directory;
/// probed once per run so the per-device path does not retry a failing call.
pub fn reflink_works(src: &File, probe: &File) -> bool {
    rustix::fs::ioctl_ficlone(probe, src).is_ok()
}
