//! The command line, as clap types only. Each subcommand's arguments live in
//! this module; what they do lives in `crate::commands`.

pub use burnline_core::cli::checked::Checked;
pub use burnline_core::cli::{parse, PlatformArgs};
use burnline_core::identity::names::{DeviceName, ProductKey};
use burnline_core::registration::mqtt_transport::MqttTarget;
use burnline_core::registration::sign::SignMethod;
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use common::{IdentityArg, PoolUrlParser};
pub use platform::{
    OpenApiArgs, PlatformCommand, PlatformCreateArgs, PlatformDeleteArgs, PlatformDeviceArgs,
    PlatformStateArgs,
};
pub use secret_value::SecretValue;
use std::path::PathBuf;

pub mod common;
pub mod platform;
pub mod secret_value;

/// Burns Alibaba Cloud IoT gateway identities into per-device disk images.
#[derive(Debug, Parser)]
#[command(
    name = "burnline",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BURNLINE_COMMIT"), ")"),
    about,
    long_about = None
)]
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
    /// Check or sign a ledger's hash chain (registration or station ledger).
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Register one device (一型一密) and print `DeviceInfo: PK DN DS`.
    Register(RegisterArgs),
    /// Run the platform emulator: starts `burnline-emulator` (its own
    /// binary, next to this one) with the same arguments.
    Emulator(EmulatorLaunchArgs),
    /// The identity pool a line of stations shares.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Print the MQTT connect parameters of a device triple.
    MqttCredentials(MqttCredentialsArgs),
    /// Log every 一机一密 triple of a CSV in over MQTT, to catch a wrong
    /// certificate download before burning.
    LoginCheck(LoginCheckArgs),
    /// The station service for line operators, and its day's record.
    #[command(subcommand)]
    Station(StationCommand),
    /// The platform's OpenAPI: create devices into the pool, check that
    /// they are online, reset or delete one.
    #[command(subcommand)]
    Platform(PlatformCommand),
    /// Write shell completions or man pages (for packaging), or print the
    /// exit-code page (docs/exit-codes.md).
    #[command(subcommand, hide = true)]
    Generate(GenerateCommand),
}

/// `burnline generate …`
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Completions for bash, zsh and fish, one file each.
    Completions(GenerateArgs),
    /// Man pages in roff: `burnline.1` and one per subcommand.
    Man(GenerateArgs),
    /// The exit-code page, docs/exit-codes.md, on stdout.
    ExitCodes,
}

/// `burnline generate completions|man`
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The directory to write into (created if missing).
    pub dir: PathBuf,
}

/// `burnline station …`
#[derive(Debug, Subcommand)]
pub enum StationCommand {
    /// Run the station: detect cards in the configured slots, burn each with
    /// an identity from the pool, show the operator page.
    Serve(StationServeArgs),
    /// Write a CSV of every card a day's stations handled (no secrets).
    Report(StationReportArgs),
}

/// `burnline station serve`
#[derive(Debug, Args)]
pub struct StationServeArgs {
    /// The station config (YAML): recipe, pool, station name, slots, listen.
    #[arg(long)]
    pub config: PathBuf,
}

/// `burnline station report`
#[derive(Debug, Args)]
pub struct StationReportArgs {
    /// The pool database (`sqlite:PATH` or `postgres://...`; default: the
    /// environment variable BURNLINE_DB).
    #[arg(long, env = "BURNLINE_DB", value_parser = PoolUrlParser)]
    pub db: burnline_pool::PoolUrl,
    /// From this day (`today`, `yesterday` or `YYYY-MM-DD`, at --utc-offset)
    /// or moment (`YYYY-MM-DDTHH:MM:SS`, RFC 3339 with an offset, or seconds
    /// since 1970).
    #[arg(long)]
    pub since: burnline_station::report::Since,
    /// Up to this moment (same forms; default: now).
    #[arg(long)]
    pub until: Option<burnline_station::report::Since>,
    /// Only this station's cards.
    #[arg(long)]
    pub station: Option<String>,
    /// The line's offset from UTC, for days without an offset and the times
    /// written.
    #[arg(long, default_value = "+08:00")]
    pub utc_offset: burnline_station::report::UtcOffset,
    /// Write the CSV here instead of to stdout (temp file, then renamed).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A station's card journal (`WORK_DIR/station-cards.jsonl`): adds the
    /// cards it refused before a lease (too small, write-protected, ...);
    /// repeat for several stations.
    #[arg(long)]
    pub journal: Vec<PathBuf>,
}

