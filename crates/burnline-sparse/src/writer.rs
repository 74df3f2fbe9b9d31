//! Streaming a sparse file out: the caller hands over the image block run
//! by block run, as RAW bytes, a FILL value or DONT_CARE, in order; runs of
//! one kind next to each other become one chunk (a RAW chunk up to the
//! 32-bit `total_sz`, a FILL chunk of one value). RAW data goes straight
//! to the output; a chunk's header is written when the chunk closes (a
//! RAW chunk's header in place, by seeking back), and the file header,
//! which counts the chunks, by [`SparseWriter::finish`]. The same calls
//! give the same bytes: nothing depends on time or the host.

use crate::error::{Result, SparseError};
use crate::header::{
    encode_chunk_header, BlockSize, Header, CHUNK_DONT_CARE, CHUNK_FILL, CHUNK_HEADER_LEN,
    CHUNK_RAW,
};
use std::io::{Seek, SeekFrom, Write};

/// The chunk being written.
#[derive(Debug)]
enum Open {
    /// A RAW chunk whose header (a placeholder for now) is at `at`.
    Raw {
        at: u64,
        blocks: u32,
    },
    Fill {
        value: u32,
        blocks: u32,
    },
    DontCare {
        blocks: u32,
    },
}

/// Writes one sparse file.
#[derive(Debug)]
pub struct SparseWriter<W: Write + Seek> {
    out: W,
    block_size: BlockSize,
    total_blocks: u32,
    /// Blocks handed over so far.
    next_block: u32,
    /// Chunks closed so far.
    chunks: u32,
    open: Option<Open>,
    /// Where the file header is.
    start: u64,
}

impl<W: Write + Seek> SparseWriter<W> {
    /// Starts a file for an image of `total_blocks` blocks of `block_size`
    /// at `out`'s position.
    pub fn new(mut out: W, block_size: BlockSize, total_blocks: u32) -> Result<Self> {
        if total_blocks == 0 {
            return Err(SparseError::NoBlocks);
        }
        let start = out.stream_position()?;
        out.write_all(&Header::new(block_size, total_blocks, 0).encode())?;
        Ok(SparseWriter {
            out,
            block_size,
            total_blocks,
            next_block: 0,
            chunks: 0,
            open: None,
            start,
        })
    }

    fn advance(&mut self, blocks: u32) -> Result<()> {
        self.next_block = self
            .next_block
            .checked_add(blocks)
            .filter(|&e| e <= self.total_blocks)
            .ok_or(SparseError::Writer("blocks past the image's end"))?;
        Ok(())
    }

    /// The most blocks one RAW chunk holds (its `total_sz` is 32 bits).
    fn max_raw_blocks(&self) -> u32 {
        (u32::MAX - u32::from(CHUNK_HEADER_LEN)) / self.block_size.get()
    }

    /// Writes `data`, whole blocks, as RAW.
    pub fn raw(&mut self, mut data: &[u8]) -> Result<()> {
        let bs = self.block_size.get() as usize;
        if data.len() % bs != 0 {
            return Err(SparseError::Writer("RAW data must be whole blocks"));
        }
        let blocks = u32::try_from(data.len() / bs)
            .map_err(|_| SparseError::Writer("blocks past the image's end"))?;
        self.advance(blocks)?;
        let max = self.max_raw_blocks();
        while !data.is_empty() {
            let room = match self.open {
                Some(Open::Raw { blocks, .. }) if blocks < max => max - blocks,
                _ => {
                    self.close()?;
                    let at = self.out.stream_position()?;
                    self.out.write_all(&[0u8; CHUNK_HEADER_LEN as usize])?;
                    self.open = Some(Open::Raw { at, blocks: 0 });
                    max
                }
            };
            let n = ((data.len() / bs) as u64).min(u64::from(room)) as u32;
            let (now, rest) = data.split_at(n as usize * bs);
            self.out.write_all(now)?;
            if let Some(Open::Raw { blocks, .. }) = &mut self.open {
                *blocks += n;
            }
            data = rest;
        }
        Ok(())
    }

