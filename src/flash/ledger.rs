//! The station ledger (JSON lines, fsynced after every line): which identity
//! went to which card, and how far it got: `assigned` (before the first byte
//! is written), `written`, `verified` (read back and checked), or `failed`.
//! An identity is issued again only while it has no `verified` record, so a
//! crash or a pulled card never loses one, and a verified one is never
//! issued twice; a card whose last record is not `verified` is not good and
//! must be flashed again. A torn last line (a crash mid-write) is ignored.
//! Secrets are never written here.

use crate::error::{IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How far an identity got on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Given to the card; nothing verified yet.
    Assigned,
    /// Written and synced.
    Written,
    /// Read back and matched: the card is good.
    Verified,
    /// Writing or checking failed: the card is not good.
    Failed,
}

/// One ledger line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// DeviceName.
    pub device_name: String,
    /// ProductKey.
    pub product_key: String,
    /// The card (target path).
    pub target: String,
    /// The state reached.
    pub state: State,
    /// The image's SHA-256, once written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_sha256: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Seconds since 1970.
    pub time: u64,
}

/// An open ledger.
pub struct Ledger {
    path: PathBuf,
    file: Mutex<File>,
    verified: HashSet<String>,
    last: HashMap<String, Record>,
}

impl Ledger {
    /// Opens (or creates) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).at("creating the ledger's directory", dir)?;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).at("reading the ledger", path),
        };
        let mut verified = HashSet::new();
        let mut last = HashMap::new();
        for r in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Record>(l).ok())
        {
            if r.state == State::Verified {
                verified.insert(r.device_name.clone());
            }
            last.insert(r.device_name.clone(), r);
        }
        let new = text.is_empty();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .at("opening the ledger", path)?;
        if !text.is_empty() && !text.ends_with('\n') {
            file.write_all(b"\n").at("writing the ledger", path)?;
        }
        if new {
            file.sync_all().at("syncing the ledger", path)?;
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            crate::io::atomic::sync_dir(dir)?;
        }
        Ok(Ledger {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            verified,
            last,
        })
    }

    /// Whether the identity is verified on some card.
    pub fn is_verified(&self, device_name: &str) -> bool {
        self.verified.contains(device_name)
    }

    /// The last record of an identity from earlier runs.
    pub fn last(&self, device_name: &str) -> Option<&Record> {
        self.last.get(device_name)
    }

    /// Appends a record and fsyncs it.
    pub fn append(&self, mut r: Record) -> Result<()> {
        r.time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut line = serde_json::to_string(&r).unwrap_or_default();
        line.push('\n');
        let file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        (&*file)
            .write_all(line.as_bytes())
            .at("writing the ledger", &self.path)?;
        file.sync_data().at("syncing the ledger", &self.path)
    }
}
