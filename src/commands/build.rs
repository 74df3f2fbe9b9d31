//! `burnline build`: checks everything first (nothing is written on bad
//! input), builds the base image once, then the devices in parallel batches.
//! Per batch the images are made durable with one `syncfs`, renamed into
//! place, the directory synced (on a thread of its own, while the next batch
//! is built), and only then listed in the manifest. A
//! device that fails is reported and the others go on; the exit status says
//! so at the end. Finished batches are journaled (`crate::resume`), so a
//! rerun after a kill finishes only what is missing; `--shard` builds one
//! slice of the CSV; station mode, bmaps and compression are added per
//! device by `crate::station` and `crate::output::artifacts`. With
//! `--digest blake3` the base's BLAKE3 tree is hashed once and each image's
//! checksum rehashes only the leaves its patches touch.

use super::check::check_all;
use crate::base;
use crate::cmdline::{BuildArgs, CompressArg, DigestArg};
use crate::devices::check::expect;
use crate::devices::reader::{DeviceReader, DeviceRow};
use crate::error::{Error, IoContext, Result};
use crate::io::extents::reflink_works;
use crate::io::hash::DigestKind;
use crate::io::tree_digest::BaseTree;
use crate::manifest::extra::Header;
use crate::manifest::ManifestWriter;
use crate::output::artifacts;
use crate::output::atomic;
use crate::output::device::{credentials_for, DeviceBuilder};
use crate::output::progress::Progress;
use crate::output::staged::Staged;
use crate::recipe::output_spec::{Compression, OutputMode, OutputSpec};
use crate::registration::host::HostRegistrar;
use crate::resume::interrupt::Interrupt;
use crate::resume::journal::{self, Journal};
use crate::shard::Shard;
use crate::station;
use rayon::prelude::*;
use std::fs::File;
use std::path::Path;
use std::thread::JoinHandle;

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
    let shard = Shard::from_args(args.shard.as_deref(), args.shard_count, |k| {
        std::env::var(k).ok()
    })?;
    let (recipe, layout, rows) = check_all(&args.recipe, &args.devices)?;
    let spec = output_spec(args, &recipe)?;
    let total = shard.map_or(rows, |s| s.rows_in(rows));
    let out = &args.out;
    std::fs::create_dir_all(out).at("creating the output directory", out)?;
    let lock = lock_dir(out)?;
    atomic::clean_stale(out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;

    let stop = Interrupt::install()?;
    let registrar = HostRegistrar::for_recipe(
        &recipe,
        out,
        args.ca_file.as_deref(),
        args.jobs.unwrap_or(4),
    )?;
    let base = base::build(&recipe, &layout, out)?;
    // The base's BLAKE3 tree. Its root names the base in the resume
    // fingerprint (the base covers every file the recipe pulls in); with
    // `--digest blake3` it also hashes every image.
    let tree = BaseTree::build(&base.file, base.len, &base.extents).at("hashing", &base.path)?;
    let base_id = tree
        .digest_patched(&base.file, &[])
        .at("hashing", &base.path)?;
    let mut journal = Journal::open(out, &run_fingerprint(args, &spec, shard, &base_id)?)?;
    let mut header = Header {
        shard: shard.map(|s| s.info(rows)),
        ..Header::default()
    };
    // The SHA-256 of `base.img`, which station deltas name; unused otherwise.
    let mut base_sha = [0u8; 32];
    if spec.mode == OutputMode::Station {
        let (sum, bmap, sha) =
            station::base_file::write(&base, out, spec.bmap, spec.digest, &base_id)?;
        base_sha = sha;
        header = Header {
            mode: Some("station".into()),
            base: Some(sum),
            base_bmap: bmap,
            ..header
        };
    }
    crash_point!("build-after-base");
    let reflink = probe_reflink(&base.file, out);
    let mut builder = DeviceBuilder::new(&recipe, &layout, &base, out.clone(), reflink)?;
    builder.tree = (spec.digest == DigestKind::Blake3).then_some(tree);
    let recipe_name = recipe
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut manifest = ManifestWriter::create_with(out, &recipe_name, &header, spec.digest)?;
    let mut reader = DeviceReader::open(&args.devices, expect(&recipe))?;
    let mut progress = Progress::new(total, args.json);
    let mut failures: Vec<Failure> = Vec::new();
    let mut built_count = 0u64;
    let mut interrupted = false;
    // Batch k is made durable in the background while batch k+1 is built.
    let mut settling: Option<JoinHandle<Result<Settled>>> = None;
    loop {
        let mut rows: Vec<DeviceRow> = Vec::with_capacity(BATCH);
        if stop.requested() {
            interrupted = true;
        } else {
            while rows.len() < BATCH {
                match reader.next_row() {
                    None => break,
                    Some(Ok(row)) if shard.is_some_and(|s| !s.takes(row.index)) => {}
                    Some(Ok(row)) => rows.push(row),
                    // The CSV was checked whole; it changed under us.
                    Some(Err(problems)) => return Err(Error::Invalid(problems)),
                }
            }
        }
        let staged = (!rows.is_empty()).then(|| {
            let creds = registrar.credentials(&rows, |row| {
                credentials_for(&recipe, row, builder.creds.keep_product_secret)
            });
            let results: Vec<Result<Staged>> = pool.install(|| {
                rows.par_iter()
                    .zip(creds)
                    .map(
                        |(row, c)| match journal.done(&row.product_key, &row.device_name) {
                            Some(e) => Ok(Staged {
                                entry: e.clone(),
                                renames: Vec::new(),
                                fresh: false,
                            }),
                            None => c.and_then(|c| {
                                artifacts::stage(&builder, row, &c, &spec, &base_sha)
                            }),
                        },
                    )
                    .collect()
            });
            (rows, results)
        });
        if let Some(done) = settling.take() {
            let settled = done
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            crash_point!("build-after-rename");
            let ok = &settled.ok;
            journal.append(ok.iter().filter(|b| b.fresh).map(|b| &b.entry))?;
            crash_point!("build-after-journal");
            for b in ok {
                manifest.push(&b.entry)?;
            }
            built_count += ok.iter().filter(|b| b.fresh).count() as u64;
            progress.advance(ok.len() as u64, settled.failures.len() as u64);
            failures.extend(settled.failures);
        }
        let Some((rows, results)) = staged else {
            break;
        };
        let out = out.clone();
        settling = Some(std::thread::spawn(move || settle(&out, &rows, results)));
    }
    progress.finish();
    if interrupted {
        drop(manifest);
        drop(base);
        eprintln!(
            "burnline: interrupted; {} device(s) are done and journaled in {}; rerun the same command to finish",
            journal.done_count() as u64 + built_count,
            out.join(journal::JOURNAL).display()
        );
        atomic::clean_stale(out)?;
        return Err(Error::Interrupted);
    }
    manifest.finish()?;
    crash_point!("build-after-manifest");
    if failures.is_empty() {
        journal.remove()?;
    }
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

/// A batch made durable: the devices renamed into place, and those that
/// failed.
struct Settled {
    ok: Vec<Staged>,
    failures: Vec<Failure>,
}

/// Makes a batch durable and renames it into place: one `syncfs` for the
/// data, the renames, one directory fsync. Failed devices lose their temp
/// files and are recorded; the others go on.
fn settle(out: &Path, rows: &[DeviceRow], results: Vec<Result<Staged>>) -> Result<Settled> {
    let mut failures = Vec::new();
    let mut fail = |row: &DeviceRow, e: &Error| {
        failures.push(Failure {
            device_name: row.device_name.clone(),
            line: row.line,
            error: e.to_string(),
        });
    };
    let mut built = Vec::new();
    for (row, r) in rows.iter().zip(results) {
        match r {
            Ok(b) => built.push((row, b)),
            Err(e) => fail(row, &e),
        }
    }
    let mut ok = Vec::new();
    let any = built.iter().any(|(_, b)| !b.renames.is_empty());
    let dir = File::open(out).at("opening", out)?;
    if any {
        rustix::fs::syncfs(&dir)
            .map_err(std::io::Error::from)
            .at("syncing the file system of", out)?;
    }
    for (row, b) in built {
        let mut renamed = Ok(());
        for (temp, final_path) in &b.renames {
            renamed = renamed.and_then(|()| {
                std::fs::rename(temp, final_path).at("renaming into place", final_path)
            });
        }
        match renamed {
            Ok(()) => ok.push(b),
            Err(e) => {
                b.discard();
                fail(row, &e);
            }
        }
    }
    if any {
        dir.sync_all().at("syncing directory", out)?;
    }
    Ok(Settled { ok, failures })
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

/// The recipe's output options with the command line's on top.
fn output_spec(args: &BuildArgs, recipe: &crate::recipe::Recipe) -> Result<OutputSpec> {
    let mut spec = recipe.output;
    if args.station {
        spec.mode = OutputMode::Station;
    }
    spec.bmap |= args.bmap;
    spec.no_image_sha256 |= args.no_image_sha256;
    match args.compress {
        Some(CompressArg::Zstd) => spec.compress = Some(Compression::Zstd),
        Some(CompressArg::Xz) => spec.compress = Some(Compression::Xz),
        Some(CompressArg::Gzip) => spec.compress = Some(Compression::Gzip),
        Some(CompressArg::None) => spec.compress = None,
        None => {}
    }
    match args.digest {
        Some(DigestArg::Sha256) => spec.digest = DigestKind::Sha256,
        Some(DigestArg::Blake3) => spec.digest = DigestKind::Blake3,
        None => {}
    }
    if spec.mode == OutputMode::Station && spec.compress.is_some() {
        eprintln!("burnline: note: compression applies to full images; station output stays raw");
    }
    Ok(spec)
}

/// What a resumed run must share with the run it continues: the recipe
/// and CSV bytes, the base image, the output options (the checksum kind
/// among them: a run never lists SHA-256 and BLAKE3 entries together) and
/// the shard.
fn run_fingerprint(
    args: &BuildArgs,
    spec: &OutputSpec,
    shard: Option<Shard>,
    base_id: &[u8; 32],
) -> Result<String> {
    let recipe = std::fs::read(&args.recipe).at("reading", &args.recipe)?;
    let csv = std::fs::read(&args.devices).at("reading", &args.devices)?;
    let opts = format!(
        "{}|{:?}|{:?}|{}",
        env!("CARGO_PKG_VERSION"),
        spec,
        shard,
        spec.digest.name()
    );
    Ok(journal::fingerprint(&[
        &recipe,
        &csv,
        base_id,
        opts.as_bytes(),
    ]))
}