    /// Covers `blocks` blocks with the 4-byte `value` (little-endian in the
    /// image, as it is in the file).
    pub fn fill(&mut self, value: u32, blocks: u32) -> Result<()> {
        if blocks == 0 {
            return Ok(());
        }
        self.advance(blocks)?;
        match &mut self.open {
            Some(Open::Fill {
                value: v,
                blocks: b,
            }) if *v == value => *b += blocks,
            _ => {
                self.close()?;
                self.open = Some(Open::Fill { value, blocks });
            }
        }
        Ok(())
    }

    /// Leaves `blocks` blocks as the target holds them.
    pub fn dont_care(&mut self, blocks: u32) -> Result<()> {
        if blocks == 0 {
            return Ok(());
        }
        self.advance(blocks)?;
        match &mut self.open {
            Some(Open::DontCare { blocks: b }) => *b += blocks,
            _ => {
                self.close()?;
                self.open = Some(Open::DontCare { blocks });
            }
        }
        Ok(())
    }

    /// Writes the open chunk's header (and a FILL chunk's value).
    fn close(&mut self) -> Result<()> {
        let chdr = u32::from(CHUNK_HEADER_LEN);
        match self.open.take() {
            None => return Ok(()),
            Some(Open::Raw { at, blocks }) => {
                let end = self.out.stream_position()?;
                // blocks <= max_raw_blocks: this fits in 32 bits.
                let total = chdr + blocks * self.block_size.get();
                self.out.seek(SeekFrom::Start(at))?;
                self.out
                    .write_all(&encode_chunk_header(CHUNK_RAW, blocks, total))?;
                self.out.seek(SeekFrom::Start(end))?;
            }
            Some(Open::Fill { value, blocks }) => {
                self.out
                    .write_all(&encode_chunk_header(CHUNK_FILL, blocks, chdr + 4))?;
                self.out.write_all(&value.to_le_bytes())?;
            }
            Some(Open::DontCare { blocks }) => {
                self.out
                    .write_all(&encode_chunk_header(CHUNK_DONT_CARE, blocks, chdr))?;
            }
        }
        self.chunks = self
            .chunks
            .checked_add(1)
            .ok_or(SparseError::Writer("more than 2^32-1 chunks"))?;
        Ok(())
    }

    /// Closes the last chunk and writes the file header; every block must
    /// have been handed over. Returns the output, at the file's end.
    pub fn finish(mut self) -> Result<W> {
        self.close()?;
        if self.next_block != self.total_blocks {
            return Err(SparseError::Writer("fewer blocks than the image has"));
        }
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(self.start))?;
        self.out
            .write_all(&Header::new(self.block_size, self.total_blocks, self.chunks).encode())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::{layout, ChunkKind};
    use crate::reader::SparseReader;
    use std::io::{Cursor, Read};

    fn bs512() -> BlockSize {
        BlockSize::new(512).expect("512")
    }

