//! One append-only log of JSON lines, the type under burnline's four logs:
//! the registration ledger (`registrations.jsonl`), the flash ledger
//! (`flash --ledger`), the resume journal (`.manifest.partial.jsonl`) and
//! the station service's refused-card journal (`station-cards.jsonl`).
//! Generic over the record type (any serde type); one record a line.
//!
//! **Writing.** [`AppendLog::append`] writes one line (or, with
//! [`AppendLog::append_all`], a few lines in one write) and fsyncs the file
//! before it returns: a record is durable before anything acts on it. A
//! file the log creates is fsynced and so is its directory. A write that
//! fails is cut back to the last complete line, so a later append never
//! glues onto half a line. The log holds an exclusive `flock` on the file
//! from open to drop (taken without waiting): a second process that opens
//! the same log gets "in use by another burnline run" (exit 2) and does
//! nothing.
//!
//! **Reading: the one rule.** On open every line is read:
//!
//! - a *torn last line* (the last line without its newline, or the last
//!   line when it does not parse) is what a crash in the middle of an
//!   append leaves. It was never acknowledged, so it is ignored, and
//!   repaired: the file is cut to the end of the last complete line and
//!   fsynced, with a warning naming the file and the line;
//! - *any other* line that does not parse stops the run with an error
//!   naming the file and the line number (exit 2; an I/O failure while
//!   reading is exit 3). Such a line is damage, not a crash: it is never
//!   skipped, since what it held (a `verified` card, an issued secret)
//!   would then be forgotten and an identity issued twice. The message
//!   never quotes the line, which may hold a secret.
//!
//! Record `i` of [`Opened::records`] is line `i + 1` of the file: there are
//! no skipped lines, not even blank ones.
//!
//! **The chain.** Every line the log writes carries the SHA-256 of the line
//! before it (`burnline_io::chain`), so a line removed, altered or reordered
//! in the middle is found on open, named by its line number (exit 2), like
//! any other damage. Lines written before burnline chained its logs have no
//! link; they are read as before, only as the first lines of a log. One
//! hash of the new line per append keeps the append path as it was.

use crate::error::{Error, IoContext, Result};
use burnline_io::atomic;
use burnline_io::chain::{self, Walker};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// How a log is named in messages and what mode its file has.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// What the log is, for messages: "the station ledger".
    pub what: &'a str,
    /// The file's mode when burnline creates it; `Some` also forces it onto
    /// an existing file (0600 for a log that holds secrets).
    pub mode: Option<u32>,
    /// Said after the warning about a torn last line (what to do about it).
    pub torn_hint: &'a str,
}

/// An open log, locked against other processes until dropped.
pub struct AppendLog<T> {
    path: PathBuf,
    what: String,
    mode: Option<u32>,
    inner: Mutex<Inner>,
    _records: PhantomData<fn(&T)>,
}

struct Inner {
    file: File,
    /// The end of the last complete line.
    len: u64,
    /// The hash of the last complete line (what the next one links to).
    last: [u8; 32],
    /// A failed write could not be cut back: no more appends.
    broken: bool,
}

impl<T> std::fmt::Debug for AppendLog<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A torn last line that open cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Torn {
    /// Its line number.
    pub line: u64,
    /// How many bytes were cut.
    pub bytes: u64,
}

/// What [`AppendLog::open`] found.
#[derive(Debug)]
pub struct Opened<T> {
    /// The log, open for appending.
    pub log: AppendLog<T>,
    /// Every record, in file order (record `i` is line `i + 1`).
    pub records: Vec<T>,
    /// The torn last line that was cut off, if there was one.
    pub torn: Option<Torn>,
    /// Whether the file was created by this open.
    pub created: bool,
}

impl<T: Serialize + DeserializeOwned> AppendLog<T> {
    /// A log over `file`, opened at `path`, before anything is read.
    fn over(path: PathBuf, what: String, mode: Option<u32>, file: File) -> Self {
        AppendLog {
            path,
            what,
            mode,
            inner: Mutex::new(Inner {
                file,
                len: 0,
                last: chain::GENESIS,
                broken: false,
            }),
            _records: PhantomData,
        }
    }

