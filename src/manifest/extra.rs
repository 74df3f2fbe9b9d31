//! Manifest fields added for stations and CI artifacts: per-device
//! [`Artifacts`] (the raw image's checksum when the listed file is
//! compressed or a delta, side files such as bmaps, the CSV row), the
//! station's base image and the shard a manifest covers.

use serde::{Deserialize, Serialize};

/// A file and its checksum, as listed in `SHA256SUMS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileSum {
    /// File name in the output directory.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Per-device additions to a manifest entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifacts {
    /// The device's full raw image's SHA-256, when `file` is compressed or a delta.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_sha256: Option<String>,
    /// The full raw image's size, when `file` is compressed or a delta.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_size: Option<u64>,
    /// Side files (a bmap), also listed in `SHA256SUMS`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub extra_files: Vec<FileSum>,
    /// 0-based index of the device among the CSV's data rows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub row: Option<u64>,
}

/// The slice of the CSV a manifest covers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardInfo {
    /// 1-based shard number.
    pub index: u64,
    /// How many shards split the CSV.
    pub count: u64,
    /// Data rows in the whole CSV.
    pub rows: u64,
}

/// Top-level manifest fields beyond the device list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    /// `station` for base-plus-delta output.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mode: Option<String>,
    /// The station base image.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub base: Option<FileSum>,
    /// Its bmap, when one was written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub base_bmap: Option<FileSum>,
    /// The shard this manifest covers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<ShardInfo>,
}

impl Header {
    /// The files the header lists, for `SHA256SUMS`.
    pub fn files(&self) -> impl Iterator<Item = &FileSum> {
        self.base.iter().chain(self.base_bmap.iter())
    }
}
