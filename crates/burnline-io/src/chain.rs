//! The hash chain of an append-only log (`crate::append_log`): every
//! line a log writes starts with `{"prev":"HEX",`, HEX being the SHA-256 of
//! the previous complete line (its bytes without the newline), or 64 zeros
//! ([`GENESIS`]) on line 1. A removed, altered, inserted or reordered line
//! breaks the link of the line after it (or its own, when it was line 1),
//! which names where the damage is. Checking costs one SHA-256 of a line per
//! line, on append as on reading.
//!
//! Lines without the link are *unchained*: those of a log written before
//! burnline chained its logs. They are read as before, but only as the
//! first lines of a log: an unchained line after a chained one is damage
//! (stripping the links off a log's tail must not pass). The first chained
//! line after unchained ones links to the last of them. What the chain
//! cannot show is lines cut off the end; a signed head
//! (`burnline_image::log_audit`) does.

use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The `prev` of line 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// What every chained line starts with.
const PREFIX: &[u8] = b"{\"prev\":\"";

/// The SHA-256 of a line, without its newline.
pub fn hash(line: &[u8]) -> [u8; 32] {
    Sha256::digest(line).into()
}

/// Writes `record` (a JSON object) as a line chained to `prev`, with its
/// newline, onto `out`; returns the new line's hash.
pub fn link(prev: &[u8; 32], record: &[u8], out: &mut Vec<u8>) -> std::io::Result<[u8; 32]> {
    let Some(rest) = record.strip_prefix(b"{") else {
        return Err(std::io::Error::other("a log record must be a JSON object"));
    };
    let start = out.len();
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(hex::encode(prev).as_bytes());
    out.push(b'"');
    if rest != b"}" {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    let h = hash(&out[start..]);
    out.push(b'\n');
    Ok(h)
}

/// Why a line breaks the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Its `prev` is not the hash of the line before it.
    Mismatch,
    /// It has no link, but a line before it had one.
    UnchainedAfterChained,
    /// It starts like a link that is not 64 hex digits.
    BadLink,
}

impl Break {
    /// The rule broken at line `line`, in words.
    pub fn describe(self, line: u64) -> String {
        match self {
            Break::Mismatch if line == 1 => {
                "the hash chain is broken: line 1 does not start the chain (lines were removed \
                 from the start, or it was altered)"
                    .into()
            }
            Break::Mismatch => format!(
                "the hash chain is broken: its `prev` is not the SHA-256 of line {}: line {} was \
                 altered, or lines were removed, inserted or reordered before this one",
                line - 1,
                line - 1
            ),
            Break::UnchainedAfterChained => {
                "the hash chain is broken: this line has no `prev` link, but lines before it do \
                 (written by hand, or the links were stripped)"
                    .into()
            }
            Break::BadLink => "the hash chain is broken: its `prev` is not 64 hex digits".into(),
        }
    }
}

/// Follows the chain line by line.
#[derive(Debug, Clone)]
pub struct Walker {
    last: [u8; 32],
    /// Lines read so far.
    pub lines: u64,
    /// How many of the first lines are unchained.
    pub unchained: u64,
}

impl Default for Walker {
    fn default() -> Self {
        Walker {
            last: GENESIS,
            lines: 0,
            unchained: 0,
        }
    }
}

impl Walker {
    /// The hash of the last line read ([`GENESIS`] before any).
    pub fn last(&self) -> [u8; 32] {
        self.last
    }

    /// Checks the next line's link and returns the record it holds (the
    /// line without its link).
    pub fn step<'a>(&mut self, line: &'a [u8]) -> Result<Cow<'a, [u8]>, Break> {
        let body = match line.strip_prefix(PREFIX) {
            None => {
                if self.lines > self.unchained {
                    return Err(Break::UnchainedAfterChained);
                }
                self.unchained += 1;
                Cow::Borrowed(line)
            }
            Some(rest) => {
                let (hex_part, rest) = rest.split_at_checked(64).ok_or(Break::BadLink)?;
                let mut prev = [0u8; 32];
                hex::decode_to_slice(hex_part, &mut prev).map_err(|_| Break::BadLink)?;
                if prev != self.last {
                    return Err(Break::Mismatch);
                }
                let mut body = Vec::with_capacity(rest.len());
                body.push(b'{');
                match rest {
                    [b'"', b',', tail @ ..] => body.extend_from_slice(tail),
                    [b'"', b'}'] => body.push(b'}'),
                    _ => return Err(Break::BadLink),
                }
                Cow::Owned(body)
            }
        };
        self.last = hash(line);
        self.lines += 1;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(records: &[&str]) -> Vec<Vec<u8>> {
        let mut prev = GENESIS;
        records
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                prev = link(&prev, r.as_bytes(), &mut out).expect("link");
                out.pop();
                out
            })
            .collect()
    }

    fn walk(lines: &[Vec<u8>]) -> Result<Vec<String>, (u64, Break)> {
        let mut w = Walker::default();
        lines
            .iter()
            .map(|l| {
                w.step(l)
                    .map(|b| String::from_utf8(b.into_owned()).expect("utf8"))
                    .map_err(|e| (w.lines + 1, e))
            })
            .collect()
    }

    #[test]
    fn links_round_trip_and_start_at_genesis() {
        let lines = chain(&[r#"{"a":1}"#, "{}", r#"{"b":"x"}"#]);
        assert!(lines[0].starts_with(format!("{{\"prev\":\"{}\",", "0".repeat(64)).as_bytes()));
        assert_eq!(
            lines[1],
            format!("{{\"prev\":\"{}\"}}", hex::encode(hash(&lines[0]))).into_bytes()
        );
        assert_eq!(
            walk(&lines).expect("walk"),
            [r#"{"a":1}"#, "{}", r#"{"b":"x"}"#]
        );
        let mut out = Vec::new();
        assert!(link(&GENESIS, b"[1]", &mut out).is_err());
    }

    #[test]
    fn removed_altered_reordered_lines_are_found_where_they_are() {
        let lines = chain(&[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#, r#"{"n":4}"#]);
        let removed = [&lines[0], &lines[2], &lines[3]].map(|l| l.clone());
        assert_eq!(walk(&removed), Err((2, Break::Mismatch)));
        let first_removed = [&lines[1], &lines[2]].map(|l| l.clone());
        assert_eq!(walk(&first_removed), Err((1, Break::Mismatch)));
        let mut altered = lines.clone();
        altered[1] = String::from_utf8(altered[1].clone())
            .expect("utf8")
            .replace("\"n\":2", "\"n\":7")
            .into_bytes();
        assert_eq!(walk(&altered), Err((3, Break::Mismatch)));
        let reordered = [&lines[0], &lines[2], &lines[1], &lines[3]].map(|l| l.clone());
        assert_eq!(walk(&reordered), Err((2, Break::Mismatch)));
        let mut bad = lines.clone();
        bad[2][12] = b'g';
        assert_eq!(walk(&bad), Err((3, Break::BadLink)));
    }

    #[test]
    fn unchained_lines_only_lead() {
        let old = br#"{"n":0}"#.to_vec();
        let mut prev = hash(&old);
        let mut out = Vec::new();
        prev = link(&prev, br#"{"n":1}"#, &mut out).expect("link");
        out.pop();
        let mut w = Walker::default();
        w.step(&old).expect("old line");
        w.step(&out).expect("linked to the old line");
        assert_eq!((w.lines, w.unchained, w.last()), (2, 1, prev));
        assert_eq!(w.step(br#"{"n":2}"#), Err(Break::UnchainedAfterChained));
    }
}
