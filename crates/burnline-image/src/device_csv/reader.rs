//! Streams the device CSV. Columns are found by name, case-insensitively and
//! in any order (`DeviceName,DeviceSecret,ProductKey` from the console's
//! certificate download, `DeviceName,Nickname` from its batch-create
//! template); a UTF-8 BOM is accepted and unknown columns are ignored. Only
//! one row is held in memory at a time, and a row is at most [`MAX_ROW`]
//! bytes: the parser is never handed more of one row than that, so a huge
//! field (or a huge quoted field over many lines) is refused at its line
//! after 64 KiB, not after it has been read whole. The file may be encrypted
//! with age ([`super::list`]): it is then decrypted as it is read, and line
//! numbers are those of the plaintext. The plaintext may be GBK/GB18030 or
//! `;`-separated ([`super::encoding`]); the 64 KiB count is of its UTF-8.

use super::encoding::{self, Found};
use super::list::DeviceList;
use crate::error::{Error, Problem, Result};
use burnline_core::identity::rules;
use burnline_core::secret::Secret;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The most bytes one row of the device CSV may hold, its line ending
/// included (the header row too). A device's row is well under 200 bytes.
pub const MAX_ROW: u64 = 64 << 10;

/// One device from the CSV.
#[derive(Debug)]
pub struct DeviceRow {
    /// 1-based line number in the CSV.
    pub line: u64,
    /// 0-based index among the data rows.
    pub index: u64,
    /// DeviceName.
    pub device_name: String,
    /// ProductKey (from the row, or the recipe when the row has none).
    pub product_key: String,
    /// DeviceSecret, when the CSV has one.
    pub device_secret: Option<Secret>,
}

/// What the CSV must provide.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The recipe's ProductKey, if it gives one.
    pub product_key: Option<String>,
    /// Whether each row needs a DeviceSecret (一机一密).
    pub device_secret: bool,
}

/// A streaming reader over the device CSV.
pub struct DeviceReader {
    path: PathBuf,
    reader: csv::Reader<RowBound>,
    record: csv::StringRecord,
    bound: Arc<Bound>,
    name_col: usize,
    secret_col: Option<usize>,
    pk_col: Option<usize>,
    expect: Expect,
    index: u64,
    /// Fields in the header row.
    header_fields: usize,
    /// The input failed (a truncated encrypted list): no more rows.
    failed: bool,
    /// The encoding the text was found in.
    found: Arc<Found>,
    /// The column separator.
    delimiter: u8,
}

