//! Pairs what to write with the targets before anything is written: images
//! (one for all targets, or one per target), or a base image plus one delta
//! per target (`.img.delta`, or `.delta.simg` in the Android sparse
//! format), every delta decoded and checked against the base first; and
//! the same target is never given twice, under any two names (compared by
//! device and inode, and device nodes by the device they stand for).

use super::source::Source;
use super::sparse_delta;
use super::write::Expect;
use crate::delta::format as delta;
use crate::error::{Error, IoContext, Result};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What `flash` was asked to write, and where.
pub struct FlashRequest<'a> {
    /// Images, or a base image followed by deltas.
    pub images: &'a [PathBuf],
    /// The targets, in order.
    pub targets: &'a [PathBuf],
    /// The bmap of a single image.
    pub bmap: Option<&'a Path>,
    /// Write every block, bmap or not.
    pub no_bmap: bool,
}

/// Refuses the same target twice, however it is named.
pub fn distinct(targets: &[PathBuf]) -> Result<()> {
    let mut seen = Vec::new();
    for t in targets {
        let id = TargetId::of(t);
        if seen.contains(&id) {
            return Err(Error::Usage(format!(
                "target {} is given twice",
                t.display()
            )));
        }
        seen.push(id);
    }
    Ok(())
}

/// What a target is, whatever path names it (`card.img`, `./card.img`, a
/// hard link or a symlink to it, another device node).
#[derive(PartialEq, Eq)]
enum TargetId {
    /// A block or character device: its device number (`st_rdev`).
    Device(u64),
    /// Any other file that is there: `(st_dev, st_ino)`.
    File(u64, u64),
    /// A file yet to be made: its directory's `(st_dev, st_ino)` and its
    /// name.
    New(u64, u64, OsString),
    /// A path none of the above can be told for (its directory is not
    /// there either), as given; writing to it will fail.
    Path(PathBuf),
}

impl TargetId {
    fn of(t: &Path) -> Self {
        if let Ok(m) = std::fs::metadata(t) {
            let kind = m.file_type();
            return if kind.is_block_device() || kind.is_char_device() {
                TargetId::Device(m.rdev())
            } else {
                TargetId::File(m.dev(), m.ino())
            };
        }
        let dir = match t.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match (std::fs::metadata(dir), t.file_name()) {
            (Ok(d), Some(name)) => TargetId::New(d.dev(), d.ino(), name.to_owned()),
            _ => TargetId::Path(t.to_path_buf()),
        }
    }
}

fn is_delta(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 8];
    let mut f = std::fs::File::open(path).at("opening", path)?;
    let n = f.read(&mut magic).at("reading", path)?;
    Ok(delta::is_delta(&magic[..n]))
}

/// Pairs images (or base plus deltas) with targets, checking every delta
/// before anything is written.
pub fn plan(args: &FlashRequest<'_>) -> Result<Vec<(Source, Expect, PathBuf)>> {
    let mut images = Vec::new();
    let mut deltas = Vec::new();
    for p in args.images {
        if is_delta(p)? || sparse_delta::is_sparse_delta(p) {
            deltas.push(p)
        } else {
            images.push(p)
        }
    }
    let n = args.targets.len();
    if args.bmap.is_some() && images.len() > 1 {
        return Err(Error::Usage("--bmap names the bmap of a single image; with several, keep each IMAGE.bmap next to its image".into()));
    }
    let mut jobs = Vec::new();
    if !deltas.is_empty() {
        let [base] = images.as_slice() else {
            return Err(Error::Usage(
                "with deltas, give exactly one base image (base.img or base.simg) first".into(),
            ));
        };
        if deltas.len() != n {
            return Err(Error::Usage(format!(
                "{} delta(s) for {n} target(s): give one delta per target",
                deltas.len()
            )));
        }
        // The base is opened, checked and mapped once, for every target.
        let mut base_src = Source::open(base, args.bmap, args.no_bmap)?;
        base_src.map_holes(args.no_bmap)?;
        for (d, t) in deltas.iter().zip(args.targets) {
            if !is_delta(d)? {
                let src = base_src.clone();
                let exp = Expect {
                    patches: sparse_delta::read(d, src.size)?,
                    base_sha256: None,
                    image: None,
                };
                jobs.push((src, exp, t.clone()));
                continue;
            }
            let bytes = std::fs::read(d).at("reading", d)?;
            let parsed = delta::decode(&bytes)
                .map_err(|e| Error::Usage(format!("{}: {e}; nothing was written", d.display())))?;
            let src = base_src.clone();
            if parsed.image_size != src.size {
                return Err(Error::Usage(format!(
                    "{}: made for a {}-byte base, {} has {}; nothing was written",
                    d.display(),
                    parsed.image_size,
                    base.display(),
                    src.size
                )));
            }
            let exp = Expect {
                patches: parsed.patches,
                base_sha256: Some(parsed.base_sha256),
                image: Some((parsed.image_kind, parsed.image_digest))
                    .filter(|(_, d)| *d != delta::NOT_RECORDED),
            };
            jobs.push((src, exp, t.clone()));
        }
    } else if images.len() == 1 || images.len() == n {
        for (i, t) in args.targets.iter().enumerate() {
            let img = images[if images.len() == 1 { 0 } else { i }];
            jobs.push((
                Source::open(img, args.bmap, args.no_bmap)?,
                Expect::default(),
                t.clone(),
            ));
        }
    } else {
        return Err(Error::Usage(format!(
            "{} image(s) for {n} target(s): give one image for all targets, or one per target",
            images.len()
        )));
    }
    Ok(jobs)
}
