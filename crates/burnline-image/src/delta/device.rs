//! Writes one device's base+delta output: its patches over the base, as a
//! [`super::format`] file (mode 0600, it holds the credentials) under a
//! temp name, with the full image's digest computed from
//! base plus patches: by default BLAKE3 from the base's tree (a few leaves
//! per device), or with `--digest sha256` SHA-256 (a pass over the whole
//! disk). The delta file itself is listed with the run's checksum kind.
//! With `--format android-sparse` the delta is an Android sparse file
//! instead (`NAME.delta.simg`): the device's own blocks (those its patches
//! touch, base bytes around the patches included) as RAW or FILL, every
//! other block DONT_CARE, so writing it over `base.simg` gives the image.

use super::format;
use crate::base::Base;
use crate::error::{IoContext, Result};
use crate::manifest::files::Sum;
use crate::output::names::OutputNames;
use crate::output::sparse;
use crate::recipe::output_spec::{ImageFormat, OutputSpec};
use burnline_io::atomic;
use burnline_io::hash::{hash_patched, DigestKind, StreamHash};
use burnline_io::patch::Patch;
use burnline_io::tree_digest::BaseTree;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A device's delta written under its temp name.
pub struct Written {
    /// Its file name (`names.delta`, or `names.delta_simg` when sparse).
    pub file: String,
    /// Its temp path.
    pub temp: PathBuf,
    /// Its final path.
    pub dest: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its checksum, of the run's kind.
    pub sum: Sum,
    /// The full image's checksum, unless `--no-image-digest`.
    pub image_sum: Option<Sum>,
}

/// Writes the delta of the base with `patches` over it into `out_dir`,
/// named from `names`, under its temp name. The full image's digest is
/// recorded with the kind `spec` gives deltas (BLAKE3 from `tree` unless a
/// digest was named), or with `--no-image-digest` zeros ("not recorded");
/// the delta file itself is listed with the run's checksum kind.
pub fn write(
    base: &Base,
    tree: Option<&BaseTree>,
    patches: &[Patch],
    names: &OutputNames,
    out_dir: &Path,
    base_sha: &[u8; 32],
    spec: &OutputSpec,
) -> Result<Written> {
    let image_digest = !spec.no_image_digest;
    let file = names.delta.clone();
    let dest = out_dir.join(&file);
    let tmp = atomic::temp_path(&dest)?;
    let kind = spec.delta_image_digest();
    let digest = match (tree, image_digest) {
        (_, false) => format::NOT_RECORDED,
        (Some(tree), true) if kind == DigestKind::Blake3 => tree
            .digest_patched(&base.file, patches)
            .at("hashing the image of", &dest)?,
        _ => hash_patched(&base.file, base.len, &base.extents, patches)
            .at("hashing the image of", &dest)?,
    };
    let (file, dest, temp, size, file_digest) = if spec.format == ImageFormat::AndroidSparse {
        let file = names.delta_simg.clone();
        let dest = out_dir.join(&file);
        let own: Vec<(u64, u64)> = patches
            .iter()
            .map(|p| (p.offset, p.bytes.len() as u64))
            .collect();
        let w = sparse::write(
            &dest,
            base,
            patches,
            &own,
            spec.sparse_block_size,
            spec.digest,
        )?;
        (file, dest, w.temp, w.size, w.digest)
    } else {
        let bytes =
            format::encode(base.len, base_sha, kind, &digest, patches).at("encoding", &dest)?;
        let written = atomic::create_temp(&tmp)
            .map_err(crate::error::Error::from)
            .and_then(|mut f| f.write_all(&bytes).at("writing", &tmp));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        let mut file_hash = StreamHash::new(spec.digest);
        file_hash.update(&bytes);
        (file, dest, tmp, bytes.len() as u64, file_hash.finalize())
    };
    Ok(Written {
        file,
        temp,
        dest,
        size,
        sum: Sum::new(spec.digest, &file_digest),
        image_sum: image_digest.then(|| Sum::new(kind, &digest)),
    })
}
