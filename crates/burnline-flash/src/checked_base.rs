//! A raw base checked once for every card written from it: its BLAKE3 tree
//! (so each card's image digest rehashes only the leaves its patches touch)
//! and the BLAKE3 of its mapped bytes (which each card's write must read
//! back the same, [`super::write::Checked`]; a card's read-back is
//! checked through the tree too). `flash base deltas…`,
//! `flash --recipe`, `flash --pool` and `station serve` all write through
//! it: each card reads and hashes only the bytes it writes. A station
//! that records SHA-256 (`--digest sha256`, `digest: sha256`) still writes
//! that way, but hashes each card's whole image once for its record.

use super::source::Source;
use super::write::{Checked, Expect};
use burnline_image::error::{IoContext, Result};
use burnline_io::hash::{hash_patched, DigestKind};
use burnline_io::patch::Patch;
use burnline_io::tree_digest::BaseTree;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A base, hashed once.
pub struct CheckedBase {
    file: File,
    size: u64,
    map: Vec<(u64, u64)>,
    tree: Arc<BaseTree>,
    base_data: [u8; 32],
}

impl CheckedBase {
    /// Whether `src` can be checked this way: an uncompressed raw image
    /// with a map inside it, sorted and not overlapping (holes skipped).
    pub fn applies(src: &Source) -> bool {
        !src.sparse
            && src.compression.is_none()
            && src.map.as_ref().is_some_and(|m| {
                m.iter()
                    .all(|r| r.0.checked_add(r.1).is_some_and(|e| e <= src.size))
                    && m.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0)
            })
    }

    /// Hashes `src` (one that [`Self::applies`] to) once: its tree and its
    /// mapped bytes, side by side.
    pub fn new(src: &Source) -> Result<Self> {
        let file = File::open(&src.path).at("opening", &src.path)?;
        let map: Vec<(u64, u64)> = src.map.iter().flatten().map(|r| (r.0, r.1)).collect();
        let (tree, base_data) = rayon::join(
            || BaseTree::build(&file, src.size, &map),
            || mapped_blake3(&file, &map),
        );
        Ok(CheckedBase {
            tree: Arc::new(tree.at("hashing", &src.path)?),
            base_data: base_data.at("reading", &src.path)?,
            file,
            size: src.size,
            map,
        })
    }

    /// The BLAKE3 of the base with `patches` (sorted, not overlapping)
    /// over it, through the tree.
    pub fn blake3_patched(&self, patches: &[Patch]) -> std::io::Result<[u8; 32]> {
        self.tree.digest_patched(&self.file, patches)
    }

    /// What a card written from this base with a device's `patches`
    /// (sorted, not overlapping) expects: its image's digest of `kind`
    /// (BLAKE3 through the tree; SHA-256 over the whole image), and the
    /// base's bytes as hashed here.
    pub fn expect(&self, patches: Vec<Patch>, kind: DigestKind) -> std::io::Result<Expect> {
        let digest = match kind {
            DigestKind::Blake3 => self.blake3_patched(&patches)?,
            DigestKind::Sha256 => hash_patched(&self.file, self.size, &self.map, &patches)?,
        };
        Ok(Expect {
            patches,
            base_sha256: None,
            image: Some((kind, digest)),
            checked: Some(self.checked(digest)),
        })
    }

    /// What a write of this base must match: its mapped bytes as hashed
    /// here, and the result's `image_digest`.
    pub fn checked(&self, image_digest: [u8; 32]) -> Checked {
        Checked {
            base_data: self.base_data,
            image_digest,
            tree: Arc::clone(&self.tree),
        }
    }
}

/// The BLAKE3 of `file`'s bytes over `map`, in order.
fn mapped_blake3(file: &File, map: &[(u64, u64)]) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    for &(s, l) in map {
        let mut pos = s;
        while pos < s + l {
            let n = (s + l - pos).min(buf.len() as u64) as usize;
            file.read_exact_at(&mut buf[..n], pos)?;
            h.update(&buf[..n]);
            pos += n as u64;
        }
    }
    Ok(*h.finalize().as_bytes())
}
