//! `burnline station serve` and `burnline station report`: the config and
//! the pool turned into a running station service (`crate::station`), and
//! the pool's history into the day's CSV.

use crate::cmdline::{StationReportArgs, StationServeArgs};
use crate::error::{Error, Result};
use crate::station::config::StationConfig;
use crate::station::service::{image_size, Service};
use crate::station::writer::{CardWriter, Opener};
use std::path::PathBuf;
use std::sync::Arc;

/// Runs `station serve`.
pub fn serve(args: &StationServeArgs) -> Result<()> {
    let config = StationConfig::load(&args.config)?;
    let size = image_size(&config.recipe)?;
    // TEMPORARY until the pool lands.
    let devices = PathBuf::from(std::env::var_os("BURNLINE_TMP_DEVICES").unwrap_or_default());
    let ledger = config.work_dir.join("ledger.jsonl");
    let (recipe, dir) = (config.recipe.clone(), config.work_dir.clone());
    let opener: Opener = Box::new(move || {
        let w =
            crate::station::ledger_writer::LedgerWriter::open(&recipe, &devices, &ledger, &dir)?;
        Ok(Arc::new(w) as Arc<dyn CardWriter>)
    });
    let first = match opener() {
        Ok(w) => Some(w),
        Err(e) if e.exit_code() == 2 => return Err(e),
        Err(e) => {
            eprintln!("station: the pool cannot be opened yet: {e}");
            None
        }
    };
    let service = Service::new(config, size, opener, first);
    crate::station::serve(service)
}

/// Runs `station report`.
pub fn report(_args: &StationReportArgs) -> Result<()> {
    Err(Error::Usage("station report needs the pool".into()))
}
