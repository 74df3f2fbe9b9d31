//! One `build` run: checks everything first (nothing is written on bad
//! input), locks the output directory, builds the base image once, then the
//! devices in parallel batches of [`Job`](crate::job::device_job::Job)s
//! (sized by how long they take: [`super::batch_size`]). Per batch the
//! images are made durable with one `syncfs`, renamed into place, the
//! directory synced ([`super::settle`], on a thread of its own while the next
//! batch is built), and only then listed in the manifest. A device that fails
//! is reported and the others go on; the [`Summary`] says so at the end.
//! Finished batches are journaled (`crate::resume`), so a rerun after a kill
//! finishes only what is missing; a [`Shard`] builds one slice of the CSV;
//! base+delta output, bmaps and compression are added per device by
//! `crate::delta` and `crate::output::artifacts`. With a key, the checksum
//! list and the manifest are signed last (`crate::signing`). A closed
//! stdout or stderr (`burnline_io::console`) stops the run as SIGINT
//! does; a resumed run says how many images it found done. With BLAKE3 the base's tree
//! is hashed once and each image's checksum rehashes only the leaves its
//! patches touch.

use super::batch_size;
use super::check::check_all;
use super::lock::DirLock;
use super::settle::{settle, Failure, Settled};
use super::stage::stage;
use crate::base;
use crate::delta;
use crate::device_csv::check::expect;
use crate::device_csv::list::DeviceList;
use crate::device_csv::reader::{DeviceReader, DeviceRow};
use crate::error::{Error, IoContext, Result};
use crate::job::device_job::DeviceBuilder;
use crate::manifest::files::Header;
use crate::manifest::ManifestWriter;
use crate::output::progress::{Outcome, Progress};
use crate::output::staged::Staged;
use crate::recipe::output_spec::{Compression, ImageFormat, OutputMode, OutputSpec};
use crate::registration::host::HostRegistrar;
use crate::resume::interrupt::Interrupt;
use crate::resume::journal::{self, Journal};
use crate::shard::Shard;
use crate::signing::key::SigningKey;
use burnline_io::atomic;
use burnline_io::extents::reflink_works;
use burnline_io::hash::{hash_patched, DigestKind};
use burnline_io::tree_digest::BaseTree;
use burnline_io::{console, say};
use rayon::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// What to build, and how: the command line's choices over the recipe's.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// The device CSV (plain, or encrypted with age).
    pub devices: DeviceList,
    /// The output directory (created if missing).
    pub out: PathBuf,
    /// Devices built at once (default: the number of CPUs).
    pub jobs: Option<usize>,
    /// Show progress (a bar on a terminal, lines otherwise).
    pub progress: bool,
    /// A line per device.
    pub verbose: bool,
    /// The slice of the CSV to build.
    pub shard: Option<Shard>,
    /// For `register: host`: CA certificates trusted besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// What the command line sets over the recipe's `output:`.
    pub output: OutputOverrides,
    /// The minisign key that signs the checksum list and the manifest.
    pub sign: Option<Arc<SigningKey>>,
    /// The exit code of a second SIGINT or SIGTERM, which ends the process
    /// at once (the CLI's `Case::SecondSignal`).
    pub second_signal_code: u8,
}

/// The command line's output options; `None` and `false` keep the recipe's.
#[derive(Debug, Clone, Default)]
pub struct OutputOverrides {
    /// A delta set (base plus deltas) instead of full images.
    pub deltas: bool,
    /// A bmap next to each image.
    pub bmap: bool,
    /// No digest of each device's full image in its delta.
    pub no_image_digest: bool,
    /// Compression (`Some(None)`: none, whatever the recipe says).
    pub compress: Option<Option<Compression>>,
    /// The checksum kind.
    pub digest: Option<DigestKind>,
    /// Raw or Android sparse images.
    pub format: Option<ImageFormat>,
    /// The Android sparse block size.
    pub sparse_block_size: Option<burnline_sparse::BlockSize>,
}

/// How a run ended when it got to the end.
#[derive(Debug)]
pub struct Summary {
    /// Devices built by this run (not taken from the journal).
    pub built: u64,
    /// Devices an earlier run had built, found in the journal.
    pub found_done: u64,
    /// Devices in this run's slice of the CSV.
    pub total: u64,
    /// Devices that failed, in CSV order.
    pub failures: Vec<Failure>,
    /// Whether images share the base by reflink.
    pub reflink: bool,
}

