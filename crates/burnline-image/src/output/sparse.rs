//! Android sparse images (`build --format android-sparse`): a device's full
//! image as `NAME.simg` ([`write`]), written straight from the base and the
//! device's patches (no raw image is written first). Blocks in no data extent of the
//! base and touched by no patch are holes and become DONT_CARE chunks; a
//! block that is one 4-byte value repeated becomes FILL; the rest is RAW
//! (`burnline_sparse::SparseWriter` merges neighbours). The extents are
//! burnline's own, not the host file system's, so the same inputs give the
//! same bytes. A delta set's `base.simg` and per-device `NAME.delta.simg`
//! (`crate::delta`) are written by [`write`] too. Everything goes to a temp
//! name (mode 0600); the caller syncs and renames it.

use crate::base::Base;
use crate::error::{IoContext, Result};
use burnline_io::atomic;
use burnline_io::hash::{hash_file, DigestKind};
use burnline_io::patch::{overlay, Patch};
use burnline_sparse::{BlockSize, SparseWriter};
use std::fs::File;
use std::io::{self, BufWriter};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The whole blocks (first, end) that the byte ranges `data` touch in a
/// `len`-byte image, sorted and merged.
fn block_runs(data: &[(u64, u64)], len: u64, bs: u64) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = data
        .iter()
        .filter(|&&(s, l)| l > 0 && s < len)
        .map(|&(s, l)| (s / bs, (s + l).min(len).div_ceil(bs)))
        .collect();
    runs.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (a, b) in runs {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The value a block repeats, if it is one 4-byte value repeated.
fn fill_value(block: &[u8]) -> Option<u32> {
    let first: [u8; 4] = block.get(..4)?.try_into().ok()?;
    block
        .chunks_exact(4)
        .all(|w| w == first)
        .then(|| u32::from_le_bytes(first))
}

/// Streams the sparse form of the base with `patches` over it to `out`:
/// the blocks `data` (byte ranges) touches as FILL or RAW, the rest as
/// DONT_CARE.
fn encode<W: io::Write + io::Seek>(
    base: &Base,
    patches: &[Patch],
    data: &[(u64, u64)],
    bs: BlockSize,
    out: W,
) -> io::Result<W> {
    let total = bs.blocks_of(base.len).map_err(io::Error::other)?;
    let b = u64::from(bs.get());
    let mut w = SparseWriter::new(out, bs, total)?;
    let per_read = ((1u64 << 20) / b).max(1);
    let mut buf = Zeroizing::new(vec![0u8; (per_read * b) as usize]);
    let mut next = 0u64;
    // Every block number is below `total`, a u32: the casts are exact.
    for (first, end) in block_runs(data, base.len, b) {
        w.dont_care((first - next) as u32)?;
        let mut at = first;
        while at < end {
            let n = (end - at).min(per_read);
            let bytes = &mut buf[..(n * b) as usize];
            base.file.read_exact_at(bytes, at * b)?;
            overlay(patches, at * b, bytes);
            for block in bytes.chunks_exact(b as usize) {
                match fill_value(block) {
                    Some(v) => w.fill(v, 1)?,
                    None => w.raw(block)?,
                }
            }
            at += n;
        }
        next = end;
    }
    w.dont_care((u64::from(total) - next) as u32)?;
    Ok(w.finish()?)
}

/// A sparse file written under its temp name.
pub struct Written {
    /// The temp file (not yet synced).
    pub file: File,
    /// Its temp path.
    pub temp: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its `kind` digest.
    pub digest: [u8; 32],
}

/// Writes the sparse form of the base with `patches` over it, mapping the
/// blocks `data` touches, to the temp name of `dest`; on failure the temp
/// file is removed.
pub fn write(
    dest: &Path,
    base: &Base,
    patches: &[Patch],
    data: &[(u64, u64)],
    bs: BlockSize,
    kind: DigestKind,
) -> Result<Written> {
    let temp = atomic::temp_path(dest)?;
    let result = atomic::create_temp(&temp)
        .map_err(crate::error::Error::from)
        .and_then(|f| {
            let out = BufWriter::with_capacity(1 << 20, f);
            let f = encode(base, patches, data, bs, out)
                .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
                .at("writing the sparse image", &temp)?;
            let size = f.metadata().at("reading", &temp)?.len();
            let digest = hash_file(&f, kind).at("hashing", &temp)?;
            Ok((f, size, digest))
        });
    match result {
        Ok((file, size, digest)) => Ok(Written {
            file,
            temp,
            size,
            digest,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_runs_and_fill_values() {
        assert_eq!(
            block_runs(&[(5000, 10), (0, 1), (8192, 4096), (100, 0)], 16384, 4096),
            [(0, 3)]
        );
        assert_eq!(
            block_runs(&[(12288, 1), (0, 1)], 16384, 4096),
            [(0, 1), (3, 4)]
        );
        assert_eq!(fill_value(&[1, 2, 3, 4, 1, 2, 3, 4]), Some(0x0403_0201));
        assert_eq!(fill_value(&[1, 2, 3, 4, 1, 2, 3, 5]), None);
    }
}
