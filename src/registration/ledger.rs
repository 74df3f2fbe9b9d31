//! `registrations.jsonl`: every DeviceSecret the platform issued to this
//! output directory, one JSON object a line (`product_key`, `device_name`,
//! `device_secret`). The platform hands a secret out only once, so a line is
//! appended and fsynced BEFORE the secret is used for anything; a rerun reads
//! the file and never asks the platform again for a device it holds. The file
//! has mode 0600 since it holds secrets.
//!
//! A run killed while appending can leave a last line without its newline:
//! it is cut off with a warning (the secret in it was never used, nor can it
//! be read back). A broken complete line stops the run.

use crate::error::{Error, IoContext, Result};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The ledger's file name in the output directory.
pub const FILE_NAME: &str = "registrations.jsonl";

#[derive(Serialize)]
struct Line<'a> {
    product_key: &'a str,
    device_name: &'a str,
    device_secret: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnedLine {
    product_key: String,
    device_name: String,
    device_secret: String,
}

/// The ledger of one output directory, open for appending.
pub struct Ledger {
    path: PathBuf,
    file: File,
    entries: HashMap<(String, String), Secret>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` and reads what it holds.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .at("opening the registration ledger", &path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .at("setting mode 0600 on", &path)?;
        if !existed {
            file.sync_all().at("syncing", &path)?;
            crate::io::atomic::sync_dir(dir)?;
        }
        let mut text = Zeroizing::new(String::new());
        file.read_to_string(&mut text)
            .at("reading the registration ledger", &path)?;
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            eprintln!(
                "warning: {}: incomplete last line cut off (a run was stopped while writing it); if that device \
                 shows as activated in the console, delete it there and build again",
                path.display()
            );
            file.set_len(complete as u64)
                .at("cutting the incomplete last line of", &path)?;
            file.sync_all().at("syncing", &path)?;
            text.truncate(complete);
        }
        let mut entries = HashMap::new();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, raw) in lines.iter().enumerate() {
            let location = format!("{}:{}", path.display(), i + 1);
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let parsed: OwnedLine = serde_json::from_str(line).map_err(|_| {
                Error::invalid(location.clone(), "", "not a registration ledger line")
            })?;
            entries.insert(
                (parsed.product_key, parsed.device_name),
                Secret::new(parsed.device_secret),
            );
        }
        Ok(Ledger {
            path,
            file,
            entries,
        })
    }

    /// The DeviceSecret held for a device.
    pub fn get(&self, product_key: &str, device_name: &str) -> Option<&Secret> {
        self.entries
            .get(&(product_key.to_owned(), device_name.to_owned()))
    }

    /// How many devices it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no device.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a device's secret and fsyncs; only then is it held.
    pub fn append(&mut self, product_key: &str, device_name: &str, secret: &Secret) -> Result<()> {
        let line = Line {
            product_key,
            device_name,
            device_secret: secret.expose(),
        };
        let mut bytes = Zeroizing::new(Vec::with_capacity(128));
        serde_json::to_writer(&mut *bytes, &line).map_err(|e| Error::Io {
            context: format!("encoding a line of {}", self.path.display()),
            source: e.into(),
        })?;
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .at("appending to the registration ledger", &self.path)?;
        self.file
            .sync_data()
            .at("syncing the registration ledger", &self.path)?;
        self.entries.insert(
            (product_key.to_owned(), device_name.to_owned()),
            secret.clone(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_reopen_and_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut l = Ledger::open(dir.path()).expect("open");
        assert!(l.is_empty());
        l.append("a1X2bEnP82z", "dev@1:a", &Secret::from("s1"))
            .expect("append");
        drop(l);
        let path = dir.path().join(FILE_NAME);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A torn last line, as a kill mid-write leaves it.
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(br#"{"product_key":"a1X2bEnP82z","device_na"#)
            .expect("write");
        drop(f);
        let mut l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(l.len(), 1);
        assert_eq!(
            l.get("a1X2bEnP82z", "dev@1:a").map(Secret::expose),
            Some("s1")
        );
        l.append("a1X2bEnP82z", "dev2", &Secret::from("s2"))
            .expect("append");
        drop(l);
        let l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a1X2bEnP82z", "dev2").map(Secret::expose), Some("s2"));
        assert!(l.get("a1X2bEnP82z", "dev3").is_none());
        assert!(!format!("{l:?}").contains("s2"));
    }

    #[test]
    fn broken_line_in_the_middle_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE_NAME), "garbage\n{}\n").expect("write");
        assert!(matches!(Ledger::open(dir.path()), Err(Error::Invalid(_))));
    }
}
