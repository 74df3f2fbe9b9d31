//! Writes one device's full image: the base image shared by reflink or
//! copied extent by extent, then the device's patches (partition table with
//! its own IDs, FAT serials, credentials partition) written over it. The
//! image goes to a temp name with mode 0600; the batch makes it durable and
//! renames it. Its checksum ([`image_sum`]) is the SHA-256 of base plus
//! patches, or with a [`burnline_io::tree_digest::BaseTree`] their BLAKE3,
//! rehashing only the leaves the patches touch.

use crate::base::Base;
use crate::error::{IoContext, Result};
use crate::manifest::files::Sum;
use burnline_io::atomic;
use burnline_io::block_writes::write_patches;
use burnline_io::extents::clone_or_copy;
use burnline_io::hash::{hash_patched, DigestKind};
use burnline_io::patch::Patch;
use burnline_io::tree_digest::BaseTree;
use std::path::{Path, PathBuf};

/// A device image written under its temp name.
#[derive(Debug)]
pub struct Built {
    /// Temp path.
    pub temp: PathBuf,
    /// Final path.
    pub final_path: PathBuf,
}

/// Writes the base with `patches` over it under the temp name of
/// `final_path` (shared by reflink when `reflink`). On failure the temp
/// file is removed.
pub fn write_image(
    base: &Base,
    reflink: bool,
    patches: &[Patch],
    final_path: PathBuf,
) -> Result<Built> {
    let temp = atomic::temp_path(&final_path)?;
    let result = write(base, reflink, patches, &temp);
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|()| Built { temp, final_path })
}

fn write(base: &Base, reflink: bool, patches: &[Patch], temp: &Path) -> Result<()> {
    let out = atomic::create_temp(temp)?;
    clone_or_copy(&base.file, &out, base.len, reflink).at("copying the base image into", temp)?;
    write_patches(&base.file, base.len, &out, patches).at("writing", temp)?;
    // Start writing the image back now, from this worker, so that the
    // batch's `syncfs` finds it mostly on disk (Linux starts writeback on
    // DONTNEED; the advice changes nothing else). Advice only: where a file
    // system refuses it, the batch's `syncfs` still does the work.
    let _ = rustix::fs::fadvise(&out, 0, None, rustix::fs::Advice::DontNeed);
    Ok(())
}

/// The checksum of the full image (the base with `patches` over it),
/// without reading any output: BLAKE3 from the base's `tree` when there
/// is one, else SHA-256. `what` names the output in errors.
pub fn image_sum(
    base: &Base,
    tree: Option<&BaseTree>,
    patches: &[Patch],
    what: &Path,
) -> Result<Sum> {
    Ok(match tree {
        Some(tree) => Sum::new(
            DigestKind::Blake3,
            &tree
                .digest_patched(&base.file, patches)
                .at("hashing the image of", what)?,
        ),
        None => Sum::new(
            DigestKind::Sha256,
            &hash_patched(&base.file, base.len, &base.extents, patches)
                .at("hashing the image of", what)?,
        ),
    })
}
