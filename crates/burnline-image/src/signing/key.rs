//! A minisign secret key, loaded for signing. The minisign crate reads the
//! key file (`minisign -G`'s format) and decrypts it with its password
//! (scrypt, checked against the key's checksum, so a wrong password is
//! told apart); a key made with `minisign -G -W` needs none. The password
//! comes from `--sign-password-file FILE` or the environment variable
//! `BURNLINE_SIGN_PASSWORD`, never from the command line. Every failure is
//! one line naming the key file, exit 2, and nothing is built.

use crate::error::{Error, IoContext, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ct_codecs::{Base64, Decoder, Encoder};
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable holding the secret key's password.
pub const PASSWORD_ENV: &str = "BURNLINE_SIGN_PASSWORD";

/// The largest key or password file read (a minisign key is about 350 bytes).
const MAX_FILE: u64 = 4096;

/// Where minisign's serialized secret key keeps its key ID and Ed25519 key:
/// algorithm (2), KDF (2), checksum algorithm (2), salt (32), opslimit (8),
/// memlimit (8), then the key ID (8) and the 64-byte secret key (seed, then
/// public key).
const KEYNUM_AT: usize = 54;
const SK_AT: usize = KEYNUM_AT + 8;

/// A secret key, ready to sign. Its key bytes are wiped when dropped.
pub struct SigningKey {
    path: PathBuf,
    keynum: [u8; 8],
    pair: Ed25519KeyPair,
    public: minisign::PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("path", &self.path)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Reads a small file whole, into memory that is wiped when dropped.
fn read_small(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let at = path.display().to_string();
    let f = std::fs::File::open(path)
        .map_err(|e| Error::invalid(&at, "", format!("cannot read the {what}: {e}")))?;
    let mut bytes = Zeroizing::new(Vec::new());
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .at(&format!("reading the {what}"), path)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::invalid(
            &at,
            "",
            format!("the {what} is larger than {MAX_FILE} bytes"),
        ));
    }
    Ok(bytes)
}

