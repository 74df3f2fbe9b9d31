//! Builds one device's station output: its patches over the base, written as
//! a [`super::delta`] file (mode 0600, it holds the credentials) under a
//! temp name, with the full image's digest computed from base plus patches:
//! SHA-256 (a pass over the whole disk), or with `--digest blake3` BLAKE3
//! from the base's tree (a few leaves per device). The delta file itself is
//! listed with the same kind.

use super::delta;
use crate::credentials::payload::Credentials;
use crate::devices::reader::DeviceRow;
use crate::error::{IoContext, Result};
use crate::io::atomic;
use crate::io::hash::{hash_patched, DigestKind, StreamHash};
use crate::io::patch::Patch;
use crate::layout::ids::DeviceIds;
use crate::manifest::extra::Sum;
use crate::output::device::DeviceBuilder;
use crate::output::staged::Staged;
use std::io::Write;

/// The delta's file name for a device's image name (`x.img` → `x.img.delta`).
pub fn delta_name(image_name: &str) -> String {
    format!("{image_name}.delta")
}

/// Writes `row`'s delta under its temp name; with `image_sha` the full
/// image's digest is recorded (BLAKE3 when the builder holds the base's
/// tree, else SHA-256), else the delta records zeros there ("not recorded").
pub fn build(
    builder: &DeviceBuilder<'_>,
    row: &DeviceRow,
    creds: &Credentials,
    patches: &[Patch],
    base_sha: &[u8; 32],
    image_sha: bool,
) -> Result<Staged> {
    let image = builder.file_name(row);
    let file = delta_name(&image);
    let dest = builder.out_dir.join(&file);
    let tmp = atomic::temp_path(&dest);
    let base = builder.base;
    let ids = DeviceIds::derive(
        &builder.recipe.disk.seed,
        &creds.device_name,
        builder.layout,
    );
    let kind = match builder.tree {
        Some(_) => DigestKind::Blake3,
        None => DigestKind::Sha256,
    };
    let digest = match (&builder.tree, image_sha) {
        (_, false) => delta::NOT_RECORDED,
        (Some(tree), true) => tree
            .digest_patched(&base.file, patches)
            .at("hashing the image of", &dest)?,
        (None, true) => hash_patched(&base.file, base.len, &base.extents, patches)
            .at("hashing the image of", &dest)?,
    };
    let bytes = delta::encode(base.len, base_sha, kind, &digest, patches).at("encoding", &dest)?;
    let written =
        atomic::create_temp(&tmp).and_then(|mut f| f.write_all(&bytes).at("writing", &tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let mut file_hash = StreamHash::new(kind);
    file_hash.update(&bytes);
    let mut entry = crate::output::device::entry_for(
        builder,
        row,
        &ids,
        file,
        bytes.len() as u64,
        Sum::new(kind, &file_hash.finalize()),
    );
    if image_sha {
        entry.artifacts.set_image_sum(Sum::new(kind, &digest));
    }
    entry.artifacts.image_size = Some(base.len);
    entry.artifacts.row = Some(row.index);
    Ok(Staged {
        entry,
        renames: vec![(tmp, dest)],
        fresh: true,
    })
}