    /// Opens the log at `path` (creating it, and fsyncing it and its
    /// directory, when it does not exist), locks it, reads every record and
    /// repairs a torn last line, by the rule in the module doc.
    pub fn open(path: &Path, opts: Options<'_>) -> Result<Opened<T>> {
        let (file, created) = open_file(path, opts.mode)?;
        lock(&file, path, opts.what)?;
        if let Some(mode) = opts.mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .at(&format!("setting mode {mode:o} on"), path)?;
        }
        if created {
            file.sync_all().at("syncing", path)?;
            atomic::sync_dir(parent(path))?;
        }
        let mut log = AppendLog::over(path.to_path_buf(), opts.what.to_owned(), opts.mode, file);
        let (records, keep, torn, last) = log.read_all()?;
        let inner = log.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = torn {
            burnline_io::say!(
                "warning: {}:{}: torn last line of {} cut off ({} bytes; a run was stopped while writing it){}",
                path.display(),
                t.line,
                opts.what,
                t.bytes,
                opts.torn_hint
            );
            inner
                .file
                .set_len(keep)
                .at("cutting the torn last line of", path)?;
            inner.file.sync_all().at("syncing", path)?;
        }
        inner.len = keep;
        inner.last = last;
        Ok(Opened {
            log,
            records,
            torn,
            created,
        })
    }

    /// Reads every line: the records, the length to keep, the torn tail,
    /// the hash of the last line kept.
    #[allow(clippy::type_complexity)]
    fn read_all(&mut self) -> Result<(Vec<T>, u64, Option<Torn>, [u8; 32])> {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut bytes = Zeroizing::new(Vec::new());
        (&inner.file)
            .read_to_end(&mut bytes)
            .at(&format!("reading {}", self.what), &self.path)?;
        // Complete lines end at the last newline; anything after it is torn.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lines: Vec<&[u8]> = bytes[..complete].split(|&b| b == b'\n').collect();
        lines.pop(); // the empty piece after the last newline
        let tail = complete < bytes.len();
        let mut records = Vec::with_capacity(lines.len());
        let mut at = 0usize;
        let mut walker = Walker::default();
        for (i, line) in lines.iter().enumerate() {
            let number = i as u64 + 1;
            let last = i + 1 == lines.len();
            let kept = walker.last();
            let body = match walker.step(line) {
                Ok(body) => body,
                // A last line that is not JSON at all is torn, whatever its
                // link; a whole JSON line with a broken link is damage.
                Err(_)
                    if !tail
                        && last
                        && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_err() =>
                {
                    let torn = Torn {
                        line: number,
                        bytes: (bytes.len() - at) as u64,
                    };
                    return Ok((records, at as u64, Some(torn), kept));
                }
                Err(b) => return Err(self.damaged(number, &b.describe(number))),
            };
            match serde_json::from_slice::<T>(&body) {
                Ok(r) => records.push(r),
                // Unparsable and last: torn too.
                Err(_) if !tail && last => {
                    let torn = Torn {
                        line: number,
                        bytes: (bytes.len() - at) as u64,
                    };
                    return Ok((records, at as u64, Some(torn), kept));
                }
                Err(e) => return Err(self.damaged(number, &describe(&e, &self.what))),
            }
            at += line.len() + 1;
        }
        let torn = tail.then(|| Torn {
            line: lines.len() as u64 + 1,
            bytes: (bytes.len() - complete) as u64,
        });
        Ok((records, complete as u64, torn, walker.last()))
    }

    /// Appends one record and fsyncs; only then is it durable.
    pub fn append(&self, record: &T) -> Result<()> {
        self.append_all(std::iter::once(record))
    }

    /// Appends records as lines in one write and fsyncs once.
    pub fn append_all<'a>(&self, records: impl IntoIterator<Item = &'a T>) -> Result<()>
    where
        T: 'a,
    {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut buf = Zeroizing::new(Vec::with_capacity(256));
        let mut record = Zeroizing::new(Vec::with_capacity(256));
        let mut last = inner.last;
        for r in records {
            record.clear();
            serde_json::to_writer(&mut *record, r)
                .map_err(std::io::Error::from)
                .and_then(|()| chain::link(&last, &record, &mut buf))
                .map(|h| last = h)
                .map_err(|e| Error::Io {
                    context: format!("encoding a line of {}", self.path.display()),
                    source: e,
                })?;
        }
        if buf.is_empty() {
            return Ok(());
        }
        if inner.broken {
            return Err(Error::Io {
                context: format!("appending to {} {}", self.what, self.path.display()),
                source: std::io::Error::other("an earlier append failed and could not be undone"),
            });
        }
        let written = (&inner.file)
            .write_all(&buf)
            .and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            // Cut back to the last complete line, so that the next append
            // starts on a line of its own.
            let len = inner.len;
            if inner
                .file
                .set_len(len)
                .and_then(|()| inner.file.sync_data())
                .is_err()
            {
                inner.broken = true;
            }
            return Err(e).at(&format!("appending to {}", self.what), &self.path);
        }
        inner.len += buf.len() as u64;
        inner.last = last;
        Ok(())
    }

    /// Replaces the whole log with `records`, atomically (temp file, fsync,
    /// rename, directory fsync), and returns it open and locked.
    pub fn replace(self, records: &[T]) -> Result<AppendLog<T>> {
        let tmp = atomic::temp_path(&self.path)?;
        let file = atomic::create_temp(&tmp)?;
        lock(&file, &tmp, &self.what)?;
        if let Some(mode) = self.mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .at(&format!("setting mode {mode:o} on"), &tmp)?;
        }
        let mut fresh = AppendLog::over(tmp.clone(), self.what.clone(), self.mode, file);
        fresh.append_all(records)?;
        let inner = fresh.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        atomic::commit(&inner.file, &tmp, &self.path)?;
        fresh.path = self.path.clone();
        drop(self);
        Ok(fresh)
    }
}

