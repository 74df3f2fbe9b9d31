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

pub mod cmdline;
pub mod commands;
pub mod error;
pub mod exit;
