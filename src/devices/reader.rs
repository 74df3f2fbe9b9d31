//! Streams the device CSV. Columns are found by name, case-insensitively and
//! in any order (`DeviceName,DeviceSecret,ProductKey` from the console's
//! certificate download, `DeviceName,Nickname` from its batch-create
//! template); a UTF-8 BOM is accepted and unknown columns are ignored. Only
//! one row is held in memory at a time. The file may be encrypted with age
//! ([`super::list`]): it is then decrypted as it is read, and line numbers
//! are those of the plaintext.

use super::list::DeviceList;
use crate::error::{Error, Problem, Result};
use crate::identity::rules;
use crate::secret::Secret;
use std::io::Read;
use std::path::PathBuf;

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
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::StringRecord,
    name_col: usize,
    secret_col: Option<usize>,
    pk_col: Option<usize>,
    expect: Expect,
    index: u64,
    /// Fields in the header row.
    header_fields: usize,
    /// The input failed (a truncated encrypted list): no more rows.
    failed: bool,
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

impl DeviceReader {
    /// Opens the CSV (decrypting it when it is an age file) and finds its
    /// columns.
    pub fn open(list: &DeviceList, expect: Expect) -> Result<Self> {
        let path = list.path.as_path();
        let at = path.display().to_string();
        let file = list.open()?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| match e.kind() {
                csv::ErrorKind::Io(io) => Error::invalid(&at, "", io.to_string()),
                _ => Error::invalid(
                    format!("{at}:1"),
                    "",
                    format!("cannot read the header row: {e}"),
                ),
            })?
            .clone();
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
                "一机一密 (mode: device-secret) needs a DeviceSecret column",
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
        match name_col {
            Some(name_col) if problems.is_empty() => Ok(DeviceReader {
                path: path.to_path_buf(),
                reader,
                record: csv::StringRecord::new(),
                name_col,
                secret_col,
                pk_col,
                expect,
                index: 0,
                header_fields: headers.len(),
                failed: false,
            }),
            _ => Err(Error::Invalid(problems)),
        }
    }

    /// Whether the CSV's header has a DeviceSecret column (read or not).
    pub fn has_secret_column(&self) -> bool {
        self.secret_col.is_some()
    }

    /// The next row, checked on its own. `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<DeviceRow, Vec<Problem>>> {
        if self.failed {
            return None;
        }
        let at = self.path.display().to_string();
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(self.reader.position().line(), |p| p.line());
                let rule = match e.kind() {
                    csv::ErrorKind::Io(io) => {
                        // What follows cannot be read either.
                        self.failed = true;
                        io.to_string()
                    }
                    _ => format!("not valid CSV: {e}"),
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
