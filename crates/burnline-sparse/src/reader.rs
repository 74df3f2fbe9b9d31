//! The expanded image of a sparse file, as a [`Read`]: RAW chunks give
//! their bytes, FILL chunks their value repeated, DONT_CARE chunks zeros
//! (what `simg2img` writes there). Each chunk is checked by
//! [`crate::Chunks`] as it comes, and each CRC32 chunk against the CRC32 of
//! the bytes given so far; a broken rule is an [`std::io::ErrorKind::InvalidData`]
//! error holding the [`crate::SparseError`].

use crate::chunks::{Chunk, ChunkKind, Chunks};
use crate::error::{Result, SparseError};
use crate::header::Header;
use std::io::{self, Read, Seek};

/// A sparse file read as the image it stands for.
#[derive(Debug)]
pub struct SparseReader<R> {
    chunks: Chunks<R>,
    current: Option<Chunk>,
    /// Bytes of `current` not yet given.
    left: u64,
    /// Bytes of `current` already given.
    done: u64,
    crc: crc32fast::Hasher,
}

impl<R: Read + Seek> SparseReader<R> {
    /// Reads `r`'s header.
    pub fn new(r: R) -> Result<Self> {
        Ok(SparseReader {
            chunks: Chunks::new(r)?,
            current: None,
            left: 0,
            done: 0,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// The file header.
    pub fn header(&self) -> &Header {
        self.chunks.header()
    }

    /// Moves to the next chunk that covers blocks; false at the end.
    fn next(&mut self) -> Result<bool> {
        while let Some(c) = self.chunks.next_chunk()? {
            if let ChunkKind::Crc32(want) = c.kind {
                let got = self.crc.clone().finalize();
                if got != want {
                    return Err(SparseError::Crc32Mismatch {
                        index: c.index,
                        want,
                        got,
                    });
                }
                continue;
            }
            let (_, len) = c.byte_range(self.chunks.header().block_size);
            if len == 0 {
                continue;
            }
            self.current = Some(c);
            self.left = len;
            self.done = 0;
            return Ok(true);
        }
        self.current = None;
        Ok(false)
    }
}

impl<R: Read + Seek> Read for SparseReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 && !self.next()? {
            return Ok(0);
        }
        let Some(c) = self.current else {
            return Ok(0);
        };
        let n = self.left.min(buf.len() as u64) as usize;
        let out = &mut buf[..n];
        let n = match c.kind {
            ChunkKind::Raw => {
                let got = self.chunks.r.read(out)?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the sparse file ended inside a RAW chunk (it changed while read)",
                    ));
                }
                got
            }
            ChunkKind::Fill(v) => {
                let pattern = v.to_le_bytes();
                for (i, b) in out.iter_mut().enumerate() {
                    *b = pattern[((self.done + i as u64) % 4) as usize];
                }
                n
            }
            ChunkKind::DontCare | ChunkKind::Crc32(_) => {
                out.fill(0);
                n
            }
        };
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        self.done += n as u64;
        Ok(n)
    }
}
