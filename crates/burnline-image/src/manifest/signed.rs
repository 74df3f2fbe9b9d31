//! A signed output directory: `manifest.json.minisig` over the manifest
//! and `SHA256SUMS.minisig` (or `B3SUMS.minisig`) over the checksum list,
//! both by one key, and the list naming exactly what the manifest lists.
//! `verify --pubkey` and `manifest merge --require-signed` check this
//! before they hash anything or trust a field of the manifest.

use super::{Manifest, MANIFEST};
use crate::error::{Error, Result};
use crate::signing::verify::VerifyingKey;
use burnline_io::hash::DigestKind;
use std::fmt::Write;
use std::path::Path;

/// Checks both signatures in `dir` and that the checksum list agrees with
/// the manifest, which it returns.
pub fn read_verified(dir: &Path, key: &VerifyingKey) -> Result<Manifest> {
    key.verify_file(&dir.join(MANIFEST))?;
    let m = Manifest::read(dir)?;
    let kind = m
        .digest_kinds()
        .first()
        .copied()
        .unwrap_or(DigestKind::Sha256);
    let sums = dir.join(kind.sums_file());
    key.verify_file(&sums)?;
    let listed = std::fs::read(&sums)
        .map_err(|e| Error::invalid(sums.display().to_string(), "", format!("cannot read: {e}")))?;
    if listed != expected_sums(&m).into_bytes() {
        return Err(Error::invalid(
            sums.display().to_string(),
            "",
            format!("signed, but it does not list what the signed {MANIFEST} lists"),
        ));
    }
    Ok(m)
}

/// The checksum list a manifest's writer writes for it.
fn expected_sums(m: &Manifest) -> String {
    let mut s = String::new();
    let mut line = |hex: &str, file: &str| {
        let _ = writeln!(s, "{hex}  {file}");
    };
    for f in m.header.files() {
        line(f.sum.hex(), &f.file);
    }
    for e in &m.devices {
        line(e.sum.hex(), &e.file);
        for f in &e.artifacts.extra_files {
            line(f.sum.hex(), &f.file);
        }
    }
    s
}
