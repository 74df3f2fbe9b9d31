//! SHA-256 of a device's image computed from the base image and the device's
//! patches, without reading the output back: holes of the base hash as
//! zeros, data is read from the base (hot in the page cache), patches overlay it.
//! Also the [`DigestKind`] a build lists its outputs with, and streaming
//! hashing of a file or stream with either kind.

use super::patch::{overlapping, overlay, Patch};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const BUF: usize = 1 << 20;

/// The checksum a build lists its outputs with (`output.digest`, `build
/// --digest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DigestKind {
    /// SHA-256, listed in `SHA256SUMS` (`sha256sum -c`).
    #[default]
    Sha256,
    /// BLAKE3, listed in `B3SUMS` (`b3sum -c`).
    Blake3,
}

impl DigestKind {
    /// Parses `sha256` or `blake3`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(DigestKind::Sha256),
            "blake3" => Some(DigestKind::Blake3),
            _ => None,
        }
    }

    /// Its name, as in the manifest's field and `output.digest`.
    pub fn name(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "sha256",
            DigestKind::Blake3 => "blake3",
        }
    }

    /// The checksum list's file name.
    pub fn sums_file(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "SHA256SUMS",
            DigestKind::Blake3 => "B3SUMS",
        }
    }
}

/// A streaming hasher of either kind.
pub enum StreamHash {
    /// SHA-256.
    Sha256(Sha256),
    /// BLAKE3 (boxed: its state is large).
    Blake3(Box<blake3::Hasher>),
}

impl StreamHash {
    /// A fresh hasher of `kind`.
    pub fn new(kind: DigestKind) -> Self {
        match kind {
            DigestKind::Sha256 => StreamHash::Sha256(Sha256::new()),
            DigestKind::Blake3 => StreamHash::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    /// Hashes `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHash::Sha256(h) => h.update(data),
            StreamHash::Blake3(h) => {
                h.update(data);
            }
        }
    }

    /// The digest.
    pub fn finalize(self) -> [u8; 32] {
        match self {
            StreamHash::Sha256(h) => h.finalize().into(),
            StreamHash::Blake3(h) => *h.finalize().as_bytes(),
        }
    }
}

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
        let over = overlapping(patches, pos, n as u64);
        if !any_data && !over.is_empty() {
            chunk.fill(0);
        }
        overlay(over, pos, chunk);
        if any_data || !over.is_empty() {
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

/// The digest of a whole file, read sequentially.
pub fn hash_file(file: &File, kind: DigestKind) -> io::Result<[u8; 32]> {
    let mut h = StreamHash::new(kind);
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
    Ok(h.finalize())
}
