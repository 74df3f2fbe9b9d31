//! The file header and the chunk header, byte for byte as libsparse's
//! `sparse_format.h` lays them out (all little-endian), and the block size
//! burnline writes with.
//!
//! ```text
//! file header (28 bytes)           chunk header (12 bytes)
//! 0   u32 magic 0xED26FF3A         0  u16 chunk_type (0xCAC1..0xCAC4)
//! 4   u16 major_version (1)        2  u16 reserved
//! 6   u16 minor_version (0)        4  u32 chunk_sz: blocks it covers
//! 8   u16 file_hdr_sz (28)         8  u32 total_sz: bytes, header and data
//! 10  u16 chunk_hdr_sz (12)
//! 12  u32 blk_sz
//! 16  u32 total_blks
//! 20  u32 total_chunks
//! 24  u32 image_checksum (0: libsparse writes 0 and never reads it)
//! ```
//!
//! Larger header sizes are read (their extra bytes skipped, as libsparse
//! does); burnline writes exactly 28 and 12.

use crate::error::{Result, SparseError};
use std::str::FromStr;

/// The magic at byte 0.
pub const MAGIC: u32 = 0xED26_FF3A;
/// The one major version.
pub const MAJOR_VERSION: u16 = 1;
/// The file header's size.
pub const FILE_HEADER_LEN: u16 = 28;
/// The chunk header's size.
pub const CHUNK_HEADER_LEN: u16 = 12;
/// RAW chunk type.
pub const CHUNK_RAW: u16 = 0xCAC1;
/// FILL chunk type.
pub const CHUNK_FILL: u16 = 0xCAC2;
/// DONT_CARE chunk type.
pub const CHUNK_DONT_CARE: u16 = 0xCAC3;
/// CRC32 chunk type.
pub const CHUNK_CRC32: u16 = 0xCAC4;
/// The largest block size the writer takes (1 MiB).
pub const MAX_BLOCK_SIZE: u32 = 1 << 20;
/// The default block size (libsparse's and fastboot's).
pub const DEFAULT_BLOCK_SIZE: u32 = 4096;

/// A parsed, checked file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `minor_version` (higher minor versions are accepted).
    pub minor_version: u16,
    /// `file_hdr_sz`, at least 28.
    pub file_header_size: u16,
    /// `chunk_hdr_sz`, at least 12.
    pub chunk_header_size: u16,
    /// `blk_sz`: not 0, a multiple of 4.
    pub block_size: u32,
    /// `total_blks`: not 0.
    pub total_blocks: u32,
    /// `total_chunks`.
    pub total_chunks: u32,
    /// `image_checksum` (not checked, as libsparse does not).
    pub image_checksum: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Header {
    /// A header as burnline writes it.
    pub fn new(block_size: BlockSize, total_blocks: u32, total_chunks: u32) -> Header {
        Header {
            minor_version: 0,
            file_header_size: FILE_HEADER_LEN,
            chunk_header_size: CHUNK_HEADER_LEN,
            block_size: block_size.get(),
            total_blocks,
            total_chunks,
            image_checksum: 0,
        }
    }

    /// Parses and checks the first 28 bytes of a file.
    pub fn parse(b: &[u8; FILE_HEADER_LEN as usize]) -> Result<Header> {
        let magic = u32_at(b, 0);
        if magic != MAGIC {
            return Err(SparseError::BadMagic(magic));
        }
        let (major, minor) = (u16_at(b, 4), u16_at(b, 6));
        if major != MAJOR_VERSION {
            return Err(SparseError::UnsupportedVersion { major, minor });
        }
        let h = Header {
            minor_version: minor,
            file_header_size: u16_at(b, 8),
            chunk_header_size: u16_at(b, 10),
            block_size: u32_at(b, 12),
            total_blocks: u32_at(b, 16),
            total_chunks: u32_at(b, 20),
            image_checksum: u32_at(b, 24),
        };
        if h.file_header_size < FILE_HEADER_LEN {
            return Err(SparseError::FileHeaderSize(h.file_header_size));
        }
        if h.chunk_header_size < CHUNK_HEADER_LEN {
            return Err(SparseError::ChunkHeaderSize(h.chunk_header_size));
        }
        if h.block_size == 0 || h.block_size % 4 != 0 {
            return Err(SparseError::BlockSize {
                size: h.block_size.into(),
                rule: "must be a positive multiple of 4",
            });
        }
        if h.total_blocks == 0 {
            return Err(SparseError::NoBlocks);
        }
        Ok(h)
    }

    /// The 28 bytes of this header (with `file_hdr_sz` 28 and
    /// `chunk_hdr_sz` 12 whatever the fields say: the writer's form).
    pub fn encode(&self) -> [u8; FILE_HEADER_LEN as usize] {
        let mut b = [0u8; FILE_HEADER_LEN as usize];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..6].copy_from_slice(&MAJOR_VERSION.to_le_bytes());
        b[6..8].copy_from_slice(&self.minor_version.to_le_bytes());
        b[8..10].copy_from_slice(&FILE_HEADER_LEN.to_le_bytes());
        b[10..12].copy_from_slice(&CHUNK_HEADER_LEN.to_le_bytes());
        b[12..16].copy_from_slice(&self.block_size.to_le_bytes());
        b[16..20].copy_from_slice(&self.total_blocks.to_le_bytes());
        b[20..24].copy_from_slice(&self.total_chunks.to_le_bytes());
        b[24..28].copy_from_slice(&self.image_checksum.to_le_bytes());
        b
    }

    /// The expanded image's size in bytes (cannot overflow: both are u32).
    pub fn image_size(&self) -> u64 {
        u64::from(self.total_blocks) * u64::from(self.block_size)
    }
}

