//! SHA-256 of a device's image computed from the base image and the device's
//! patches, without reading the output back: holes of the base hash as
//! zeros, data is read from the base (hot in the page cache), patches overlay it.

use super::patch::Patch;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const BUF: usize = 1 << 20;

/// The SHA-256 of `base` (its first `len` bytes, `extents` being its data
/// extents) with `patches` (sorted by offset, not overlapping) written over it.
pub fn hash_patched(
    base: &File,
    len: u64,
    extents: &[(u64, u64)],
    patches: &[Patch],
) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let zeros = vec![0u8; BUF];
    let mut buf = vec![0u8; BUF];
    let mut pos = 0u64;
    while pos < len {
        let n = (len - pos).min(BUF as u64) as usize;
        let chunk = &mut buf[..n];
        // Fill from the base: zeros, then any extents overlapping this chunk.
        let mut any_data = false;
        for &(s, l) in extents_overlapping(extents, pos, n as u64) {
            if !any_data {
                chunk.fill(0);
                any_data = true;
            }
            let a = s.max(pos);
            let b = (s + l).min(pos + n as u64);
            base.read_exact_at(&mut chunk[(a - pos) as usize..(b - pos) as usize], a)?;
        }
        let mut patched = false;
        for p in patches {
            let (a, b) = (
                p.offset.max(pos),
                (p.offset + p.bytes.len() as u64).min(pos + n as u64),
            );
            if a < b {
                if !any_data && !patched {
                    chunk.fill(0);
                }
                patched = true;
                chunk[(a - pos) as usize..(b - pos) as usize]
                    .copy_from_slice(&p.bytes[(a - p.offset) as usize..(b - p.offset) as usize]);
            }
        }
        if any_data || patched {
            h.update(&*chunk);
        } else {
            h.update(&zeros[..n]);
        }
        pos += n as u64;
    }
    Ok(h.finalize().into())
}

/// The extents (sorted, not overlapping) that overlap `pos..pos + n`.
pub(super) fn extents_overlapping(extents: &[(u64, u64)], pos: u64, n: u64) -> &[(u64, u64)] {
    let first = extents.partition_point(|&(s, l)| s + l <= pos);
    let last = extents.partition_point(|&(s, _)| s < pos + n);
    &extents[first..last.max(first)]
}

/// The SHA-256 of a whole file, read sequentially.
pub fn hash_file(file: &File) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut pos = 0u64;
    loop {
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        pos += n as u64;
    }
    Ok(h.finalize().into())
}
