//! The manifest of a build: `manifest.json` (per device its file, size,
//! checksum, DeviceName, ProductKey and IDs; never a secret) and the
//! checksum list: `SHA256SUMS` (for `sha256sum -c`) or, with
//! `output.digest: blake3`, `B3SUMS` (for `b3sum -c`). Both are streamed to
//! temp files while devices are built, so memory does not grow with the
//! fleet, and put in place atomically only after every listed output is
//! durable. A signed directory is checked by [`signed`].

pub mod files;
pub mod signed;

use crate::error::{Error, IoContext, Problem, Result};
use crate::file_name::check_listed;
use burnline_io::atomic;
use burnline_io::hash::DigestKind;
use files::{Artifacts, Header, Sum};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// A partition's ID in one device's image.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionId {
    /// Partition name.
    pub name: String,
    /// Partition GUID (GPT), or the derived ID behind the FAT serial (MBR).
    pub guid: String,
}

/// One device's output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// File name in the output directory.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Its checksum (`sha256` or `blake3` in JSON).
    #[serde(flatten)]
    pub sum: Sum,
    /// DeviceName.
    pub device_name: String,
    /// ProductKey.
    pub product_key: String,
    /// Disk GUID.
    pub disk_guid: String,
    /// MBR disk signature (hex), for MBR images.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mbr_signature: Option<String>,
    /// Partition IDs.
    pub partitions: Vec<PartitionId>,
    /// Raw-image checksum, side files and CSV row (stations, CI artifacts).
    #[serde(flatten)]
    pub artifacts: Artifacts,
}

/// A whole manifest, as read back by `verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The tool and version that wrote it.
    pub burnline: String,
    /// The recipe's file name.
    pub recipe: String,
    /// A delta set's base, shard.
    #[serde(flatten)]
    pub header: Header,
    /// The devices, in CSV order.
    pub devices: Vec<Entry>,
}

impl Manifest {
    /// The checksum kinds its files are listed with (one, or none when it
    /// lists no file; more than one only if it was tampered with).
    pub fn digest_kinds(&self) -> Vec<DigestKind> {
        let mut kinds: Vec<DigestKind> = Vec::new();
        let sums = self
            .header
            .files()
            .map(|f| &f.sum)
            .chain(self.devices.iter().flat_map(|e| {
                std::iter::once(&e.sum).chain(e.artifacts.extra_files.iter().map(|f| &f.sum))
            }));
        for s in sums {
            if !kinds.contains(&s.kind()) {
                kinds.push(s.kind());
            }
        }
        kinds
    }

    /// Reads `DIR/manifest.json`. Every file name it lists must be a plain
    /// name inside DIR ([`check_listed`]): a manifest is input, and
    /// `verify` or `manifest merge` following `../victim` would leave DIR.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).at("reading", &path)?;
        let m: Manifest = serde_json::from_slice(&text).map_err(|e| {
            Error::invalid(
                path.display().to_string(),
                "",
                format!(
                    "not a burnline manifest: {}",
                    burnline_core::parse_error::json(&e)
                ),
            )
        })?;
        let problems: Vec<Problem> = m
            .named_files()
            .filter_map(|(field, name)| {
                let rule = check_listed(name).err()?;
                Some(Problem::new(path.display().to_string(), field, rule))
            })
            .collect();
        if problems.is_empty() {
            Ok(m)
        } else {
            Err(Error::Invalid(problems))
        }
    }

    /// Every file name the manifest lists, with its field.
    fn named_files(&self) -> impl Iterator<Item = (String, &str)> {
        let header = [
            ("base", &self.header.base),
            ("base_bmap", &self.header.base_bmap),
        ]
        .into_iter()
        .filter_map(|(field, f)| Some((format!("{field}.file"), f.as_ref()?.file.as_str())));
        let devices = self.devices.iter().enumerate().flat_map(|(i, e)| {
            let extra = e
                .artifacts
                .extra_files
                .iter()
                .enumerate()
                .map(move |(k, f)| {
                    (
                        format!("devices[{i}].extra_files[{k}].file"),
                        f.file.as_str(),
                    )
                });
            std::iter::once((format!("devices[{i}].file"), e.file.as_str())).chain(extra)
        });
        header.chain(devices)
    }
}

/// Streams entries to the temp manifest and checksum list.
pub struct ManifestWriter {
    dir: PathBuf,
    json: BufWriter<File>,
    sums: BufWriter<File>,
    kind: DigestKind,
    count: u64,
    /// The temp paths of the manifest and of the checksum list.
    json_tmp: PathBuf,
    sums_tmp: PathBuf,
}

