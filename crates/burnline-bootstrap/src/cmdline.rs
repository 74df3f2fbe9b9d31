//! The command line of `burnline-bootstrap`, the device-side program, as clap
//! types only.

pub use burnline_core::cli::PlatformArgs;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Reads, checks and (in 一型一密) completes the device's credentials at boot.
#[derive(Debug, Parser)]
#[command(name = "burnline-bootstrap", version, about, long_about = None)]
pub struct BootstrapCli {
    /// What to do.
    #[command(subcommand)]
    pub command: BootstrapCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum BootstrapCommand {
    /// At boot: check the record, register once if needed, store the triple.
    Run(RunArgs),
    /// Show the record's state (never a secret); optionally check it logs in.
    Status(StatusArgs),
}

/// Where the credentials partition is.
#[derive(Debug, Args)]
pub struct PartitionArgs {
    /// The block device or image file, such as /dev/mmcblk0.
    #[arg(long)]
    pub device: PathBuf,
    /// The partition: a GPT partition name, or an MBR partition number (1-4).
    #[arg(long, conflicts_with_all = ["offset", "size"])]
    pub partition: Option<String>,
    /// The partition's byte offset on the device (with --size).
    #[arg(long, requires = "size")]
    pub offset: Option<u64>,
    /// The partition's size in bytes (with --offset).
    #[arg(long, requires = "offset")]
    pub size: Option<u64>,
}

/// `burnline-bootstrap run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The credentials partition.
    #[command(flatten)]
    pub part: PartitionArgs,
    /// The platform.
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Write PRODUCT_KEY, DEVICE_NAME and DEVICE_SECRET to this env file
    /// (mode 0600, atomically).
    #[arg(long)]
    pub export_env: Option<PathBuf>,
    /// Then run this command with them in its environment (it replaces the
    /// bootstrap), for example the edge runtime's `lectl config set -g`.
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "CMD ARGS")]
    pub exec: Vec<String>,
}

/// `burnline-bootstrap status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The credentials partition.
    #[command(flatten)]
    pub part: PartitionArgs,
    /// Also check that the triple authenticates (HTTP device authentication).
    #[arg(long)]
    pub check_online: bool,
    /// The platform, for --check-online.
    #[command(flatten)]
    pub platform: PlatformArgs,
}