/// `burnline build`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// The device CSV (plain, or encrypted with age).
    #[command(flatten)]
    pub devices: DevicesArg,
    /// Output directory (created if missing). Default: `out`, refused when
    /// it holds another batch (another recipe or device list).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Devices built at once (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// No progress and no summary line: warnings and errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// A line per device as it is done, besides the progress.
    #[arg(short, long)]
    pub verbose: bool,
    /// No progress bar and no progress lines (the summary stays).
    #[arg(long)]
    pub no_progress: bool,
    /// For `register: host`: a PEM file of CA certificates trusted besides
    /// the public roots (for a private endpoint).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// A delta set: `base.img` once plus one delta per device.
    // `--station`, its old name, is a hidden alias.
    #[arg(long, alias = "station")]
    pub deltas: bool,
    /// Write a bmap (bmaptool 2.0) next to each image.
    #[arg(long)]
    pub bmap: bool,
    /// With --deltas: record no digest of each device's full image, neither
    /// SHA-256 nor BLAKE3 (deltas then record zeros there and `flash` checks
    /// the base, the delta and the read-back only; see docs/station.md).
    /// `--no-image-sha256` is its old name.
    #[arg(long, alias = "no-image-sha256")]
    pub no_image_digest: bool,
    /// Compress each image (overrides the recipe's `output.compress`).
    #[arg(long, value_enum)]
    pub compress: Option<burnline_image::recipe::output_spec::CompressChoice>,
    /// The checksum outputs are listed with (overrides the recipe's
    /// `output.digest`): sha256 (`SHA256SUMS`) or blake3 (`B3SUMS`, hashing
    /// only what differs per device; with --deltas, deltas record BLAKE3).
    #[arg(long, value_enum)]
    pub digest: Option<burnline_io::hash::DigestKind>,
    /// The image format (overrides the recipe's `output.format`): raw, or
    /// android-sparse (`NAME.simg`; with --deltas `base.simg` and
    /// `NAME.delta.simg`).
    #[arg(long, value_enum)]
    pub format: Option<burnline_image::recipe::output_spec::ImageFormat>,
    /// The Android sparse block size in bytes, a multiple of 512 up to
    /// 1048576 (overrides `output.sparse_block_size`; default 4096).
    #[arg(long, value_name = "BYTES")]
    pub sparse_block_size: Option<burnline_sparse::BlockSize>,
    /// Build only shard K of N (1-based): CSV rows with index % N == K-1.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<burnline_image::shard::Shard>,
    /// Build shard JOB_COMPLETION_INDEX+1 of N (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "N")]
    pub shard_count: Option<u64>,
    /// Sign the checksum list and the manifest with a minisign key.
    #[command(flatten)]
    pub sign: SignArg,
}

/// `--sign KEY [--sign-password-file FILE]`: a minisign secret key to sign
/// with, its password from the file or from BURNLINE_SIGN_PASSWORD (never
/// the command line; a key made with `minisign -G -W` has none).
#[derive(Debug, Clone, Args)]
pub struct SignArg {
    /// A minisign secret key (`minisign -G`): writes `SHA256SUMS.minisig`
    /// (or `B3SUMS.minisig`) and `manifest.json.minisig`.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// A file whose first line is the key's password (default: the
    /// environment variable BURNLINE_SIGN_PASSWORD).
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub sign_password_file: Option<PathBuf>,
}

impl SignArg {
    /// The key, loaded (and decrypted), when --sign was given.
    pub fn load(
        &self,
    ) -> burnline_image::error::Result<Option<burnline_image::signing::key::SigningKey>> {
        self.sign
            .as_deref()
            .map(|k| {
                burnline_image::signing::key::SigningKey::load(
                    k,
                    self.sign_password_file.as_deref(),
                )
            })
            .transpose()
    }
}

/// `--devices CSV [--identity FILE]`: the device list, the same in every
/// command that reads one. An age-encrypted list (`devices.csv.age`) is
/// decrypted while it is read, with the identity from `--identity` or the
/// file named by `BURNLINE_AGE_IDENTITY`.
#[derive(Debug, Clone, Args)]
pub struct DevicesArg {
    /// The device CSV, or an age file holding it (`age -e -r RECIPIENT`).
    #[arg(long)]
    pub devices: PathBuf,
    /// The identity that decrypts it.
    #[command(flatten)]
    pub identity: IdentityArg,
}

impl DevicesArg {
    /// The list to read.
    pub fn list(&self) -> burnline_image::device_csv::list::DeviceList {
        self.identity.list(&self.devices)
    }
}

