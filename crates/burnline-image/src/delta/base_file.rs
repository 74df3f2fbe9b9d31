//! Puts the run's base image in place as `base.img` (and `base.img.bmap`
//! when bmaps are asked for): temp, fsync, rename, fsync dir. It holds no
//! secret, so it is readable by all (0644). It is listed with the build's
//! checksum kind; deltas name it by its SHA-256 either way. With
//! `--format android-sparse` it is `base.simg` instead ([`write_sparse`]),
//! its holes DONT_CARE chunks.

use crate::base::Base;
use crate::error::{IoContext, Result};
use crate::manifest::files::{FileSum, Sum};
use crate::output::artifacts;
use crate::output::names::bmap_name;
use burnline_io::atomic;
use burnline_io::extents::copy_extents;
use burnline_io::hash::DigestKind;
use burnline_sparse::BlockSize;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A delta set's base file name.
pub const BASE_IMG: &str = "base.img";
/// A delta set's base file name as an Android sparse image.
pub const BASE_SIMG: &str = "base.simg";

/// Writes `base.simg` (blocks of `bs`) into `out`: temp, fsync, rename,
/// fsync dir; returns its listing (with a `kind` checksum).
pub fn write_sparse(base: &Base, out: &Path, bs: BlockSize, kind: DigestKind) -> Result<FileSum> {
    let dest = out.join(BASE_SIMG);
    let w = crate::output::sparse::write(&dest, base, &[], &base.extents, bs, kind)?;
    let done = w
        .file
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .at("syncing", &w.temp);
    if let Err(e) = done {
        let _ = std::fs::remove_file(&w.temp);
        return Err(e);
    }
    atomic::commit(&w.file, &w.temp, &dest)?;
    Ok(FileSum {
        file: BASE_SIMG.to_owned(),
        size: w.size,
        sum: Sum::new(kind, &w.digest),
    })
}

/// Writes `base.img` (and its bmap) into `out`; returns their listings
/// (with `kind` checksums: `base_blake3` and `base_sha256` are the base's
/// digests, the caller's, computed once).
pub fn write(
    base: &Base,
    out: &Path,
    bmap: bool,
    kind: DigestKind,
    base_blake3: &[u8; 32],
    base_sha256: &[u8; 32],
) -> Result<(FileSum, Option<FileSum>)> {
    let dest = out.join(BASE_IMG);
    let tmp = atomic::temp_path(&dest)?;
    let f = atomic::create_temp(&tmp)?;
    copy_extents(&base.file, &f, &base.extents, 0).at("copying the base image into", &tmp)?;
    f.set_len(base.len).at("sizing", &tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
        .at("setting the mode of", &tmp)?;
    let mut bmap_sum = None;
    let mut bmap_temp = None;
    if bmap {
        let (sum, rename) = artifacts::write_bmap(
            &f,
            base.len,
            &base.extents,
            &[],
            &out.join(bmap_name(BASE_IMG)),
            kind,
        )?;
        std::fs::set_permissions(&rename.0, std::fs::Permissions::from_mode(0o644))
            .at("setting the mode of", &rename.0)?;
        bmap_sum = Some(sum);
        bmap_temp = Some(rename);
    }
    atomic::place(&f, &tmp, &dest)?;
    if let Some((t, d)) = &bmap_temp {
        let b = std::fs::File::open(t).at("syncing", t)?;
        atomic::place(&b, t, d)?;
    }
    atomic::sync_dir(out)?;
    let sum = FileSum {
        file: BASE_IMG.to_owned(),
        size: base.len,
        sum: match kind {
            DigestKind::Sha256 => Sum::new(kind, base_sha256),
            DigestKind::Blake3 => Sum::new(kind, base_blake3),
        },
    };
    Ok((sum, bmap_sum))
}
