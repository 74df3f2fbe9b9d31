//! The recipe exactly as written in YAML: serde types with unknown fields
//! rejected. [`super::load`] turns them into the checked [`super::Recipe`].

use serde::Deserialize;

/// The top level of a recipe file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecipe {
    /// The disk as a whole.
    pub disk: RawDisk,
    /// Partitions, in on-disk order.
    pub partitions: Vec<RawPartition>,
    /// Raw blobs at fixed offsets outside the partitions.
    #[serde(default)]
    pub blobs: Vec<RawBlob>,
    /// How devices authenticate.
    pub auth: RawAuth,
    /// Output naming.
    #[serde(default)]
    pub output: RawOutput,
}

/// A size: bytes as a number, or a string such as `16MiB`, `512KiB`, `4096`.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawSize {
    /// Plain bytes.
    Bytes(u64),
    /// A string with an optional binary unit, or `fill`.
    Text(String),
}

/// `disk:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    /// Total size of the image.
    pub size: RawSize,
    /// `gpt` or `mbr`.
    pub table: String,
    /// 512 (default) or 4096.
    pub sector_size: Option<u64>,
    /// Partition alignment, default 1 MiB.
    pub alignment: Option<RawSize>,
    /// 32 hex digits: the seed every derived ID starts from.
    pub seed: String,
    /// FAT timestamps, in seconds since 1970, when `SOURCE_DATE_EPOCH` is unset.
    pub source_date_epoch: Option<i64>,
    /// The device's architecture: `aarch64`, `armv7` or `x86_64`.
    pub arch: Option<String>,
}

/// One entry of `partitions:`. At most one of `fat`, `image` and
/// `credentials` is given; none means an empty partition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartition {
    /// GPT partition name (also how `inspect` and the bootstrap find it).
    pub name: String,
    /// Size, or `fill` for the last partition.
    pub size: RawSize,
    /// Start offset on the disk; by default right after the previous
    /// partition, aligned.
    pub offset: Option<RawSize>,
    /// GPT type GUID or alias; MBR type byte or alias.
    #[serde(rename = "type")]
    pub part_type: Option<RawPartType>,
    /// A FAT file system built from host files.
    pub fat: Option<RawFat>,
    /// A raw image file copied in.
    pub image: Option<String>,
    /// The device's credentials.
    pub credentials: Option<RawCredentials>,
    /// Mark the partition bootable (MBR active flag, GPT legacy-BIOS-bootable).
    #[serde(default)]
    pub bootable: bool,
}

/// A partition type: a string (alias or GUID or `0x0c`) or a number (MBR byte).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawPartType {
    /// An MBR type byte written as a number.
    Byte(u64),
    /// An alias, GUID or hex byte.
    Text(String),
}

/// `fat:` content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFat {
    /// 12, 16 or 32; chosen from the size when absent.
    #[serde(rename = "type")]
    pub fat_type: Option<u8>,
    /// Volume label, up to 11 characters.
    pub label: Option<String>,
    /// Files and directories to copy in.
    #[serde(default)]
    pub files: Vec<RawFile>,
}

/// One host path copied into a FAT volume.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Host path, relative to the recipe file.
    pub source: String,
    /// Destination path inside the volume, such as `/bin/bootstrap`.
    pub dest: String,
}

/// `credentials:` content.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    /// `record` (default) or `fat`.
    pub format: Option<String>,
    /// With `fat`: the JSON file's path in the volume.
    pub path: Option<String>,
    /// With `fat`: the volume label.
    pub label: Option<String>,
    /// Keep the ProductSecret in the record after the device registered.
    #[serde(default)]
    pub keep_product_secret: bool,
}

/// A raw blob written at a fixed byte offset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlob {
    /// Host path, relative to the recipe file.
    pub source: String,
    /// Byte offset on the disk.
    pub offset: RawSize,
}

/// `auth:`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `device-secret` (一机一密) or `product-secret` (一型一密).
    pub mode: String,
    /// The ProductKey; required for `product-secret`.
    pub product_key: Option<String>,
    /// The ProductSecret, for `product-secret`.
    pub product_secret: Option<RawSecretSource>,
    /// Region recorded for the device, such as `cn-shanghai`.
    pub region: Option<String>,
    /// Registration endpoint recorded for the device.
    pub endpoint: Option<String>,
    /// `device` (default): the device registers at first boot;
    /// `host`: the station registers before burning.
    pub register: Option<String>,
    /// `http` (default) or `mqtt`: how the device registers at first boot,
    /// recorded in its credentials.
    pub register_via: Option<String>,
}

/// Where a secret comes from.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSecretSource {
    /// `{ env: NAME }` or `{ file: PATH }`.
    From(RawSecretFrom),
    /// Inline in the recipe (allowed, with a warning).
    Inline(String),
}

/// `{ env: NAME }` or `{ file: PATH }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretFrom {
    /// An environment variable.
    pub env: Option<String>,
    /// A file, relative to the recipe; trailing newline stripped.
    pub file: Option<String>,
}

/// `output:`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// File name pattern, default `{device_name}.img`.
    pub pattern: Option<String>,
    /// `full` (default) or `deltas` (`station` is its old name).
    pub mode: Option<String>,
    /// Write a bmap file next to each image.
    pub bmap: Option<bool>,
    /// `zstd`, `xz`, `gzip` or `none`.
    pub compress: Option<String>,
    /// `sha256` (default) or `blake3`.
    pub digest: Option<String>,
    /// `raw` (default) or `android-sparse`.
    pub format: Option<String>,
    /// The Android sparse block size in bytes (default 4096).
    pub sparse_block_size: Option<u64>,
}
