//! Where the device CSV comes from: a plain file, or a file encrypted at
//! rest with age (X25519), which is decrypted while it is streamed. The
//! plaintext only ever exists in the reader's buffers: no temp file, no
//! copy on disk. An encrypted list is told by its content (age's header
//! line), not by its name; a `.age` file that is not one is refused.
//!
//! The identity comes from `--identity FILE` or, without it, the file named
//! by `BURNLINE_AGE_IDENTITY`. Since it opens every DeviceSecret of the
//! list, an identity file that its group or others may read is refused
//! (as ssh refuses such a private key). A wrong identity, a file for
//! another recipient, a damaged header: one line naming the file, exit 2;
//! a truncated or altered body is found while reading (age authenticates
//! every 64 KiB chunk and marks the last) and reported at the CSV line
//! reached, also exit 2.

use crate::error::{Error, Result};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable naming the identity file when `--identity` is
/// not given.
pub const IDENTITY_ENV: &str = "BURNLINE_AGE_IDENTITY";

/// The first bytes of every (binary) age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// The first bytes of an ASCII-armored age file (not read: give the binary).
const ARMOR_MAGIC: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// The device CSV to read, and the age identity to decrypt it with.
#[derive(Debug, Clone, Default)]
pub struct DeviceList {
    /// The file: a CSV, or an age file holding one.
    pub path: PathBuf,
    /// The identity file (`--identity`, or `BURNLINE_AGE_IDENTITY`).
    pub identity: Option<PathBuf>,
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.display().fmt(f)
    }
}

impl DeviceList {
    /// `path`, with the identity from `--identity` or, without it, from
    /// [`IDENTITY_ENV`].
    pub fn new(path: &Path, identity: Option<&Path>) -> Self {
        let identity = identity
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(IDENTITY_ENV).map(PathBuf::from));
        DeviceList {
            path: path.to_path_buf(),
            identity,
        }
    }

    /// Opens the list for reading: the file itself, or its plaintext as it
    /// is decrypted.
    pub fn open(&self) -> Result<Box<dyn Read + Send>> {
        let at = self.to_string();
        let file = File::open(&self.path)
            .map_err(|e| Error::invalid(&at, "", format!("cannot read the device CSV: {e}")))?;
        let mut input = BufReader::new(file);
        let head = input
            .fill_buf()
            .map_err(|e| Error::invalid(&at, "", format!("cannot read the device CSV: {e}")))?;
        if head.starts_with(ARMOR_MAGIC) {
            return Err(Error::invalid(
                &at,
                "",
                "an ASCII-armored age file; give the binary one (`age -e` without `-a`)",
            ));
        }
        if !head.starts_with(AGE_MAGIC) {
            if self.path.extension().is_some_and(|e| e == "age") {
                return Err(Error::invalid(
                    &at,
                    "",
                    "named .age but not an age file (no age-encryption.org header)",
                ));
            }
            return Ok(Box::new(input));
        }
        let Some(identity_path) = &self.identity else {
            return Err(Error::invalid(
                &at,
                "",
                format!(
                    "the device list is encrypted (age); give --identity FILE or set {IDENTITY_ENV}"
                ),
            ));
        };
        let identities = read_identities(identity_path)?;
        let decryptor = age::Decryptor::new_buffered(input).map_err(|e| {
            Error::invalid(
                &at,
                "",
                format!("not a readable age file (header damaged or truncated): {e}"),
            )
        })?;
        let stream = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => Error::invalid(
                    &at,
                    "",
                    format!(
                        "encrypted for another recipient: no identity in {} opens it",
                        identity_path.display()
                    ),
                ),
                other => Error::invalid(&at, "", format!("cannot decrypt: {other}")),
            })?;
        Ok(Box::new(Decrypting(stream)))
    }
}

impl DeviceList {
    /// The SHA-256 of the plaintext, streamed (the resume fingerprint: an
    /// encrypted list is fingerprinted by what it holds, so encrypting the
    /// same CSV again resumes the same run). The list is never held whole.
    pub fn digest(&self) -> Result<[u8; 32]> {
        use sha2::{Digest, Sha256};
        let mut input = self.open()?;
        let mut hash = Sha256::new();
        let mut buf = Zeroizing::new(vec![0u8; 64 << 10]);
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hash.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::invalid(
                        self.to_string(),
                        "",
                        format!("cannot read the device CSV: {e}"),
                    ))
                }
            }
        }
        Ok(hash.finalize().into())
    }
}

/// Reads the X25519 identities of an age identity file (`age-keygen`'s
/// output), refusing one its group or others may read.
fn read_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let at = path.display().to_string();
    let bad = |rule: String| Error::invalid(&at, "--identity", rule);
    let file = File::open(path).map_err(|e| bad(format!("cannot read the age identity: {e}")))?;
    let mode = file
        .metadata()
        .map_err(|e| bad(format!("cannot read the age identity: {e}")))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "the age identity is readable by its group or others (mode {:o}); chmod 600 it",
            mode & 0o777
        )));
    }
    let identities = age::IdentityFile::from_buffer(BufReader::new(file))
        .map_err(|e| bad(format!("not an age identity file: {e}")))?
        .into_identities()
        .map_err(|e| bad(format!("not an age identity file: {e}")))?;
    if identities.is_empty() {
        return Err(bad("no identity in the file (age-keygen writes one)".into()));
    }
    Ok(identities)
}

/// The decrypted stream, whose read errors say what they mean.
struct Decrypting<R>(R);

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("the encrypted device list is truncated or damaged ({e})"),
            )
        })
    }
}