impl ManifestWriter {
    /// Starts a manifest for `recipe_name` in `dir`, listing SHA-256.
    pub fn create(dir: &Path, recipe_name: &str) -> Result<Self> {
        Self::create_with(dir, recipe_name, &Header::default(), DigestKind::Sha256)
    }

    /// Starts a manifest with the top-level fields of `header` (which are
    /// also listed in the checksum list), its files listed with `kind`.
    pub fn create_with(
        dir: &Path,
        recipe_name: &str,
        header: &Header,
        kind: DigestKind,
    ) -> Result<Self> {
        let jp = atomic::temp_path(&dir.join(MANIFEST))?;
        let sp = atomic::temp_path(&dir.join(kind.sums_file()))?;
        let mut json = BufWriter::new(atomic::create_temp(&jp)?);
        let mut sums = BufWriter::new(atomic::create_temp(&sp)?);
        let mut extra = String::new();
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(header) {
            for (k, v) in map {
                extra.push_str(&format!("\n  {}: {},", serde_json::Value::from(k), v));
            }
        }
        for f in header.files() {
            write_sum(&mut sums, kind, &f.sum, &f.file).at("writing", &sp)?;
        }
        let head = format!(
            "{{\n  \"burnline\": {},\n  \"recipe\": {},{extra}\n  \"devices\": [",
            serde_json::Value::from(env!("CARGO_PKG_VERSION")),
            serde_json::Value::from(recipe_name)
        );
        json.write_all(head.as_bytes()).at("writing", &jp)?;
        Ok(ManifestWriter {
            dir: dir.to_path_buf(),
            json,
            sums,
            kind,
            count: 0,
            json_tmp: jp,
            sums_tmp: sp,
        })
    }

    /// Appends one device (call only once its output is durable).
    pub fn push(&mut self, e: &Entry) -> Result<()> {
        let line = serde_json::to_string(e).unwrap_or_default();
        let sep = if self.count == 0 { "\n    " } else { ",\n    " };
        let jp = &self.json_tmp;
        self.json
            .write_all(sep.as_bytes())
            .and_then(|_| self.json.write_all(line.as_bytes()))
            .at("writing", jp)?;
        let sp = &self.sums_tmp;
        write_sum(&mut self.sums, self.kind, &e.sum, &e.file).at("writing", sp)?;
        for f in &e.artifacts.extra_files {
            write_sum(&mut self.sums, self.kind, &f.sum, &f.file).at("writing", sp)?;
        }
        self.count += 1;
        Ok(())
    }

    /// Closes, syncs and renames both files into place, and removes a
    /// checksum list of the other kind an earlier build left, and any
    /// signature an earlier build left (before the renames).
    pub fn finish(mut self) -> Result<()> {
        let jp = self.json_tmp;
        let sums_file = self.kind.sums_file();
        let sp = self.sums_tmp;
        let tail = if self.count == 0 {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        };
        self.json.write_all(tail.as_bytes()).at("writing", &jp)?;
        // Signatures of an earlier manifest would not sign this one: they
        // go before it is put in place (and are written again after, when
        // there is a key).
        for name in [
            MANIFEST,
            DigestKind::Sha256.sums_file(),
            DigestKind::Blake3.sums_file(),
        ] {
            let stale = crate::signing::sig_path(&self.dir.join(name));
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).at("removing", &stale);
                }
                _ => {}
            }
        }
        for (w, tmp, name) in [(self.json, &jp, MANIFEST), (self.sums, &sp, sums_file)] {
            let f = w
                .into_inner()
                .map_err(|e| e.into_error())
                .at("writing", tmp)?;
            atomic::place(&f, tmp, &self.dir.join(name))?;
        }
        // A list of the other kind, left by an earlier build, no longer
        // describes this manifest.
        for other in [DigestKind::Sha256, DigestKind::Blake3] {
            if other == self.kind {
                continue;
            }
            let stale = self.dir.join(other.sums_file());
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).at("removing", &stale);
                }
                _ => {}
            }
        }
        Ok(atomic::sync_dir(&self.dir)?)
    }
}

/// Writes one `hex  name` line; a checksum of another kind than the list's
/// is refused (one list never mixes algorithms).
fn write_sum(w: &mut impl Write, kind: DigestKind, sum: &Sum, file: &str) -> std::io::Result<()> {
    if sum.kind() != kind {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{file} has a {} checksum, but this list holds {}",
                sum.kind().name(),
                kind.name()
            ),
        ));
    }
    writeln!(w, "{}  {}", sum.hex(), file)
}