/// Runs a build: checks, opens the output directory, builds and hashes the
/// base (writing it out for base+delta output), then builds the devices
/// batch by batch (`next_batch`, staged in parallel, settled in the
/// background, `Done::record`), and finishes the manifest (`Done::finish`).
pub fn run(args: &BuildOptions) -> Result<Summary> {
    let shard = args.shard;
    let (recipe, layout, rows) = check_all(&args.recipe, &args.devices)?;
    for w in recipe.warning_lines() {
        say!("{w}");
    }
    let spec = output_spec(args, &recipe, layout.disk_size)?;
    let total = shard.map_or(rows, |s| s.rows_in(rows));
    let out = &args.out;
    let lock = open_out(out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs(args.jobs))
        .build()
        .map_err(|e| Error::Usage(format!("--jobs: {e}")))?;

    let stop = Interrupt::install(args.second_signal_code)?;
    let registrar = HostRegistrar::for_recipe(
        &recipe,
        out,
        args.ca_file.as_deref(),
        args.jobs.unwrap_or(4),
    )?;
    let base = base::build(&recipe, &layout, out)?;
    let (tree, base_sha, base_id) = hash_base(&base, &spec)?;
    let journal = Journal::open(out, &run_fingerprint(args, &spec, shard, &base_id)?)?;
    if journal.done_count() > 0 {
        say!(
            "burnline: resuming: {} image(s) were built by an earlier run (journal {})",
            journal.done_count(),
            out.join(journal::JOURNAL).display()
        );
    }
    let header = Header {
        shard: shard.map(|s| s.info(rows)),
        ..Header::default()
    };
    let header = write_delta_set_base(&base, out, &spec, header, &base_id, &base_sha)?;
    burnline_io::crash_point!("build-after-base");
    let reflink = probe_reflink(&base.file, out);
    let mut builder = DeviceBuilder::new(&recipe, &layout, &base, out.clone(), reflink, registrar)?;
    let blake3 = match spec.mode {
        OutputMode::Full => spec.digest,
        OutputMode::Deltas => spec.delta_image_digest(),
    } == DigestKind::Blake3;
    builder.tree = blake3.then_some(tree);
    let recipe_name = recipe
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = ManifestWriter::create_with(out, &recipe_name, &header, spec.digest)?;
    let mut reader = DeviceReader::open(&args.devices, expect(&recipe))?;
    let progress = Progress::new(total, args.progress, args.verbose);
    let mut done = Done {
        journal,
        manifest,
        built: 0,
        found_done: 0,
        failures: Vec::new(),
    };
    let mut interrupted = false;
    // Batch k is made durable in the background while batch k+1 is built.
    let mut settling: Option<JoinHandle<Result<Settled>>> = None;
    let mut size = batch_size::FIRST;
    loop {
        // A reader that went away (a closed pipe) stops the run as SIGINT does.
        let rows = if stop.requested() || console::closed() {
            interrupted = true;
            Vec::new()
        } else {
            next_batch(&mut reader, shard, size)?
        };
        let started = Instant::now();
        let staged = (!rows.is_empty()).then(|| {
            let results = pool.install(|| {
                stage_batch(&builder, &done.journal, &rows, &spec, &base_sha, &progress)
            });
            (rows, results)
        });
        size = batch_size::next(size, started.elapsed());
        if let Some(batch) = settling.take() {
            done.record(batch)?;
        }
        let Some((rows, results)) = staged else {
            break;
        };
        let out = out.clone();
        settling = Some(std::thread::spawn(move || settle(&out, &rows, results)));
    }
    progress.finish();
    if interrupted {
        drop(done.manifest);
        drop(base);
        say!(
            "burnline: interrupted; {} device(s) are done and journaled in {}; rerun the same command to finish",
            done.journal.done_count() as u64 + done.built,
            out.join(journal::JOURNAL).display()
        );
        atomic::clean_stale(out)?;
        return Err(Error::Interrupted);
    }
    let (built, found_done, failures) = done.finish(args, &spec)?;
    drop(base);
    drop(lock);
    Ok(Summary {
        built,
        found_done,
        total,
        failures,
        reflink,
    })
}

