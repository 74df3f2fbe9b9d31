//! The small file that lets an interrupted `platform create` resume by its
//! ApplyId: written (crash-safe: temp, fsync, rename, fsync dir; mode
//! 0600, though it holds no secret) as soon as the platform gives the
//! ApplyId, and again before and after each step that creates something.
//! A rerun with the same product and names reads it and goes on from the
//! step it records, so no application is made twice; the platform itself
//! refuses a DeviceName that exists, so a lost journal cannot create a
//! device twice either.

use super::error::PlatformError;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The names were handed in; the ApplyId is known.
    Checked,
    /// `BatchRegisterDeviceWithApplyId` was sent (maybe not received).
    Registering,
    /// The platform accepted the registration.
    Registered,
    /// Every certificate was stored.
    Done,
}

/// One batch's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The product.
    pub product_key: String,
    /// SHA-256 (hex) of the DeviceNames, one per line, in order.
    pub names_sha256: String,
    /// How many names.
    pub count: usize,
    /// The platform's application ID.
    pub apply_id: i64,
    /// The step reached.
    pub phase: Phase,
}

/// SHA-256 (hex) of `names`, one per line.
pub fn digest(names: &[String]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for n in names {
        h.update(n.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The journal at `path`, if there is one.
pub fn load(path: &Path) -> Result<Option<Journal>> {
    let at = path.display();
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            PlatformError::Input(format!(
                "{at}: not a platform create journal ({})",
                burnline_core::parse_error::json(&e)
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PlatformError::Io(burnline_io::Error {
            context: format!("reading {at}"),
            source: e,
        })),
    }
}

/// Writes `journal` to `path`, crash-safe.
pub fn save(path: &Path, journal: &Journal) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(journal)
        .map_err(|e| PlatformError::Input(format!("{}: {e}", path.display())))?;
    bytes.push(b'\n');
    Ok(burnline_io::atomic::write_file(path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.json");
        assert_eq!(load(&path).expect("no file"), None);
        let j = Journal {
            product_key: "a1X2bEnP82z".into(),
            names_sha256: digest(&["gw-1".into(), "gw-2".into()]),
            count: 2,
            apply_id: 42,
            phase: Phase::Registering,
        };
        save(&path, &j).expect("saved");
        assert_eq!(load(&path).expect("read"), Some(j));
        assert_ne!(
            digest(&["gw-1".into(), "gw-2".into()]),
            digest(&["gw-2".into(), "gw-1".into()])
        );
        std::fs::write(&path, "{").expect("write");
        assert!(load(&path).is_err());
    }
}
