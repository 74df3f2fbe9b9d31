//! What a build writes besides (or instead of) plain images: the output
//! mode (full images, or a delta set: a base plus per-device deltas), the image
//! format (raw, or Android sparse with its block size), bmap files,
//! compression and the checksum outputs are listed with. Read from the
//! recipe's `output:` section; `build`'s command-line flags override it.

use super::raw::RawOutput;
use burnline_io::hash::DigestKind;
use burnline_sparse::BlockSize;

/// The format images are written in (also `build --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ImageFormat {
    /// Raw disk images (`NAME.img`, `base.img`, `NAME.img.delta`).
    #[default]
    Raw,
    /// Android sparse images (`NAME.simg`; delta set: `base.simg` and
    /// `NAME.delta.simg`).
    // Written by `crate::output::sparse`.
    AndroidSparse,
}

impl ImageFormat {
    /// Parses `raw` or `android-sparse`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "raw" => Some(ImageFormat::Raw),
            "android-sparse" => Some(ImageFormat::AndroidSparse),
            _ => None,
        }
    }
}

/// Full images per device, or one base image plus per-device deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// One complete image per device.
    #[default]
    Full,
    /// A delta set: `base.img` once, and a delta per device (see
    /// `crate::delta::format`).
    Deltas,
}

/// A streamed compression of an output (also `build --compress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// zstd, `.zst`.
    Zstd,
    /// xz, `.xz`.
    Xz,
    /// gzip, `.gz`.
    Gzip,
}

impl Compression {
    /// Parses `zstd`, `xz` or `gzip`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zstd" | "zst" => Some(Compression::Zstd),
            "xz" => Some(Compression::Xz),
            "gzip" | "gz" => Some(Compression::Gzip),
            _ => None,
        }
    }

    /// The file name extension, with its dot.
    pub fn ext(self) -> &'static str {
        match self {
            Compression::Zstd => ".zst",
            Compression::Xz => ".xz",
            Compression::Gzip => ".gz",
        }
    }

    /// The compression a file name's extension says, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [Compression::Zstd, Compression::Xz, Compression::Gzip]
            .into_iter()
            .find(|c| name.ends_with(c.ext()))
    }
}

/// `build --compress`: a [`Compression`], or `none`, which overrides a
/// recipe's `output.compress` with no compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressChoice(pub Option<Compression>);

#[cfg(feature = "clap")]
impl clap::ValueEnum for CompressChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            CompressChoice(Some(Compression::Zstd)),
            CompressChoice(Some(Compression::Xz)),
            CompressChoice(Some(Compression::Gzip)),
            CompressChoice(None),
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self.0 {
            Some(c) => c.to_possible_value(),
            None => Some(clap::builder::PossibleValue::new("none").help("no compression")),
        }
    }
}

/// The resolved `output:` options other than the name pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputSpec {
    /// Full images or a delta set.
    pub mode: OutputMode,
    /// Write a bmap next to each image.
    pub bmap: bool,
    /// Compress each image.
    pub compress: Option<Compression>,
    /// Base+delta output: record no digest of each device's full image
    /// (with SHA-256 a hash of the whole disk per device).
    pub no_image_digest: bool,
    /// The checksum outputs are listed with: SHA-256 (`SHA256SUMS`) or
    /// BLAKE3 (`B3SUMS`).
    pub digest: DigestKind,
    /// Raw images or Android sparse ones.
    pub format: ImageFormat,
    /// The Android sparse block size (default 4096).
    pub sparse_block_size: BlockSize,
    /// Whether the recipe or the command line named [`Self::digest`]; when
    /// not, base+delta output records each image's BLAKE3 in its delta
    /// (only `flash` reads it, and BLAKE3 comes from the base's tree at the
    /// cost of a few leaves, where SHA-256 costs a pass over the whole disk).
    pub digest_given: bool,
}

impl OutputSpec {
    /// The kind of the full-image digest a delta records: BLAKE3 unless a
    /// digest was named.
    pub fn delta_image_digest(&self) -> DigestKind {
        if self.digest_given {
            self.digest
        } else {
            DigestKind::Blake3
        }
    }

    /// The rule these options break for a disk of `disk_size` bytes, if
    /// any: Android sparse output is neither compressed nor given bmaps (it
    /// maps its own holes), and the disk must be whole blocks, at most
    /// 2^32-1 of them.
    pub fn conflict(&self, disk_size: u64) -> Option<String> {
        if self.format != ImageFormat::AndroidSparse {
            return None;
        }
        if self.compress.is_some() {
            return Some(
                "android-sparse images are not compressed: drop --compress (output.compress)"
                    .into(),
            );
        }
        if self.bmap {
            return Some("android-sparse images map their own holes (DONT_CARE chunks): drop --bmap (output.bmap)".into());
        }
        self.sparse_block_size
            .blocks_of(disk_size)
            .err()
            .map(|e| format!("sparse block size {}: {e}", self.sparse_block_size))
    }
}

/// Checks `output:`'s `mode`, `bmap`, `compress` and `digest`, reporting
/// broken rules through `p`.
pub fn resolve(raw: &RawOutput, p: &mut impl FnMut(&str, String)) -> OutputSpec {
    let mode = match raw.mode.as_deref() {
        None | Some("full") => OutputMode::Full,
        // `station` is the old name of `deltas`, still accepted.
        Some("deltas" | "station") => OutputMode::Deltas,
        Some(other) => {
            p(
                "output.mode",
                format!(
                    "must be `full` or `deltas`, not {}",
                    burnline_core::identity::rules::shown(other)
                ),
            );
            OutputMode::Full
        }
    };
    let compress = match raw.compress.as_deref() {
        None | Some("none") => None,
        Some(s) => {
            let c = Compression::parse(s);
            if c.is_none() {
                p(
                    "output.compress",
                    format!(
                        "must be `zstd`, `xz`, `gzip` or `none`, not {}",
                        burnline_core::identity::rules::shown(s)
                    ),
                );
            }
            c
        }
    };
    let digest = match raw.digest.as_deref() {
        None => DigestKind::Sha256,
        Some(s) => match DigestKind::parse(s) {
            None => {
                p(
                    "output.digest",
                    format!(
                        "must be `sha256` or `blake3`, not {}",
                        burnline_core::identity::rules::shown(s)
                    ),
                );
                DigestKind::Sha256
            }
            Some(d) => d,
        },
    };
    let format = match raw.format.as_deref() {
        None => ImageFormat::Raw,
        Some(s) => ImageFormat::parse(s).unwrap_or_else(|| {
            p(
                "output.format",
                format!(
                    "must be `raw` or `android-sparse`, not {}",
                    burnline_core::identity::rules::shown(s)
                ),
            );
            ImageFormat::Raw
        }),
    };
    let sparse_block_size = match raw.sparse_block_size {
        None => BlockSize::default(),
        Some(n) => BlockSize::new(n).unwrap_or_else(|e| {
            p("output.sparse_block_size", e.to_string());
            BlockSize::default()
        }),
    };
    OutputSpec {
        mode,
        bmap: raw.bmap.unwrap_or(false),
        compress,
        no_image_digest: false,
        digest,
        format,
        sparse_block_size,
        digest_given: raw.digest.is_some(),
    }
}
