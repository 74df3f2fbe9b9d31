//! What burnline's host tool and its platform emulator (`burnline-emulator`)
//! share for files and the terminal: [`error`], the I/O failure of a named
//! step; [`atomic`], the one crash-safe writer (temp, fsync, rename, fsync
//! the directory); and [`console`], lines on stdout and stderr that a closed
//! pipe cannot crash (the [`say!`] and [`show!`] macros).

pub mod atomic;
pub mod console;
pub mod error;

pub use error::{Error, IoContext, Result};