/// `burnline flash`
#[derive(Debug, Args)]
pub struct FlashArgs {
    /// Images (`.img`, `.img.zst|.xz|.gz`, Android sparse `.simg`), or one
    /// base image followed by deltas (`.img.delta` or `.delta.simg`, one
    /// per target, in order).
    pub images: Vec<PathBuf>,
    /// A card to write: a block device, or a regular file outside /dev (a
    /// new one only for a name ending in .img); repeat for several.
    #[arg(long = "target", required = true)]
    pub targets: Vec<PathBuf>,
    /// Let a file target grow past 64 GiB (an image that large is refused
    /// for a new or empty file otherwise); not with --pool.
    #[arg(long, conflicts_with = "pool")]
    pub large_file: bool,
    /// The bmap to use (default: IMAGE.bmap next to the image, if present).
    #[arg(long)]
    pub bmap: Option<PathBuf>,
    /// Write every block, even where a bmap allows skipping.
    #[arg(long)]
    pub no_bmap: bool,
    /// Flash straight from a recipe (with --devices, or --pool), one
    /// identity per target.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// The device CSV, with --recipe (plain, or encrypted with age).
    #[arg(long, requires = "recipe")]
    pub devices: Option<PathBuf>,
    /// The identity that decrypts an encrypted --devices.
    #[command(flatten)]
    pub identity: IdentityArg,
    /// The station ledger, with --recipe and --devices: required, an
    /// absolute path (the same file whatever the working directory).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// With --recipe and `register: host`: a PEM file of CA certificates
    /// trusted besides the public roots (for a private endpoint).
    #[arg(long, requires = "recipe")]
    pub ca_file: Option<PathBuf>,
    /// Lease identities from this pool (`sqlite:PATH`, `postgres://…`),
    /// with --recipe, --station and --key-file, instead of --devices.
    #[arg(long, value_parser = PoolUrlParser, requires_all = ["recipe", "station", "key_file"], conflicts_with_all = ["devices", "ledger"])]
    pub pool: Option<burnline_pool::PoolUrl>,
    /// With --pool: this station's name (one live process per name).
    #[arg(long, requires = "pool")]
    pub station: Option<String>,
    /// With --pool: the pool's key file.
    #[arg(long, requires = "pool")]
    pub key_file: Option<PathBuf>,
    /// With --pool: where the base image is built (default: the current
    /// directory).
    #[arg(long, requires = "pool")]
    pub work_dir: Option<PathBuf>,
    /// With --recipe: the digest each card's image is recorded with in the
    /// ledger or the pool: blake3 (default) or sha256 (hashes each card's
    /// whole image, holes included).
    #[arg(long, value_enum, default_value = "blake3", requires = "recipe")]
    pub digest: burnline_io::hash::DigestKind,
}

/// `burnline pool …`
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create the pool, or migrate it to this burnline's schema; makes the
    /// key file if it does not exist.
    Init(PoolInitArgs),
    /// Add a device CSV's identities (again: adds nothing).
    Import(PoolImportArgs),
    /// Counts per state and per station.
    Status(PoolStatusArgs),
    /// Every identity with its state, station, card, times and digest.
    Export(PoolExportArgs),
    /// Put a quarantined identity back in the pool.
    Release(PoolReleaseArgs),
    /// Quarantine the open leases (leased, written) of a station that died
    /// and is not running; refused while it is live.
    Settle(PoolSettleArgs),
    /// The append-only history: every change of every identity, in order.
    History(PoolHistoryArgs),
    /// Check the history's hash chain: each identity's rows, its head and
    /// its state (exit 2 at the first broken row).
    Verify(PoolVerifyArgs),
}

/// `burnline pool verify`
#[derive(Debug, Args)]
pub struct PoolVerifyArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
}

/// `burnline pool history`
#[derive(Debug, Args)]
pub struct PoolHistoryArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// Only this DeviceName's changes.
    #[arg(value_name = "DeviceName", value_parser = Checked::<DeviceName>::new())]
    pub device_name: Option<DeviceName>,
}

/// `--db URL`
#[derive(Debug, Args)]
pub struct PoolDb {
    /// The pool: `sqlite:PATH` or `postgres://USER@HOST/DB` (default: the
    /// environment variable BURNLINE_DB).
    #[arg(long = "db", env = "BURNLINE_DB", value_parser = PoolUrlParser)]
    pub db: burnline_pool::PoolUrl,
}

/// `burnline pool init`
#[derive(Debug, Args)]
pub struct PoolInitArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// The key file secrets are encrypted under (made, mode 0600, if missing).
    #[arg(long)]
    pub key_file: PathBuf,
}

