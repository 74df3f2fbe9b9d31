//! What follows a full device image before it is put in place: its bmap
//! (made from the base's extents plus the device's patches, before any
//! compression) and its streamed compression. Everything stays under temp
//! names; the batch renames it. Side files and compressed files are listed
//! with the build's checksum kind (`output.digest`). The image's manifest
//! entry and its bmap's name come with it; nothing is derived here.

use super::compress::compress;
use super::device::Built;
use super::staged::Staged;
use crate::base::Base;
use crate::error::{IoContext, Result};
use crate::manifest::files::{FileSum, Sum};
use crate::manifest::Entry;
use crate::recipe::output_spec::OutputSpec;
use burnline_io::atomic;
use burnline_io::bmap;
use burnline_io::hash::{DigestKind, StreamHash};
use burnline_io::patch::Patch;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes the bmap of the `len`-byte image `image` to the temp name of
/// `dest`; returns the listing (with a `kind` checksum) and the (temp,
/// final) rename.
pub fn write_bmap(
    image: &File,
    len: u64,
    extents: &[(u64, u64)],
    patches: &[Patch],
    dest: &Path,
    kind: DigestKind,
) -> Result<(FileSum, (PathBuf, PathBuf))> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dest = dest.to_path_buf();
    let tmp = atomic::temp_path(&dest)?;
    let text = bmap::render(image, len, &bmap::block_ranges(extents, patches, len))
        .at("making the bmap", &dest)?;
    // No secret in a bmap: readable by all, as before.
    atomic::create_temp(&tmp)
        .map_err(crate::error::Error::from)
        .and_then(|mut f| {
            f.set_permissions(std::fs::Permissions::from_mode(0o644))
                .and_then(|()| f.write_all(text.as_bytes()))
                .at("writing", &tmp)
        })?;
    let mut h = StreamHash::new(kind);
    h.update(text.as_bytes());
    let sum = FileSum {
        file: name,
        size: text.len() as u64,
        sum: Sum::new(kind, &h.finalize()),
    };
    Ok((sum, (tmp, dest)))
}

/// Adds the bmap (named `bmap`) and compression `spec` asks for to the
/// image `b` of the base with `patches` over it, listed by `entry`.
pub fn finish(
    entry: Entry,
    b: Built,
    patches: &[Patch],
    bmap: &str,
    base: &Base,
    spec: &OutputSpec,
) -> Result<Staged> {
    let mut staged = Staged {
        entry,
        renames: vec![(b.temp.clone(), b.final_path.clone())],
        fresh: true,
    };
    let r = finish_inner(&mut staged, &b, patches, bmap, base, spec);
    match r {
        Ok(()) => Ok(staged),
        Err(e) => {
            staged.discard();
            Err(e)
        }
    }
}

fn finish_inner(
    staged: &mut Staged,
    b: &Built,
    patches: &[Patch],
    bmap: &str,
    base: &Base,
    spec: &OutputSpec,
) -> Result<()> {
    let (temp, final_path) = (&b.temp, &b.final_path);
    if !spec.bmap && spec.compress.is_none() {
        return Ok(());
    }
    let image = File::open(temp).at("opening", temp)?;
    if spec.bmap {
        let (sum, rename) = write_bmap(
            &image,
            base.len,
            &base.extents,
            patches,
            &final_path.with_file_name(bmap),
            spec.digest,
        )?;
        staged.entry.artifacts.extra_files.push(sum);
        staged.renames.push(rename);
    }
    if let Some(how) = spec.compress {
        let name = format!("{}{}", staged.entry.file, how.ext());
        let dest = final_path.with_file_name(&name);
        let tmp = atomic::temp_path(&dest)?;
        let out = atomic::create_temp(&tmp)?;
        staged.renames.push((tmp.clone(), dest));
        let (size, digest) =
            compress(&image, base.len, &out, how, spec.digest).at("compressing into", &tmp)?;
        drop(image);
        let _ = std::fs::remove_file(temp);
        staged.renames.remove(0);
        let e = &mut staged.entry;
        let raw = std::mem::replace(&mut e.sum, Sum::new(spec.digest, &digest));
        e.artifacts.set_image_sum(raw);
        e.artifacts.image_size = Some(std::mem::replace(&mut e.size, size));
        e.file = name;
    }
    Ok(())
}
