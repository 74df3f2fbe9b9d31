//! The manifest of a build: `manifest.json` (per device its file, size,
//! sha256, DeviceName, ProductKey and IDs; never a secret) and `SHA256SUMS`
//! (for `sha256sum -c`). Both are streamed to temp files while devices are
//! built, so memory does not grow with the fleet, and put in place atomically
//! only after every listed output is durable.

use crate::error::{IoContext, Result};
use crate::output::atomic;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The checksum list's file name.
pub const SHA256SUMS: &str = "SHA256SUMS";

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
    /// SHA-256, lower-case hex.
    pub sha256: String,
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
}

/// A whole manifest, as read back by `verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The tool and version that wrote it.
    pub burnline: String,
    /// The recipe's file name.
    pub recipe: String,
    /// The devices, in CSV order.
    pub devices: Vec<Entry>,
}

impl Manifest {
    /// Reads `DIR/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).at("reading", &path)?;
        serde_json::from_slice(&text).map_err(|e| {
            crate::error::Error::invalid(
                path.display().to_string(),
                "",
                format!("not a burnline manifest: {e}"),
            )
        })
    }
}

/// Streams entries to the temp manifest and checksum list.
pub struct ManifestWriter {
    dir: PathBuf,
    json: BufWriter<File>,
    sums: BufWriter<File>,
    count: u64,
}

impl ManifestWriter {
    /// Starts a manifest for `recipe_name` in `dir`.
    pub fn create(dir: &Path, recipe_name: &str) -> Result<Self> {
        let jp = atomic::temp_path(&dir.join(MANIFEST));
        let sp = atomic::temp_path(&dir.join(SHA256SUMS));
        let mut json = BufWriter::new(atomic::create_temp(&jp)?);
        let sums = BufWriter::new(atomic::create_temp(&sp)?);
        let head = format!(
            "{{\n  \"burnline\": {},\n  \"recipe\": {},\n  \"devices\": [",
            serde_json::Value::from(env!("CARGO_PKG_VERSION")),
            serde_json::Value::from(recipe_name)
        );
        json.write_all(head.as_bytes()).at("writing", &jp)?;
        Ok(ManifestWriter {
            dir: dir.to_path_buf(),
            json,
            sums,
            count: 0,
        })
    }

    /// Appends one device (call only once its output is durable).
    pub fn push(&mut self, e: &Entry) -> Result<()> {
        let line = serde_json::to_string(e).unwrap_or_default();
        let sep = if self.count == 0 { "\n    " } else { ",\n    " };
        let jp = atomic::temp_path(&self.dir.join(MANIFEST));
        self.json
            .write_all(sep.as_bytes())
            .and_then(|_| self.json.write_all(line.as_bytes()))
            .at("writing", &jp)?;
        let sp = atomic::temp_path(&self.dir.join(SHA256SUMS));
        writeln!(self.sums, "{}  {}", e.sha256, e.file).at("writing", &sp)?;
        self.count += 1;
        Ok(())
    }

    /// Closes, syncs and renames both files into place.
    pub fn finish(mut self) -> Result<()> {
        let jp = atomic::temp_path(&self.dir.join(MANIFEST));
        let sp = atomic::temp_path(&self.dir.join(SHA256SUMS));
        let tail = if self.count == 0 {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        };
        self.json.write_all(tail.as_bytes()).at("writing", &jp)?;
        for (w, tmp, name) in [(self.json, &jp, MANIFEST), (self.sums, &sp, SHA256SUMS)] {
            let f = w
                .into_inner()
                .map_err(|e| e.into_error())
                .at("writing", tmp)?;
            f.sync_all().at("syncing", tmp)?;
            let dest = self.dir.join(name);
            std::fs::rename(tmp, &dest).at("renaming into place", &dest)?;
        }
        atomic::sync_dir(&self.dir)
    }
}