/// A chunk header's 12 bytes.
pub fn encode_chunk_header(kind: u16, blocks: u32, total_size: u32) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[0..2].copy_from_slice(&kind.to_le_bytes());
    b[4..8].copy_from_slice(&blocks.to_le_bytes());
    b[8..12].copy_from_slice(&total_size.to_le_bytes());
    b
}

/// Reads a chunk header's (type, chunk_sz, total_sz).
pub fn parse_chunk_header(b: &[u8; CHUNK_HEADER_LEN as usize]) -> (u16, u32, u32) {
    (u16_at(b, 0), u32_at(b, 4), u32_at(b, 8))
}

/// A block size burnline writes with: a multiple of 512 (a sector, and so
/// of libsparse's 4), at most [`MAX_BLOCK_SIZE`]. Default 4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockSize(u32);

impl BlockSize {
    /// Checks `size`.
    pub fn new(size: u64) -> Result<BlockSize> {
        let bad = |rule| SparseError::BlockSize { size, rule };
        if size == 0 || size % 512 != 0 {
            return Err(bad("must be a positive multiple of 512 (a sector)"));
        }
        if size > u64::from(MAX_BLOCK_SIZE) {
            return Err(bad("must be at most 1048576 (1 MiB)"));
        }
        Ok(BlockSize(size as u32))
    }

    /// The size in bytes.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The number of blocks of an image of `len` bytes: it must be whole
    /// blocks, and at most `u32::MAX` of them (the header's field).
    pub fn blocks_of(self, len: u64) -> std::result::Result<u32, String> {
        let bs = u64::from(self.0);
        if len % bs != 0 {
            return Err(format!(
                "the image's {len} bytes are not whole {bs}-byte blocks"
            ));
        }
        u32::try_from(len / bs).map_err(|_| {
            format!("the image's {len} bytes are more than 2^32-1 blocks of {bs} bytes")
        })
    }
}

impl Default for BlockSize {
    fn default() -> Self {
        BlockSize(DEFAULT_BLOCK_SIZE)
    }
}

impl FromStr for BlockSize {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let n: u64 = s
            .parse()
            .map_err(|_| format!("`{s}` is not a number of bytes"))?;
        BlockSize::new(n).map_err(|e| e.to_string())
    }
}

impl std::fmt::Display for BlockSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_each_field_is_checked() {
        let h = Header::new(BlockSize::default(), 10, 3);
        let b = h.encode();
        assert_eq!(Header::parse(&b).expect("parse"), h);
        let with = |at: usize, bytes: &[u8]| {
            let mut c = b;
            c[at..at + bytes.len()].copy_from_slice(bytes);
            Header::parse(&c)
        };
        assert!(matches!(with(0, &[0; 4]), Err(SparseError::BadMagic(0))));
        assert!(matches!(
            with(4, &[2, 0]),
            Err(SparseError::UnsupportedVersion { major: 2, .. })
        ));
        assert!(with(6, &[7, 0]).is_ok(), "a higher minor version is read");
        assert!(matches!(
            with(8, &[27, 0]),
            Err(SparseError::FileHeaderSize(27))
        ));
        assert!(matches!(
            with(10, &[11, 0]),
            Err(SparseError::ChunkHeaderSize(11))
        ));
        assert!(matches!(
            with(12, &[6, 0, 0, 0]),
            Err(SparseError::BlockSize { size: 6, .. })
        ));
        assert!(matches!(with(16, &[0; 4]), Err(SparseError::NoBlocks)));
    }

    #[test]
    fn block_sizes() {
        assert_eq!("4096".parse::<BlockSize>().map(BlockSize::get), Ok(4096));
        assert_eq!("512".parse::<BlockSize>().map(BlockSize::get), Ok(512));
        assert!("1000".parse::<BlockSize>().is_err());
        assert!("0".parse::<BlockSize>().is_err());
        assert!("2097152".parse::<BlockSize>().is_err());
        assert!("x".parse::<BlockSize>().is_err());
        let bs = BlockSize::default();
        assert_eq!(bs.blocks_of(8 << 20), Ok(2048));
        assert!(bs.blocks_of(4097).is_err());
        assert!(BlockSize::new(512)
            .expect("512")
            .blocks_of(512 << 32)
            .is_err());
    }
}
