//! `burnline platform …`: the command line of the OpenAPI client
//! (`burnline_platform`), as clap types only. No option takes a credential:
//! the AccessKey comes from the environment or an `aliyun` CLI profile.

use super::common::{IdentityArg, PoolUrlParser};
use burnline_core::cli::checked::Checked;
use burnline_core::identity::names::{DeviceName, ProductKey};
use burnline_platform::endpoint::Endpoint;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// `burnline platform …`
#[derive(Debug, Subcommand)]
pub enum PlatformCommand {
    /// Create devices (BatchCheckDeviceNames, BatchRegisterDeviceWithApplyId)
    /// and take their certificates into the pool or an age file.
    Create(PlatformCreateArgs),
    /// Each device's state (BatchGetDeviceState): exit 0 only when every
    /// one is ONLINE.
    State(PlatformStateArgs),
    /// Re-open a device's dynamic registration (ResetThing).
    Reset(PlatformDeviceArgs),
    /// Delete a device for good (DeleteDevice); asks first unless --yes.
    Delete(PlatformDeleteArgs),
}

/// Where and as whom the OpenAPI is called.
#[derive(Debug, Clone, Args)]
pub struct OpenApiArgs {
    /// The region ID, such as cn-shanghai (default: ALIBABA_CLOUD_REGION_ID,
    /// else the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// The OpenAPI endpoint instead of the region's: https://HOST[:PORT]
    /// (http:// only for a loopback host, such as a local emulator).
    #[arg(long, value_name = "URL", value_parser = Checked::<Endpoint>::new())]
    pub endpoint: Option<Endpoint>,
    /// The aliyun CLI profile (~/.aliyun/config.json) holding the AccessKey
    /// (default: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, else the current profile).
    #[arg(long)]
    pub profile: Option<String>,
    /// The IotInstanceId, for an instance that has one (Enterprise).
    #[arg(long, value_name = "ID")]
    pub instance: Option<String>,
}

/// The product's authentication, as a recipe's `auth.mode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthModeArg {
    /// 一机一密: fetch every device's certificate.
    DeviceSecret,
    /// 一型一密: create the names only; the devices register themselves.
    ProductSecret,
}

/// `burnline platform create`
#[derive(Debug, Args)]
pub struct PlatformCreateArgs {
    /// The OpenAPI.
    #[command(flatten)]
    pub api: OpenApiArgs,
    /// The product.
    #[arg(long, value_parser = Checked::<ProductKey>::new())]
    pub product_key: ProductKey,
    /// The DeviceNames: one a line, or a CSV with a DeviceName column.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["prefix", "count"], required_unless_present = "prefix")]
    pub names: Option<PathBuf>,
    /// Generated DeviceNames: PREFIX followed by a 6-digit number.
    #[arg(long, requires = "count")]
    pub prefix: Option<String>,
    /// How many generated names.
    #[arg(long, requires = "prefix")]
    pub count: Option<u32>,
    /// The first generated number.
    #[arg(long, default_value_t = 1, requires = "prefix")]
    pub start: u32,
    /// The product's authentication: product-secret (一型一密) creates the
    /// names only and writes the DeviceName CSV to --out.
    #[arg(long, value_enum, default_value = "device-secret")]
    pub auth_mode: AuthModeArg,
    /// Take the certificates into this pool (needs --key-file).
    #[arg(long, value_parser = PoolUrlParser, conflicts_with = "out", requires = "key_file")]
    pub pool: Option<burnline_pool::PoolUrl>,
    /// The pool's key file.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Write the certificates to this age file (needs --recipient), or,
    /// with --auth-mode product-secret, the DeviceName CSV.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// An age recipient (age1…) who can open --out (repeatable).
    #[arg(long)]
    pub recipient: Vec<String>,
    /// The journal that records the ApplyId, so that a rerun resumes
    /// (default: --out's name plus `.apply.json`, or
    /// `platform-create-PK.apply.json` with --pool).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// How long to wait for the platform to check and create the devices.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub wait: Duration,
}

/// `burnline platform state`
#[derive(Debug, Args)]
pub struct PlatformStateArgs {
    /// The OpenAPI.
    #[command(flatten)]
    pub api: OpenApiArgs,
    /// The devices: a CSV with a DeviceName column (and ProductKey, or give
    /// --product-key), or an age file holding one.
    #[arg(long, conflicts_with = "pool", required_unless_present = "pool")]
    pub devices: Option<PathBuf>,
    /// The identity that decrypts an age --devices.
    #[command(flatten)]
    pub identity: IdentityArg,
    /// The ProductKey of rows without one.
    #[arg(long, value_parser = Checked::<ProductKey>::new())]
    pub product_key: Option<ProductKey>,
    /// The pool: its verified identities are asked about, and those online
    /// are noted in its history.
    #[arg(long, value_parser = PoolUrlParser)]
    pub pool: Option<burnline_pool::PoolUrl>,
    /// Ask again until every device is ONLINE or this time has passed
    /// (such as 90s, 5m).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub wait_online: Option<Duration>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `burnline platform reset`
#[derive(Debug, Args)]
pub struct PlatformDeviceArgs {
    /// The OpenAPI.
    #[command(flatten)]
    pub api: OpenApiArgs,
    /// The ProductKey.
    #[arg(value_name = "ProductKey", value_parser = Checked::<ProductKey>::new())]
    pub product_key: ProductKey,
    /// The DeviceName.
    #[arg(value_name = "DeviceName", value_parser = Checked::<DeviceName>::new())]
    pub device_name: DeviceName,
    /// Note it in this pool's history.
    #[arg(long, value_parser = PoolUrlParser)]
    pub pool: Option<burnline_pool::PoolUrl>,
}

/// `burnline platform delete`
#[derive(Debug, Args)]
pub struct PlatformDeleteArgs {
    /// The device.
    #[command(flatten)]
    pub device: PlatformDeviceArgs,
    /// Do not ask (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// A duration: seconds, or a number with `s`, `m` or `h`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (such as 90s, 5m, 1h)"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(|| format!("`{s}` is not a duration (such as 90s, 5m, 1h)"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration("5 m").is_err());
        assert!(duration("m").is_err());
        assert!(duration("1d").is_err());
    }
}
