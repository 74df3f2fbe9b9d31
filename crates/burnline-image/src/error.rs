//! The error kinds a run can end with: each names what went wrong, and
//! the CLI's `exit` module maps each to its exit code (the one exit map).

use std::fmt;
use std::io;
use std::path::Path;

/// One broken rule, located at a file and line (CSV), or at a line, column
/// and field (YAML). Rendered as one line: `where: what: rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `devices.csv:12` or `recipe.yaml:7:9`.
    pub location: String,
    /// The field or column, such as `partitions[1].size` or `DeviceName`.
    pub field: String,
    /// The rule that was broken, in words.
    pub rule: String,
}

impl Problem {
    /// A problem at `location` in `field`.
    pub fn new(
        location: impl Into<String>,
        field: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Problem {
            location: location.into(),
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.location, self.rule)
        } else {
            write!(f, "{}: {}: {}", self.location, self.field, self.rule)
        }
    }
}

/// How a command ended when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input broke one or more rules; every one is listed.
    #[error("{} problem(s) found", .0.len())]
    Invalid(Vec<Problem>),
    /// A command line that cannot be acted on.
    #[error("{0}")]
    Usage(String),
    /// Some devices failed; the rest were built.
    #[error("{failed} of {total} device(s) failed; the others were built")]
    DevicesFailed {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
    },
    /// `flash` to several targets: some of them failed (each listed
    /// before), the others were written and verified.
    #[error("{failed} of {total} target(s) failed")]
    TargetsFailed {
        /// How many failed.
        failed: usize,
        /// How many were given.
        total: usize,
    },
    /// `login-check`: some triples did not log in.
    #[error("{failed} of {total} device(s) did not log in")]
    LoginsFailed {
        /// How many did not.
        failed: usize,
        /// How many were tried.
        total: usize,
    },
    /// `verify` found outputs that do not match the manifest.
    #[error("{0} file(s) do not match the manifest")]
    Mismatch(usize),
    /// An I/O failure that stops the run.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Stopped by SIGINT or SIGTERM, or by a closed stdout or stderr: the
    /// devices in flight were finished and journaled, the rest is left for a
    /// rerun. (A second signal ends the process at once, without this
    /// error: the CLI's `Case::SecondSignal`.)
    #[error("interrupted")]
    Interrupted,
    /// A dynamic registration failed: refused, no answer, or a request
    /// that could not be made (see `registration::error`).
    #[error(transparent)]
    Registration(#[from] burnline_core::registration::error::RegisterError),
    /// The platform refused a registration for the whole product (dynamic
    /// registration off, a wrong ProductSecret): a pooled station stops,
    /// and no identity is set aside for it.
    #[error("{0}")]
    ProductRefused(String),
    /// A card could not be flashed; `kind` says why, in a way a caller can
    /// act on (another card, a write-protect switch, a quarantined identity).
    #[error("{message}")]
    Card {
        /// Why.
        kind: CardFailure,
        /// One line, naming the target.
        message: String,
    },
    /// The identity pool failed (see `burnline_pool::PoolError`: an empty
    /// pool, a lost database, a wrong key, a station name in use …).
    #[error(transparent)]
    Pool(#[from] burnline_pool::PoolError),
}

/// Why a card could not be flashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFailure {
    /// The card is smaller than the image; nothing was written.
    TooSmall,
    /// The card cannot be opened for writing (write-protected, permissions,
    /// gone); nothing was written.
    NotWritable,
    /// Writing or reading back failed (the card was pulled or is bad): the
    /// card must not be used; a pooled identity on it is quarantined.
    WriteFailed,
}

impl Error {
    /// A single invalid-input problem.
    pub fn invalid(
        location: impl Into<String>,
        field: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Invalid(vec![Problem::new(location, field, rule)])
    }
}

/// A failed step of the crash-safe writer is an I/O failure like any
/// other (a missing directory is bad input, exit 2; the rest exit 3).
impl From<burnline_io::Error> for Error {
    fn from(e: burnline_io::Error) -> Self {
        Error::Io {
            context: e.context,
            source: e.source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds "what was being done" context to I/O results.
pub trait IoContext<T> {
    /// Wraps an I/O error with a description built on demand.
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T>;
    /// Wraps an I/O error with "`verb` `path`".
    fn at(self, verb: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: f(),
            source,
        })
    }

    fn at(self, verb: &str, path: &Path) -> Result<T> {
        self.with_context(|| format!("{verb} {}", path.display()))
    }
}
