//! TEMPORARY (until the pool lands): a card writer over the JSONL station
//! ledger and a device CSV, built from `flash --recipe`'s parts. Replaced
//! by the pool's station; not to be shipped.

use super::writer::{CardWriter, Flashed, Phase, Progress};
use crate::base;
use crate::build::check::check_all;
use crate::device::job::DeviceBuilder;
use crate::devices::check::expect;
use crate::devices::reader::{DeviceReader, DeviceRow};
use crate::error::{Error, IoContext, Result};
use crate::flash::ledger::{Ledger, Record, State};
use crate::flash::parallel::flash_one;
use crate::flash::source::Source;
use crate::flash::write::Expect;
use crate::io::hash::{hash_patched, DigestKind};
use crate::registration::host::HostRegistrar;
use std::path::Path;
use std::sync::Mutex;

/// The temporary writer.
pub struct LedgerWriter {
    builder: DeviceBuilder<'static>,
    ledger: Ledger,
    rows: Mutex<Vec<DeviceRow>>,
    src: Source,
}

impl LedgerWriter {
    /// Opens it.
    pub fn open(recipe: &Path, devices: &Path, ledger: &Path, dir: &Path) -> Result<LedgerWriter> {
        let (recipe, layout, _) = check_all(recipe, devices)?;
        let recipe = Box::leak(Box::new(recipe));
        let layout = Box::leak(Box::new(layout));
        let ledger = Ledger::open(ledger)?;
        std::fs::create_dir_all(dir).at("creating", dir)?;
        let registrar = HostRegistrar::for_recipe(recipe, dir, None, 4)?;
        let base: &'static base::Base = Box::leak(Box::new(base::build(recipe, layout, dir)?));
        let builder =
            DeviceBuilder::new(recipe, layout, base, dir.to_path_buf(), false, registrar)?;
        let mut reader = DeviceReader::open(devices, expect(recipe))?;
        let mut rows = Vec::new();
        while let Some(row) = reader.next_row() {
            let row = row.map_err(Error::Invalid)?;
            if !ledger.is_verified(&row.product_key, &row.device_name) {
                rows.push(row);
            }
        }
        rows.reverse();
        let src = Source {
            path: base.path.clone(),
            compression: None,
            size: base.len,
            map: Some(base.extents.iter().map(|&(s, l)| (s, l, None)).collect()),
        };
        Ok(LedgerWriter {
            builder,
            ledger,
            rows: Mutex::new(rows),
            src,
        })
    }
}

fn record(row: &DeviceRow, t: &Path, state: State, sha: Option<String>) -> Record {
    Record {
        device_name: row.device_name.clone(),
        product_key: row.product_key.clone(),
        target: t.display().to_string(),
        state,
        image_sha256: sha,
        error: None,
        time: 0,
    }
}

impl CardWriter for LedgerWriter {
    fn flash_card(&self, target: &Path, progress: Progress<'_>) -> Result<Flashed> {
        let row = self
            .rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or_else(|| Error::Usage("no identity left".into()))?;
        let rows = [row];
        let job = self.builder.jobs(&rows).remove(0)?;
        let base = self.builder.base;
        let sha = hash_patched(&base.file, base.len, &base.extents, &job.patches)
            .at("hashing", &base.path)?;
        self.ledger
            .append(record(&rows[0], target, State::Assigned, None))?;
        let exp = Expect {
            patches: job.patches,
            base_sha256: None,
            image: Some((DigestKind::Sha256, sha)),
        };
        progress(0, 1, Phase::Writing);
        let r = flash_one(&self.src, &exp, target, |_| Ok(()));
        progress(1, 1, Phase::Verifying);
        let (sum, _) = r?;
        self.ledger.append(record(
            &rows[0],
            target,
            State::Verified,
            Some(sum.hex().to_owned()),
        ))?;
        Ok(Flashed {
            device_name: rows[0].device_name.clone(),
            product_key: rows[0].product_key.clone(),
            digest: sum.hex().to_owned(),
            card: target.display().to_string(),
        })
    }

    fn remaining(&self) -> Result<u64> {
        Ok(self.rows.lock().unwrap_or_else(|p| p.into_inner()).len() as u64)
    }
}
