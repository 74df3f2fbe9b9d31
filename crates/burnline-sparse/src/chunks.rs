//! Walking a sparse file's chunks, checking each before anything uses it:
//! the rules of libsparse's `sparse_read.cpp` (each chunk's `total_sz`
//! matches its type and `chunk_sz`; the chunks cover exactly `total_blks`
//! blocks), plus what libsparse leaves unchecked (a header or data past the
//! end of the file, sizes that overflow, unknown chunk types, bytes after
//! the last chunk). Every sum of sizes read from the file is checked; the
//! walk reads chunk headers and seeks over RAW data, so checking a file
//! costs one read per chunk.

use crate::error::{Result, SparseError};
use crate::header::{
    parse_chunk_header, Header, CHUNK_CRC32, CHUNK_DONT_CARE, CHUNK_FILL, CHUNK_HEADER_LEN,
    CHUNK_RAW, FILE_HEADER_LEN,
};
use std::io::{Read, Seek, SeekFrom};

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Its blocks' bytes, at [`Chunk::data_offset`] in the file.
    Raw,
    /// A 4-byte value (little-endian in the file) repeated over its blocks.
    Fill(u32),
    /// Blocks the target keeps as they are.
    DontCare,
    /// The CRC32 of the image before it (covers no block).
    Crc32(u32),
}

/// One checked chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Its place in the file, from 0.
    pub index: u32,
    /// What it holds.
    pub kind: ChunkKind,
    /// The first block it covers.
    pub first_block: u32,
    /// How many blocks it covers (0 for CRC32).
    pub blocks: u32,
    /// Where its data starts in the file.
    pub data_offset: u64,
}

impl Chunk {
    /// The image bytes it covers, (start, length), for `block_size`.
    pub fn byte_range(&self, block_size: u32) -> (u64, u64) {
        let bs = u64::from(block_size);
        (
            u64::from(self.first_block) * bs,
            u64::from(self.blocks) * bs,
        )
    }
}

/// A walk over a sparse file's chunks.
#[derive(Debug)]
pub struct Chunks<R> {
    pub(crate) r: R,
    header: Header,
    file_len: u64,
    /// Where the next chunk header starts.
    pos: u64,
    index: u32,
    next_block: u32,
    ended: bool,
}

impl<R: Read + Seek> Chunks<R> {
    /// Reads and checks the file header of `r` (from its start).
    pub fn new(mut r: R) -> Result<Self> {
        let file_len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        if file_len < u64::from(FILE_HEADER_LEN) {
            return Err(SparseError::TruncatedHeader(FILE_HEADER_LEN.into()));
        }
        let mut b = [0u8; FILE_HEADER_LEN as usize];
        r.read_exact(&mut b)?;
        let header = Header::parse(&b)?;
        let pos = u64::from(header.file_header_size);
        if pos > file_len {
            return Err(SparseError::TruncatedHeader(pos));
        }
        Ok(Chunks {
            r,
            header,
            file_len,
            pos,
            index: 0,
            next_block: 0,
            ended: false,
        })
    }

