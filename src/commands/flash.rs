//! `burnline flash`: the command line turned into a flash of images, or of a
//! base plus deltas, or (with `--recipe`) of fresh identities by the
//! programmer station (`crate::flash::station`), onto several targets in
//! parallel. See `crate::flash` for how one target is written.

use crate::cmdline::FlashArgs;
use crate::error::{Error, Result};
use crate::flash::parallel::{report, run_all};
use crate::flash::plan::{distinct, plan, FlashRequest};
use crate::flash::station;
use std::path::PathBuf;

/// Runs `flash`.
pub fn run(args: &FlashArgs) -> Result<()> {
    distinct(&args.targets)?;
    if let Some(url) = &args.pool {
        if !args.images.is_empty() {
            return Err(Error::Usage(
                "give images or --pool/--recipe, not both".into(),
            ));
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
        let ledger = args
            .ledger
            .clone()
            .unwrap_or_else(|| PathBuf::from("burnline-ledger.jsonl"));
        return station::run(
            recipe,
            devices,
            &args.targets,
            &ledger,
            args.ca_file.as_deref(),
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
    ))
}
