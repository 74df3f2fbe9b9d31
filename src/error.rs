//! What a command ends with when it does not succeed: a failure of the
//! build pipeline, of writing cards or of the station
//! (`burnline_image::error::Error`, which they share), or of a `burnline
//! platform` command (`burnline_platform::error::PlatformError`).
//! `crate::exit` sorts each into its case and exit code.

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The build, `flash`, the station or any other command but `platform`.
    #[error(transparent)]
    Run(#[from] burnline_image::error::Error),
    /// A `burnline platform` command.
    #[error(transparent)]
    Platform(#[from] burnline_platform::error::PlatformError),
}

/// The pool's failures, as every command but `platform` reports them.
impl From<burnline_pool::PoolError> for Error {
    fn from(e: burnline_pool::PoolError) -> Self {
        Error::Run(e.into())
    }
}