/// Stages `rows` in parallel (on the current rayon pool): a device the
/// journal has as done is taken from it, any other built by its job; each
/// outcome shown on `progress`.
fn stage_batch(
    builder: &DeviceBuilder,
    journal: &Journal,
    rows: &[DeviceRow],
    spec: &OutputSpec,
    base_sha: &[u8; 32],
    progress: &Progress,
) -> Vec<Result<Staged>> {
    let jobs = builder.jobs(rows);
    rows.par_iter()
        .zip(jobs)
        .map(|(row, job)| {
            let staged = match journal.done(&row.product_key, &row.device_name) {
                Some(e) => Ok(Staged {
                    entry: e.clone(),
                    renames: Vec::new(),
                    fresh: false,
                }),
                None => {
                    // Tests slow each device down here.
                    fail::fail_point!("build-device");
                    job.and_then(|j| stage(builder, &j, spec, base_sha))
                }
            };
            progress.device(
                &row.device_name,
                match &staged {
                    Ok(s) if s.fresh => Outcome::Built,
                    Ok(_) => Outcome::Resumed,
                    Err(_) => Outcome::Failed,
                },
            );
            staged
        })
        .collect()
}

/// Makes the output directory (refusing a path that is not one), locks it
/// and removes the temp files a dead run left.
fn open_out(out: &Path) -> Result<DirLock> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is not a directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).at("creating the output directory", out)?;
    let lock = DirLock::acquire(out)?;
    atomic::clean_stale(out)?;
    Ok(lock)
}

/// The base's BLAKE3 tree, its SHA-256 (only for a delta set's raw base, else
/// zeros) and its BLAKE3 digest. The tree's root names the base in the
/// resume fingerprint (the base covers every file the recipe pulls in);
/// with `--digest blake3` the tree also hashes every image. A delta set's
/// raw base is also named by its SHA-256 (in its deltas and the listing):
/// hashed on one core while the tree takes the others.
fn hash_base(base: &base::Base, spec: &OutputSpec) -> Result<(BaseTree, [u8; 32], [u8; 32])> {
    let raw_deltas_base =
        spec.mode == OutputMode::Deltas && spec.format != ImageFormat::AndroidSparse;
    let (tree, base_sha) = rayon::join(
        || BaseTree::build(&base.file, base.len, &base.extents),
        || {
            raw_deltas_base
                .then(|| hash_patched(&base.file, base.len, &base.extents, &[]))
                .transpose()
        },
    );
    let tree = tree.at("hashing", &base.path)?;
    // Unused (zeros) unless this is a delta set's raw base.
    let base_sha = base_sha.at("hashing", &base.path)?.unwrap_or_default();
    let base_id = tree
        .digest_patched(&base.file, &[])
        .at("hashing", &base.path)?;
    Ok((tree, base_sha, base_id))
}

/// For a delta set, writes its base into `out` and returns
/// `header` naming it; for full images, `header` as it is.
fn write_delta_set_base(
    base: &base::Base,
    out: &Path,
    spec: &OutputSpec,
    header: Header,
    base_id: &[u8; 32],
    base_sha: &[u8; 32],
) -> Result<Header> {
    if spec.mode != OutputMode::Deltas {
        return Ok(header);
    }
    if spec.format == ImageFormat::AndroidSparse {
        let sum = delta::base_file::write_sparse(base, out, spec.sparse_block_size, spec.digest)?;
        return Ok(Header {
            mode: Some("station".into()),
            base: Some(sum),
            ..header
        });
    }
    let (sum, bmap) =
        delta::base_file::write(base, out, spec.bmap, spec.digest, base_id, base_sha)?;
    Ok(Header {
        mode: Some("station".into()),
        base: Some(sum),
        base_bmap: bmap,
        ..header
    })
}

/// The next batch of up to `size` rows of this run's slice of the CSV
/// (empty at its end).
fn next_batch(
    reader: &mut DeviceReader,
    shard: Option<Shard>,
    size: usize,
) -> Result<Vec<DeviceRow>> {
    let mut rows: Vec<DeviceRow> = Vec::with_capacity(size);
    while rows.len() < size {
        match reader.next_row() {
            None => break,
            Some(Ok(row)) if shard.is_some_and(|s| !s.takes(row.index)) => {}
            Some(Ok(row)) => rows.push(row),
            // The CSV was checked whole; it changed under us.
            Some(Err(problems)) => return Err(Error::Invalid(problems)),
        }
    }
    Ok(rows)
}

/// What the run has made durable: the journal, the manifest so far, and
/// the counts.
struct Done {
    journal: Journal,
    manifest: ManifestWriter,
    /// Devices built by this run.
    built: u64,
    /// Devices an earlier run had built.
    found_done: u64,
    /// Devices that failed, in CSV order.
    failures: Vec<Failure>,
}

