//! Where a secret that a command takes (`register`'s ProductSecret,
//! `mqtt-credentials`' DeviceSecret) comes from. Given as the argument it
//! works, since the vendor's `tool_generate_3triple` takes it so, but every
//! local user can read it in `/proc/PID/cmdline` or `ps`, so a warning on
//! stderr says that. `-` reads it from standard input, the `…-file` option
//! from a file only its owner may read, and with neither it comes from an
//! environment variable. No message holds a byte of it.

use crate::cmdline::SecretValue;
use burnline_core::secret::Secret;
use burnline_image::error::{Error, Result};
use burnline_io::say;
use std::io::{IsTerminal, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// The most read from standard input or a file: a secret is at most 64
/// characters, on one line.
const MAX_BYTES: u64 = 4096;

/// How a command asks for one secret, for reading it and for its messages.
#[derive(Debug, Clone, Copy)]
pub struct SecretArg {
    /// What it is: `ProductSecret`.
    pub what: &'static str,
    /// The argument that takes it: `PS`, `--device-secret`.
    pub arg: &'static str,
    /// The option naming a file that holds it: `--product-secret-file`.
    pub file_option: &'static str,
    /// The environment variable read when neither is given.
    pub env: &'static str,
}

impl SecretArg {
    /// The secret, from `value` (the argument: `-` is standard input), from
    /// `file`, or else from the environment variable.
    pub fn read(&self, value: Option<&SecretValue>, file: Option<&Path>) -> Result<Secret> {
        match (value, file) {
            (Some(_), Some(_)) => Err(Error::Usage(format!(
                "{}: give {} or {}, not both",
                self.what, self.arg, self.file_option
            ))),
            (Some(SecretValue::Stdin), None) => self.read_stdin(),
            (Some(SecretValue::Given(v)), None) => {
                say!(
                    "burnline: warning: the {} given as {} is visible to every user of this machine \
                     (ps, /proc/PID/cmdline); give `-` and pipe it in, {} FILE, or set {}",
                    self.what, self.arg, self.file_option, self.env
                );
                Ok(v.clone())
            }
            (None, Some(path)) => self.read_file(path),
            (None, None) => match std::env::var(self.env) {
                Ok(v) => Ok(Secret::new(v)),
                Err(_) => Err(Error::Usage(format!(
                    "no {}: give {} (`-` reads it from standard input), {} FILE, or set {} \
                     (the variable is unset or not UTF-8)",
                    self.what, self.arg, self.file_option, self.env
                ))),
            },
        }
    }

    fn read_stdin(&self) -> Result<Secret> {
        let at = format!("{} `-` (standard input)", self.arg);
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Error::invalid(
                at,
                self.what,
                format!(
                    "standard input is a terminal; pipe the secret in, or give {} FILE or {}",
                    self.file_option, self.env
                ),
            ));
        }
        let bytes = read_bounded(stdin.lock())
            .map_err(|e| Error::invalid(&at, self.what, format!("cannot read it: {e}")))?;
        let secret = one_line(&bytes).map_err(|rule| Error::invalid(&at, self.what, rule))?;
        if secret.is_empty() {
            return Err(Error::invalid(
                at,
                self.what,
                format!(
                    "standard input held nothing; to read {}, leave {} out",
                    self.env, self.arg
                ),
            ));
        }
        Ok(secret)
    }

    fn read_file(&self, path: &Path) -> Result<Secret> {
        let at = path.display().to_string();
        let bad = |rule: String| Error::invalid(&at, self.file_option, rule);
        let f = burnline_io::source::open_regular(path)
            .map_err(|e| bad(format!("cannot read the {}: {e}", self.what)))?;
        let mode = f
            .metadata()
            .map_err(|e| bad(format!("cannot read the {}: {e}", self.what)))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "the {} file is readable by its group or others (mode {:o}); chmod 600 it",
                self.what,
                mode & 0o777
            )));
        }
        let bytes =
            read_bounded(f).map_err(|e| bad(format!("cannot read the {}: {e}", self.what)))?;
        one_line(&bytes).map_err(bad)
    }
}

/// Reads at most one byte more than [`MAX_BYTES`], into memory that is
/// wiped when dropped.
fn read_bounded(r: impl Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    r.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The secret of one line of text; its line ending is not part of it.
fn one_line(bytes: &[u8]) -> std::result::Result<Secret, String> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "more than {MAX_BYTES} bytes; it must hold the secret alone, on one line"
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    let line = text
        .strip_suffix('\n')
        .unwrap_or(text)
        .trim_end_matches('\r');
    if line.contains(['\n', '\r']) {
        return Err("more than one line; it must hold the secret alone, on one line".into());
    }
    Ok(Secret::new(line.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_its_line_ending_and_refuses_a_second_line() {
        for text in ["s3cr3t", "s3cr3t\n", "s3cr3t\r\n"] {
            let s = one_line(text.as_bytes()).expect("one line");
            assert_eq!(s.expose(), "s3cr3t");
        }
        let e = one_line(b"s3cr3t\nmore\n").expect_err("two lines");
        assert!(
            e.contains("more than one line") && !e.contains("s3cr3t"),
            "{e}"
        );
        assert!(one_line(&[b'a'; 4097]).is_err());
        assert!(one_line(&[0xff, 0xfe]).is_err());
    }
}
