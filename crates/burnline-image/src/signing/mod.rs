//! Minisign signatures over what burnline publishes: `SHA256SUMS` (or
//! `B3SUMS`) and `manifest.json` of a build or a merge, and the signed head
//! of a ledger (`crate::log_audit`). [`key`] loads a minisign secret key (its
//! password from `BURNLINE_SIGN_PASSWORD` or a file, never the command
//! line) and signs; [`verify`] checks a `.minisig` against a public key.
//!
//! Signatures are reproducible: Ed25519 (RFC 8032) is deterministic, so
//! burnline signs with ring's Ed25519 over minisign's BLAKE2b-512 prehash
//! (the `ED` algorithm `minisign -V` expects by default), and its trusted
//! comment names the signed file only, with no time in it. (The minisign
//! crate's own `sign` adds random noise to every signature, which would
//! make two builds of the same inputs differ.) Every signature written is
//! read back and checked by the minisign crate before it is put in place.

pub mod key;
pub mod verify;

use crate::error::Result;
use burnline_io::atomic;
use std::path::{Path, PathBuf};

/// The suffix of a signature file: `SHA256SUMS.minisig`.
pub const SIG_SUFFIX: &str = ".minisig";

/// `path` with [`SIG_SUFFIX`] added.
pub fn sig_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(SIG_SUFFIX);
    PathBuf::from(s)
}

/// The trusted comment of the signature of a file named `name`.
pub fn trusted_comment(name: &str) -> String {
    format!("file:{name}")
}

/// Signs `dir/name` (which must be final and durable) into
/// `dir/name.minisig`, crash-safely: temp file, fsync, rename, fsync the
/// directory.
pub fn sign_file(key: &key::SigningKey, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(name);
    let text = key.sign_file(&path, &trusted_comment(name))?;
    Ok(atomic::write_file(&sig_path(&path), text.as_bytes())?)
}
