//! Moving bytes from one file to another through a pipe (`splice(2)`),
//! so they never pass through user space.
//!
//! A station writes the same base to every card. Copying each card's
//! gigabyte of base from the page cache into a buffer, only to hand it to
//! the card, was a quarter of a card's CPU time. Spliced, the kernel hands
//! the base's cached pages to the card's descriptor as they are; with
//! `O_DIRECT` the card is written from those pages. A kernel or a file
//! that refuses (`EINVAL`) leaves the caller to copy as before
//! ([`crate::direct::refused`]).

use rustix::fd::OwnedFd;
use rustix::pipe::{fcntl_setpipe_size, pipe_with, splice, PipeFlags, SpliceFlags};
use std::fs::File;
use std::io;

/// How much a pipe is asked to hold: one chunk of a card.
const PIPE_BYTES: usize = 1 << 20;

/// A pipe to splice through, and how much it holds.
#[derive(Debug)]
pub struct Splicer {
    read: OwnedFd,
    write: OwnedFd,
    holds: usize,
}

impl Splicer {
    /// A pipe of up to a MiB (less where `/proc/sys/fs/pipe-max-size`
    /// allows less).
    pub fn new() -> io::Result<Self> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
        let holds = fcntl_setpipe_size(&write, PIPE_BYTES)
            .or_else(|_| rustix::pipe::fcntl_getpipe_size(&write))?;
        Ok(Splicer { read, write, holds })
    }

    /// Moves `len` bytes of `from` at `from_at` into `to` at `to_at`. On
    /// an error the pipe may hold bytes not yet moved: drop this splicer.
    pub fn copy(
        &mut self,
        from: &File,
        mut from_at: u64,
        to: &File,
        mut to_at: u64,
        len: u64,
    ) -> io::Result<()> {
        let mut left = len;
        while left > 0 {
            let ask = left.min(self.holds as u64) as usize;
            let got = splice(
                from,
                Some(&mut from_at),
                &self.write,
                None,
                ask,
                SpliceFlags::MOVE,
            )?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let mut out = 0;
            while out < got {
                let n = splice(
                    &self.read,
                    None,
                    to,
                    Some(&mut to_at),
                    got - out,
                    SpliceFlags::MOVE,
                )?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                out += n;
            }
            left -= got as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// Bytes spliced land at the offset asked, byte for byte, into a plain
    /// file and into one opened with `O_DIRECT` (whole 4 KiB blocks, as a
    /// card is written); the bytes around them are left alone.
    #[test]
    fn bytes_are_moved_to_the_offset_asked_also_around_the_page_cache() {
        let d = tempfile::tempdir().expect("tempdir");
        let src = d.path().join("base.img");
        let bytes: Vec<u8> = (0..3u32 << 20).map(|i| (i % 253) as u8).collect();
        std::fs::write(&src, &bytes).expect("base");
        let from = File::open(&src).expect("open");
        let mut s = Splicer::new().expect("pipe");
        for direct in [false, true] {
            let dst = d.path().join(format!("card-{direct}.img"));
            std::fs::write(&dst, vec![0xeeu8; 4 << 20]).expect("card");
            let to = if direct {
                crate::direct::open(&dst).expect("O_DIRECT")
            } else {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dst)
                    .expect("card")
            };
            // 2 MiB + 8 KiB from 4 KiB into the base, to 1 MiB on the card:
            // more than the pipe holds, so it takes several turns.
            let (at, len, to_at) = (4096u64, (2 << 20) + 8192u64, 1u64 << 20);
            s.copy(&from, at, &to, to_at, len).expect("spliced");
            let mut got = vec![0u8; 4 << 20];
            File::open(&dst)
                .expect("read")
                .read_exact_at(&mut got, 0)
                .expect("read");
            let (a, b) = (to_at as usize, (to_at + len) as usize);
            assert!(
                got[..a].iter().all(|&x| x == 0xee),
                "before, direct {direct}"
            );
            assert_eq!(&got[a..b], &bytes[at as usize..(at + len) as usize]);
            assert!(
                got[b..].iter().all(|&x| x == 0xee),
                "after, direct {direct}"
            );
        }
    }

    /// Asking for bytes past the end of the source is an error, not a
    /// short copy taken for a whole one.
    #[test]
    fn a_copy_past_the_end_of_the_source_is_an_error() {
        let d = tempfile::tempdir().expect("tempdir");
        let src = d.path().join("base.img");
        std::fs::write(&src, vec![1u8; 8192]).expect("base");
        let dst = d.path().join("card.img");
        std::fs::write(&dst, vec![0u8; 65536]).expect("card");
        let to = std::fs::OpenOptions::new()
            .write(true)
            .open(&dst)
            .expect("card");
        let e = Splicer::new()
            .expect("pipe")
            .copy(&File::open(&src).expect("open"), 4096, &to, 0, 8192)
            .expect_err("past the end");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
