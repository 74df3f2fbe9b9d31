//! Arguments and value parsers that more than one command takes, below
//! both `cmdline/mod.rs` and `cmdline/platform.rs`: `--identity` for an
//! age-encrypted device list ([`IdentityArg`]), and the pool URL parser that
//! never echoes a password ([`PoolUrlParser`]).

use burnline_io::say;
use clap::Args;
use std::path::PathBuf;

/// `--identity FILE`, for an age-encrypted `--devices` (`flash`, whose
/// `--devices` is optional, takes this one alone).
#[derive(Debug, Clone, Args)]
pub struct IdentityArg {
    /// The age identity (`age-keygen`'s file, mode 0600) that decrypts an
    /// encrypted --devices (default: the file named by BURNLINE_AGE_IDENTITY).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl IdentityArg {
    /// The device list at `devices`, read with this identity.
    pub fn list(&self, devices: &std::path::Path) -> burnline_image::device_csv::list::DeviceList {
        burnline_image::device_csv::list::DeviceList::new(devices, self.identity.as_deref())
    }
}

/// Parses a pool URL without echoing it: clap's own message for a bad
/// value quotes the value, which may hold a database password.
#[derive(Debug, Clone, Copy)]
pub struct PoolUrlParser;

impl clap::builder::TypedValueParser for PoolUrlParser {
    type Value = burnline_pool::PoolUrl;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let name = arg.map_or_else(|| "--db".to_owned(), |a| format!("--{}", a.get_id()));
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name}: not UTF-8\n"),
            )
        })?;
        let url: burnline_pool::PoolUrl = text.parse().map_err(|e: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name}: {e}\n"),
            )
        })?;
        if url.has_password() {
            say!(
                "burnline: warning: the password in {name} is visible to every local user (/proc/PID/cmdline); give it in PGPASSWORD, ~/.pgpass or passfile=PATH instead"
            );
        }
        Ok(url)
    }
}
