//! `burnline emulator ARGS...`: a thin launcher. The platform emulator is
//! its own binary, `burnline-emulator` (crate `crates/burnline-emulator`),
//! so the production `burnline` carries no MQTT server and no OpenSSL. This
//! replaces the process with `burnline-emulator` from the directory of the
//! running `burnline`, with the same arguments; when it is not there, one
//! line says where it looked and how to install it (exit 2).

use crate::cmdline::EmulatorLaunchArgs;
use burnline_image::error::{Error, IoContext, Result};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// The emulator binary's name, next to `burnline`.
pub const BINARY: &str = "burnline-emulator";

/// Where `burnline-emulator` must be: next to the running executable.
pub fn binary_path() -> Result<PathBuf> {
    let me = std::env::current_exe().with_context(|| "finding the running burnline".into())?;
    Ok(me.with_file_name(BINARY))
}

/// Runs `emulator`: execs `burnline-emulator`; returns only on a failure.
pub fn run(args: &EmulatorLaunchArgs) -> Result<()> {
    let path = binary_path()?;
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "{}: not found; the emulator is its own binary: install it with \
             `cargo install --locked --path crates/burnline-emulator` (or the .deb), \
             or run `cargo build -p burnline-emulator`",
            path.display()
        )));
    }
    let err = std::process::Command::new(&path).args(&args.args).exec();
    Err(err).at("starting", &path)
}
