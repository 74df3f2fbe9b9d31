//! `burnline flash`: writes images, or a base plus deltas, or (with
//! `--recipe`) freshly made device images, to several targets in parallel,
//! one thread per target. See `crate::flash` for how one target is written.

use crate::cmdline::FlashArgs;
use crate::error::{Error, IoContext, Result};
use crate::flash::source::Source;
use crate::flash::write::{self, Expect};
use crate::flash::{from_recipe, target};
use crate::manifest::extra::Sum;
use crate::station::delta;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Runs `flash`.
pub fn run(args: &FlashArgs) -> Result<()> {
    distinct(&args.targets)?;
    if let (Some(recipe), Some(devices)) = (&args.recipe, &args.devices) {
        if !args.images.is_empty() {
            return Err(Error::Usage(
                "give images or --recipe/--devices, not both".into(),
            ));
        }
        let ledger = args
            .ledger
            .clone()
            .unwrap_or_else(|| PathBuf::from("burnline-ledger.jsonl"));
        return from_recipe::run(recipe, devices, &args.targets, &ledger);
    }
    let jobs = plan(args)?;
    report(run_all(
        jobs.iter()
            .map(|(src, exp, t)| (src, exp, t.as_path()))
            .collect(),
    ))
}

/// Refuses the same target twice.
fn distinct(targets: &[PathBuf]) -> Result<()> {
    let mut seen = Vec::new();
    for t in targets {
        let c = std::fs::canonicalize(t).unwrap_or_else(|_| t.clone());
        if seen.contains(&c) {
            return Err(Error::Usage(format!(
                "target {} is given twice",
                t.display()
            )));
        }
        seen.push(c);
    }
    Ok(())
}

fn is_delta(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 8];
    let mut f = std::fs::File::open(path).at("opening", path)?;
    let n = f.read(&mut magic).at("reading", path)?;
    Ok(delta::is_delta(&magic[..n]))
}

/// Pairs images (or base plus deltas) with targets, checking every delta
/// before anything is written.
fn plan(args: &FlashArgs) -> Result<Vec<(Source, Expect, PathBuf)>> {
    let mut images = Vec::new();
    let mut deltas = Vec::new();
    for p in &args.images {
        if is_delta(p)? {
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
                "with deltas, give exactly one base image (base.img) first".into(),
            ));
        };
        if deltas.len() != n {
            return Err(Error::Usage(format!(
                "{} delta(s) for {n} target(s): give one delta per target",
                deltas.len()
            )));
        }
        for (d, t) in deltas.iter().zip(&args.targets) {
            let bytes = std::fs::read(d).at("reading", d)?;
            let parsed = delta::decode(&bytes)
                .map_err(|e| Error::Usage(format!("{}: {e}; nothing was written", d.display())))?;
            let src = Source::open(base, args.bmap.as_deref(), args.no_bmap)?;
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
                Source::open(img, args.bmap.as_deref(), args.no_bmap)?,
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

/// What happened on one target.
pub struct Outcome {
    /// The target.
    pub target: PathBuf,
    /// The written image's digest and the bytes skipped, or the error.
    pub result: Result<(Sum, u64)>,
}

/// Writes and verifies one target; the image's digest is of the kind
/// `exp` expects (SHA-256 when it expects none).
pub fn flash_one(
    src: &Source,
    exp: &Expect,
    path: &Path,
    on_written: impl FnOnce(&Sum) -> Result<()>,
) -> Result<(Sum, u64)> {
    let t = target::open(path, src.size)?;
    let w = write::write(src, exp, &t)?;
    let digest = Sum::new(exp.image_kind(), &w.image_digest);
    on_written(&digest)?;
    write::verify(&t, &w)?;
    Ok((digest, w.skipped))
}

/// Runs the jobs in parallel, one thread each.
fn run_all(jobs: Vec<(&Source, &Expect, &Path)>) -> Vec<Outcome> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(src, exp, t)| (t, s.spawn(move || flash_one(src, exp, t, |_| Ok(())))))
            .collect();
        join_all(handles)
    })
}

/// A writer thread: the written image's digest and the bytes skipped.
pub type Writer<'scope> = std::thread::ScopedJoinHandle<'scope, Result<(Sum, u64)>>;

/// Waits for every writer thread; one that panicked is a failed target.
pub fn join_all(handles: Vec<(&Path, Writer<'_>)>) -> Vec<Outcome> {
    handles
        .into_iter()
        .map(|(t, h)| Outcome {
            target: t.to_path_buf(),
            result: h.join().unwrap_or_else(|_| {
                Err(Error::Usage(format!(
                    "target {}: the writer thread panicked",
                    t.display()
                )))
            }),
        })
        .collect()
}

/// Prints one line per target; fails if any target failed.
pub fn report(outcomes: Vec<Outcome>) -> Result<()> {
    let total = outcomes.len();
    let mut errors = Vec::new();
    for o in outcomes {
        match o.result {
            Ok((sum, skipped)) => eprintln!(
                "ok: {}: written and verified, {} {} ({skipped} bytes of holes skipped)",
                o.target.display(),
                sum.kind().name(),
                sum.hex()
            ),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 if total == 1 => Err(errors.remove(0)),
        n => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            Err(Error::Usage(format!("{n} of {total} target(s) failed")))
        }
    }
}
