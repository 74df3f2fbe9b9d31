//! Makes a batch of staged devices durable and puts them in place: one
//! `syncfs` for the data, the renames, one directory fsync. A device that
//! failed (to build, or to be renamed) loses its temp files and is recorded;
//! the others go on.

use crate::device_csv::reader::DeviceRow;
use crate::error::{Error, IoContext, Result};
use crate::output::staged::Staged;
use std::fs::File;
use std::path::Path;

/// A device that failed, for the report.
#[derive(Debug, serde::Serialize)]
pub struct Failure {
    /// Its DeviceName.
    pub device_name: String,
    /// Its line in the CSV.
    pub line: u64,
    /// What went wrong, in one line (never a secret).
    pub error: String,
}

/// A batch made durable: the devices renamed into place, and those that
/// failed.
pub struct Settled {
    /// In place and durable.
    pub ok: Vec<Staged>,
    /// Failed.
    pub failures: Vec<Failure>,
}

/// Settles `results` (one per row of `rows`) in the output directory `out`.
pub fn settle(out: &Path, rows: &[DeviceRow], results: Vec<Result<Staged>>) -> Result<Settled> {
    let mut failures = Vec::new();
    let mut fail = |row: &DeviceRow, e: &Error| {
        failures.push(Failure {
            device_name: row.device_name.clone(),
            line: row.line,
            error: e.to_string(),
        });
    };
    let mut built = Vec::new();
    for (row, r) in rows.iter().zip(results) {
        match r {
            Ok(b) => built.push((row, b)),
            Err(e) => fail(row, &e),
        }
    }
    let mut ok = Vec::new();
    let any = built.iter().any(|(_, b)| !b.renames.is_empty());
    let dir = File::open(out).at("opening", out)?;
    if any {
        rustix::fs::syncfs(&dir)
            .map_err(std::io::Error::from)
            .at("syncing the file system of", out)?;
    }
    for (row, b) in built {
        let mut renamed = Ok(());
        for (temp, final_path) in &b.renames {
            renamed = renamed.and_then(|()| {
                std::fs::rename(temp, final_path).at("renaming into place", final_path)
            });
        }
        match renamed {
            Ok(()) => ok.push(b),
            Err(e) => {
                b.discard();
                fail(row, &e);
            }
        }
    }
    if any {
        dir.sync_all().at("syncing directory", out)?;
    }
    Ok(Settled { ok, failures })
}