impl SigningKey {
    /// Loads the minisign secret key at `path`, decrypting it with the
    /// password from `password_file` or [`PASSWORD_ENV`] when it has one.
    pub fn load(path: &Path, password_file: Option<&Path>) -> Result<Self> {
        let at = path.display().to_string();
        let bad = |rule: String| Error::invalid(&at, "--sign", rule);
        let password: Option<Zeroizing<String>> = match password_file {
            Some(p) => {
                let bytes = read_small(p, "password file")?;
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    Error::invalid(p.display().to_string(), "", "the password is not UTF-8")
                })?;
                // One line; its newline is not part of the password.
                Some(Zeroizing::new(
                    text.strip_suffix('\n').unwrap_or(text).to_owned(),
                ))
            }
            None => std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new),
        };
        let bytes = read_small(path, "minisign secret key")?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("not a minisign secret key (not text)".into()))?;
        let raw = decode(text).ok_or_else(|| bad("not a minisign secret key".into()))?;
        let sk = if raw[2..4] == [0, 0] {
            // A key made with -W. minisign 0.11 writes its checksum as
            // zeros, which the minisign crate takes for corruption: the key
            // is read as it is, and checked by its checksum when it has one
            // and by its two halves (below).
            let sk = minisign::SecretKey::from_bytes(&raw)
                .map_err(|e| bad(format!("not a minisign secret key: {e}")))?;
            let chk = &raw[SK_AT + 64..];
            if chk.iter().any(|&b| b != 0) {
                let mut h = Blake2b::<U32>::new();
                h.update(&raw[..2]);
                h.update(&raw[KEYNUM_AT..SK_AT + 64]);
                if h.finalize().as_slice() != chk {
                    return Err(bad("the minisign secret key is corrupted (checksum)".into()));
                }
            }
            sk
        } else {
            let Some(pw) = &password else {
                return Err(bad(format!(
                    "the minisign secret key is password-protected; give its password in \
                     {PASSWORD_ENV} or with --sign-password-file"
                )));
            };
            let sk_box = minisign::SecretKeyBox::from_string(text)
                .map_err(|e| bad(format!("not a minisign secret key: {e}")))?;
            sk_box.into_secret_key(Some(pw.to_string())).map_err(|e| {
                bad(match e.kind() {
                    minisign::ErrorKind::Verify => {
                        "wrong password for the minisign secret key, or the key is corrupted".into()
                    }
                    _ => format!("not a usable minisign secret key: {e}"),
                })
            })?
        };
        let raw = Zeroizing::new(sk.to_bytes());
        let (Some(keynum), Some(sk64)) = (raw.get(KEYNUM_AT..SK_AT), raw.get(SK_AT..SK_AT + 64))
        else {
            return Err(bad("not a minisign secret key (too short)".into()));
        };
        let pair =
            Ed25519KeyPair::from_seed_and_public_key(&sk64[..32], &sk64[32..]).map_err(|_| {
                bad("the minisign secret key is corrupted (its halves disagree)".into())
            })?;
        let public = minisign::PublicKey::from_secret_key(&sk)
            .map_err(|e| bad(format!("not a usable minisign secret key: {e}")))?;
        let mut id = [0u8; 8];
        id.copy_from_slice(keynum);
        if public.to_bytes().get(2..10) != Some(&id[..])
            || pair.public_key().as_ref() != &sk64[32..]
        {
            return Err(bad("the minisign secret key is corrupted".into()));
        }
        Ok(SigningKey {
            path: path.to_path_buf(),
            keynum: id,
            pair,
            public,
        })
    }

    /// The key ID as minisign prints it (upper-case hex of the
    /// little-endian number).
    pub fn key_id(&self) -> String {
        key_id(&self.keynum)
    }

    /// Signs the file at `path` with `trusted_comment`, returning the
    /// `.minisig` text (checked by the minisign crate before it is returned).
    pub fn sign_file(&self, path: &Path, trusted_comment: &str) -> Result<String> {
        let file = std::fs::File::open(path).at("reading", path)?;
        let mut h = Blake2b512::new();
        std::io::copy(&mut std::io::BufReader::new(&file), &mut h).at("reading", path)?;
        let text = self.sign_prehash(&h.finalize(), trusted_comment);
        // Read back by minisign's own parser and verifier.
        let checked = minisign::SignatureBox::from_string(&text).and_then(|b| {
            let f = std::fs::File::open(path)?;
            minisign::verify(&self.public, &b, f, true, false, false)
        });
        checked.map_err(|e| Error::Io {
            context: format!("signing {}", path.display()),
            source: std::io::Error::other(format!("the new signature does not verify: {e}")),
        })?;
        Ok(text)
    }

    /// The `.minisig` text for a BLAKE2b-512 prehash (algorithm `ED`).
    fn sign_prehash(&self, prehash: &[u8], trusted_comment: &str) -> String {
        let sig = self.pair.sign(prehash);
        let mut blob = Vec::with_capacity(74);
        blob.extend_from_slice(b"ED");
        blob.extend_from_slice(&self.keynum);
        blob.extend_from_slice(sig.as_ref());
        let mut global = sig.as_ref().to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        let global = self.pair.sign(&global);
        let b64 = |b: &[u8]| Base64::encode_to_string(b).unwrap_or_default();
        format!(
            "untrusted comment: signature from burnline, minisign key {}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
            self.key_id(),
            b64(&blob),
            b64(global.as_ref())
        )
    }
}

/// The bytes of a secret key file's key line (its second), when it has
/// the length and algorithm of a minisign Ed25519 key.
fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let line = text.lines().nth(1)?.trim();
    let raw = Zeroizing::new(Base64::decode_to_vec(line, None).ok()?);
    (raw.len() == SK_AT + 64 + 32 && raw[..2] == *b"Ed").then_some(raw)
}

/// A key ID as minisign prints it.
pub fn key_id(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}
