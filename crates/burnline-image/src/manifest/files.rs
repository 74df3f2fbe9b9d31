//! What a manifest says about the files it lists: the [`Sum`] every listed
//! file carries (a `sha256` or a `blake3` field), [`FileSum`] lines as in
//! `SHA256SUMS`, and the fields added for stations and CI artifacts: per-device
//! [`Artifacts`] (the raw image's checksum when the listed file is
//! compressed or a delta, side files such as bmaps, the CSV row), the
//! base image of a delta set and the shard a manifest covers
//! ([`Header`]).

use burnline_io::hash::DigestKind;
use serde::{Deserialize, Serialize};

/// A listed file's checksum, lower-case hex; in JSON one field named after
/// the algorithm (`"sha256": …` or `"blake3": …`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Sum {
    /// SHA-256.
    Sha256(String),
    /// BLAKE3.
    Blake3(String),
}

impl Sum {
    /// The `kind` checksum `digest`, hex-encoded.
    pub fn new(kind: DigestKind, digest: &[u8; 32]) -> Self {
        match kind {
            DigestKind::Sha256 => Sum::Sha256(hex::encode(digest)),
            DigestKind::Blake3 => Sum::Blake3(hex::encode(digest)),
        }
    }

    /// Its algorithm.
    pub fn kind(&self) -> DigestKind {
        match self {
            Sum::Sha256(_) => DigestKind::Sha256,
            Sum::Blake3(_) => DigestKind::Blake3,
        }
    }

    /// Its lower-case hex.
    pub fn hex(&self) -> &str {
        match self {
            Sum::Sha256(h) | Sum::Blake3(h) => h,
        }
    }
}

/// A file and its checksum, as listed in `SHA256SUMS` or `B3SUMS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileSum {
    /// File name in the output directory.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Its checksum.
    #[serde(flatten)]
    pub sum: Sum,
}

/// Per-device additions to a manifest entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifacts {
    /// The device's full raw image's SHA-256, when `file` is compressed or a delta.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_sha256: Option<String>,
    /// Or its BLAKE3, when the build lists BLAKE3 (`output.digest: blake3`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_blake3: Option<String>,
    /// The full raw image's size, when `file` is compressed or a delta.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_size: Option<u64>,
    /// Side files (a bmap), also listed in `SHA256SUMS` (or `B3SUMS`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub extra_files: Vec<FileSum>,
    /// 0-based index of the device among the CSV's data rows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub row: Option<u64>,
}

impl Artifacts {
    /// Records the full raw image's checksum in the field of its kind.
    pub fn set_image_sum(&mut self, sum: Sum) {
        match sum {
            Sum::Sha256(h) => self.image_sha256 = Some(h),
            Sum::Blake3(h) => self.image_blake3 = Some(h),
        }
    }
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
    /// `station` for a delta set (`build --deltas`): the word manifests
    /// have always carried, which `flash` and other readers look for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mode: Option<String>,
    /// A delta set's base image.
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
    /// The files the header lists, for the checksum list.
    pub fn files(&self) -> impl Iterator<Item = &FileSum> {
        self.base.iter().chain(self.base_bmap.iter())
    }
}