    /// A file of 10 blocks: 2 RAW, 3 FILL 0x01020304, 4 DONT_CARE, 1 RAW.
    fn sample() -> Vec<u8> {
        let mut w = SparseWriter::new(Cursor::new(Vec::new()), bs512(), 10).expect("new");
        w.raw(&[7u8; 512]).expect("raw");
        w.raw(&[8u8; 512]).expect("raw merges");
        w.fill(0x0102_0304, 1).expect("fill");
        w.fill(0x0102_0304, 2).expect("fill merges");
        w.dont_care(4).expect("dc");
        w.raw(&[9u8; 512]).expect("raw");
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn writes_merged_chunks_and_reads_them_back() {
        let f = sample();
        let l = layout(Cursor::new(&f)).expect("layout");
        assert_eq!(l.header.total_chunks, 4);
        let kinds: Vec<_> = l.chunks.iter().map(|c| (c.kind, c.blocks)).collect();
        assert_eq!(
            kinds,
            [
                (ChunkKind::Raw, 2),
                (ChunkKind::Fill(0x0102_0304), 3),
                (ChunkKind::DontCare, 4),
                (ChunkKind::Raw, 1)
            ]
        );
        assert_eq!(l.written_ranges(), [(0, 2560), (4608, 512)]);
        let mut img = Vec::new();
        SparseReader::new(Cursor::new(&f))
            .expect("reader")
            .read_to_end(&mut img)
            .expect("expand");
        let mut want = [vec![7u8; 512], vec![8u8; 512]].concat();
        want.extend([4u8, 3, 2, 1].repeat(384));
        want.extend([0u8; 2048]);
        want.extend([9u8; 512]);
        assert_eq!(img, want);
    }

    #[test]
    fn misuse_is_refused() {
        let mut w = SparseWriter::new(Cursor::new(Vec::new()), bs512(), 2).expect("new");
        assert!(w.raw(&[0u8; 100]).is_err(), "not whole blocks");
        assert!(w.dont_care(3).is_err(), "past the end");
        w.dont_care(1).expect("dc");
        assert!(w.finish().is_err(), "a block short");
    }

    /// Re-seals nothing: edits bytes of a written file and reads it.
    fn edited(at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut f = sample();
        f[at..at + bytes.len()].copy_from_slice(bytes);
        f
    }

    fn refused(f: &[u8]) -> SparseError {
        layout(Cursor::new(f)).expect_err("refused")
    }

    #[test]
    fn bad_files_are_refused_with_their_kind() {
        // Chunk 0 (RAW, 2 blocks) starts at 28; its total_sz at 36.
        let e = refused(&edited(32, &0x0080_0000u32.to_le_bytes()));
        assert!(
            matches!(e, SparseError::ChunkSizeOverflow { index: 0, .. }),
            "{e}"
        );
        let e = refused(&edited(36, &1037u32.to_le_bytes()));
        assert!(matches!(e, SparseError::ChunkSize { index: 0, .. }), "{e}");
        let e = refused(&edited(28, &0xCAC9u16.to_le_bytes()));
        assert!(
            matches!(e, SparseError::UnknownChunkType { index: 0, .. }),
            "{e}"
        );
        let f = sample();
        let e = refused(&f[..f.len() - 1]);
        assert!(
            matches!(e, SparseError::ChunkPastEnd { index: 3, .. }),
            "{e}"
        );
        let e = refused(&[f.clone(), vec![0]].concat());
        assert!(matches!(e, SparseError::TrailingBytes(1)), "{e}");
        // total_blks (at 16) one more, and one less, than the chunks cover.
        let e = refused(&edited(16, &11u32.to_le_bytes()));
        assert!(
            matches!(
                e,
                SparseError::TotalBlocksMismatch {
                    covered: 10,
                    total: 11
                }
            ),
            "{e}"
        );
        let e = refused(&edited(16, &9u32.to_le_bytes()));
        assert!(
            matches!(e, SparseError::PastImageEnd { index: 3, .. }),
            "{e}"
        );
        let e = refused(&edited(0, b"XXXX"));
        assert!(matches!(e, SparseError::BadMagic(_)), "{e}");
        let e = refused(&f[..20]);
        assert!(matches!(e, SparseError::TruncatedHeader(28)), "{e}");
    }

    #[test]
    fn crc32_chunks_are_checked_when_expanded() {
        let image = [5u8; 1024];
        let mut f = Header::new(bs512(), 2, 2).encode().to_vec();
        f.extend(encode_chunk_header(CHUNK_RAW, 2, 12 + 1024));
        f.extend(image);
        f.extend(encode_chunk_header(crate::header::CHUNK_CRC32, 0, 16));
        f.extend(crc32fast::hash(&image).to_le_bytes());
        let expand = |f: &[u8]| {
            let mut out = Vec::new();
            SparseReader::new(Cursor::new(f))
                .and_then(|mut r| r.read_to_end(&mut out).map_err(SparseError::Io))
                .map(|_| out)
        };
        assert_eq!(expand(&f).expect("good crc"), image);
        let n = f.len();
        f[n - 1] ^= 1;
        let e = expand(&f).expect_err("bad crc");
        assert!(e.to_string().contains("CRC32"), "{e}");
    }
}
