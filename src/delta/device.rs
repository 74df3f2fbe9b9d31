//! Writes one device's base+delta output from its [`Job`]: its patches over
//! the base, as a [`super::format`] file (mode 0600, it holds the
//! credentials) under a temp name, with the full image's digest computed from
//! base plus patches: SHA-256 (a pass over the whole disk), or with
//! `--digest blake3` BLAKE3 from the base's tree (a few leaves per device).
//! The delta file itself is listed with the same kind.

use super::format;
use crate::device::entry::entry_for;
use crate::device::job::{DeviceBuilder, Job};
use crate::device::staged::Staged;
use crate::error::{IoContext, Result};
use crate::io::atomic;
use crate::io::hash::{hash_patched, DigestKind, StreamHash};
use crate::manifest::files::Sum;
use std::io::Write;

/// The delta's file name for a device's image name (`x.img` → `x.img.delta`).
pub fn delta_name(image_name: &str) -> String {
    format!("{image_name}.delta")
}

/// Writes `job`'s delta under its temp name; with `image_digest` the full
/// image's digest is recorded (BLAKE3 when the builder holds the base's
/// tree, else SHA-256), else the delta records zeros there ("not recorded").
pub fn build(
    builder: &DeviceBuilder<'_>,
    job: &Job<'_>,
    base_sha: &[u8; 32],
    image_digest: bool,
) -> Result<Staged> {
    let image = builder.file_name(job.row);
    let file = delta_name(&image);
    let dest = builder.out_dir.join(&file);
    let tmp = atomic::temp_path(&dest);
    let base = builder.base;
    let patches = &job.patches;
    let kind = match builder.tree {
        Some(_) => DigestKind::Blake3,
        None => DigestKind::Sha256,
    };
    let digest = match (&builder.tree, image_digest) {
        (_, false) => format::NOT_RECORDED,
        (Some(tree), true) => tree
            .digest_patched(&base.file, patches)
            .at("hashing the image of", &dest)?,
        (None, true) => hash_patched(&base.file, base.len, &base.extents, patches)
            .at("hashing the image of", &dest)?,
    };
    let bytes = format::encode(base.len, base_sha, kind, &digest, patches).at("encoding", &dest)?;
    let written =
        atomic::create_temp(&tmp).and_then(|mut f| f.write_all(&bytes).at("writing", &tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let mut file_hash = StreamHash::new(kind);
    file_hash.update(&bytes);
    let mut entry = entry_for(
        builder,
        job,
        file,
        bytes.len() as u64,
        Sum::new(kind, &file_hash.finalize()),
    );
    if image_digest {
        entry.artifacts.set_image_sum(Sum::new(kind, &digest));
    }
    entry.artifacts.image_size = Some(base.len);
    entry.artifacts.row = Some(job.row.index);
    Ok(Staged {
        entry,
        renames: vec![(tmp, dest)],
        fresh: true,
    })
}
