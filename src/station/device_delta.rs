//! Builds one device's station output: its patches over the base, written as
//! a [`super::delta`] file (mode 0600, it holds the credentials) under a
//! temp name, with the full image's SHA-256 computed from base plus patches.

use super::delta;
use crate::credentials::payload::Credentials;
use crate::devices::reader::DeviceRow;
use crate::error::{IoContext, Result};
use crate::io::hash::hash_patched;
use crate::io::patch::Patch;
use crate::layout::ids::DeviceIds;
use crate::manifest::extra::Sum;
use crate::output::atomic;
use crate::output::device::DeviceBuilder;
use crate::output::staged::Staged;
use sha2::{Digest, Sha256};
use std::io::Write;

/// The delta's file name for a device's image name (`x.img` → `x.img.delta`).
pub fn delta_name(image_name: &str) -> String {
    format!("{image_name}.delta")
}

/// Writes `row`'s delta under its temp name; with `image_sha` the full
/// image's SHA-256 is computed (a pass over the whole disk), else the delta
/// records zeros there ("not recorded").
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
    let sha = if image_sha {
        hash_patched(&base.file, base.len, &base.extents, patches)
            .at("hashing the image of", &dest)?
    } else {
        delta::NOT_RECORDED
    };
    let bytes = delta::encode(base.len, base_sha, &sha, patches).at("encoding", &dest)?;
    let written =
        atomic::create_temp(&tmp).and_then(|mut f| f.write_all(&bytes).at("writing", &tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let mut entry = crate::output::device::entry_for(
        builder,
        row,
        &ids,
        file,
        bytes.len() as u64,
        Sum::Sha256(hex::encode(Sha256::digest(&bytes[..]))),
    );
    entry.artifacts.image_sha256 = image_sha.then(|| hex::encode(sha));
    entry.artifacts.image_size = Some(base.len);
    entry.artifacts.row = Some(row.index);
    Ok(Staged {
        entry,
        renames: vec![(tmp, dest)],
        fresh: true,
    })
}