    /// The file header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next chunk, checked; `None` after the last, once the chunks are
    /// known to cover exactly the image and nothing follows them. After a
    /// RAW chunk, the reader stands at its data.
    ///
    /// Over 100 lines on purpose: the checks of one chunk (the end of the
    /// chunks, the header, its type and size, its blocks against the
    /// image's) run in the order the bytes are read, each error naming the
    /// chunk; split, the steps would hand the half-read header around.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let h = self.header;
        let index = self.index;
        if index == h.total_chunks {
            if !self.ended {
                self.ended = true;
                if self.next_block != h.total_blocks {
                    return Err(SparseError::TotalBlocksMismatch {
                        covered: self.next_block,
                        total: h.total_blocks,
                    });
                }
                if self.pos != self.file_len {
                    return Err(SparseError::TrailingBytes(self.file_len - self.pos));
                }
            }
            return Ok(None);
        }
        let past = |end: u64| SparseError::ChunkPastEnd {
            index,
            end,
            file_len: self.file_len,
        };
        let chdr = u64::from(h.chunk_header_size);
        let data_offset = self
            .pos
            .checked_add(chdr)
            .filter(|&e| e <= self.file_len)
            .ok_or_else(|| past(self.pos.saturating_add(chdr)))?;
        self.r.seek(SeekFrom::Start(self.pos))?;
        let mut b = [0u8; CHUNK_HEADER_LEN as usize];
        self.r.read_exact(&mut b)?;
        let (kind, chunk_sz, total_sz) = parse_chunk_header(&b);
        let bs = u64::from(h.block_size);
        let (name, want) = match kind {
            CHUNK_RAW => {
                let want = u64::from(chunk_sz)
                    .checked_mul(bs)
                    .and_then(|d| d.checked_add(chdr))
                    .filter(|&w| w <= u64::from(u32::MAX));
                let Some(want) = want else {
                    return Err(SparseError::ChunkSizeOverflow {
                        index,
                        what: "chunk_sz × blk_sz plus its header is over the 32-bit total_sz",
                    });
                };
                ("RAW", want)
            }
            CHUNK_FILL => ("FILL", chdr + 4),
            CHUNK_DONT_CARE => ("DONT_CARE", chdr),
            CHUNK_CRC32 => ("CRC32", chdr + 4),
            other => return Err(SparseError::UnknownChunkType { index, kind: other }),
        };
        if u64::from(total_sz) != want {
            return Err(SparseError::ChunkSize {
                index,
                kind: name,
                got: total_sz.into(),
                want,
            });
        }
        let end = self
            .pos
            .checked_add(total_sz.into())
            .filter(|&e| e <= self.file_len)
            .ok_or_else(|| past(self.pos.saturating_add(total_sz.into())))?;
        if kind == CHUNK_CRC32 && chunk_sz != 0 {
            return Err(SparseError::Crc32Blocks {
                index,
                blocks: chunk_sz,
            });
        }
        let end_block = u64::from(self.next_block) + u64::from(chunk_sz);
        let Ok(end_block32) = u32::try_from(end_block) else {
            return Err(SparseError::ChunkSizeOverflow {
                index,
                what: "the blocks so far and its chunk_sz pass 2^32",
            });
        };
        if end_block32 > h.total_blocks {
            return Err(SparseError::PastImageEnd {
                index,
                end: end_block,
                total: h.total_blocks,
            });
        }
        if chdr > u64::from(CHUNK_HEADER_LEN) {
            self.r.seek(SeekFrom::Start(data_offset))?;
        }
        let mut value = || -> Result<u32> {
            let mut v = [0u8; 4];
            self.r.read_exact(&mut v)?;
            Ok(u32::from_le_bytes(v))
        };
        let kind = match kind {
            CHUNK_RAW => ChunkKind::Raw,
            CHUNK_FILL => ChunkKind::Fill(value()?),
            CHUNK_CRC32 => ChunkKind::Crc32(value()?),
            _ => ChunkKind::DontCare,
        };
        let chunk = Chunk {
            index,
            kind,
            first_block: self.next_block,
            blocks: chunk_sz,
            data_offset,
        };
        self.pos = end;
        self.next_block = end_block32;
        self.index += 1;
        Ok(Some(chunk))
    }
}

/// A whole file's header and chunks, all checked.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The file header.
    pub header: Header,
    /// Every chunk, in order.
    pub chunks: Vec<Chunk>,
}

impl Layout {
    /// The image byte ranges (start, length) that RAW and FILL chunks
    /// write, neighbours merged: what a flasher writes; the rest (DONT_CARE)
    /// it skips.
    pub fn written_ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for c in &self.chunks {
            if !matches!(c.kind, ChunkKind::Raw | ChunkKind::Fill(_)) || c.blocks == 0 {
                continue;
            }
            let (s, l) = c.byte_range(self.header.block_size);
            match out.last_mut() {
                Some(last) if last.0 + last.1 == s => last.1 += l,
                _ => out.push((s, l)),
            }
        }
        out
    }

    /// Whether the file holds a CRC32 chunk (checked only when the image is
    /// expanded, by [`crate::SparseReader`]).
    pub fn has_crc32(&self) -> bool {
        self.chunks
            .iter()
            .any(|c| matches!(c.kind, ChunkKind::Crc32(_)))
    }
}

/// Checks all of `r` and lists its chunks.
pub fn layout<R: Read + Seek>(r: R) -> Result<Layout> {
    let mut walk = Chunks::new(r)?;
    let mut chunks = Vec::new();
    while let Some(c) = walk.next_chunk()? {
        chunks.push(c);
    }
    Ok(Layout {
        header: walk.header,
        chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{encode_chunk_header, BlockSize};
    use crate::reader::SparseReader;
    use std::io::Cursor;

    #[test]
    fn longer_headers_are_read_and_their_extra_bytes_skipped() {
        // file_hdr_sz 32, chunk_hdr_sz 16, as libsparse allows.
        let mut h = Header::new(BlockSize::new(512).expect("512"), 2, 2).encode();
        h[8] = 32;
        h[10] = 16;
        let mut f = h.to_vec();
        f.extend([0xEE; 4]);
        f.extend(encode_chunk_header(CHUNK_RAW, 1, 16 + 512));
        f.extend([0xEE; 4]);
        f.extend([3u8; 512]);
        f.extend(encode_chunk_header(CHUNK_FILL, 1, 20));
        f.extend([0xEE; 4]);
        f.extend(7u32.to_le_bytes());
        let l = layout(Cursor::new(&f)).expect("layout");
        assert_eq!(l.chunks[0].data_offset, 48);
        assert_eq!(l.chunks[1].kind, ChunkKind::Fill(7));
        let mut img = Vec::new();
        SparseReader::new(Cursor::new(&f))
            .expect("reader")
            .read_to_end(&mut img)
            .expect("expand");
        assert_eq!(img[..512], [3u8; 512]);
        assert_eq!(img[512..516], [7, 0, 0, 0]);
        assert_eq!(img.len(), 1024);
    }
}
