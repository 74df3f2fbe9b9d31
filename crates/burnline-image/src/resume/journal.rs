//! The resume journal, `.manifest.partial.jsonl` in the output directory:
//! a first line naming the run's fingerprint (recipe, CSV, base image and
//! output options), then one manifest entry per line for every device whose files
//! are durable and in place, appended and fsynced after each batch. A rerun
//! with the same fingerprint skips those devices (when their files are still
//! there); another fingerprint starts the journal afresh (atomically).
//! Devices are keyed by (ProductKey, DeviceName). The journal is removed
//! once the final manifest is in place.
//!
//! It is a [`crate::append_log`], with that module's one rule: a torn
//! last line (a crash mid-append) is cut off; any other unreadable line
//! stops the run with the file and line (exit 2), never skipped, whatever
//! the fingerprint. An entry naming a file that is not a plain name inside
//! the output directory (`../victim.img`, an absolute path: see
//! [`check_listed`]) is such a line too. The journal is locked while open.

use crate::append_log::{AppendLog, Options};
use crate::error::{IoContext, Result};
use crate::file_name::check_listed;
use crate::manifest::Entry;
use burnline_io::atomic;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

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

/// An open journal, locked for as long as it is open.
pub struct Journal {
    log: AppendLog<Line>,
    done: HashMap<(String, String), Entry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    fingerprint: String,
}

/// A journal line: the head (line 1), then entries.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Line {
    Head(Head),
    Entry(Box<Entry>),
}

const OPTIONS: Options<'static> = Options {
    what: "the resume journal",
    mode: Some(0o600),
    torn_hint: "",
};

fn in_place(out: &Path, e: &Entry) -> bool {
    let ok =
        |name: &str, size: u64| std::fs::metadata(out.join(name)).is_ok_and(|m| m.len() == size);
    ok(&e.file, e.size) && e.artifacts.extra_files.iter().all(|f| ok(&f.file, f.size))
}

impl Journal {
    /// Opens the journal in `out` for a run with `fp`, keeping the entries of
    /// an earlier run with the same fingerprint whose files are in place.
    /// Every line is read by the rule of [`crate::append_log`], whatever
    /// the fingerprint: a damaged line stops the run.
    pub fn open(out: &Path, fp: &str) -> Result<Self> {
        let opened = AppendLog::<Line>::open(&out.join(JOURNAL), OPTIONS)?;
        let log = opened.log;
        let mut lines = opened.records.into_iter().zip(1u64..);
        let same = match lines.next() {
            None => false,
            Some((Line::Head(h), _)) => h.fingerprint == fp,
            Some((Line::Entry(_), n)) => {
                return Err(log.damaged(n, "the first line is not the journal's head"))
            }
        };
        let mut done = HashMap::new();
        for (line, n) in lines {
            match line {
                Line::Head(_) => return Err(log.damaged(n, "a second head")),
                Line::Entry(e) => {
                    let names = std::iter::once(&e.file)
                        .chain(e.artifacts.extra_files.iter().map(|f| &f.file));
                    for name in names {
                        if let Err(rule) = check_listed(name) {
                            return Err(log.damaged(n, &format!("file: {rule}")));
                        }
                    }
                    if same && in_place(out, &e) {
                        done.insert((e.product_key.clone(), e.device_name.clone()), *e);
                    }
                }
            }
        }
        let log = if same {
            log
        } else {
            log.replace(&[Line::Head(Head {
                fingerprint: fp.to_owned(),
            })])?
        };
        Ok(Journal { log, done })
    }

    /// How many devices an earlier run finished.
    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// The entry of a device (ProductKey, DeviceName) an earlier run
    /// finished.
    pub fn done(&self, product_key: &str, device_name: &str) -> Option<&Entry> {
        self.done
            .get(&(product_key.to_owned(), device_name.to_owned()))
    }

    /// Appends entries (whose files are durable and in place) and fsyncs.
    pub fn append<'a>(&mut self, entries: impl IntoIterator<Item = &'a Entry>) -> Result<()> {
        let lines: Vec<Line> = entries
            .into_iter()
            .map(|e| Line::Entry(Box::new(e.clone())))
            .collect();
        self.log.append_all(&lines)
    }

    /// Removes the journal (the final manifest is in place).
    pub fn remove(self) -> Result<()> {
        let path = self.log.path().to_path_buf();
        std::fs::remove_file(&path).at("removing", &path)?;
        drop(self.log);
        Ok(atomic::sync_dir(path.parent().unwrap_or(Path::new(".")))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::files::{Artifacts, Sum};

    fn entry(out: &Path, pk: &str, dn: &str, file: &str) -> Entry {
        std::fs::write(out.join(file), b"image").expect("image");
        Entry {
            file: file.into(),
            size: 5,
            sum: Sum::Sha256("00".repeat(32)),
            device_name: dn.into(),
            product_key: pk.into(),
            disk_guid: "g".into(),
            mbr_signature: None,
            partitions: Vec::new(),
            artifacts: Artifacts {
                row: Some(0),
                ..Artifacts::default()
            },
        }
    }

    #[test]
    fn same_fingerprint_keeps_entries_keyed_by_product_key_and_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path();
        let a = entry(out, "a1X2bEnP82z", "gw-000001", "a.img");
        let b = entry(out, "b2Y3cFoQ93A", "gw-000001", "b.img");
        let mut j = Journal::open(out, "fp1").expect("open");
        assert_eq!(j.done_count(), 0);
        j.append([&a, &b]).expect("append");
        drop(j);
        let j = Journal::open(out, "fp1").expect("reopen");
        assert_eq!(j.done_count(), 2);
        assert_eq!(j.done("a1X2bEnP82z", "gw-000001"), Some(&a));
        assert_eq!(j.done("b2Y3cFoQ93A", "gw-000001"), Some(&b));
        assert_eq!(j.done("a1X2bEnP82z", "gw-000002"), None);
        drop(j);
        // Another fingerprint starts afresh.
        let j = Journal::open(out, "fp2").expect("other run");
        assert_eq!(j.done_count(), 0);
        drop(j);
        let text = std::fs::read_to_string(out.join(JOURNAL)).expect("read");
        // Replaced whole: its one line starts the chain afresh.
        assert_eq!(
            text,
            format!(
                "{{\"prev\":\"{}\",\"fingerprint\":\"fp2\"}}\n",
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn a_damaged_line_or_misplaced_head_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path();
        let a = serde_json::to_string(&entry(out, "a1X2bEnP82z", "gw-1", "a.img")).expect("json");
        let head = "{\"fingerprint\":\"fp\"}";
        for (text, line) in [
            (format!("{head}\n{{\"file\":\"a.img\",\"si\n{a}\n"), 2),
            (format!("{a}\n{head}\n{a}\n"), 1),
            (format!("{head}\n{a}\n{head}\n{a}\n"), 3),
        ] {
            std::fs::write(out.join(JOURNAL), &text).expect("write");
            for fp in ["fp", "another"] {
                let e = Journal::open(out, fp).err().expect("damaged");
                let crate::error::Error::Invalid(p) = e else {
                    unreachable!()
                };
                assert_eq!(
                    p[0].location,
                    format!("{}:{line}", out.join(JOURNAL).display())
                );
            }
        }
        // A torn last line is cut.
        std::fs::write(out.join(JOURNAL), format!("{head}\n{a}\n{{\"file\":\"b.im")).expect("w");
        let j = Journal::open(out, "fp").expect("torn tail");
        assert_eq!(j.done_count(), 1);
    }
}