impl Done {
    /// Waits for a settling batch, journals its fresh devices and lists
    /// every good one in the manifest, in that order.
    fn record(&mut self, batch: JoinHandle<Result<Settled>>) -> Result<()> {
        let settled = batch
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        burnline_io::crash_point!("build-after-rename");
        let ok = &settled.ok;
        self.journal
            .append(ok.iter().filter(|b| b.fresh).map(|b| &b.entry))?;
        burnline_io::crash_point!("build-after-journal");
        for b in ok {
            self.manifest.push(&b.entry)?;
        }
        self.built += ok.iter().filter(|b| b.fresh).count() as u64;
        self.found_done += ok.iter().filter(|b| !b.fresh).count() as u64;
        self.failures.extend(settled.failures);
        Ok(())
    }

    /// Finishes the manifest, signs the checksum list and the manifest
    /// with a key, and removes the journal when no device failed; returns
    /// the counts and the failures.
    fn finish(self, args: &BuildOptions, spec: &OutputSpec) -> Result<(u64, u64, Vec<Failure>)> {
        self.manifest.finish()?;
        burnline_io::crash_point!("build-after-manifest");
        // Signed only now that what they sign is final and durable; a crash
        // before this leaves no signature, and the rerun signs.
        if let Some(key) = &args.sign {
            crate::signing::sign_file(key, &args.out, spec.digest.sums_file())?;
            crate::signing::sign_file(key, &args.out, crate::manifest::MANIFEST)?;
        }
        if self.failures.is_empty() {
            self.journal.remove()?;
        }
        Ok((self.built, self.found_done, self.failures))
    }
}

/// The most devices built at once. More threads than this only add memory
/// and contention: the work is bound by the disk and a few cores.
pub const MAX_JOBS: usize = 256;

/// `--jobs`, clamped to [`MAX_JOBS`] (and saying so); 0 or none: one per CPU.
fn jobs(asked: Option<usize>) -> usize {
    match asked {
        Some(n) if n > MAX_JOBS => {
            say!("burnline: note: --jobs {n} is more than {MAX_JOBS}; using {MAX_JOBS}");
            MAX_JOBS
        }
        Some(n) => n,
        None => 0,
    }
}

/// Whether FICLONE from the base works in the output directory.
fn probe_reflink(base: &File, out: &Path) -> bool {
    let Ok(probe) = atomic::temp_path(&out.join("burnline-probe")) else {
        return false;
    };
    let works = atomic::create_temp(&probe)
        .map(|f| reflink_works(base, &f))
        .unwrap_or(false);
    let _ = std::fs::remove_file(&probe);
    works
}

/// The recipe's output options with the command line's on top.
fn output_spec(
    args: &BuildOptions,
    recipe: &crate::recipe::Recipe,
    disk_size: u64,
) -> Result<OutputSpec> {
    let mut spec = recipe.output;
    let o = &args.output;
    if o.deltas {
        spec.mode = OutputMode::Deltas;
    }
    spec.bmap |= o.bmap;
    spec.no_image_digest |= o.no_image_digest;
    if let Some(c) = o.compress {
        spec.compress = c;
    }
    if let Some(d) = o.digest {
        spec.digest = d;
        spec.digest_given = true;
    }
    if let Some(f) = o.format {
        spec.format = f;
    }
    if let Some(b) = o.sparse_block_size {
        spec.sparse_block_size = b;
    }
    if let Some(rule) = spec.conflict(disk_size) {
        return Err(Error::Usage(format!(
            "{}: {rule}; nothing was written",
            args.recipe.display()
        )));
    }
    if spec.mode == OutputMode::Deltas && spec.compress.is_some() {
        say!("burnline: note: compression applies to full images; a delta set stays raw");
    }
    Ok(spec)
}

/// What a resumed run must share with the run it continues: the recipe
/// bytes, the CSV's plaintext (by its digest), the base image, the output options (the checksum kind
/// among them: a run never lists SHA-256 and BLAKE3 entries together) and
/// the shard.
fn run_fingerprint(
    args: &BuildOptions,
    spec: &OutputSpec,
    shard: Option<Shard>,
    base_id: &[u8; 32],
) -> Result<String> {
    let recipe = std::fs::read(&args.recipe).at("reading", &args.recipe)?;
    let csv = args.devices.digest()?;
    let opts = format!(
        "{}|{:?}|{:?}|{}",
        env!("CARGO_PKG_VERSION"),
        spec,
        shard,
        spec.digest.name()
    );
    Ok(journal::fingerprint(&[
        &recipe,
        &csv[..],
        base_id,
        opts.as_bytes(),
    ]))
}
