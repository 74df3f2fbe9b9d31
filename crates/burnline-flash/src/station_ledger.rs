//! The station ledger (JSON lines, fsynced after every line): which identity
//! (ProductKey, DeviceName) went to which card, and how far it got:
//! `assigned` (before the first byte is written), `written`, `verified` (read
//! back and checked), or `failed`. An identity is issued again only while it
//! has no `verified` record, so a crash or a pulled card never loses one,
//! and a verified one is never issued twice; a card whose last record is not
//! `verified` is not good and must be flashed again. Secrets are never
//! written here.
//!
//! It is a [`burnline_image::append_log`], with that module's one rule: a torn
//! last line (a crash mid-append) is cut off; any other unreadable line
//! stops the run with the file and line (exit 2), since skipping a damaged
//! `verified` line would issue that identity to a second card. The ledger
//! is locked (`flock`, without waiting) from open to drop, which is the
//! whole `flash --recipe` run: a second process sharing it is refused
//! before it writes anything. A crash point follows each durable state
//! (`station-ledger-after-assigned`, `-after-written`, `-after-verified`).

use burnline_image::append_log::{AppendLog, Options};
use burnline_image::error::{IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::Path;

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
    /// The image's digest once written, `blake3:…` (or `sha256:…` with
    /// `--digest sha256`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_digest: Option<String>,
    /// The image's SHA-256 (hex), as ledgers before `image_digest` wrote
    /// it: still read, no longer written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image_sha256: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// Seconds since 1970.
    pub time: u64,
}

/// An identity: (ProductKey, DeviceName). Never the DeviceName alone: two
/// products may both have a gw-000001.
pub type Identity = (String, String);

const OPTIONS: Options<'static> = Options {
    what: "the station ledger",
    mode: None,
    torn_hint: "",
};

/// An open ledger, locked for as long as it is open.
pub struct Ledger {
    log: AppendLog<Record>,
    verified: HashSet<Identity>,
    last: HashMap<Identity, Record>,
}

fn key(product_key: &str, device_name: &str) -> Identity {
    (product_key.to_owned(), device_name.to_owned())
}

impl Ledger {
    /// Opens (or creates) the ledger at `path` and locks it: a second
    /// process that opens the same ledger is refused (exit 2) until this one
    /// is dropped.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).at("creating the ledger's directory", dir)?;
        }
        let opened = AppendLog::<Record>::open(path, OPTIONS)?;
        let mut verified = HashSet::new();
        let mut last = HashMap::new();
        for r in opened.records {
            let id = key(&r.product_key, &r.device_name);
            if r.state == State::Verified {
                verified.insert(id.clone());
            }
            last.insert(id, r);
        }
        Ok(Ledger {
            log: opened.log,
            verified,
            last,
        })
    }

    /// Whether the identity is verified on some card.
    pub fn is_verified(&self, product_key: &str, device_name: &str) -> bool {
        self.verified.contains(&key(product_key, device_name))
    }

    /// The last record of an identity from earlier runs.
    pub fn last(&self, product_key: &str, device_name: &str) -> Option<&Record> {
        self.last.get(&key(product_key, device_name))
    }

    /// Appends a record and fsyncs it; then the crash point of its state
    /// (`station-ledger-after-assigned`, `-after-written`, `-after-verified`).
    pub fn append(&self, mut r: Record) -> Result<()> {
        r.time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.log.append(&r)?;
        match r.state {
            State::Assigned => burnline_io::crash_point!("station-ledger-after-assigned"),
            State::Written => burnline_io::crash_point!("station-ledger-after-written"),
            State::Verified => burnline_io::crash_point!("station-ledger-after-verified"),
            State::Failed => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pk: &str, dn: &str, state: State) -> Record {
        Record {
            device_name: dn.into(),
            product_key: pk.into(),
            target: "card".into(),
            state,
            image_digest: None,
            image_sha256: None,
            error: None,
            time: 0,
        }
    }

    #[test]
    fn identities_are_product_key_and_device_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        let l = Ledger::open(&path).expect("open");
        l.append(rec("a1X2bEnP82z", "gw-000001", State::Verified))
            .expect("append");
        l.append(rec("b2Y3cFoQ93A", "gw-000001", State::Assigned))
            .expect("append");
        drop(l);
        let l = Ledger::open(&path).expect("reopen");
        assert!(l.is_verified("a1X2bEnP82z", "gw-000001"));
        assert!(!l.is_verified("b2Y3cFoQ93A", "gw-000001"));
        assert_eq!(
            l.last("b2Y3cFoQ93A", "gw-000001").map(|r| r.state),
            Some(State::Assigned)
        );
        assert_eq!(
            l.last("a1X2bEnP82z", "gw-000001").map(|r| r.state),
            Some(State::Verified)
        );
    }

    /// A verified line from before `image_digest` (its SHA-256 as
    /// `image_sha256`) still reads as verified, its digest kept.
    #[test]
    fn an_old_sha256_line_still_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        let l = Ledger::open(&path).expect("open");
        let mut old = rec("a1X2bEnP82z", "gw-000001", State::Verified);
        old.image_sha256 = Some("ab".repeat(32));
        l.append(old).expect("append");
        drop(l);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("\"image_sha256\"") && !text.contains("image_digest"),
            "{text}"
        );
        let l = Ledger::open(&path).expect("reopen");
        assert!(l.is_verified("a1X2bEnP82z", "gw-000001"));
        let last = l.last("a1X2bEnP82z", "gw-000001").expect("its line");
        assert_eq!(last.image_sha256, Some("ab".repeat(32)));
        assert_eq!(last.image_digest, None);
    }

    #[test]
    fn a_damaged_verified_line_stops_instead_of_being_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        let l = Ledger::open(&path).expect("open");
        for s in [State::Assigned, State::Written, State::Verified] {
            l.append(rec("a1X2bEnP82z", "gw-000001", s))
                .expect("append");
        }
        l.append(rec("a1X2bEnP82z", "gw-000002", State::Assigned))
            .expect("append");
        drop(l);
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replacen("\"verified\"", "\"verif\u{0}ed\"", 1))
            .expect("corrupt");
        let e = Ledger::open(&path).err().expect("damaged");
        assert!(e.to_string().contains("1 problem"), "{e}");
        let burnline_image::error::Error::Invalid(p) = e else {
            unreachable!()
        };
        assert_eq!(p[0].location, format!("{}:3", path.display()));
    }
}
