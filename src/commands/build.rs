//! `burnline build`: checks everything first (nothing is written on bad
//! input), builds the base image once, then the devices in parallel batches.
//! Per batch the images are made durable with one `syncfs`, renamed into
//! place, the directory synced, and only then listed in the manifest. A
//! device that fails is reported and the others go on; the exit status says
//! so at the end.

use super::check::check_all;
use crate::base;
use crate::cmdline::BuildArgs;
use crate::credentials::partition::CredentialsPartition;
use crate::devices::check::expect;
use crate::devices::reader::{DeviceReader, DeviceRow};
use crate::error::{Error, IoContext, Result};
use crate::io::extents::reflink_works;
use crate::manifest::ManifestWriter;
use crate::output::atomic;
use crate::output::device::{credentials_for, Built, DeviceBuilder};
use crate::output::progress::Progress;
use crate::registration::host::HostRegistrar;
use rayon::prelude::*;
use std::fs::File;
use std::path::Path;

/// Devices per durable batch.
const BATCH: usize = 64;

/// A device that failed, for the report.
#[derive(Debug, serde::Serialize)]
struct Failure {
    device_name: String,
    line: u64,
    error: String,
}

/// Runs `build`.
pub fn run(args: &BuildArgs) -> Result<()> {
    let (recipe, layout, total) = check_all(&args.recipe, &args.devices)?;
    let out = &args.out;
    std::fs::create_dir_all(out).at("creating the output directory", out)?;
    let lock = lock_dir(out)?;
    atomic::clean_stale(out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;

    let registrar = HostRegistrar::for_recipe(
        &recipe,
        out,
        args.ca_file.as_deref(),
        args.jobs.unwrap_or(4),
    )?;
    let base = base::build(&recipe, &layout, out)?;
    let reflink = probe_reflink(&base.file, out);
    let (creds_index, creds_spec) = recipe.credentials().ok_or_else(|| {
        Error::invalid(
            recipe.path.display().to_string(),
            "partitions",
            "no credentials partition",
        )
    })?;
    let builder = DeviceBuilder {
        recipe: &recipe,
        layout: &layout,
        base: &base,
        creds: CredentialsPartition {
            extent: layout.partitions[creds_index].clone(),
            format: creds_spec.format.clone(),
            sector: layout.sector_size,
            epoch: recipe.disk.source_date_epoch,
        },
        out_dir: out.clone(),
        reflink,
    };
    let recipe_name = recipe
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut manifest = ManifestWriter::create(out, &recipe_name)?;
    let mut reader = DeviceReader::open(&args.devices, expect(&recipe))?;
    let mut progress = Progress::new(total, args.json);
    let mut failures: Vec<Failure> = Vec::new();
    let mut built_count = 0u64;
    loop {
        let mut rows: Vec<DeviceRow> = Vec::with_capacity(BATCH);
        while rows.len() < BATCH {
            match reader.next_row() {
                None => break,
                Some(Ok(row)) => rows.push(row),
                // The CSV was checked whole; it changed under us.
                Some(Err(problems)) => return Err(Error::Invalid(problems)),
            }
        }
        if rows.is_empty() {
            break;
        }
        let creds = registrar.credentials(&rows, |row| {
            credentials_for(&recipe, row, creds_spec.keep_product_secret)
        });
        let results: Vec<Result<Built>> = pool.install(|| {
            rows.par_iter()
                .zip(creds)
                .map(|(row, c)| c.and_then(|c| builder.build(row, &c)))
                .collect()
        });
        let (ok, failed) = settle(out, &rows, results, &mut failures)?;
        for b in &ok {
            manifest.push(&b.entry)?;
        }
        built_count += ok.len() as u64;
        progress.advance(ok.len() as u64, failed);
    }
    progress.finish();
    manifest.finish()?;
    drop(base);
    drop(lock);
    for f in &failures {
        eprintln!(
            "error: device {} ({}:{}): {}",
            f.device_name,
            args.devices.display(),
            f.line,
            f.error
        );
    }
    if args.json {
        let summary = serde_json::json!({
            "out": out,
            "built": built_count,
            "failed": failures,
            "reflink": reflink,
        });
        println!("{summary}");
    } else {
        eprintln!(
            "burnline: built {built_count} image(s) in {}",
            out.display()
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::DevicesFailed {
            failed: failures.len(),
            total: total as usize,
        })
    }
}

/// Makes a batch durable and renames it into place: one `syncfs` for the
/// data, the renames, one directory fsync. Failed devices lose their temp
/// files and are recorded; the others go on.
fn settle(
    out: &Path,
    rows: &[DeviceRow],
    results: Vec<Result<Built>>,
    failures: &mut Vec<Failure>,
) -> Result<(Vec<Built>, u64)> {
    let mut fail = |row: &DeviceRow, e: &Error| {
        failures.push(Failure {
            device_name: row.device_name.clone(),
            line: row.line,
            error: e.to_string(),
        });
    };
    let mut built = Vec::new();
    let mut failed = 0;
    for (row, r) in rows.iter().zip(results) {
        match r {
            Ok(b) => built.push((row, b)),
            Err(e) => {
                failed += 1;
                fail(row, &e);
            }
        }
    }
    let mut ok = Vec::new();
    if !built.is_empty() {
        let dir = File::open(out).at("opening", out)?;
        rustix::fs::syncfs(&dir)
            .map_err(std::io::Error::from)
            .at("syncing the file system of", out)?;
        for (row, b) in built {
            match std::fs::rename(&b.temp, &b.final_path).at("renaming into place", &b.final_path) {
                Ok(()) => ok.push(b),
                Err(e) => {
                    let _ = std::fs::remove_file(&b.temp);
                    failed += 1;
                    fail(row, &e);
                }
            }
        }
        dir.sync_all().at("syncing directory", out)?;
    }
    Ok((ok, failed))
}

/// Takes an exclusive lock on the output directory, so two builds never
/// write into one directory at once.
fn lock_dir(out: &Path) -> Result<File> {
    let path = out.join(".burnline.lock");
    let f = atomic::create_temp(&path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        Error::Usage(format!(
            "{} is in use by another burnline run",
            out.display()
        ))
    })?;
    Ok(f)
}

/// Whether FICLONE from the base works in the output directory.
fn probe_reflink(base: &File, out: &Path) -> bool {
    let probe = out.join(format!(".burnline-probe{}", atomic::TEMP_SUFFIX));
    let works = atomic::create_temp(&probe)
        .map(|f| reflink_works(base, &f))
        .unwrap_or(false);
    let _ = std::fs::remove_file(&probe);
    works
}
