//! The ledgers checked from outside, read-only and without their lock (a
//! station may be appending): `burnline ledger verify` and `ledger sign`.
//! The same rules as [`crate::append_log`] reads by: every line links to
//! the one before it ([`burnline_io::chain`]), unchained lines may only lead,
//! a torn last line is only reported (the log cuts it when it next opens),
//! and any other damage is named by file and line (exit 2).
//!
//! A **signed head** covers what the chain cannot: lines cut off the end.
//! `ledger sign` writes `FILE.head`, one JSON object naming the log, its
//! number of complete lines, the SHA-256 of the last of them and the
//! SHA-256 of those lines' bytes (which also covers leading unchained
//! lines), and signs it into `FILE.head.minisig`. A head is checked against
//! the log as it is now: the lines it covers must be there unchanged; lines
//! appended since are reported as not covered by it.

use crate::error::{Error, Result};
use crate::signing::key::SigningKey;
use crate::signing::verify::VerifyingKey;
use crate::signing::{sig_path, sign_file};
use burnline_io::chain::{self, Walker};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The suffix of a log's head file.
pub const HEAD_SUFFIX: &str = ".head";

/// What a log's head records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The log's file name.
    pub log: String,
    /// Its complete lines when the head was made.
    pub lines: u64,
    /// The SHA-256 of the last of them (hex; zeros for an empty log).
    pub last: String,
    /// The SHA-256 of those lines' bytes, newlines included (hex).
    pub sha256: String,
}

/// What reading a log found.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Complete lines (a torn last line not counted).
    pub lines: u64,
    /// How many of the first lines carry no chain link.
    pub unchained: u64,
    /// The line number of a torn last line, if there is one.
    pub torn: Option<u64>,
    /// The head these lines make.
    pub head: Head,
    /// The head made of the first `lines` lines of a head asked for.
    pub at: Option<Head>,
}

/// `FILE.head`.
pub fn head_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(HEAD_SUFFIX);
    PathBuf::from(s)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads the log at `path`; `head_lines` asks for the head of its first
/// lines too (to compare with a signed head).
pub fn audit(path: &Path, head_lines: Option<u64>) -> Result<Audit> {
    let at = path.display().to_string();
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| Error::invalid(&at, "", format!("cannot read: {e}")))?,
    );
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&[u8]> = bytes[..complete].split(|&b| b == b'\n').collect();
    lines.pop();
    let tail = complete < bytes.len();
    let mut walker = Walker::default();
    let mut end = 0usize;
    let mut prefix = Sha256::new();
    let name = file_name(path);
    let make = |lines: u64, last: [u8; 32], prefix: &Sha256| Head {
        log: name.clone(),
        lines,
        last: hex::encode(last),
        sha256: hex::encode(prefix.clone().finalize()),
    };
    let mut at_head = (head_lines == Some(0)).then(|| make(0, chain::GENESIS, &prefix));
    let mut torn = tail.then_some(lines.len() as u64 + 1);
    for (i, line) in lines.iter().enumerate() {
        let number = i as u64 + 1;
        let last = i + 1 == lines.len();
        let whole_json = serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
        if !whole_json && last && !tail {
            torn = Some(number);
            break;
        }
        let damaged = |rule: String| Error::invalid(format!("{at}:{number}"), "", rule);
        let body = walker.step(line).map_err(|b| damaged(b.describe(number)))?;
        if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body).is_err() {
            return Err(damaged(
                "not a JSON object (not a line of a burnline log)".into(),
            ));
        }
        end += line.len() + 1;
        prefix.update(&bytes[end - line.len() - 1..end]);
        if head_lines == Some(number) {
            at_head = Some(make(number, walker.last(), &prefix));
        }
    }
    Ok(Audit {
        lines: walker.lines,
        unchained: walker.unchained,
        torn,
        head: make(walker.lines, walker.last(), &prefix),
        at: at_head,
    })
}

/// `ledger sign`: checks the log, then writes and signs its head, crash-
/// safely (the old signature goes first, so no signature ever sits next to
/// a head it does not sign).
pub fn sign(path: &Path, key: &SigningKey) -> Result<Audit> {
    let audit = audit(path, None)?;
    let head = head_path(path);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let sig = sig_path(&head);
    match std::fs::remove_file(&sig) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io {
                context: format!("removing {}", sig.display()),
                source: e,
            })
        }
        _ => {}
    }
    let mut text = serde_json::to_vec(&audit.head).map_err(|e| Error::Io {
        context: format!("encoding {}", head.display()),
        source: e.into(),
    })?;
    text.push(b'\n');
    burnline_io::atomic::write_file(&head, &text)?;
    sign_file(key, dir, &file_name(&head))?;
    Ok(audit)
}

/// What `ledger verify` found.
#[derive(Debug)]
pub struct Verified {
    /// The log as it is.
    pub audit: Audit,
    /// The signed head, when a key was given.
    pub head: Option<Head>,
}

/// `ledger verify`: the chain, and with a key the signed head.
pub fn verify(path: &Path, key: Option<&VerifyingKey>) -> Result<Verified> {
    let Some(key) = key else {
        return Ok(Verified {
            audit: audit(path, None)?,
            head: None,
        });
    };
    let hp = head_path(path);
    let hat = hp.display().to_string();
    key.verify_file(&hp)?;
    let text =
        std::fs::read(&hp).map_err(|e| Error::invalid(&hat, "", format!("cannot read: {e}")))?;
    let head: Head = serde_json::from_slice(&text).map_err(|e| {
        let why = burnline_core::parse_error::json(&e);
        Error::invalid(&hat, "", format!("not a burnline log head: {why}"))
    })?;
    if head.log != file_name(path) {
        return Err(Error::invalid(
            &hat,
            "log",
            format!(
                "the signed head is of `{}`, not of {}",
                head.log,
                file_name(path)
            ),
        ));
    }
    let audit = audit(path, Some(head.lines))?;
    let at = path.display().to_string();
    match &audit.at {
        None => Err(Error::invalid(
            &at,
            "",
            format!(
                "lines were removed from the end: the signed head covers {} line(s), the file has {}",
                head.lines, audit.lines
            ),
        )),
        Some(now) if *now != head => Err(Error::invalid(
            format!("{at}:{}", head.lines),
            "",
            format!(
                "the first {} line(s) differ from the signed head (this line or one before it was changed)",
                head.lines
            ),
        )),
        Some(_) => Ok(Verified {
            audit,
            head: Some(head),
        }),
    }
}
