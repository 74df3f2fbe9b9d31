//! Where `platform create` puts what it created, never as plaintext on
//! disk: the certificates straight into the identity pool (each
//! DeviceSecret encrypted under the pool's key, as `pool import` does), or
//! into an age-encrypted CSV (`DeviceName,DeviceSecret,ProductKey`, the
//! console's certificate download, encrypted in memory and written
//! crash-safe); or, for a 一型一密 product, the DeviceName CSV its recipe
//! takes (`DeviceName,ProductKey`: no secret in it).

use super::api::Issued;
use super::error::PlatformError;
use crate::error::Result;
use burnline_pool::pool::NewIdentity;
use burnline_pool::{Kind, Pool, PoolUrl};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the certificates go.
pub enum Sink {
    /// The identity pool, with its key file.
    Pool {
        /// The pool.
        url: PoolUrl,
        /// Its key file.
        key_file: PathBuf,
    },
    /// An age file, for these recipients.
    Age {
        /// The file.
        out: PathBuf,
        /// Who can open it.
        recipients: Vec<age::x25519::Recipient>,
    },
}

/// Parses `--recipient` values (`age1…`).
pub fn recipients(values: &[String]) -> Result<Vec<age::x25519::Recipient>> {
    values
        .iter()
        .map(|v| {
            v.parse::<age::x25519::Recipient>().map_err(|e| {
                PlatformError::Input(format!("--recipient {v}: not an age X25519 recipient: {e}"))
            })
        })
        .collect()
}

/// Stores `issued` of `product_key`; says what it did, in one line.
pub fn store(sink: &Sink, product_key: &str, issued: Vec<Issued>) -> Result<String> {
    match sink {
        Sink::Pool { url, key_file } => {
            let pool = Pool::open(url, Some(key_file))?;
            let rows: Vec<NewIdentity> = issued
                .into_iter()
                .map(|i| NewIdentity {
                    product_key: product_key.to_owned(),
                    device_name: i.device_name,
                    device_secret: Some(i.device_secret),
                })
                .collect();
            let r = pool.import(&rows, Kind::with_secret(true)).map_err(|e| match e {
                burnline_pool::PoolError::Conflicts(idx) => PlatformError::Input(format!(
                    "{url}: {} of the created devices are already in the pool with another DeviceSecret (first: {}); nothing was imported",
                    idx.len(),
                    idx.first().and_then(|i| rows.get(*i)).map_or("", |r| r.device_name.as_str())
                )),
                other => PlatformError::from(other),
            })?;
            Ok(format!(
                "{url}: {} identit(ies) added, {} already in the pool",
                r.added, r.already
            ))
        }
        Sink::Age { out, recipients } => {
            let mut plain = Zeroizing::new(String::from("DeviceName,DeviceSecret,ProductKey\n"));
            for i in &issued {
                // Both follow the identity rules: no comma, quote or newline.
                plain.push_str(&i.device_name);
                plain.push(',');
                plain.push_str(i.device_secret.expose());
                plain.push(',');
                plain.push_str(product_key);
                plain.push('\n');
            }
            let sealed = encrypt(recipients, plain.as_bytes(), out)?;
            burnline_io::atomic::write_file(out, &sealed)?;
            Ok(format!(
                "{}: {} certificate(s), age-encrypted",
                out.display(),
                issued.len()
            ))
        }
    }
}

fn encrypt(recipients: &[age::x25519::Recipient], plain: &[u8], out: &Path) -> Result<Vec<u8>> {
    let fail = |e: String| {
        PlatformError::Io(burnline_io::Error {
            context: format!("encrypting {}", out.display()),
            source: std::io::Error::other(e),
        })
    };
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| fail(e.to_string()))?;
    let mut sealed = Vec::new();
    let mut w = encryptor
        .wrap_output(&mut sealed)
        .map_err(|e| fail(e.to_string()))?;
    w.write_all(plain).map_err(|e| fail(e.to_string()))?;
    w.finish().map_err(|e| fail(e.to_string()))?;
    Ok(sealed)
}

/// Writes the DeviceName CSV of a 一型一密 batch (no secret), crash-safe.
pub fn write_names(out: &Path, product_key: &str, names: &[String]) -> Result<String> {
    let mut csv = String::from("DeviceName,ProductKey\n");
    for n in names {
        csv.push_str(n);
        csv.push(',');
        csv.push_str(product_key);
        csv.push('\n');
    }
    burnline_io::atomic::write_file(out, csv.as_bytes())?;
    Ok(format!("{}: {} DeviceName(s)", out.display(), names.len()))
}
