//! A delta in the Android sparse format (`NAME.delta.simg`, from
//! `build --deltas --format android-sparse`), read as the patches `flash`
//! writes over the base: its RAW and FILL chunks; its DONT_CARE chunks, all
//! the rest of the card, keep what the base wrote. The file is checked whole
//! first (`burnline_sparse`), and must stand for an image of the base's
//! size. Unlike a `.img.delta`, it names no base: `flash` cannot tell a
//! wrong base from the right one, and the read-back checks what was
//! written.

use super::source::{sparse_error, sparse_layout};
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::patch::Patch;
use burnline_sparse::ChunkKind;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use zeroize::Zeroizing;

/// The name ending that marks a sparse delta.
pub const DELTA_SIMG_EXT: &str = ".delta.simg";

/// The most bytes a sparse delta may write (its RAW and FILL blocks): a
/// device's own blocks are a few KiB; the patches are held in memory.
pub const MAX_DELTA_BYTES: u64 = 256 << 20;

/// Whether `path` names a sparse delta.
pub fn is_sparse_delta(path: &Path) -> bool {
    path.to_string_lossy().ends_with(DELTA_SIMG_EXT)
}

/// Reads the sparse delta `path` for a base of `base_size` bytes as
/// patches, sorted and not overlapping.
pub fn read(path: &Path, base_size: u64) -> Result<Vec<Patch>> {
    let layout = sparse_layout(path)?;
    let size = layout.header.image_size();
    if size != base_size {
        return Err(Error::Usage(format!(
            "{}: made for a {size}-byte image, the base has {base_size}; nothing was written",
            path.display()
        )));
    }
    let written: u64 = layout.written_ranges().iter().map(|r| r.1).sum();
    if written > MAX_DELTA_BYTES {
        return Err(Error::Usage(format!(
            "{}: writes {written} bytes, more than a delta's {MAX_DELTA_BYTES}; flash it as an image; nothing was written",
            path.display()
        )));
    }
    let f = File::open(path).at("opening", path)?;
    let bs = layout.header.block_size;
    let mut patches: Vec<Patch> = Vec::new();
    for c in &layout.chunks {
        let (offset, len) = c.byte_range(bs);
        if len == 0 {
            continue;
        }
        // len <= MAX_DELTA_BYTES: it fits in memory and in usize.
        let mut bytes = Zeroizing::new(vec![0u8; len as usize]);
        match c.kind {
            ChunkKind::Raw => f
                .read_exact_at(&mut bytes, c.data_offset)
                .map_err(|e| sparse_error(path, e.into()))?,
            ChunkKind::Fill(v) => {
                for w in bytes.chunks_exact_mut(4) {
                    w.copy_from_slice(&v.to_le_bytes());
                }
            }
            ChunkKind::DontCare | ChunkKind::Crc32(_) => continue,
        }
        match patches.last_mut() {
            Some(last) if last.offset + last.bytes.len() as u64 == offset => {
                last.bytes.extend_from_slice(&bytes)
            }
            _ => patches.push(Patch { offset, bytes }),
        }
    }
    Ok(patches)
}
