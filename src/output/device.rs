//! Writes one device's full image from its [`Job`]: the base image shared by
//! reflink or copied extent by extent, then the job's patches (partition
//! table with its own IDs, FAT serials, credentials partition) written over
//! it. The image goes to a temp name with mode 0600; the batch makes it
//! durable and renames it. Its checksum is the SHA-256 of base plus patches,
//! or with a [`crate::io::tree_digest::BaseTree`] their BLAKE3, rehashing only
//! the leaves the patches touch.

use crate::device::entry::entry_for;
use crate::device::job::{DeviceBuilder, Job};
use crate::error::{IoContext, Result};
use crate::io::block_writes::write_patches;
use crate::io::extents::clone_or_copy;
use crate::io::hash::{hash_patched, DigestKind};
use crate::manifest::files::Sum;
use crate::manifest::Entry;
use burnline_io::atomic;
use std::path::{Path, PathBuf};

/// A device image written under its temp name.
#[derive(Debug)]
pub struct Built {
    /// Its manifest entry.
    pub entry: Entry,
    /// Temp path.
    pub temp: PathBuf,
    /// Final path.
    pub final_path: PathBuf,
}

/// Writes a device's image under its temp name and returns its entry. On
/// failure the temp file is removed.
pub fn write_image(b: &DeviceBuilder<'_>, job: &Job<'_>) -> Result<Built> {
    let file = b.file_name(job.row);
    let final_path = b.out_dir.join(&file);
    let temp = atomic::temp_path(&final_path)?;
    let result = write(b, job, file, &temp);
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|entry| Built {
        entry,
        temp,
        final_path,
    })
}

fn write(b: &DeviceBuilder<'_>, job: &Job<'_>, file: String, temp: &Path) -> Result<Entry> {
    let out = atomic::create_temp(temp)?;
    clone_or_copy(&b.base.file, &out, b.base.len, b.reflink)
        .at("copying the base image into", temp)?;
    write_patches(&b.base.file, b.base.len, &out, &job.patches).at("writing", temp)?;
    // Start writing the image back now, from this worker, so that the
    // batch's `syncfs` finds it mostly on disk (Linux starts writeback on
    // DONTNEED; the advice changes nothing else). Advice only: where a file
    // system refuses it, the batch's `syncfs` still does the work.
    let _ = rustix::fs::fadvise(&out, 0, None, rustix::fs::Advice::DontNeed);
    let sum = image_sum(b, job, temp)?;
    Ok(entry_for(b, job, file, b.base.len, sum))
}

/// The checksum of `job`'s full image, from the base and its patches
/// without reading any output: BLAKE3 from the base's tree when the
/// builder has one, else SHA-256. `what` names the output in errors.
pub fn image_sum(b: &DeviceBuilder<'_>, job: &Job<'_>, what: &Path) -> Result<Sum> {
    Ok(match &b.tree {
        Some(tree) => Sum::new(
            DigestKind::Blake3,
            &tree
                .digest_patched(&b.base.file, &job.patches)
                .at("hashing the image of", what)?,
        ),
        None => Sum::new(
            DigestKind::Sha256,
            &hash_patched(&b.base.file, b.base.len, &b.base.extents, &job.patches)
                .at("hashing the image of", what)?,
        ),
    })
}