impl<T> AppendLog<T> {
    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error for a line that is damaged (or breaks a rule of the log's
    /// own): exit 2, naming the file and line, never quoting it.
    pub fn damaged(&self, line: u64, why: &str) -> Error {
        Error::invalid(
            format!("{}:{line}", self.path.display()),
            "",
            format!(
                "{why}; a damaged line of {} is never skipped: restore the file from a copy, or remove \
                 the line by hand once you know what it held",
                self.what
            ),
        )
    }
}

/// What is wrong with a line, without quoting it.
fn describe(e: &serde_json::Error, log: &str) -> String {
    use serde_json::error::Category;
    let column = e.column();
    match e.classify() {
        Category::Syntax | Category::Eof => format!("not valid JSON (column {column})"),
        Category::Data => format!("not a record of {log} (column {column})"),
        Category::Io => format!("unreadable (column {column})"),
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Opens `path` for reading and appending: (file, whether it was created).
/// A symbolic link in its place is refused, never followed: a link planted
/// beside a ledger would otherwise send its records (secrets among them)
/// into whatever file it names.
fn open_file(path: &Path, mode: Option<u32>) -> Result<(File, bool)> {
    let mut o = OpenOptions::new();
    o.read(true)
        .append(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    if let Some(m) = mode {
        o.mode(m);
    }
    let is_link =
        |e: &std::io::Error| e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error());
    match o.clone().create_new(true).open(path) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match o.open(path) {
            Ok(f) => Ok((f, false)),
            Err(e) if is_link(&e) => Err(Error::Usage(format!(
                "{}: is a symbolic link; a log is opened by its own path, never through a link",
                path.display()
            ))),
            Err(e) => Err(e).at("opening", path),
        },
        Err(e) => Err(e).at("creating", path),
    }
}

/// Takes the exclusive lock without waiting.
fn lock(file: &File, path: &Path, what: &str) -> Result<()> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Error::Usage(format!(
            "{}: {what} is in use by another burnline run (locked); nothing was done",
            path.display()
        ))),
        Err(e) => Err(std::io::Error::from(e)).at("locking", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rec {
        name: String,
        n: u64,
    }

    fn rec(name: &str, n: u64) -> Rec {
        Rec {
            name: name.into(),
            n,
        }
    }

    const OPTS: Options<'static> = Options {
        what: "the test log",
        mode: None,
        torn_hint: "",
    };

    fn open(path: &Path) -> Result<Opened<Rec>> {
        AppendLog::open(path, OPTS)
    }

    /// A line without a chain link, as burnline wrote before chaining.
    fn line(r: &Rec) -> String {
        format!("{}\n", serde_json::to_string(r).expect("json"))
    }

    /// The lines the log writes for `records` after a line hashing to `prev`.
    fn chained(prev: [u8; 32], records: &[Rec]) -> String {
        let mut out = Vec::new();
        let mut prev = prev;
        for r in records {
            let json = serde_json::to_vec(r).expect("json");
            prev = chain::link(&prev, &json, &mut out).expect("link");
        }
        String::from_utf8(out).expect("utf8")
    }

