//! The key that secrets are stored under: 32 random bytes, AES-256-GCM
//! (`ring::aead`, the AEAD of the TLS stack burnline already links). A
//! stored secret is `hex(nonce ‖ ciphertext ‖ tag)` with a fresh random
//! nonce, and its additional data binds it to its identity and kind, so a
//! ciphertext moved to another row does not decrypt. The pool keeps a
//! check value (a constant encrypted under the key) and the key's
//! fingerprint, so a wrong key file is refused at open, before anything is
//! read or written.
//!
//! The key file is one line, `burnline-pool-key-1 <64 hex digits>`, mode
//! 0600; one readable by group or others is refused.

use crate::error::{PoolError, Result};
use burnline_core::secret::Secret;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const MAGIC: &str = "burnline-pool-key-1";
const CHECK_PLAIN: &[u8] = b"burnline pool key check";
const CHECK_AAD: &[u8] = b"burnline-pool-v1\0key-check";

/// The pool key, loaded from its file.
pub struct PoolKey {
    key: LessSafeKey,
    fingerprint: String,
    path: PathBuf,
}

impl std::fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PoolKey({})", self.fingerprint)
    }
}

/// What a stored secret is.
#[derive(Debug, Clone, Copy)]
pub enum SecretKind {
    /// The DeviceSecret imported from the CSV (一机一密).
    Device,
    /// The DeviceSecret the platform issued at registration (一型一密).
    Issued,
}

fn aad(kind: SecretKind, product_key: &str, device_name: &str) -> Vec<u8> {
    let k = match kind {
        SecretKind::Device => "device",
        SecretKind::Issued => "issued",
    };
    format!("burnline-pool-v1\0{k}\0{product_key}\0{device_name}").into_bytes()
}

fn key_error(path: &Path, why: impl std::fmt::Display) -> PoolError {
    PoolError::KeyFile(format!("key file {}: {why}", path.display()))
}

impl PoolKey {
    /// Loads the key from `path`, refusing a file others can read.
    pub fn load(path: &Path) -> Result<PoolKey> {
        let meta = std::fs::metadata(path).map_err(|e| key_error(path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(key_error(
                path,
                format!(
                    "mode {:04o} lets others read it; it must be 0600 (chmod 600)",
                    meta.permissions().mode() & 0o7777
                ),
            ));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| key_error(path, e))?);
        let mut parts = text.split_whitespace();
        let (Some(MAGIC), Some(hex_key), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(key_error(
                path,
                format!("not a pool key (one line `{MAGIC} <64 hex digits>`)"),
            ));
        };
        let bytes = Zeroizing::new(
            hex::decode(hex_key)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| key_error(path, "the key is not 64 hex digits"))?,
        );
        Self::from_bytes(&bytes, path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<PoolKey> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| key_error(path, "unusable key"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        Ok(PoolKey {
            key: LessSafeKey::new(unbound),
            fingerprint: hex::encode(&digest.as_ref()[..8]),
            path: path.to_path_buf(),
        })
    }

    /// Makes a new random key at `path` (mode 0600): written to a temp
    /// file, fsynced, linked to its name only if nothing is there (so an
    /// existing key is never replaced), the directory fsynced.
    pub fn create(path: &Path) -> Result<PoolKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *bytes).map_err(|e| key_error(path, e))?;
        let line = Zeroizing::new(format!("{MAGIC} {}\n", hex::encode(*bytes)));
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(line.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        written.map_err(|e| key_error(path, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| key_error(path, e))?;
        Self::from_bytes(&*bytes, path)
    }

    /// The key's fingerprint (first 8 bytes of its SHA-256, hex): not secret.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| PoolError::Other(format!("random nonce: {e}")))?;
        let mut buf = Zeroizing::new(plain.to_vec());
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut *buf,
            )
            .map_err(|_| PoolError::Other("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(hex::encode(out))
    }

    fn open(&self, sealed: &str, aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let raw = hex::decode(sealed).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&raw[..NONCE_LEN]).ok()?;
        let mut buf = Zeroizing::new(raw[NONCE_LEN..].to_vec());
        let n = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .ok()?
            .len();
        buf.truncate(n);
        Some(buf)
    }

    /// A secret encrypted for the row of (`product_key`, `device_name`).
    pub fn encrypt(
        &self,
        kind: SecretKind,
        product_key: &str,
        device_name: &str,
        secret: &Secret,
    ) -> Result<String> {
        self.seal(
            secret.expose().as_bytes(),
            &aad(kind, product_key, device_name),
        )
    }

    /// The secret stored for (`product_key`, `device_name`).
    pub fn decrypt(
        &self,
        kind: SecretKind,
        product_key: &str,
        device_name: &str,
        sealed: &str,
    ) -> Result<Secret> {
        let plain = self
            .open(sealed, &aad(kind, product_key, device_name))
            .ok_or_else(|| {
                PoolError::Damaged(format!(
                    "{product_key}/{device_name}: its stored secret does not decrypt with key {} (a damaged or moved row)",
                    self.fingerprint
                ))
            })?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| {
            PoolError::Damaged(format!(
                "{product_key}/{device_name}: its stored secret is not text"
            ))
        })?;
        Ok(Secret::new(text))
    }

    /// The check value the pool stores.
    pub fn check_value(&self) -> Result<String> {
        self.seal(CHECK_PLAIN, CHECK_AAD)
    }

    /// Whether `check` was made with this key.
    pub fn matches(&self, check: &str) -> bool {
        self.open(check, CHECK_AAD)
            .is_some_and(|p| p.as_slice() == CHECK_PLAIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let dir = tempfile::tempdir().unwrap();
        let k = PoolKey::create(&dir.path().join("k")).unwrap();
        let s = Secret::from("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe");
        let sealed = k.encrypt(SecretKind::Device, "pk", "dn", &s).unwrap();
        assert!(!sealed.contains("ga7XA6"));
        assert_eq!(
            k.decrypt(SecretKind::Device, "pk", "dn", &sealed).unwrap(),
            s
        );
        assert!(k
            .decrypt(SecretKind::Device, "pk", "other", &sealed)
            .is_err());
        assert!(k.decrypt(SecretKind::Issued, "pk", "dn", &sealed).is_err());
        let again = PoolKey::load(&dir.path().join("k")).unwrap();
        assert!(again.matches(&k.check_value().unwrap()));
        let other = PoolKey::create(&dir.path().join("k2")).unwrap();
        assert!(!other.matches(&k.check_value().unwrap()));
        let mode = std::fs::metadata(dir.path().join("k"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn refuses_a_readable_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        PoolKey::create(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = PoolKey::load(&p).unwrap_err().to_string();
        assert!(e.contains("0644"), "{e}");
    }
}
