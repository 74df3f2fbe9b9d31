//! burnline burns Alibaba Cloud IoT (Link IoT Edge) gateway identities into
//! per-device disk images. This is the host side; the device side is the
//! `burnline-bootstrap` crate, and what both share (the credential record,
//! the identity rules, the secret type, the platform client) is
//! `burnline-core`, re-exported here where the host uses it.
//!
//! The modules follow the pipeline:
//!
//! - [`recipe`]: the YAML recipe, parsed, located and resolved into types;
//! - [`devices`]: the device CSV, streamed and checked;
//! - [`identity`]: the identity rules, and the output file names derived
//!   from a device's identity;
//! - [`layout`]: the partition layout, derived IDs and the table template;
//! - [`base`]: the base image every device shares (FAT volumes, images);
//! - [`credentials`]: the record format, and a device's credentials partition;
//! - [`registration`]: dynamic registration (一型一密) on the host, with its
//!   ledger of issued secrets;
//! - [`device`]: one device's job (credentials, IDs, patches), which every
//!   output starts from, its manifest entry and its staged outputs;
//! - [`build`]: one build run;
//! - [`output`]: a full image and its side files (bmap, compression);
//! - [`platform`]: the client of the platform's OpenAPI (`burnline platform`);
//! - [`delta`]: delta sets, base plus deltas (`build --deltas`);
//! - [`manifest`]: `manifest.json` and the checksum lists;
//! - [`resume`]: the journal a killed run resumes from, and interrupts;
//! - [`shard`]: one slice of the CSV, for CI machines;
//! - [`flash`]: writing cards, and the programmer station that flashes
//!   fresh identities from a recipe;
//! - [`station`]: the station service for line operators: cards found in
//!   their slots, burned from the pool, an operator page, labels, the
//!   day's report;
//! - [`io`]: small I/O adapters (patches, extents, hashes; crash-safe files
//!   and console lines are `burnline_io`);
//! - [`error`]: the error kinds; [`exit`]: the one exit map, each way a
//!   run ends and its exit code; [`internal_error`]: the panic hook;
//! - [`secret`]: the redacting, zeroizing secret type (from `burnline-core`);
//! - [`cmdline`]: the clap types; [`commands`]: each subcommand, turning
//!   arguments into calls and outcomes into exit codes (through [`exit`]).

/// A crash point after a durable step: with `FAILPOINTS=NAME=return` the
/// process dies right there (abort: no destructors, no cleanup, no flush),
/// as a crash, a power cut or SIGKILL would; the tests rerun from each one.
/// Inert unless `FAILPOINTS` names it, and compiled only into a build made
/// with `--features failpoints` (the tests'): elsewhere it is nothing at all,
/// and the variable is never read. The points: `build-after-base`,
/// `build-after-rename`, `build-after-journal`, `build-after-manifest`
/// (`build::run`), `registration-ledger-after-append`
/// (`registration::ledger`) and `station-ledger-after-assigned`,
/// `-after-written`, `-after-verified` (`flash::ledger`), and
/// `pool-after-lease`, `-after-written`, `-after-verified`
/// (`flash::pooled`), and `platform-create-after-check`, `-after-register`
/// (`platform::create`), and `merge-after-copy` (`manifest merge`, a copy
/// complete under its temp name, before it is synced and put in place).
macro_rules! crash_point {
    ($name:literal) => {
        fail::fail_point!($name, |_| std::process::abort())
    };
}

pub mod base;
pub mod build;
pub mod cmdline;
pub mod commands;
pub mod credentials;
pub mod delta;
pub mod device;
pub mod devices;
pub mod error;
pub mod exit;
pub mod flash;
pub mod identity;
pub mod internal_error;
pub mod io;
pub mod layout;
pub mod ledger;
pub mod manifest;
pub mod output;
pub mod platform;
pub mod recipe;
pub mod registration;
pub mod resume;
pub use burnline_core::secret;
pub mod shard;
pub mod signing;
pub mod station;
