//! Pairs what to write with the targets before anything is written: images
//! (one for all targets, or one per target), or a base image plus one delta
//! per target (`.img.delta`, or `.delta.simg` in the Android sparse
//! format), every delta decoded and checked against the base first (a
//! BLAKE3 delta's result through the base's tree, hashed once). That the
//! targets overlap neither each other nor these files is
//! [`super::overlap`]'s.

use super::checked_base::CheckedBase;
use super::source::Source;
use super::sparse_delta;
use super::write::{Checked, Expect};
use burnline_image::delta::format as delta;
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::hash::DigestKind;
use burnline_io::patch::Patch;
use std::io::Read;
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

/// Checks that `base` with `patches` (the delta `d`'s) is the image whose
/// BLAKE3 the delta records.
fn check_delta(
    base: &CheckedBase,
    src: &Source,
    d: &Path,
    patches: &[Patch],
    want: [u8; 32],
) -> Result<Checked> {
    let got = base.blake3_patched(patches).at("hashing", &src.path)?;
    if got != want {
        return Err(Error::Usage(format!(
            "{}: {} with its records does not give the image it records (blake3 differs): {} is not the base this delta was made for, or one of the two is damaged; nothing was written",
            d.display(),
            src.path.display(),
            src.path.display()
        )));
    }
    Ok(base.checked(want))
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
        let mut base_check: Option<CheckedBase> = None;
        for (d, t) in deltas.iter().zip(args.targets) {
            if !is_delta(d)? {
                let src = base_src.clone();
                let exp = Expect {
                    patches: sparse_delta::read(d, src.size)?,
                    base_sha256: None,
                    image: None,
                    checked: None,
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
            let image = Some((parsed.image_kind, parsed.image_digest))
                .filter(|(_, d)| *d != delta::NOT_RECORDED);
            let checked = match image {
                Some((DigestKind::Blake3, want))
                    if base_check.is_some() || CheckedBase::applies(&src) =>
                {
                    let check = match &mut base_check {
                        Some(c) => c,
                        None => base_check.insert(CheckedBase::new(&src)?),
                    };
                    Some(check_delta(check, &src, d, &parsed.patches, want)?)
                }
                _ => None,
            };
            let exp = Expect {
                patches: parsed.patches,
                base_sha256: Some(parsed.base_sha256),
                image,
                checked,
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