    fn hash_of(line: &str) -> [u8; 32] {
        chain::hash(line.trim_end_matches('\n').as_bytes())
    }

    #[test]
    fn a_symbolic_link_in_the_logs_place_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "kept\n").expect("target");
        let path = dir.path().join("log.jsonl");
        std::os::unix::fs::symlink(&target, &path).expect("symlink");
        let Err(e) = open(&path) else {
            panic!("a log opened through a symbolic link")
        };
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).expect("target"), "kept\n");
    }

    #[test]
    fn appends_are_lines_and_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let o = open(&path).expect("open");
        assert!(o.created && o.records.is_empty() && o.torn.is_none());
        o.log.append(&rec("a", 1)).expect("append");
        o.log
            .append_all([&rec("b", 2), &rec("c", 3)])
            .expect("append_all");
        o.log.append_all(std::iter::empty()).expect("nothing");
        drop(o);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            chained(chain::GENESIS, &[rec("a", 1), rec("b", 2), rec("c", 3)])
        );
        let o = open(&path).expect("reopen");
        assert!(!o.created && o.torn.is_none());
        assert_eq!(o.records, [rec("a", 1), rec("b", 2), rec("c", 3)]);
    }

    #[test]
    fn a_last_line_without_newline_is_torn_and_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let good = line(&rec("a", 1));
        // Even a last line that parses is torn without its newline.
        for tail in [r#"{"name":"b","#, r#"{"name":"b","n":2}"#] {
            std::fs::write(&path, format!("{good}{tail}")).expect("write");
            let o = open(&path).expect("open");
            assert_eq!(o.records, [rec("a", 1)]);
            assert_eq!(
                o.torn,
                Some(Torn {
                    line: 2,
                    bytes: tail.len() as u64
                })
            );
            o.log.append(&rec("c", 3)).expect("append");
            drop(o);
            assert_eq!(
                std::fs::read_to_string(&path).expect("read"),
                format!("{good}{}", chained(hash_of(&good), &[rec("c", 3)]))
            );
        }
    }

    #[test]
    fn an_unparsable_last_line_is_torn_and_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let good = line(&rec("a", 1));
        for last in ["\0\0\0\n", "{\"name\":\"b\"}\n", "\n", "garbage\n"] {
            std::fs::write(&path, format!("{good}{last}")).expect("write");
            let o = open(&path).expect("open");
            assert_eq!(o.records, [rec("a", 1)], "{last:?}");
            assert_eq!(o.torn.map(|t| t.line), Some(2));
            drop(o);
            assert_eq!(std::fs::read_to_string(&path).expect("read"), good);
        }
    }

    #[test]
    fn any_other_unreadable_line_stops_with_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let (a, c) = (line(&rec("a", 1)), line(&rec("c", 3)));
        let secretish =
            r#"{"name":"ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe","n":"ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe"}"#;
        for (text, at) in [
            (format!("{a}garbage\n{c}"), 2),
            (format!("{a}\n{c}"), 2),
            (format!("{a}{secretish}\n{c}"), 2),
            (format!("{a}{{\"name\":\"x\",\"n\":1,\"extra\":1}}\n{c}"), 2),
            (format!("garbage\n{a}{c}"), 1),
            // Not last: a torn tail follows it.
            (format!("{a}garbage\n{{\"na"), 2),
            (format!("{a}{c}{a}\u{fffd}\n{c}"), 4),
        ] {
            std::fs::write(&path, &text).expect("write");
            let e = open(&path).expect_err("damaged");
            let Error::Invalid(p) = &e else {
                panic!("{e:?}")
            };
            assert_eq!(
                p[0].location,
                format!("{}:{at}", path.display()),
                "{text:?}"
            );
            assert!(p[0].rule.contains("never skipped"), "{}", p[0]);
            assert!(!p[0].to_string().contains("ga7XA6"), "{}", p[0]);
            // Nothing was repaired or cut.
            assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        }
    }

    #[test]
    fn invalid_utf8_in_the_middle_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let mut bytes = line(&rec("a", 1)).into_bytes();
        bytes.extend_from_slice(b"{\"name\":\"\xff\",\"n\":1}\n");
        bytes.extend_from_slice(line(&rec("c", 3)).as_bytes());
        std::fs::write(&path, bytes).expect("write");
        let e = open(&path).expect_err("damaged");
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    }

    #[test]
    fn io_failure_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = open(dir.path()).expect_err("a directory");
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let first = open(&path).expect("open");
        let e = open(&path).expect_err("locked");
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        assert!(
            e.to_string().contains("in use by another burnline run"),
            "{e}"
        );
        drop(first);
        open(&path).expect("free again");
    }

    #[test]
    fn mode_is_forced_and_replace_is_atomic_and_locked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, line(&rec("old", 0))).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let opts = Options {
            mode: Some(0o600),
            ..OPTS
        };
        let o = AppendLog::<Rec>::open(&path, opts).expect("open");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        let log = o.log.replace(&[rec("new", 1)]).expect("replace");
        assert_eq!(mode(&path), 0o600);
        assert!(open(&path).is_err(), "the new file is locked");
        log.append(&rec("more", 2)).expect("append");
        drop(log);
        assert_eq!(
            open(&path).expect("open").records,
            [rec("new", 1), rec("more", 2)]
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["log.jsonl"]);
    }

    /// Writes `records` through the log, then returns the file's lines.
    fn written(path: &Path, records: &[Rec]) -> Vec<String> {
        let o = open(path).expect("open");
        o.log.append_all(records).expect("append");
        drop(o);
        let text = std::fs::read_to_string(path).expect("read");
        text.lines().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn a_line_removed_altered_or_reordered_in_the_middle_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let recs: Vec<Rec> = (1..=4).map(|n| rec("d", n)).collect();
        let l = written(&path, &recs);
        let altered = l[1].replace("\"n\":2", "\"n\":9");
        let unlinked = line(&rec("x", 5));
        for (text, at) in [
            // Line 2 removed: line 3 (now 2) no longer links.
            (format!("{}{}{}", l[0], l[2], l[3]), 2),
            // Line 2 altered (still a valid record): line 3 says so.
            (format!("{}{altered}{}{}", l[0], l[2], l[3]), 3),
            // Lines 2 and 3 swapped.
            (format!("{}{}{}{}", l[0], l[2], l[1], l[3]), 2),
            // Line 1 removed.
            (format!("{}{}{}", l[1], l[2], l[3]), 1),
            // An unchained line after chained ones, even the last.
            (format!("{}{}{unlinked}", l[0], l[1]), 3),
            // The last line's predecessor altered: the last line is whole
            // JSON, so it is damage, not a torn line to cut.
            (format!("{}{}{}", l[0], altered, l[2]), 3),
        ] {
            std::fs::write(&path, &text).expect("write");
            let e = open(&path).expect_err("damaged");
            let Error::Invalid(p) = &e else {
                panic!("{e:?}")
            };
            assert_eq!(p[0].location, format!("{}:{at}", path.display()), "{text}");
            assert!(p[0].rule.contains("hash chain is broken"), "{}", p[0]);
            assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        }
    }

    #[test]
    fn a_torn_chained_last_line_is_still_only_torn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let l = written(&path, &[rec("a", 1), rec("b", 2)]);
        for tail in [&l[1][..40], &l[1][..l[1].len() - 1]] {
            std::fs::write(&path, format!("{}{tail}", l[0])).expect("write");
            let o = open(&path).expect("torn is fine");
            assert_eq!(o.records, [rec("a", 1)]);
            assert_eq!(o.torn.map(|t| t.line), Some(2));
            // The next append links to line 1.
            o.log.append(&rec("c", 3)).expect("append");
            drop(o);
            assert_eq!(
                open(&path).expect("reopen").records,
                [rec("a", 1), rec("c", 3)]
            );
        }
    }

    #[test]
    fn an_unchained_log_is_read_and_chained_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.jsonl");
        let old = format!("{}{}", line(&rec("a", 1)), line(&rec("b", 2)));
        std::fs::write(&path, &old).expect("write");
        let o = open(&path).expect("old log");
        assert_eq!(o.records, [rec("a", 1), rec("b", 2)]);
        o.log.append(&rec("c", 3)).expect("append");
        drop(o);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!(
                "{old}{}",
                chained(hash_of(&line(&rec("b", 2))), &[rec("c", 3)])
            )
        );
        assert_eq!(open(&path).expect("reopen").records.len(), 3);
    }
}
