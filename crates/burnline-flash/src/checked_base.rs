//! A raw base checked once for every card written from it: its BLAKE3 tree
//! (so each card's image digest rehashes only the leaves its patches
//! touch) and its chunks' sums (so a card's read-back needs the sums of
//! its patched chunks only, [`super::chunk_sums`]), taken from a file
//! opened and pinned once
//! ([`burnline_io::pinned`]). Every card reads that same open file, only
//! the bytes it writes ([`super::write::Checked`]), and the base must still
//! be as it was checked when a card's write ends; the read-back compares
//! each chunk of the card with the chunk written. So each card costs no
//! cryptographic hash, and its CPU time follows the bytes it writes, not the
//! disk's size. `flash base deltas…`, `flash --recipe`, `flash --pool`
//! and `station serve` all write through it. A station that records
//! SHA-256 (`--digest sha256`, `digest: sha256`) still writes that way, but
//! hashes each card's whole image once for its record.

use super::chunk_sums::BaseSums;
use super::source::Source;
use super::write::{Checked, Expect};
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::hash::{hash_patched, DigestKind};
use burnline_io::patch::Patch;
use burnline_io::pinned::Pinned;
use burnline_io::tree_digest::BaseTree;
use std::fs::File;
use std::sync::Arc;

/// A base, hashed once.
pub struct CheckedBase {
    base: Arc<Pinned>,
    size: u64,
    map: Vec<(u64, u64)>,
    tree: BaseTree,
    sums: Arc<BaseSums>,
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

    /// Opens and pins `src` (one that [`Self::applies`] to) and hashes its
    /// tree once; a base that changes while it is hashed is refused.
    pub fn new(src: &Source) -> Result<Self> {
        let file = File::open(&src.path).at("opening", &src.path)?;
        let base = Pinned::new(file).at("reading", &src.path)?;
        let map: Vec<(u64, u64)> = src.map.iter().flatten().map(|r| (r.0, r.1)).collect();
        let tree = BaseTree::build(base.file(), src.size, &map).at("hashing", &src.path)?;
        let sums = BaseSums::build(base.file(), &map).at("reading", &src.path)?;
        if !base.unchanged().at("reading", &src.path)? {
            return Err(Error::Usage(format!(
                "{}: changed while it was being checked; nothing was written",
                src.path.display()
            )));
        }
        Ok(CheckedBase {
            base: Arc::new(base),
            size: src.size,
            map,
            tree,
            sums: Arc::new(sums),
        })
    }

    /// The BLAKE3 of the base with `patches` (sorted, not overlapping)
    /// over it, through the tree.
    pub fn blake3_patched(&self, patches: &[Patch]) -> std::io::Result<[u8; 32]> {
        self.tree.digest_patched(self.base.file(), patches)
    }

    /// What a card written from this base with a device's `patches`
    /// (sorted, not overlapping) expects: its image's digest of `kind`
    /// (BLAKE3 through the tree; SHA-256 over the whole image), and the
    /// base as checked here.
    pub fn expect(&self, patches: Vec<Patch>, kind: DigestKind) -> std::io::Result<Expect> {
        let digest = match kind {
            DigestKind::Blake3 => self.blake3_patched(&patches)?,
            DigestKind::Sha256 => hash_patched(self.base.file(), self.size, &self.map, &patches)?,
        };
        Ok(Expect {
            patches,
            base_sha256: None,
            image: Some((kind, digest)),
            checked: Some(self.checked(digest)),
        })
    }

    /// What a write of this base must match: the base as checked here,
    /// and the result's `image_digest`.
    pub fn checked(&self, image_digest: [u8; 32]) -> Checked {
        Checked {
            image_digest,
            base: Arc::clone(&self.base),
            sums: Arc::clone(&self.sums),
        }
    }
}
