//! The one error of this crate: an I/O failure, with what was being done
//! (naming the file). A caller maps it to its own error kinds; the host tool
//! keeps the `NotFound` kind apart (bad input, not a failed run).

use std::io;
use std::path::Path;

/// An I/O step that failed.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct Error {
    /// What was being done, naming the file.
    pub context: String,
    /// The underlying error.
    #[source]
    pub source: io::Error,
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
        self.map_err(|source| Error {
            context: f(),
            source,
        })
    }

    fn at(self, verb: &str, path: &Path) -> Result<T> {
        self.with_context(|| format!("{verb} {}", path.display()))
    }
}
