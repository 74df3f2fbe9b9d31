//! The build pipeline: from a YAML recipe and a device CSV to one output per
//! device, in the order a device row travels:
//!
//! - [`recipe`]: the YAML recipe, parsed, located and resolved into types;
//! - [`device_csv`]: the device CSV, streamed and checked;
//! - [`file_name`]: the output file names a device's identity gives;
//! - [`registration`]: dynamic registration (一型一密) for a build, with
//!   `registrations.jsonl`, the log of issued secrets;
//! - [`credentials`]: a device's credentials partition;
//! - [`layout`]: the partition layout, derived IDs and the table template;
//! - [`base`]: the base image every device shares (FAT volumes, images);
//! - [`job`]: one device's job (credentials, IDs, patches, its output names
//!   and manifest entry), which every output starts from;
//! - [`output`]: a full image and its side files (bmap, compression);
//! - [`delta`]: the delta set: the base once, and a delta per device;
//! - [`manifest`]: `manifest.json` and the checksum lists;
//! - [`signing`]: minisign signatures of the manifest and the logs;
//! - [`resume`]: the journal a killed run resumes from, and interrupts;
//! - [`shard`]: one slice of the CSV, for CI machines;
//! - [`build`]: one build run, putting the steps above together.
//!
//! Beside the pipeline: [`error`], the error kinds (the CLI maps them to
//! exit codes); [`append_log`], the one append-only JSON-lines log under
//! the registration log, the station ledger and journal, and the build
//! journal; [`log_audit`], those logs checked from outside (`burnline
//! ledger verify|sign`).

pub mod error;
pub mod append_log;
pub mod log_audit;
pub mod recipe;
pub mod device_csv;
pub mod file_name;
pub mod registration;
pub mod credentials;
pub mod layout;
pub mod base;
pub mod job;
pub mod output;
pub mod delta;
pub mod manifest;
pub mod signing;
pub mod resume;
pub mod shard;
pub mod build;
