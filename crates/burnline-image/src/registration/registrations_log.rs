//! `registrations.jsonl`: every DeviceSecret the platform issued to this
//! output directory, one JSON object a line (`product_key`, `device_name`,
//! `device_secret`), keyed by (ProductKey, DeviceName). The platform hands a
//! secret out only once, so a line is appended and fsynced BEFORE the secret
//! is used for anything; a rerun reads the file and never asks the platform
//! again for a device it holds. The file has mode 0600 since it holds
//! secrets.
//!
//! It is a [`crate::append_log`], with that module's one rule: a torn
//! last line (a run killed while appending) is cut off with a warning (the
//! secret in it was never used); any other unreadable line stops the run
//! with the file and line (exit 2) and is never skipped. The log is locked
//! while open. The crash point `registration-ledger-after-append` fires
//! right after each durable append.

use crate::append_log::{AppendLog, Options};
use crate::error::Result;
use burnline_core::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The ledger's file name in the output directory.
pub const FILE_NAME: &str = "registrations.jsonl";

const OPTIONS: Options<'static> = Options {
    what: "the registration ledger",
    mode: Some(0o600),
    torn_hint:
        "; if that device shows as activated in the console, delete it there and build again",
};

/// One line: an issued secret.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registered {
    product_key: String,
    device_name: String,
    #[serde(with = "secret_text")]
    device_secret: Secret,
}

/// A [`Secret`] as a JSON string, for this file only.
mod secret_text {
    use burnline_core::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        String::deserialize(de).map(Secret::new)
    }
}

/// The ledger of one output directory, open for appending.
pub struct Ledger {
    log: AppendLog<Registered>,
    entries: HashMap<(String, String), Secret>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.log.path())
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` and reads what it holds.
    pub fn open(dir: &Path) -> Result<Self> {
        let opened = AppendLog::open(&dir.join(FILE_NAME), OPTIONS)?;
        let entries = opened
            .records
            .into_iter()
            .map(|r: Registered| ((r.product_key, r.device_name), r.device_secret))
            .collect();
        Ok(Ledger {
            log: opened.log,
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
        self.log.append(&Registered {
            product_key: product_key.to_owned(),
            device_name: device_name.to_owned(),
            device_secret: secret.clone(),
        })?;
        burnline_io::crash_point!("registration-ledger-after-append");
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
    use crate::error::Error;
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

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

    #[test]
    fn keyed_by_product_key_and_device_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut l = Ledger::open(dir.path()).expect("open");
        l.append("a1X2bEnP82z", "gw-000001", &Secret::from("sA"))
            .expect("append");
        l.append("b2Y3cFoQ93A", "gw-000001", &Secret::from("sB"))
            .expect("append");
        drop(l);
        let l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(l.len(), 2);
        assert_eq!(
            l.get("a1X2bEnP82z", "gw-000001").map(Secret::expose),
            Some("sA")
        );
        assert_eq!(
            l.get("b2Y3cFoQ93A", "gw-000001").map(Secret::expose),
            Some("sB")
        );
    }
}