/// `burnline pool import`
#[derive(Debug, Args)]
pub struct PoolImportArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// The recipe the identities are for (YAML).
    pub recipe: PathBuf,
    /// The device CSV (or an age file holding it).
    #[command(flatten)]
    pub devices: DevicesArg,
    /// The pool's key file.
    #[arg(long)]
    pub key_file: PathBuf,
}

/// `burnline pool status`
#[derive(Debug, Args)]
pub struct PoolStatusArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV with a header row.
    Csv,
    /// A JSON array.
    Json,
}

/// `burnline pool export`
#[derive(Debug, Args)]
pub struct PoolExportArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Include the DeviceSecrets (needs --key-file).
    #[arg(long, requires = "key_file")]
    pub reveal_secrets: bool,
    /// The pool's key file (with --reveal-secrets).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

/// `burnline pool release`
#[derive(Debug, Args)]
pub struct PoolReleaseArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// The quarantined identity's DeviceName.
    #[arg(value_name = "DeviceName", value_parser = Checked::<DeviceName>::new())]
    pub device_name: DeviceName,
    /// Why it may be issued again (recorded in the history).
    #[arg(long)]
    pub reason: String,
    /// Its ProductKey, when two products share the DeviceName.
    #[arg(long, value_parser = Checked::<ProductKey>::new())]
    pub product_key: Option<ProductKey>,
}

/// `burnline pool settle`
#[derive(Debug, Args)]
pub struct PoolSettleArgs {
    /// The pool.
    #[command(flatten)]
    pub db: PoolDb,
    /// The pool's key file (checked against the pool).
    #[arg(long)]
    pub key_file: PathBuf,
    /// The dead station's name.
    #[arg(long)]
    pub station: String,
    /// Why its leases are settled (recorded in the history).
    #[arg(long)]
    pub reason: String,
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
    /// Sign the merged checksum list and manifest with a minisign key.
    #[command(flatten)]
    pub sign: SignArg,
    /// The minisign public key each shard's signatures are checked with.
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<PathBuf>,
    /// Refuse a shard whose manifest or checksum list is not signed by
    /// --pubkey.
    #[arg(long, requires = "pubkey")]
    pub require_signed: bool,
}

/// `burnline ledger …`
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check the hash chain of a ledger and, with --pubkey, its signed head.
    Verify(LedgerVerifyArgs),
    /// Write FILE.head (line count and last hash) and sign it.
    Sign(LedgerSignArgs),
}

/// `burnline ledger verify`
#[derive(Debug, Args)]
pub struct LedgerVerifyArgs {
    /// The ledger (`registrations.jsonl`, a station ledger, any burnline log).
    pub file: PathBuf,
    /// Also check FILE.head and FILE.head.minisig with this minisign public key.
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<PathBuf>,
}

/// `burnline ledger sign`
#[derive(Debug, Args)]
pub struct LedgerSignArgs {
    /// The ledger.
    pub file: PathBuf,
    /// The minisign secret key (required).
    #[command(flatten)]
    pub sign: SignArg,
}

/// `burnline check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// The device CSV (plain, or encrypted with age).
    #[command(flatten)]
    pub devices: DevicesArg,
    /// Print the result as JSON on stdout (see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// `burnline plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The recipe (YAML).
    pub recipe: PathBuf,
    /// Print the layout as JSON on stdout (see docs/json.md).
    #[arg(long)]
    pub json: bool,
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
    /// Check `manifest.json.minisig` and `SHA256SUMS.minisig` (or
    /// `B3SUMS.minisig`) with this minisign public key before any hash.
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<PathBuf>,
    /// Print the result as JSON on stdout, mismatches included (see
    /// docs/json.md).
    #[arg(long)]
    pub json: bool,
}

/// `burnline register`
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// ProductKey.
    #[arg(value_name = "ProductKey", value_parser = Checked::<ProductKey>::new())]
    pub product_key: ProductKey,
    /// DeviceName.
    #[arg(value_name = "DeviceName", value_parser = Checked::<DeviceName>::new())]
    pub device_name: DeviceName,
    /// ProductSecret: `-` reads it from standard input. Given here, every
    /// local user can read it (a warning says so); without it, it comes from
    /// --product-secret-file or the environment variable
    /// BURNLINE_PRODUCT_SECRET.
    pub product_secret: Option<SecretValue>,
    /// A file (mode 0600) holding the ProductSecret on one line, instead of PS.
    #[arg(long, value_name = "FILE", conflicts_with = "product_secret")]
    pub product_secret_file: Option<PathBuf>,
    /// Region; the endpoint is then `https://iot-auth.<region>.aliyuncs.com`.
    #[arg(long, default_value = "cn-shanghai")]
    pub region: String,
    /// The platform: endpoint, CA file, sign method.
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Connect timeout in milliseconds (tests).
    #[arg(long, hide = true)]
    pub connect_timeout_ms: Option<u64>,
    /// Read timeout in milliseconds (tests).
    #[arg(long, hide = true)]
    pub read_timeout_ms: Option<u64>,
}

