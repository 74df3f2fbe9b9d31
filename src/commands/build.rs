//! `burnline build`: the command line turned into a [`burnline_image::build::run`],
//! and its summary into lines on stderr (or JSON on stdout) and an exit
//! status. The summary counts what this run built and what it found done
//! by an earlier (interrupted) run. Without `--out`, the images go to
//! `out`, which names its batch ([`STAMP`]): a default `out` holding
//! another batch, or files of unknown origin, is refused, so two batches
//! never mix unnoticed.

use crate::cmdline::BuildArgs;
use burnline_image::build::run::{self, BuildOptions, OutputOverrides};
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::shard::Shard;
use burnline_io::{say, show};
use std::path::PathBuf;

/// Runs `build`.
pub fn run(args: &BuildArgs) -> Result<()> {
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out(args)?,
    };
    let shard = Shard::from_args(args.shard, args.shard_count, |k| std::env::var(k).ok())?;
    // A wrong key or password stops the build before anything is written.
    let sign = args.sign.load()?.map(std::sync::Arc::new);
    let opts = BuildOptions {
        recipe: args.recipe.clone(),
        devices: args.devices.list(),
        out: out.clone(),
        jobs: args.jobs,
        progress: !(args.json || args.quiet || args.no_progress),
        verbose: args.verbose,
        shard,
        ca_file: args.ca_file.clone(),
        output: OutputOverrides {
            deltas: args.deltas,
            bmap: args.bmap,
            no_image_digest: args.no_image_digest,
            compress: args.compress.map(|c| c.0),
            digest: args.digest,
            format: args.format,
            sparse_block_size: args.sparse_block_size,
        },
        sign,
        second_signal_code: crate::exit::Case::SecondSignal.code().number(),
    };
    let summary = run::run(&opts)?;
    for f in &summary.failures {
        say!(
            "error: device {} ({}:{}): {}",
            f.device_name,
            args.devices.devices.display(),
            f.line,
            f.error
        );
    }
    if args.json {
        let json = serde_json::json!({
            "out": out,
            "built": summary.built,
            "found_done": summary.found_done,
            "failed": summary.failures,
            "reflink": summary.reflink,
        });
        show!("{json}");
    } else if !args.quiet {
        // On a line of its own: the bar (or the last progress line) ended
        // with a newline.
        let resumed = match summary.found_done {
            0 => String::new(),
            n => format!("; {n} more were done by an earlier run (resumed)"),
        };
        let failed = match summary.failures.len() {
            0 => String::new(),
            n => format!("; {n} failed"),
        };
        say!(
            "burnline: built {} image(s) in {}{resumed}{failed}",
            summary.built,
            out.display()
        );
    }
    if summary.failures.is_empty() {
        Ok(())
    } else {
        Err(Error::DevicesFailed {
            failed: summary.failures.len(),
            total: summary.total as usize,
        })
    }
}

/// The default output directory.
const DEFAULT_OUT: &str = "out";

/// The file in a default `out` that names its batch: the fingerprint of
/// the recipe and the device list.
pub const STAMP: &str = ".burnline-batch";

/// `out`, for a build given no `--out`: taken when it is missing, empty or
/// holds this batch (the same recipe and device list, by [`STAMP`]), and
/// then stamped; refused (exit 2, naming it) when it holds anything else.
fn default_out(args: &BuildArgs) -> Result<PathBuf> {
    let out = PathBuf::from(DEFAULT_OUT);
    // An unreadable recipe or list is reported by the build itself.
    let Ok(fp) = batch(args) else {
        return Ok(out);
    };
    let others = match std::fs::read_dir(&out) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name() != STAMP),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // Not a directory, unreadable: the build says which.
        Err(_) => return Ok(out),
    };
    if others {
        let why = match std::fs::read_to_string(out.join(STAMP)) {
            Ok(s) if s.trim() == fp => return Ok(out),
            Ok(_) => "holds another batch (another recipe or device list)",
            Err(_) => "holds files that no build without --out left there",
        };
        return Err(Error::Usage(format!(
            "{}: {why}; give --out DIR for this batch (nothing was written)",
            std::path::absolute(&out).unwrap_or(out).display()
        )));
    }
    std::fs::create_dir_all(&out).at("creating the output directory", &out)?;
    burnline_io::atomic::write_file(&out.join(STAMP), format!("{fp}\n").as_bytes())?;
    Ok(out)
}

/// A batch's fingerprint: the recipe's bytes and the device list's
/// plaintext digest.
fn batch(args: &BuildArgs) -> Result<String> {
    let recipe = std::fs::read(&args.recipe).at("reading", &args.recipe)?;
    let csv = args.devices.list().digest()?;
    Ok(burnline_image::resume::journal::fingerprint(&[
        &recipe,
        &csv[..],
    ]))
}
