//! The programmer station: `burnline flash --recipe R --devices CSV --target
//! …` flashes fresh identities straight from a recipe. The base image is
//! built once (a temp file next to the ledger); each target gets the next
//! identity the [`crate::station_ledger`] has not seen verified, as the same
//! per-device [`Job`](burnline_image::job::device_job::Job) a build makes (so with
//! `register: host` the device is registered first, its secret in the
//! registration ledger next to the station ledger before the card is
//! written, and the card carries the full triple). Each identity is recorded
//! `assigned` before its first byte, then `written`, then `verified` (or
//! `failed`), with the image's digest (`blake3:…`, or `sha256:…`).

use super::checked_base::CheckedBase;
use super::parallel::{flash_one, join_all, report, Outcome};
use super::source::Source;
use super::write::Expect;
use crate::station_ledger::{Ledger, Record, State};
use burnline_image::base;
use burnline_image::build::check::check_all;
use burnline_image::device_csv::check::expect;
use burnline_image::device_csv::list::DeviceList;
use burnline_image::device_csv::reader::{DeviceReader, DeviceRow};
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::job::device_job::DeviceBuilder;
use burnline_image::recipe::Recipe;
use burnline_image::registration::host::HostRegistrar;
use burnline_io::hash::DigestKind;
use burnline_io::say;
use std::path::{Path, PathBuf};

/// The station's run, besides its recipe and devices.
pub struct StationRun<'a> {
    /// The cards.
    pub targets: &'a [PathBuf],
    /// The station ledger.
    pub ledger: &'a Path,
    /// With `register: host`: extra CA certificates (PEM).
    pub ca_file: Option<&'a Path>,
    /// A file target may grow past [`super::target::FILE_GROWTH_LIMIT`].
    pub large_file: bool,
    /// The digest each card's image is recorded with.
    pub digest: DigestKind,
}

/// Flashes one fresh identity onto each target, the base checked once
/// ([`CheckedBase`]) and each card reading only what it writes.
pub fn run(recipe_path: &Path, devices: &DeviceList, run: &StationRun<'_>) -> Result<()> {
    let StationRun {
        targets,
        ledger: ledger_path,
        ca_file,
        large_file,
        digest,
    } = *run;
    let (recipe, layout, _) = check_all(recipe_path, devices)?;
    for w in recipe.warning_lines() {
        say!("{w}");
    }
    let ledger = Ledger::open(ledger_path)?;
    let dir = ledger_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let registrar = HostRegistrar::for_recipe(&recipe, dir, ca_file, targets.len())?;
    let base = base::build(&recipe, &layout, dir)?;
    let builder = DeviceBuilder::new(&recipe, &layout, &base, dir.to_path_buf(), false, registrar)?;
    let rows = next_rows(devices, &recipe, &ledger, ledger_path, targets.len())?;
    let src = Source::of_base(&base);
    let checked = CheckedBase::new(&src)?;
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for (job, t) in builder.jobs(&rows).into_iter().zip(targets) {
        let job = match job {
            Ok(job) => job,
            // Refused by the platform, or its secret could not be recorded:
            // that identity is not burned, the other targets go on.
            Err(e) => {
                refused.push(Outcome {
                    target: t.clone(),
                    result: Err(e),
                });
                continue;
            }
        };
        let row = job.row;
        let exp = checked
            .expect(job.patches, digest)
            .at("hashing", &base.path)?;
        if let Some(prev) = ledger.last(&row.product_key, &row.device_name) {
            say!(
                "burnline: {} was {:?} on {} in an earlier run, not verified: issuing it again",
                row.device_name,
                prev.state,
                prev.target
            );
        }
        ledger.append(record(row, t, State::Assigned, None, None))?;
        jobs.push((row, t, exp));
    }
    let outcomes = burn_all(&jobs, &src, &ledger, large_file);
    for ((row, t, _), o) in jobs.iter().zip(&outcomes) {
        if o.result.is_ok() {
            say!("ok: {} -> {}", row.device_name, t.display());
        }
    }
    report(refused.into_iter().chain(outcomes).collect())
}

/// The next identities with no verified card, in CSV order, at most `n`.
fn next_rows(
    devices: &DeviceList,
    recipe: &Recipe,
    ledger: &Ledger,
    ledger_path: &Path,
    n: usize,
) -> Result<Vec<DeviceRow>> {
    let mut reader = DeviceReader::open(devices, expect(recipe))?;
    let mut rows: Vec<DeviceRow> = Vec::new();
    while rows.len() < n {
        match reader.next_row() {
            None => break,
            Some(Ok(row)) if ledger.is_verified(&row.product_key, &row.device_name) => {}
            Some(Ok(row)) => rows.push(row),
            Some(Err(problems)) => return Err(Error::Invalid(problems)),
        }
    }
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "every identity in {} is already verified on a card (see {})",
            devices,
            ledger_path.display()
        )));
    }
    if rows.len() < n {
        say!(
            "burnline: only {} identit(ies) left; the other targets are not written",
            rows.len()
        );
    }
    Ok(rows)
}

/// Writes every job's card at once, one thread each, each step in the
/// ledger (`written`, then `verified` or `failed`).
fn burn_all(
    jobs: &[(&DeviceRow, &PathBuf, Expect)],
    src: &Source,
    ledger: &Ledger,
    large_file: bool,
) -> Vec<Outcome> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(row, t, exp)| {
                (
                    t,
                    s.spawn(move || {
                        burnline_io::internal_error::contain_thread();
                        let r = flash_one(src, exp, t, large_file, |sha| {
                            ledger.append(record(
                                row,
                                t,
                                State::Written,
                                Some(format!("{}:{}", sha.kind().name(), sha.hex())),
                                None,
                            ))
                        });
                        match &r {
                            Ok((sha, _)) => ledger.append(record(
                                row,
                                t,
                                State::Verified,
                                Some(format!("{}:{}", sha.kind().name(), sha.hex())),
                                None,
                            ))?,
                            Err(e) => ledger.append(record(
                                row,
                                t,
                                State::Failed,
                                None,
                                Some(e.to_string()),
                            ))?,
                        }
                        r
                    }),
                )
            })
            .collect();
        join_all(handles.into_iter().map(|(t, h)| (t.as_path(), h)).collect())
    })
}

fn record(
    row: &DeviceRow,
    t: &Path,
    state: State,
    digest: Option<String>,
    error: Option<String>,
) -> Record {
    Record {
        device_name: row.device_name.clone(),
        product_key: row.product_key.clone(),
        target: t.display().to_string(),
        state,
        image_digest: digest,
        image_sha256: None,
        error,
        time: 0,
    }
}
