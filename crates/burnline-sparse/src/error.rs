//! Every way a sparse file is refused, and the writer's own misuse errors.
//! Each kind names the rule broken in words (and the chunk, counted from
//! 0, where there is one), so a caller can print it as one line after the
//! file's name.

use std::io;

/// Why a sparse file was refused (or could not be written).
#[derive(Debug, thiserror::Error)]
pub enum SparseError {
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file is shorter than the 28-byte file header, or than the header
    /// size it declares.
    #[error("truncated: the file ends inside its {0}-byte file header")]
    TruncatedHeader(u64),
    /// The first four bytes are not 0xED26FF3A (little-endian).
    #[error("bad magic {0:#010x}: not an Android sparse image (wanted 0xed26ff3a)")]
    BadMagic(u32),
    /// A major version other than 1 (libsparse refuses those; higher minor
    /// versions are accepted, as libsparse does).
    #[error("unsupported sparse format version {major}.{minor}: only major version 1 is known")]
    UnsupportedVersion {
        /// `major_version`.
        major: u16,
        /// `minor_version`.
        minor: u16,
    },
    /// `file_hdr_sz` below 28 bytes.
    #[error("file header size {0} is below the format's 28 bytes")]
    FileHeaderSize(u16),
    /// `chunk_hdr_sz` below 12 bytes.
    #[error("chunk header size {0} is below the format's 12 bytes")]
    ChunkHeaderSize(u16),
    /// A block size of 0 or not a multiple of 4 (libsparse's rule); for the
    /// writer, not a multiple of 512 or over [`crate::header::MAX_BLOCK_SIZE`].
    #[error("block size {size}: {rule}")]
    BlockSize {
        /// The size given.
        size: u64,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// `total_blks` is 0 (libsparse refuses an empty image).
    #[error("the image has no blocks (total_blks is 0)")]
    NoBlocks,
    /// A chunk header, or the data its `total_sz` declares, reaches past
    /// the end of the file (a truncated file, or a size that lies).
    #[error("chunk {index} ends past the end of the file (byte {end} of {file_len})")]
    ChunkPastEnd {
        /// The chunk, counted from 0.
        index: u32,
        /// Where it would end.
        end: u64,
        /// The file's length.
        file_len: u64,
    },
    /// A chunk's size does not fit its field, or its blocks do not fit the
    /// block count: `chunk_sz × blk_sz` plus the chunk header over the
    /// 32-bit `total_sz`, or the block count overflowing 32 bits.
    #[error("chunk {index}: its size overflows: {what}")]
    ChunkSizeOverflow {
        /// The chunk.
        index: u32,
        /// What overflowed.
        what: &'static str,
    },
    /// A chunk's `total_sz` is not what its type and `chunk_sz` make it
    /// (RAW: header plus `chunk_sz × blk_sz`; FILL and CRC32: header plus 4;
    /// DONT_CARE: the header), or is below the chunk header size.
    #[error("chunk {index} ({kind}): total_sz is {got} bytes, its type and size make it {want}")]
    ChunkSize {
        /// The chunk.
        index: u32,
        /// Its type's name.
        kind: &'static str,
        /// `total_sz`.
        got: u64,
        /// What it must be.
        want: u64,
    },
    /// A CRC32 chunk that covers blocks (it must have `chunk_sz` 0).
    #[error("chunk {index} (CRC32) covers {blocks} block(s); a CRC32 chunk covers none")]
    Crc32Blocks {
        /// The chunk.
        index: u32,
        /// Its `chunk_sz`.
        blocks: u32,
    },
    /// A chunk type other than the four.
    #[error("chunk {index} has unknown type {kind:#06x}")]
    UnknownChunkType {
        /// The chunk.
        index: u32,
        /// Its type.
        kind: u16,
    },
    /// A chunk reaches past the image's `total_blks`.
    #[error("chunk {index} ends at block {end}, past the image's {total} blocks")]
    PastImageEnd {
        /// The chunk.
        index: u32,
        /// Its end block.
        end: u64,
        /// `total_blks`.
        total: u32,
    },
    /// The chunks cover fewer blocks than `total_blks`.
    #[error("the chunks cover {covered} block(s), the header says the image has {total}")]
    TotalBlocksMismatch {
        /// Blocks the chunks cover.
        covered: u32,
        /// `total_blks`.
        total: u32,
    },
    /// Bytes after the last chunk the header counts.
    #[error("{0} byte(s) after the last of the header's chunks")]
    TrailingBytes(u64),
    /// A CRC32 chunk's value is not the CRC32 of the image before it.
    #[error("chunk {index} (CRC32) says {want:#010x}, the image before it has {got:#010x}")]
    Crc32Mismatch {
        /// The chunk.
        index: u32,
        /// The chunk's value.
        want: u32,
        /// The image's.
        got: u32,
    },
    /// The writer was given blocks past the image's end, or fewer than it
    /// has, or data that is not whole blocks.
    #[error("writer: {0}")]
    Writer(&'static str),
}

impl From<SparseError> for io::Error {
    fn from(e: SparseError) -> io::Error {
        match e {
            SparseError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// Result with [`SparseError`].
pub type Result<T, E = SparseError> = std::result::Result<T, E>;