fn normalize(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ' ')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The DeviceName, DeviceSecret and ProductKey columns of `headers` (the
/// CSV `at`'s header row), and what breaks the rules: a column given
/// twice, no DeviceName, a DeviceSecret column the recipe's auth mode
/// needs or forbids, no ProductKey from either the CSV or the recipe.
fn columns(
    headers: &csv::StringRecord,
    at: &str,
    expect: &Expect,
) -> (Option<usize>, Option<usize>, Option<usize>, Vec<Problem>) {
    let find = |name: &str| headers.iter().position(|h| normalize(h) == name);
    let mut problems = Vec::new();
    for (name, shown) in [
        ("devicename", "DeviceName"),
        ("devicesecret", "DeviceSecret"),
        ("productkey", "ProductKey"),
    ] {
        let n = headers.iter().filter(|h| normalize(h) == name).count();
        if n > 1 {
            problems.push(Problem::new(
                format!("{at}:1"),
                shown,
                format!("the header row has {n} {shown} columns; it may have one"),
            ));
        }
    }
    let name_col = find("devicename");
    if name_col.is_none() {
        problems.push(Problem::new(
            format!("{at}:1"),
            "DeviceName",
            "the header row has no DeviceName column",
        ));
    }
    let secret_col = find("devicesecret");
    if expect.device_secret && secret_col.is_none() {
        problems.push(Problem::new(
            format!("{at}:1"),
            "DeviceSecret",
            "the recipe's auth.mode is device-secret (一机一密), but the CSV has no \
             DeviceSecret column (a 一型一密 list or the batch-create template): use the \
             console's certificate download, or a product-secret recipe",
        ));
    }
    if !expect.device_secret && secret_col.is_some() {
        // Imported or burned as 一型一密 they would be registered
        // again, or burned without their secrets.
        problems.push(Problem::new(
            format!("{at}:1"),
            "DeviceSecret",
            "the recipe's auth.mode is product-secret (一型一密), but the CSV gives \
             DeviceSecrets (一机一密): use a device-secret recipe, or drop the column",
        ));
    }
    let pk_col = find("productkey");
    if pk_col.is_none() && expect.product_key.is_none() {
        problems.push(Problem::new(
            format!("{at}:1"),
            "ProductKey",
            "the CSV has no ProductKey column and the recipe gives no auth.product_key",
        ));
    }
    (name_col, secret_col, pk_col, problems)
}

impl DeviceReader {
    /// Opens the CSV (decrypting it when it is an age file) and finds its
    /// columns.
    pub fn open(list: &DeviceList, expect: Expect) -> Result<Self> {
        let path = list.path.as_path();
        let at = path.display().to_string();
        let bound = Arc::new(Bound::default());
        let sniffed = encoding::sniff(list.open()?, &at)?;
        let file = RowBound {
            inner: Box::new(sniffed.text),
            read: 0,
            bound: Arc::clone(&bound),
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sniffed.delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        bound.start_row(0);
        let headers = reader
            .headers()
            .map_err(|e| match e.kind() {
                csv::ErrorKind::Io(_) if bound.tripped() => {
                    Error::invalid(format!("{at}:1"), "", bound.rule())
                }
                csv::ErrorKind::Io(io) => Error::invalid(&at, "", io.to_string()),
                _ => Error::invalid(
                    format!("{at}:1"),
                    "",
                    format!("cannot read the header row: {e}"),
                ),
            })?
            .clone();
        let (name_col, secret_col, pk_col, problems) = columns(&headers, &at, &expect);
        match name_col {
            Some(name_col) if problems.is_empty() => Ok(DeviceReader {
                path: path.to_path_buf(),
                reader,
                record: csv::StringRecord::new(),
                bound,
                name_col,
                secret_col,
                pk_col,
                expect,
                index: 0,
                header_fields: headers.len(),
                failed: false,
                found: sniffed.found,
                delimiter: sniffed.delimiter,
            }),
            _ => Err(Error::Invalid(problems)),
        }
    }

    /// What the run should say about how the file was read (its encoding,
    /// its separator), when it is not plain UTF-8 with commas. The encoding
    /// is known once a non-ASCII byte was read: ask after the last row.
    pub fn how_read(&self) -> Option<String> {
        let mut said = Vec::new();
        if let Some(encoding) = self.found.not_utf8() {
            said.push(format!(
                "read as {encoding} (GBK, Chinese Excel's \"CSV\"), not UTF-8"
            ));
        }
        if self.delimiter != b',' {
            said.push(format!(
                "columns separated by `{}`",
                char::from(self.delimiter)
            ));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// The next row, checked on its own. `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<DeviceRow, Vec<Problem>>> {
        if self.failed {
            return None;
        }
        let at = self.path.display().to_string();
        let start = self.reader.position().clone();
        self.bound.start_row(start.byte());
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(self.reader.position().line(), |p| p.line());
                let (line, rule) = match e.kind() {
                    // Where the row began; nothing after it is read.
                    csv::ErrorKind::Io(_) if self.bound.tripped() => {
                        self.failed = true;
                        (start.line(), self.bound.rule())
                    }
                    csv::ErrorKind::Io(io) => {
                        // What follows cannot be read either.
                        self.failed = true;
                        (line, io.to_string())
                    }
                    _ => (line, format!("not valid CSV: {e}")),
                };
                Some(Err(vec![Problem::new(format!("{at}:{line}"), "", rule)]))
            }
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(0);
                let index = self.index;
                self.index += 1;
                Some(self.row(format!("{at}:{line}"), line, index))
            }
        }
    }

    fn row(&self, loc: String, line: u64, index: u64) -> Result<DeviceRow, Vec<Problem>> {
        let get = |col: Option<usize>| col.and_then(|c| self.record.get(c)).unwrap_or("");
        if self.record.len() > self.header_fields {
            // Which field is which cannot be known: refuse the row whole,
            // rather than burn a field as the wrong thing.
            return Err(vec![Problem::new(
                &loc,
                "",
                format!(
                    "the row has {} fields, more than the {} of the header row",
                    self.record.len(),
                    self.header_fields
                ),
            )]);
        }
        let mut problems = Vec::new();
        let device_name = get(Some(self.name_col)).to_owned();
        if let Err(rule) = rules::check_device_name(&device_name) {
            problems.push(Problem::new(&loc, "DeviceName", rule));
        }
        let row_pk = get(self.pk_col);
        let product_key = match (&self.expect.product_key, row_pk) {
            (Some(recipe_pk), "") => recipe_pk.clone(),
            (Some(recipe_pk), pk) if pk != recipe_pk => {
                problems.push(Problem::new(
                    &loc,
                    "ProductKey",
                    format!(
                        "{} differs from the recipe's auth.product_key `{recipe_pk}`",
                        rules::shown(pk)
                    ),
                ));
                pk.to_owned()
            }
            (_, pk) => {
                if let Err(rule) = rules::check_product_key(pk) {
                    problems.push(Problem::new(&loc, "ProductKey", rule));
                }
                pk.to_owned()
            }
        };
        let device_secret = if self.expect.device_secret {
            let ds = get(self.secret_col);
            if let Err(rule) = rules::check_device_secret(ds) {
                problems.push(Problem::new(&loc, "DeviceSecret", rule));
            }
            Some(Secret::new(ds.to_owned()))
        } else {
            None
        };
        if problems.is_empty() {
            Ok(DeviceRow {
                line,
                index,
                device_name,
                product_key,
                device_secret,
            })
        } else {
            Err(problems)
        }
    }
}

/// How far the parser may read: the current row's first byte plus
/// [`MAX_ROW`], and whether a row went past it.
#[derive(Debug, Default)]
struct Bound {
    limit: AtomicU64,
    tripped: AtomicBool,
}

impl Bound {
    /// A row starts at byte `at` of the (plaintext) input.
    fn start_row(&self, at: u64) {
        self.limit.store(at + MAX_ROW + 1, Ordering::SeqCst);
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }

    fn rule(&self) -> String {
        format!(
            "the row is longer than {MAX_ROW} bytes (a device's row is a few dozen); \
             nothing from here on is read"
        )
    }
}

/// The input as the CSV parser sees it: never more than [`MAX_ROW`] bytes
/// past the start of the row being parsed. The parser's buffer asks for
/// more only once it has parsed all it holds, so when a read would pass the
/// bound, the row really is that long: the read fails, and the row is
/// refused without its field ever being held whole.
struct RowBound {
    inner: Box<dyn Read + Send>,
    read: u64,
    bound: Arc<Bound>,
}

impl Read for RowBound {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self
            .bound
            .limit
            .load(Ordering::SeqCst)
            .saturating_sub(self.read);
        if room == 0 && !buf.is_empty() {
            self.bound.tripped.store(true, Ordering::SeqCst);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                self.bound.rule(),
            ));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        Ok(n)
    }
}
