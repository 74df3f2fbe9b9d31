//! The command line, as clap types only. Each subcommand's arguments live in
//! this module; what they do lives in `crate::commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Burns Alibaba Cloud IoT gateway identities into per-device disk images.
#[derive(Debug, Parser)]
#[command(name = "burnline", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build one disk image per device, in parallel.
    Build(BuildArgs),
    /// Check the recipe and the device CSV without writing anything.
    Check(CheckArgs),
    /// Show the recipe's layout: partitions, offsets, sizes, types, contents.
    Plan(PlanArgs),
    /// Show an image's partition table and its decoded credential record.
    Inspect(InspectArgs),
    /// Re-hash every output in a directory against its manifest.
    Verify(VerifyArgs),
    /// Write images, or a base plus deltas, to cards (block devices or files).
    Flash(FlashArgs),
    /// Work on manifests.
    #[command(subcommand)]
    Manifest(ManifestCommand),
}

/// `burnline build`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// The device CSV.
    #[arg(long)]
    pub devices: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Devices built at once (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Station output: `base.img` once plus one delta per device.
    #[arg(long)]
    pub station: bool,
    /// Write a bmap (bmaptool 2.0) next to each image.
    #[arg(long)]
    pub bmap: bool,
    /// With --station: do not hash each device's full image (much faster;
    /// deltas then record no result SHA-256, see docs/station.md).
    #[arg(long)]
    pub no_image_sha256: bool,
    /// Compress each image (overrides the recipe's `output.compress`).
    #[arg(long, value_enum)]
    pub compress: Option<CompressArg>,
    /// Build only shard K of N (1-based): CSV rows with index % N == K-1.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Build shard JOB_COMPLETION_INDEX+1 of N (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "N")]
    pub shard_count: Option<u64>,
}

/// `--compress`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressArg {
    /// zstd (`.zst`).
    Zstd,
    /// xz (`.xz`).
    Xz,
    /// gzip (`.gz`).
    Gzip,
    /// No compression.
    None,
}

/// `burnline flash`
#[derive(Debug, Args)]
pub struct FlashArgs {
    /// Images (`.img`, `.img.zst|.xz|.gz`), or one base image followed by
    /// deltas (one per target, in order).
    pub images: Vec<PathBuf>,
    /// A card to write (block device or regular file); repeat for several.
    #[arg(long = "target", required = true)]
    pub targets: Vec<PathBuf>,
    /// The bmap to use (default: IMAGE.bmap next to the image, if present).
    #[arg(long)]
    pub bmap: Option<PathBuf>,
    /// Write every block, even where a bmap allows skipping.
    #[arg(long)]
    pub no_bmap: bool,
    /// Flash straight from a recipe (with --devices), one identity per target.
    #[arg(long, requires = "devices")]
    pub recipe: Option<PathBuf>,
    /// The device CSV, with --recipe.
    #[arg(long, requires = "recipe")]
    pub devices: Option<PathBuf>,
    /// The station ledger, with --recipe (default: ./burnline-ledger.jsonl).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
}

/// `burnline manifest …`
#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Join the manifests of shard builds into one.
    Merge(MergeArgs),
}

/// `burnline manifest merge`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output directories.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged manifest (and the files, linked or copied) go.
    #[arg(long)]
    pub out: PathBuf,
}

/// `burnline check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// The device CSV.
    #[arg(long)]
    pub devices: PathBuf,
}

/// `burnline plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
}

/// `burnline inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A disk image (or block device).
    pub image: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show secrets in clear instead of `<redacted>`.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// For a FAT credentials partition: the JSON file's path in the volume.
    #[arg(long, default_value = "credentials.json")]
    pub credentials_path: String,
}

/// `burnline verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An output directory holding `manifest.json`.
    pub dir: PathBuf,
}
