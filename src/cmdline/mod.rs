//! The command line, as clap types only. Each subcommand's arguments live in
//! this module; what they do lives in `crate::commands`.

pub mod bootstrap;

use clap::{Args, Parser, Subcommand};
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
