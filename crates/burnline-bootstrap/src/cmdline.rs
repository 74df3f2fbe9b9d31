//! The command line of `burnline-bootstrap`, the device-side program, as clap
//! types only.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// Parses the command line; on `--help` or `--version` prints and gives 0,
/// on a usage error prints it and gives 2.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<BootstrapCli, i32> {
    BootstrapCli::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            2
        } else {
            0
        }
    })
}

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

/// How to reach the platform.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// Base URL of the registration service (default: the record's
    /// `endpoint`, else its region's platform host).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// A PEM file with a CA to trust besides the public roots.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// hmacsha256 (default), hmacsha1 or hmacmd5.
    #[arg(long, default_value = "hmacsha256")]
    pub sign_method: String,
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
