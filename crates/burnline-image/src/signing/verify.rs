//! Checks a `.minisig` against a minisign public key (`minisign.pub`, as
//! `minisign -G` writes it), with the minisign crate: the signature over the
//! file and the one over its trusted comment, which must name the file.
//! Legacy (non-prehashed) signatures are refused, as `minisign -V` does by
//! default. A key that cannot be read, a missing or unreadable signature,
//! one by another key or one that does not match: one line naming the
//! file, exit 2.

use super::key::key_id;
use super::{sig_path, trusted_comment};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most of a signature file read (burnline's are about 300 bytes; a
/// longer trusted comment is not one of burnline's).
const MAX_SIG: u64 = 16 * 1024;

/// A public key, ready to verify.
#[derive(Debug)]
pub struct VerifyingKey {
    path: PathBuf,
    key: minisign::PublicKey,
}

impl VerifyingKey {
    /// Loads the minisign public key file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(&at, "--pubkey", format!("cannot read the public key: {e}"))
        })?;
        let key = minisign::PublicKeyBox::from_string(&text)
            .and_then(|b| b.into_public_key())
            .map_err(|e| {
                Error::invalid(&at, "--pubkey", format!("not a minisign public key: {e}"))
            })?;
        Ok(VerifyingKey {
            path: path.to_path_buf(),
            key,
        })
    }

    /// Checks `path.minisig` over `path`, whose trusted comment must name
    /// the file as burnline signs it.
    pub fn verify_file(&self, path: &Path) -> Result<()> {
        let sig = sig_path(path);
        let at = sig.display().to_string();
        let bad = |rule: String| Error::invalid(&at, "", rule);
        let mut text = String::new();
        std::fs::File::open(&sig)
            .and_then(|f| f.take(MAX_SIG).read_to_string(&mut text))
            .map_err(|e| bad(format!("cannot read the signature: {e}")))?;
        let sbox = minisign::SignatureBox::from_string(&text)
            .map_err(|e| bad(format!("not a minisign signature: {e}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if sbox.keynum() != self.key.keynum() {
            return Err(bad(format!(
                "signed by another key (key ID {}; {} is key ID {})",
                key_id(sbox.keynum()),
                self.path.display(),
                key_id(self.key.keynum())
            )));
        }
        let data = std::fs::File::open(path)
            .map_err(|e| bad(format!("cannot read {name}, which it signs: {e}")))?;
        minisign::verify(&self.key, &sbox, data, true, false, false)
            .map_err(|e| bad(format!("the signature does not match {name} ({e})")))?;
        let comment = sbox.trusted_comment().unwrap_or_default();
        if comment != trusted_comment(&name) {
            return Err(bad(format!(
                "the signature is valid but its trusted comment is not `{}` (a signature of another file?)",
                trusted_comment(&name)
            )));
        }
        Ok(())
    }
}
