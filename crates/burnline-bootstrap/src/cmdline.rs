//! The command line of `burnline-bootstrap`, the device-side program, as clap
//! types only.

use burnline_core::cli::checked::Checked;
pub use burnline_core::cli::PlatformArgs;
use burnline_core::registration::mqtt_transport::MqttTarget;
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
    /// How a product certificate registers: `http` (POST /auth/register/device)
    /// or `mqtt` (MQTT dynamic registration, `authType=register`); default:
    /// the record's `register_via`, else http.
    #[arg(long, value_enum)]
    pub register_via: Option<RegisterVia>,
    /// With --register-via mqtt: the MQTT server, `mqtts://HOST:PORT`, or
    /// `HOST:PORT` for plain TCP to a loopback emulator (default: TLS to the
    /// record's region host, port 8883).
    #[arg(long, value_parser = Checked::<MqttTarget>::new())]
    pub mqtt: Option<MqttTarget>,
}

/// `--register-via`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegisterVia {
    /// HTTPS dynamic registration.
    Http,
    /// MQTT dynamic registration.
    Mqtt,
}

/// `burnline-bootstrap status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The credentials partition.
    #[command(flatten)]
    pub part: PartitionArgs,
    /// Also log in over MQTT, as the edge runtime will: exit 0 when the
    /// platform accepts the triple (the device is then activated and shown
    /// online), 3 when it refuses, 4 on a network failure.
    #[arg(long)]
    pub check_online: bool,
    /// For --check-online: the MQTT server, `mqtts://HOST:PORT`, or
    /// `HOST:PORT` for plain TCP to a loopback emulator (default: TLS to
    /// `<PK>.iot-as-mqtt.<region>.aliyuncs.com:8883`, trusting the public
    /// roots, the Aliyun IoT Root CA and --ca-file).
    #[arg(long, value_parser = Checked::<MqttTarget>::new())]
    pub mqtt: Option<MqttTarget>,
    /// Also check the triple with HTTP device authentication (`POST /auth`
    /// on --endpoint or `iot-as-http.<region>.aliyuncs.com`); for directly
    /// connected devices only, the platform refuses it to gateways.
    #[arg(long)]
    pub check_http_auth: bool,
    /// The platform, for --check-online.
    #[command(flatten)]
    pub platform: PlatformArgs,
}
