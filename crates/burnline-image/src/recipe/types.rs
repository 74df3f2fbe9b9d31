//! The recipe's types, as resolved: sizes in bytes, types resolved, paths
//! absolute, secrets in [`Secret`]s. `super::resolve` makes them from the
//! raw YAML.

use super::locate::{located, Locator};
use super::output_spec;
use super::part_type::PartType;
use crate::error::Problem;
use burnline_core::secret::Secret;
use burnline_fat::spec::{FatBits, FatFile};
use std::path::PathBuf;

/// A checked recipe, with sizes in bytes, types resolved and paths absolute.
#[derive(Debug)]
pub struct Recipe {
    /// The recipe file, as given on the command line.
    pub path: PathBuf,
    /// The whole disk.
    pub disk: Disk,
    /// Partitions, in on-disk order.
    pub partitions: Vec<Partition>,
    /// Raw blobs outside the partitions.
    pub blobs: Vec<Blob>,
    /// How devices authenticate.
    pub auth: Auth,
    /// The output file name pattern.
    pub output_pattern: String,
    /// Output mode, bmap and compression.
    pub output: output_spec::OutputSpec,
    /// What is allowed but unwise (such as a secret written inline), for
    /// the command to show; never a broken rule.
    pub warnings: Vec<Problem>,
    pub(super) locator: Locator,
}

/// `gpt` or `mbr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// GUID partition table.
    Gpt,
    /// Master boot record.
    Mbr,
}

/// The disk as a whole.
#[derive(Debug)]
pub struct Disk {
    /// Total bytes.
    pub size: u64,
    /// Partition table kind.
    pub table: TableKind,
    /// 512 or 4096.
    pub sector_size: u64,
    /// Partition start alignment in bytes.
    pub alignment: u64,
    /// The 16-byte seed every derived ID starts from.
    pub seed: [u8; 16],
    /// FAT timestamps (seconds since 1970): `SOURCE_DATE_EPOCH`, else the
    /// recipe's `source_date_epoch`, else 1980-01-01.
    pub source_date_epoch: i64,
    /// The device's architecture, when the recipe names it: every ELF
    /// file in a FAT partition must be built for it.
    pub arch: Option<super::arch::Arch>,
}

/// A partition's requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartSize {
    /// Exactly this many bytes.
    Bytes(u64),
    /// The rest of the disk.
    Fill,
}

/// One partition.
#[derive(Debug)]
pub struct Partition {
    /// The name (GPT partition name).
    pub name: String,
    /// Requested size.
    pub size: PartSize,
    /// Requested start offset, if given.
    pub offset: Option<u64>,
    /// Resolved type.
    pub part_type: PartType,
    /// What goes in it.
    pub content: Content,
    /// Bootable flag.
    pub bootable: bool,
    /// The field path, such as `partitions[2]`, for error messages.
    pub field: String,
}

/// A partition's content.
#[derive(Debug)]
pub enum Content {
    /// Left zero.
    Empty,
    /// A FAT file system built once per run.
    Fat(FatSpec),
    /// A raw file copied in.
    Image(PathBuf),
    /// The device's credentials, different on every device.
    Credentials(CredentialsSpec),
}

/// A FAT volume's recipe.
#[derive(Debug)]
pub struct FatSpec {
    /// Requested FAT type; chosen from the size when `None`.
    pub bits: Option<FatBits>,
    /// Volume label (upper case, up to 11 characters).
    pub label: Option<String>,
    /// Host files and directories, with destinations.
    pub files: Vec<FatFile>,
}

/// Entries in a GPT partition array: burnline writes 128, the most a
/// recipe may ask for.
pub const GPT_ENTRIES: u64 = 128;

/// How the credentials partition is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsFormat {
    /// The two-slot record of `docs/credential-record.md`.
    Record,
    /// A FAT volume with the JSON payload at `path`.
    Fat {
        /// Path of the JSON file in the volume.
        path: String,
        /// Volume label.
        label: String,
    },
}

/// The credentials partition's recipe.
#[derive(Debug)]
pub struct CredentialsSpec {
    /// Layout.
    pub format: CredentialsFormat,
    /// Keep the ProductSecret after the device registered.
    pub keep_product_secret: bool,
}

/// A raw blob at a fixed offset.
#[derive(Debug)]
pub struct Blob {
    /// Absolute host path.
    pub source: PathBuf,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Its length in bytes, read when the recipe was loaded.
    pub len: u64,
    /// `blobs[i]`, for error messages.
    pub field: String,
}

/// Which side registers a 一型一密 device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterAt {
    /// The device, at first boot (the image carries the ProductSecret).
    Device,
    /// The station, before burning (the image carries the full triple).
    Host,
}

/// The authentication mode.
#[derive(Debug)]
pub enum AuthMode {
    /// 一机一密: the CSV gives each DeviceSecret.
    DeviceSecret,
    /// 一型一密: every device gets the product certificate.
    ProductSecret {
        /// The ProductSecret.
        product_secret: Secret,
        /// Who registers.
        register: RegisterAt,
    },
}

/// `auth:`
#[derive(Debug)]
pub struct Auth {
    /// The mode.
    pub mode: AuthMode,
    /// The ProductKey, required for 一型一密, optional for 一机一密.
    pub product_key: Option<String>,
    /// Region recorded for the device.
    pub region: Option<String>,
    /// Endpoint recorded for the device.
    pub endpoint: Option<String>,
    /// How the device registers at first boot, recorded for it: `mqtt`, or
    /// none for HTTPS.
    pub register_via: Option<String>,
}

impl Recipe {
    /// A problem located at `field` in this recipe.
    pub fn problem(&self, field: &str, rule: impl Into<String>) -> Problem {
        located(&self.path, &self.locator, field, rule)
    }

    /// Its warnings, one line each, for a command to print.
    pub fn warning_lines(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(|w| format!("warning: {} {} (at {})", w.field, w.rule, w.location))
            .collect()
    }

    /// The credentials partition (a checked recipe has exactly one).
    pub fn credentials(&self) -> Option<(usize, &CredentialsSpec)> {
        self.partitions
            .iter()
            .enumerate()
            .find_map(|(i, p)| match &p.content {
                Content::Credentials(c) => Some((i, c)),
                _ => None,
            })
    }
}
