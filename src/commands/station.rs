//! `burnline station serve` and `burnline station report`: the config and
//! the pool turned into a running station service (`burnline_station`), and
//! the pool's history into the day's CSV.

use crate::cmdline::{StationReportArgs, StationServeArgs};
use crate::exit::Code;
use burnline_flash::pooled::{PooledOptions, PooledStation};
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::say;
use burnline_station::config::StationConfig;
use burnline_station::service::{image_size, Service};
use burnline_station::writer::{CardWriter, Opener};
use std::sync::Arc;

/// Runs `station serve`. A pool that cannot be opened because of the
/// config (a wrong key, a station name in use, a schema from a newer
/// burnline: bad input) stops it at once; one that cannot be reached is shown
/// on the page and opened again every few seconds.
pub fn serve(args: &StationServeArgs) -> Result<()> {
    burnline_io::console::stamp_when_piped(burnline_station::report::utc_now);
    let config = StationConfig::load(&args.config)?;
    let size = image_size(&config.recipe)?;
    let opts = PooledOptions {
        recipe: config.recipe.clone(),
        pool: config.pool.clone(),
        key_file: config.key_file.clone(),
        station: config.station.clone(),
        work_dir: config.work_dir.clone(),
        ca_file: config.ca_file.clone(),
        digest: config.digest,
    };
    std::fs::create_dir_all(&opts.work_dir).at("creating the work directory", &opts.work_dir)?;
    let opener: Opener =
        Box::new(move || Ok(Arc::new(PooledStation::open(&opts)?) as Arc<dyn CardWriter>));
    let first = match opener() {
        Ok(w) => Some(w),
        Err(e) if crate::exit::run_case(&e).code() == Code::BadInput => return Err(e),
        Err(e) => {
            say!("station: the pool cannot be opened yet: {e}");
            None
        }
    };
    let journal = burnline_station::journal::Journal::open(&config.work_dir)?;
    let today = first.as_ref().map(|_| counts_today(&config));
    let service = Service::new(config, size, opener, first, journal);
    match today {
        Some(Ok((pass, fail))) => service.board().seed_counts(pass, fail),
        Some(Err(e)) => {
            say!("station: today's counts could not be read, they start at 0: {e}")
        }
        None => {}
    }
    burnline_station::run::serve(service)
}

/// Today's passes and fails at this station so far (the cards verified,
/// the identities quarantined, the cards refused before a lease), from the
/// pool's history and the station's card journal: a service restarted in
/// the middle of a shift shows the day's counts, not zeros.
fn counts_today(config: &StationConfig) -> Result<(u64, u64)> {
    use burnline_station::{journal, report, slot_state};
    let offset = report::UtcOffset(config.utc_offset_minutes);
    let day = slot_state::day_of(slot_state::now(), config.utc_offset_minutes);
    let from = day
        .parse::<report::Since>()
        .map_err(burnline_image::error::Error::Usage)?
        .epoch(offset);
    let station = Some(config.station.as_str());
    let rows = report::read(&config.pool, from, i64::MAX, station, offset)?;
    let pass = rows.iter().filter(|r| r.result == "verified").count() as u64;
    let quarantined = rows.iter().filter(|r| r.result == "quarantined").count() as u64;
    let path = journal::path_in(&config.work_dir);
    let refused = if path.exists() {
        report::refused(&journal::read(&path)?, from, i64::MAX, station, offset).len() as u64
    } else {
        0
    };
    Ok((pass, quarantined + refused))
}

/// Runs `station report`.
pub fn report(args: &StationReportArgs) -> Result<()> {
    let from = args.since.epoch(args.utc_offset);
    let until = args
        .until
        .as_ref()
        .map_or(i64::MAX, |u| u.epoch(args.utc_offset));
    if until <= from {
        let at = |t| burnline_station::report::rfc3339(t, args.utc_offset);
        return Err(Error::Usage(format!(
            "--until {} is not after --since {}: no card can fall between them",
            at(until),
            at(from)
        )));
    }
    let mut rows = burnline_station::report::read(
        &args.db,
        from,
        until,
        args.station.as_deref(),
        args.utc_offset,
    )?;
    for j in &args.journal {
        rows.extend(burnline_station::report::refused(
            &burnline_station::journal::read(j)?,
            from,
            until,
            args.station.as_deref(),
            args.utc_offset,
        ));
    }
    let bytes = burnline_station::report::csv(&rows)?;
    match &args.out {
        Some(p) => burnline_io::atomic::write_file(p, &bytes)?,
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .with_context(|| "writing the report to stdout".into())?;
        }
    }
    say!("station report: {} card(s)", rows.len());
    Ok(())
}
