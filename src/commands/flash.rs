//! `burnline flash`: the command line turned into a flash of images, or of a
//! base plus deltas, or (with `--recipe`) of fresh identities by the
//! programmer station (`burnline_flash::from_recipe`), onto several targets in
//! parallel. See `burnline_flash` for how one target is written; before any
//! is (before any identity is leased or recorded), each target is checked
//! for what it may be (`burnline_flash::target::check`), and the targets
//! against each other and against every file the run reads
//! (`burnline_flash::overlap`).

use crate::cmdline::FlashArgs;
use burnline_flash::overlap::{distinct, not_an_input};
use burnline_flash::parallel::{report, run_all};
use burnline_flash::plan::{plan, FlashRequest};
use burnline_flash::source::bmap_candidates;
use burnline_flash::{from_recipe, target};
use burnline_image::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Runs `flash`.
pub fn run(args: &FlashArgs) -> Result<()> {
    burnline_io::console::stamp_when_piped(burnline_station::report::utc_now);
    distinct(&args.targets)?;
    let found = found_files(args);
    let mut inputs = named_inputs(args);
    inputs.extend(found.iter().map(|(what, p)| (*what, p.as_path())));
    not_an_input(&args.targets, &inputs)?;
    for t in &args.targets {
        target::check(t)?;
    }
    if let Some(url) = &args.pool {
        if !args.images.is_empty() {
            return Err(Error::Usage(
                "give images or --pool/--recipe, not both".into(),
            ));
        }
        if let Some(dir) = &args.work_dir {
            work_dir(dir)?;
        }
        return super::pool::flash(args, url);
    }
    if args.recipe.is_some() && args.devices.is_none() {
        return Err(Error::Usage(
            "--recipe needs --devices (a CSV and a ledger) or --pool".into(),
        ));
    }
    if let (Some(recipe), Some(devices)) = (&args.recipe, &args.devices) {
        let devices = &args.identity.list(devices);
        if !args.images.is_empty() {
            return Err(Error::Usage(
                "give images or --recipe/--devices, not both".into(),
            ));
        }
        return from_recipe::run(
            recipe,
            devices,
            &from_recipe::StationRun {
                targets: &args.targets,
                ledger: ledger(args.ledger.as_deref())?,
                ca_file: args.ca_file.as_deref(),
                large_file: args.large_file,
                digest: args.digest,
            },
        );
    }
    let jobs = plan(&FlashRequest {
        images: &args.images,
        targets: &args.targets,
        bmap: args.bmap.as_deref(),
        no_bmap: args.no_bmap,
    })?;
    report(run_all(
        jobs.iter()
            .map(|(src, exp, t)| (src, exp, t.as_path()))
            .collect(),
        args.large_file,
    ))
}

/// Every file the command line names that the run reads or keeps, with
/// what it is to the run.
fn named_inputs(args: &FlashArgs) -> Vec<(&'static str, &Path)> {
    let image = if args.images.len() == 1 {
        "the image"
    } else {
        "an image or delta"
    };
    let mut inputs: Vec<(&str, &Path)> = args.images.iter().map(|p| (image, p.as_path())).collect();
    let named = [
        ("the bmap", &args.bmap),
        ("the recipe", &args.recipe),
        ("the device list", &args.devices),
        ("the age identity", &args.identity.identity),
        ("the station ledger", &args.ledger),
        ("the CA file", &args.ca_file),
        ("the pool's key file", &args.key_file),
    ];
    inputs.extend(
        named
            .into_iter()
            .filter_map(|(what, p)| Some((what, p.as_deref()?))),
    );
    if let Some(burnline_pool::PoolUrl::Sqlite(db)) = &args.pool {
        inputs.push(("the pool's database", db));
    }
    inputs
}

/// The files the run finds on its own: each image's bmap next to it, the
/// registration ledger next to the station ledger.
fn found_files(args: &FlashArgs) -> Vec<(&'static str, PathBuf)> {
    let mut found: Vec<(&str, PathBuf)> = args
        .images
        .iter()
        .flat_map(|p| bmap_candidates(p))
        .filter(|p| p.exists())
        .map(|p| ("a bmap", p))
        .collect();
    if let Some(l) = &args.ledger {
        let dir = l.parent().unwrap_or(Path::new("."));
        found.push((
            "the registration ledger",
            dir.join(burnline_image::registration::registrations_log::FILE_NAME),
        ));
    }
    found
}

/// The station ledger: required, and absolute, so that every run that
/// burns one identity set keeps one ledger, from whichever directory it
/// is started.
fn ledger(given: Option<&Path>) -> Result<&Path> {
    match given {
        None => Err(Error::Usage(
            "--recipe with --devices needs --ledger PATH: the station ledger, an absolute path, the same file for every run that burns these identities".into(),
        )),
        Some(p) if !p.is_absolute() => Err(Error::Usage(format!(
            "--ledger {}: give an absolute path (a relative one names another ledger in each directory, and would burn an identity twice)",
            p.display()
        ))),
        Some(p) => Ok(p),
    }
}

/// `--work-dir` must be a directory that is there.
fn work_dir(dir: &Path) -> Result<()> {
    let why = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => "not a directory".to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such directory".to_owned(),
        Err(e) => format!("cannot be read: {e}"),
    };
    Err(Error::Usage(format!("--work-dir {}: {why}", dir.display())))
}
