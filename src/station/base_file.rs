//! Puts the run's base image in place as `base.img` (and `base.img.bmap`
//! when bmaps are asked for): temp, fsync, rename, fsync dir. It holds no
//! secret, so it is readable by all (0644).

use crate::base::Base;
use crate::error::{IoContext, Result};
use crate::io::extents::copy_extents;
use crate::io::hash::{hash_patched, DigestKind};
use crate::manifest::extra::{FileSum, Sum};
use crate::output::{artifacts, atomic};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The station base's file name.
pub const BASE_IMG: &str = "base.img";

/// Writes `base.img` (and its bmap) into `out`; returns their listings and
/// the base's SHA-256.
pub fn write(base: &Base, out: &Path, bmap: bool) -> Result<(FileSum, Option<FileSum>, [u8; 32])> {
    let dest = out.join(BASE_IMG);
    let tmp = atomic::temp_path(&dest);
    let f = atomic::create_temp(&tmp)?;
    copy_extents(&base.file, &f, &base.extents, 0).at("copying the base image into", &tmp)?;
    f.set_len(base.len).at("sizing", &tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
        .at("setting the mode of", &tmp)?;
    let sha = hash_patched(&base.file, base.len, &base.extents, &[]).at("hashing", &base.path)?;
    let mut renames = vec![(tmp.clone(), dest.clone())];
    let mut bmap_sum = None;
    if bmap {
        let (sum, rename) =
            artifacts::write_bmap(&f, base.len, &base.extents, &[], &dest, DigestKind::Sha256)?;
        std::fs::set_permissions(&rename.0, std::fs::Permissions::from_mode(0o644))
            .at("setting the mode of", &rename.0)?;
        std::fs::File::open(&rename.0)
            .and_then(|b| b.sync_all())
            .at("syncing", &rename.0)?;
        bmap_sum = Some(sum);
        renames.push(rename);
    }
    f.sync_all().at("syncing", &tmp)?;
    for (t, d) in &renames {
        std::fs::rename(t, d).at("renaming into place", d)?;
    }
    atomic::sync_dir(out)?;
    let sum = FileSum {
        file: BASE_IMG.to_owned(),
        size: base.len,
        sum: Sum::Sha256(hex::encode(sha)),
    };
    Ok((sum, bmap_sum, sha))
}
