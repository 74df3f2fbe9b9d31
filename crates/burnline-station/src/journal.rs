//! The station's own record of the cards it refused before any lease (too
//! small, write-protected, mounted, the system disk, an empty or lost
//! pool): those never reach the pool's history, yet they are cards of the
//! day. `WORK_DIR/station-cards.jsonl`, JSON lines fsynced one by one,
//! never a secret; an [`AppendLog`] held (and locked) by the running
//! service. `station report --journal FILE` reads it without the lock (the
//! service may be running): a torn last line is left out, any other
//! damaged line stops the report with the file and line.

use burnline_image::append_log::{AppendLog, Options};
use burnline_image::error::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One refused card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Seconds since 1970.
    pub time: i64,
    /// The station.
    pub station: String,
    /// The slot's path.
    pub slot: String,
    /// The device the card was seen as.
    pub card: String,
    /// Why it was refused, in plain words.
    pub reason: String,
}

const OPTIONS: Options<'static> = Options {
    what: "the station's card journal",
    mode: None,
    torn_hint: "",
};

/// The journal's file in a work directory.
pub fn path_in(work_dir: &Path) -> PathBuf {
    work_dir.join("station-cards.jsonl")
}

/// The open journal.
pub struct Journal(AppendLog<Refused>);

impl Journal {
    /// Opens (or creates) it, locked while the service runs.
    pub fn open(work_dir: &Path) -> Result<Journal> {
        std::fs::create_dir_all(work_dir).at("creating the work directory", work_dir)?;
        Ok(Journal(AppendLog::open(&path_in(work_dir), OPTIONS)?.log))
    }

    /// Appends a refused card and fsyncs it.
    pub fn append(&self, r: &Refused) -> Result<()> {
        self.0.append(r)
    }
}

/// Reads a journal without locking it: every complete line; a torn last
/// line is left out; any other damaged line is an error naming it.
pub fn read(path: &Path) -> Result<Vec<Refused>> {
    let text = std::fs::read_to_string(path).at("reading", path)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        match serde_json::from_str::<Refused>(line.trim_end_matches('\n')) {
            Ok(r) if line.ends_with('\n') => out.push(r),
            // A crash mid-append leaves at most the last line torn.
            _ if last => {}
            _ => {
                return Err(Error::invalid(
                    format!("{}:{}", path.display(), i + 1),
                    "",
                    "damaged line in the station's card journal (not a torn last line); restore the file or fix the line",
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(slot: &str) -> Refused {
        Refused {
            time: 1,
            station: "st".into(),
            slot: slot.into(),
            card: "/dev/sdb".into(),
            reason: "too small".into(),
        }
    }

    #[test]
    fn a_torn_last_line_is_left_out_and_other_damage_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::open(dir.path()).expect("open");
        j.append(&r("a")).expect("append");
        j.append(&r("b")).expect("append");
        let p = path_in(dir.path());
        // Read while the service holds it.
        assert_eq!(read(&p).expect("read"), [r("a"), r("b")]);
        drop(j);
        let mut text = std::fs::read_to_string(&p).expect("text");
        text.push_str("{\"time\": 2, \"sta");
        std::fs::write(&p, &text).expect("torn");
        assert_eq!(read(&p).expect("read").len(), 2);
        std::fs::write(&p, text.replacen("\"a\"", "\"a", 1)).expect("damage");
        let e = read(&p).expect_err("damaged");
        assert!(
            matches!(&e, Error::Invalid(p) if p[0].location.ends_with(":1")),
            "{e:?}"
        );
    }
}
