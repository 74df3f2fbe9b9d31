//! `burnline build`: the command line turned into a [`crate::build::run`],
//! and its summary into lines on stderr (or JSON on stdout) and an exit
//! status. The summary counts what this run built and what it found done
//! by an earlier (interrupted) run.

use crate::build::run::{self, BuildOptions, OutputOverrides};
use crate::cmdline::{BuildArgs, CompressArg, DigestArg, FormatArg};
use crate::error::{Error, Result};
use crate::io::hash::DigestKind;
use crate::output::console::{say, show};
use crate::recipe::output_spec::{Compression, ImageFormat};
use crate::shard::Shard;

/// Runs `build`.
pub fn run(args: &BuildArgs) -> Result<()> {
    let shard = Shard::from_args(args.shard, args.shard_count, |k| std::env::var(k).ok())?;
    // A wrong key or password stops the build before anything is written.
    let sign = args.sign.load()?.map(std::sync::Arc::new);
    let opts = BuildOptions {
        recipe: args.recipe.clone(),
        devices: args.devices.list(),
        out: args.out.clone(),
        jobs: args.jobs,
        progress: !(args.json || args.quiet || args.no_progress),
        verbose: args.verbose,
        shard,
        ca_file: args.ca_file.clone(),
        output: OutputOverrides {
            base_delta: args.station,
            bmap: args.bmap,
            no_image_digest: args.no_image_digest,
            compress: args.compress.map(|c| match c {
                CompressArg::Zstd => Some(Compression::Zstd),
                CompressArg::Xz => Some(Compression::Xz),
                CompressArg::Gzip => Some(Compression::Gzip),
                CompressArg::None => None,
            }),
            digest: args.digest.map(|d| match d {
                DigestArg::Sha256 => DigestKind::Sha256,
                DigestArg::Blake3 => DigestKind::Blake3,
            }),
            format: args.format.map(|f| match f {
                FormatArg::Raw => ImageFormat::Raw,
                FormatArg::AndroidSparse => ImageFormat::AndroidSparse,
            }),
            sparse_block_size: args.sparse_block_size,
        },
        sign,
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
            "out": args.out,
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
            args.out.display()
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
