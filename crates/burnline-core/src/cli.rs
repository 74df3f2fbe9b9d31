//! Command-line pieces both programs share, as clap types: how to reach the
//! platform ([`PlatformArgs`]: endpoint, CA file, sign method, parsed into
//! their types), and [`parse`], which prints clap's help or refusal and
//! says which it was ([`CliEnd`]; each program maps it to its exit code);
//! [`checked::Checked`] parses a value by its type's rule.

pub mod checked;

use crate::registration::endpoint::Endpoint;
use crate::registration::sign::SignMethod;
use clap::error::ErrorKind;
use clap::{Args, Parser};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How to reach the platform: shared by `burnline register`, `burnline
/// mqtt-credentials` and `burnline-bootstrap`.
#[derive(Debug, Clone, Args)]
pub struct PlatformArgs {
    /// Base URL instead of the default (the region's platform host, or the
    /// credential record's `endpoint`), such as `https://auth.example` or
    /// `http://127.0.0.1:8080` (plain http only on a loopback address).
    #[arg(long)]
    pub endpoint: Option<Endpoint>,
    /// A PEM file of CA certificates trusted besides the public roots.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// hmacsha256, hmacsha1 or hmacmd5.
    #[arg(long, default_value = "hmacsha256")]
    pub sign_method: SignMethod,
}

impl PlatformArgs {
    /// The bytes of `--ca-file`, if given; the error names the file.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, String> {
        self.ca_file.as_deref().map(read_ca).transpose()
    }
}

fn read_ca(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))
}

/// How a command line ended that clap did not hand on to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliEnd {
    /// `--help` or `--version`: printed on stdout, as asked.
    Shown,
    /// A command line clap refuses: its message is on stderr.
    Refused,
}

/// Parses a command line; when clap ends it instead, prints clap's message
/// and says how it ended. A value that does not parse is one line: the
/// argument, the value and the rule it broke.
pub fn parse<T: Parser>(args: impl IntoIterator<Item = OsString>) -> Result<T, CliEnd> {
    T::try_parse_from(args).map_err(|e| {
        if !e.use_stderr() {
            let _ = e.print();
            return CliEnd::Shown;
        }
        match e.kind() {
            ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
                let text = e.render().to_string();
                eprintln!("{}", text.lines().next().unwrap_or_default());
            }
            _ => {
                let _ = e.print();
            }
        }
        CliEnd::Refused
    })
}
