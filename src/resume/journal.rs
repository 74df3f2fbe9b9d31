//! The resume journal, `.manifest.partial.jsonl` in the output directory:
//! a first line naming the run's fingerprint (recipe, CSV, base image and
//! output options), then one manifest entry per line for every device whose files
//! are durable and in place, appended and fsynced after each batch. A rerun
//! with the same fingerprint skips those devices (when their files are still
//! there); another fingerprint starts the journal afresh. A torn last line
//! (a crash mid-append) is ignored. The journal is removed once the final
//! manifest is in place.

use crate::error::{IoContext, Result};
use crate::io::atomic;
use crate::manifest::Entry;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal's file name.
pub const JOURNAL: &str = ".manifest.partial.jsonl";

/// A run's fingerprint: SHA-256 over its inputs, each length-prefixed.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
    done: HashMap<String, Entry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Head {
    fingerprint: String,
}

fn in_place(out: &Path, e: &Entry) -> bool {
    let ok =
        |name: &str, size: u64| std::fs::metadata(out.join(name)).is_ok_and(|m| m.len() == size);
    ok(&e.file, e.size) && e.artifacts.extra_files.iter().all(|f| ok(&f.file, f.size))
}

impl Journal {
    /// Opens the journal in `out` for a run with `fp`, keeping the entries of
    /// an earlier run with the same fingerprint whose files are in place.
    pub fn open(out: &Path, fp: &str) -> Result<Self> {
        let path = out.join(JOURNAL);
        let mut done = HashMap::new();
        let mut same = false;
        if let Ok(text) = std::fs::read_to_string(&path) {
            let mut lines = text.lines();
            same = lines
                .next()
                .and_then(|l| serde_json::from_str::<Head>(l).ok())
                .is_some_and(|h| h.fingerprint == fp);
            if same {
                for e in lines.filter_map(|l| serde_json::from_str::<Entry>(l).ok()) {
                    if in_place(out, &e) {
                        done.insert(e.device_name.clone(), e);
                    }
                }
            }
        }
        let file = if same {
            OpenOptions::new()
                .append(true)
                .open(&path)
                .at("opening", &path)?
        } else {
            let tmp = atomic::temp_path(&path);
            let mut f = atomic::create_temp(&tmp)?;
            let head = serde_json::to_string(&Head {
                fingerprint: fp.to_owned(),
            })
            .unwrap_or_default();
            writeln!(f, "{head}")
                .and_then(|_| f.sync_all())
                .at("writing", &tmp)?;
            std::fs::rename(&tmp, &path).at("renaming into place", &path)?;
            atomic::sync_dir(out)?;
            OpenOptions::new()
                .append(true)
                .open(&path)
                .at("opening", &path)?
        };
        // A torn last line would glue onto the next entry: start on a new line.
        if same && std::fs::read(&path).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n')) {
            (&file).write_all(b"\n").at("writing", &path)?;
        }
        Ok(Journal { path, file, done })
    }

    /// How many devices an earlier run finished.
    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// The entry of a device an earlier run finished.
    pub fn done(&self, device_name: &str) -> Option<&Entry> {
        self.done.get(device_name)
    }

    /// Appends entries (whose files are durable and in place) and fsyncs.
    pub fn append<'a>(&mut self, entries: impl IntoIterator<Item = &'a Entry>) -> Result<()> {
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(text.as_bytes())
            .at("writing", &self.path)?;
        self.file.sync_data().at("syncing", &self.path)
    }

    /// Removes the journal (the final manifest is in place).
    pub fn remove(self) -> Result<()> {
        std::fs::remove_file(&self.path).at("removing", &self.path)?;
        atomic::sync_dir(self.path.parent().unwrap_or(Path::new(".")))
    }
}
