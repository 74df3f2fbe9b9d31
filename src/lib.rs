//! burnline burns Alibaba Cloud IoT (Link IoT Edge) gateway identities into
//! per-device disk images.
//!
//! The modules follow the pipeline: [`recipe`] → [`layout`] → [`base`] image →
//! per-device [`credentials`] → [`output`] → [`manifest`]. [`devices`] streams
//! the device CSV; [`commands`] implements each subcommand on top of them, and
//! [`cmdline`] holds the clap types only. [`registration`] is dynamic
//! registration (一型一密): the client, the ledger of issued secrets and the
//! station's registration for `build`; [`emulator`] is a local stand-in for
//! the platform.

/// A crash point after a durable step: with `FAILPOINTS=NAME=return` the
/// process dies right there (abort: no destructors, no cleanup, no flush),
/// as a crash, a power cut or SIGKILL would; the tests rerun from each one.
/// Inert unless `FAILPOINTS` names it. The points: `build-after-base`,
/// `build-after-rename`, `build-after-journal`, `build-after-manifest`
/// (`commands::build`), `registration-ledger-after-append`
/// (`registration::ledger`) and `station-ledger-after-assigned`,
/// `-after-written`, `-after-verified` (`flash::ledger`).
macro_rules! crash_point {
    ($name:literal) => {
        fail::fail_point!($name, |_| std::process::abort())
    };
}

pub mod base;
pub mod bootstrap;
pub mod cmdline;
pub mod commands;
pub mod credentials;
pub mod devices;
pub mod emulator;
pub mod error;
pub mod flash;
pub mod identity;
pub mod io;
pub mod layout;
pub mod manifest;
pub mod output;
pub mod recipe;
pub mod registration;
pub mod resume;
pub mod secret;
pub mod shard;
pub mod station;
