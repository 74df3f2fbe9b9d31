//! The bootstrap's exit codes, which a systemd unit or an init script acts on.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ready: the record holds a full triple |
//! | 2 | the record is missing or invalid, or could not store a DeviceSecret (or the command line is wrong) |
//! | 3 | the platform refused (registration or authentication) |
//! | 4 | network failure: the systemd unit runs the bootstrap again (every 30 s in the example unit) |
//! | 5 | storage failure: the device could not be read or written |

use std::fmt;

/// How a bootstrap run ended, other than ready.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: the command line cannot be acted on.
    Usage(String),
    /// Exit 2: the record is missing or invalid.
    Record(String),
    /// Exit 3.
    Refused(String),
    /// Exit 4.
    Network(String),
    /// Exit 5.
    Storage(String),
}

/// The exit status of a command line clap ended: 0 for `--help` and
/// `--version`, 2 for one it refused (as [`Failure::Usage`]).
pub fn cli_end(end: burnline_core::cli::CliEnd) -> i32 {
    match end {
        burnline_core::cli::CliEnd::Shown => 0,
        burnline_core::cli::CliEnd::Refused => 2,
    }
}

impl Failure {
    /// The exit status.
    pub fn code(&self) -> i32 {
        match self {
            Failure::Usage(_) | Failure::Record(_) => 2,
            Failure::Refused(_) => 3,
            Failure::Network(_) => 4,
            Failure::Storage(_) => 5,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) => write!(f, "command line: {m}"),
            Failure::Record(m) => write!(f, "credential record: {m}"),
            Failure::Refused(m) => write!(f, "refused: {m}"),
            Failure::Network(m) => write!(
                f,
                "network: {m} (exit 4: the systemd unit runs the bootstrap again, every 30 s in the example unit)"
            ),
            Failure::Storage(m) => write!(f, "storage: {m}"),
        }
    }
}
