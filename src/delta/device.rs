//! Writes one device's base+delta output from its [`Job`]: its patches over
//! the base, as a [`super::format`] file (mode 0600, it holds the
//! credentials) under a temp name, with the full image's digest computed from
//! base plus patches: by default BLAKE3 from the base's tree (a few leaves
//! per device), or with `--digest sha256` SHA-256 (a pass over the whole
//! disk). The delta file itself is listed with the run's checksum kind.

use super::format;
use crate::device::entry::entry_for;
use crate::device::job::{DeviceBuilder, Job};
use crate::device::staged::Staged;
use crate::error::{IoContext, Result};
use crate::io::atomic;
use crate::io::hash::{hash_patched, DigestKind, StreamHash};
use crate::manifest::files::Sum;
use crate::recipe::output_spec::OutputSpec;
use std::io::Write;

/// The delta's file name for a device's image name (`x.img` → `x.img.delta`).
pub fn delta_name(image_name: &str) -> String {
    format!("{image_name}.delta")
}

/// Writes `job`'s delta under its temp name. The full image's digest is
/// recorded with the kind `spec` gives deltas (BLAKE3 unless a digest was
/// named), or with `--no-image-digest` zeros ("not recorded"); the delta
/// file itself is listed with the run's checksum kind.
pub fn build(
    builder: &DeviceBuilder<'_>,
    job: &Job<'_>,
    base_sha: &[u8; 32],
    spec: &OutputSpec,
) -> Result<Staged> {
    let image_digest = !spec.no_image_digest;
    let image = builder.file_name(job.row);
    let file = delta_name(&image);
    let dest = builder.out_dir.join(&file);
    let tmp = atomic::temp_path(&dest);
    let base = builder.base;
    let patches = &job.patches;
    let kind = spec.delta_image_digest();
    let digest = match (&builder.tree, image_digest) {
        (_, false) => format::NOT_RECORDED,
        (Some(tree), true) if kind == DigestKind::Blake3 => tree
            .digest_patched(&base.file, patches)
            .at("hashing the image of", &dest)?,
        _ => hash_patched(&base.file, base.len, &base.extents, patches)
            .at("hashing the image of", &dest)?,
    };
    let bytes = format::encode(base.len, base_sha, kind, &digest, patches).at("encoding", &dest)?;
    let written =
        atomic::create_temp(&tmp).and_then(|mut f| f.write_all(&bytes).at("writing", &tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let mut file_hash = StreamHash::new(spec.digest);
    file_hash.update(&bytes);
    let mut entry = entry_for(
        builder,
        job,
        file,
        bytes.len() as u64,
        Sum::new(spec.digest, &file_hash.finalize()),
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