/// `burnline emulator ARGS...`: every argument goes, unread, to
/// `burnline-emulator` (its own binary, next to this one).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct EmulatorLaunchArgs {
    /// The arguments of `burnline-emulator` (see `burnline-emulator --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<std::ffi::OsString>,
}

/// `burnline mqtt-credentials`
#[derive(Debug, Args)]
pub struct MqttCredentialsArgs {
    /// ProductKey.
    #[arg(long, value_parser = Checked::<ProductKey>::new())]
    pub product_key: ProductKey,
    /// DeviceName.
    #[arg(long, value_parser = Checked::<DeviceName>::new())]
    pub device_name: DeviceName,
    /// DeviceSecret: `-` reads it from standard input. Given here, every
    /// local user can read it (a warning says so); without it, it comes from
    /// --device-secret-file or the environment variable BURNLINE_DEVICE_SECRET.
    #[arg(long)]
    pub device_secret: Option<SecretValue>,
    /// A file (mode 0600) holding the DeviceSecret on one line.
    #[arg(long, value_name = "FILE", conflicts_with = "device_secret")]
    pub device_secret_file: Option<PathBuf>,
    /// hmacsha256, hmacsha1 or hmacmd5.
    #[arg(long, default_value = "hmacsha256")]
    pub sign_method: SignMethod,
    /// Timestamp in milliseconds (default: now).
    #[arg(long)]
    pub timestamp: Option<u64>,
    /// Region of the MQTT host.
    #[arg(long, default_value = "cn-shanghai")]
    pub region: String,
    /// A new instance's id: securemode -2, `instanceId=` in the ClientID and
    /// the host `<id>.mqtt.iothub.aliyuncs.com`.
    #[arg(long, conflicts_with = "plain")]
    pub instance_id: Option<String>,
    /// Plain TCP (securemode 3, port 1883) instead of TLS (securemode 2).
    #[arg(long)]
    pub plain: bool,
    /// Another host name to print (the ClientID does not change).
    #[arg(long)]
    pub host: Option<String>,
    /// Another port to print.
    #[arg(long)]
    pub port: Option<u16>,
}

/// `burnline login-check`
#[derive(Debug, Args)]
pub struct LoginCheckArgs {
    /// The recipe (YAML), 一机一密 (`auth.mode: device-secret`).
    pub recipe: PathBuf,
    /// The device CSV with each DeviceSecret (plain, or encrypted with age).
    #[command(flatten)]
    pub devices: DevicesArg,
    /// Where to log in: `mqtts://HOST:PORT`, or `HOST:PORT` / `mqtt://HOST:PORT`
    /// for plain TCP to a loopback emulator (default: TLS to each device's
    /// `<PK>.iot-as-mqtt.<region>.aliyuncs.com:8883`).
    #[arg(long, value_parser = Checked::<MqttTarget>::new())]
    pub mqtt: Option<MqttTarget>,
    /// A PEM file of CA certificates trusted besides the public roots and
    /// the Aliyun IoT Root CA.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Logins at once (default 4, at most 64).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `burnline emulator` hands every argument, `--help` included, to
    /// `burnline-emulator` unread and in order.
    #[test]
    fn the_emulator_launcher_passes_every_argument_on() {
        let given = ["--products", "p.yaml", "--listen", "127.0.0.1:0", "--help"];
        let cli =
            Cli::try_parse_from(["burnline", "emulator"].into_iter().chain(given)).expect("parses");
        let Command::Emulator(a) = cli.command else {
            panic!("not the emulator")
        };
        assert_eq!(a.args, given.map(std::ffi::OsString::from));
    }

    /// The station page's default port is not the emulator's
    /// (`burnline-emulator`'s `args::DEFAULT_LISTEN`, 18080), so both run
    /// on one PC.
    #[test]
    fn the_station_page_does_not_default_to_the_emulators_port() {
        let port = burnline_station::config::DEFAULT_LISTEN
            .parse::<std::net::SocketAddr>()
            .expect("an address")
            .port();
        assert_ne!(port, 18080);
    }
}
