//! The Android sparse image format, as AOSP's libsparse reads and writes it
//! (`sparse_format.h`, `sparse_read.cpp`): what `fastboot`, NXP's `uuu`,
//! `simg2img` and `img2simg` take. A file is a 28-byte [`header::Header`]
//! followed by chunks, each a 12-byte chunk header and its data:
//!
//! | chunk | covers | data after its header |
//! |---|---|---|
//! | RAW (0xCAC1) | `chunk_sz` blocks | those blocks' bytes |
//! | FILL (0xCAC2) | `chunk_sz` blocks | one 4-byte value, repeated over them |
//! | DONT_CARE (0xCAC3) | `chunk_sz` blocks | nothing: the target keeps what it holds |
//! | CRC32 (0xCAC4) | no block | the CRC32 of the image so far (DONT_CARE counted as zeros) |
//!
//! It is a crate of its own because it is a boundary: bytes from anywhere
//! come in, and the host tool's code sees only checked chunks.
//! [`writer::SparseWriter`] streams a file out, merging neighbouring chunks
//! of one kind; [`chunks::Chunks`] walks a file's chunks and refuses
//! anything libsparse would refuse (and a little more: trailing bytes,
//! unknown chunk types), with all arithmetic on sizes from the input
//! checked; [`reader::SparseReader`] gives the expanded image as a
//! [`std::io::Read`]. Every way a file can be refused is a kind of
//! [`error::SparseError`].

pub mod chunks;
pub mod error;
pub mod header;
pub mod reader;
pub mod writer;

pub use chunks::{layout, Chunk, ChunkKind, Chunks, Layout};
pub use error::SparseError;
pub use header::{BlockSize, Header, MAGIC};
pub use reader::SparseReader;
pub use writer::SparseWriter;
