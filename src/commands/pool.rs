//! `burnline pool init|import|status|export|release|settle|history|verify`,
//! and `flash --pool`:
//! the command line turned into calls on the identity pool
//! (`burnline_pool`) and on the pooled station (`burnline_flash::pooled`).
//! The CSV is read only through `DeviceReader`, so an import checks every
//! row as `build` does; a row already in the pool with another secret
//! refuses the whole import, named by its line.

use crate::cmdline::{
    ExportFormat, FlashArgs, PoolCommand, PoolExportArgs, PoolHistoryArgs, PoolImportArgs,
    PoolInitArgs, PoolReleaseArgs, PoolSettleArgs, PoolStatusArgs, PoolVerifyArgs,
};
use burnline_core::identity::names::ProductKey;
use burnline_flash::pooled::{Phase, PooledOptions, PooledStation};
use burnline_image::build::check::check_all;
use burnline_image::device_csv::check::expect;
use burnline_image::device_csv::reader::DeviceReader;
use burnline_image::error::{Error, Problem, Result};
use burnline_io::{say, show};
use burnline_pool::pool::{Exported, NewIdentity};
use burnline_pool::{Kind, Pool, PoolError, PoolUrl, State};
use std::path::PathBuf;

/// Runs a `pool` subcommand.
pub fn run(cmd: &PoolCommand) -> Result<()> {
    match cmd {
        PoolCommand::Init(a) => init(a),
        PoolCommand::Import(a) => import(a),
        PoolCommand::Status(a) => status(a),
        PoolCommand::Export(a) => export(a),
        PoolCommand::Release(a) => release(a),
        PoolCommand::Settle(a) => settle(a),
        PoolCommand::History(a) => history(a),
        PoolCommand::Verify(a) => verify(a),
    }
}

fn init(a: &PoolInitArgs) -> Result<()> {
    let r = Pool::init(&a.db.db, &a.key_file)?;
    if r.key_created {
        say!(
            "burnline: made key file {} (mode 0600, key {}): every station needs a copy; without it the secrets are lost",
            a.key_file.display(),
            r.key_fingerprint
        );
    }
    if r.from == r.to {
        say!("burnline: {}: schema version {} is current", a.db.db, r.to);
    } else {
        say!(
            "burnline: {}: schema version {} -> {}",
            a.db.db,
            r.from,
            r.to
        );
    }
    Ok(())
}

fn import(a: &PoolImportArgs) -> Result<()> {
    let list = a.devices.list();
    let (recipe, _, _) = check_all(&a.recipe, &list)?;
    let pool = Pool::open(&a.db.db, Some(&a.key_file))?;
    let expect = expect(&recipe);
    let kind = Kind::with_secret(expect.device_secret);
    // A 一机一密 list under a 一型一密 recipe is refused by the reader.
    let mut reader = DeviceReader::open(&list, expect)?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    while let Some(row) = reader.next_row() {
        let row = row.map_err(Error::Invalid)?;
        lines.push((row.line, row.device_name.clone()));
        rows.push(NewIdentity {
            product_key: row.product_key,
            device_name: row.device_name,
            device_secret: row.device_secret,
        });
    }
    match pool.import(&rows, kind) {
        Ok(r) => {
            say!(
                "burnline: {}: {} identit(ies) added, {} already in the pool",
                a.db.db, r.added, r.already
            );
            Ok(())
        }
        Err(PoolError::Conflicts(idx)) => Err(Error::Invalid(
            idx.into_iter()
                .map(|i| {
                    let (line, name) = &lines[i];
                    Problem::new(
                        format!("{list}:{line}"),
                        "DeviceName",
                        format!(
                            "`{name}` is already in the pool with a different DeviceSecret; nothing was imported"
                        ),
                    )
                })
                .collect(),
        )),
        Err(e) => Err(e.into()),
    }
}

fn status(a: &PoolStatusArgs) -> Result<()> {
    let pool = Pool::open(&a.db.db, None)?;
    let st = pool.status()?;
    if a.json {
        let stations: Vec<serde_json::Value> = st
            .known
            .iter()
            .map(|k| {
                let counts: serde_json::Map<String, serde_json::Value> = st
                    .stations
                    .get(&k.name)
                    .map(|m| {
                        m.iter()
                            .map(|(s, n)| (s.as_str().to_owned(), (*n).into()))
                            .collect()
                    })
                    .unwrap_or_default();
                serde_json::json!({
                    "name": k.name, "live": k.live, "host": k.host, "pid": k.pid,
                    "started_at_ms": k.seen_at, "identities": counts,
                })
            })
            .collect();
        let states: serde_json::Map<String, serde_json::Value> = st
            .states
            .iter()
            .map(|(s, n)| (s.as_str().to_owned(), (*n).into()))
            .collect();
        let v = serde_json::json!({ "states": states, "stations": stations, "history_rows": st.history });
        show!("{v}");
        return Ok(());
    }
    show!("pool {}", a.db.db);
    for (s, n) in &st.states {
        show!("  {:<12} {n}", s.as_str());
    }
    for k in &st.known {
        let counts = st
            .stations
            .get(&k.name)
            .map(|m| {
                m.iter()
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let alive = if k.live { "live" } else { "not running" };
        let dead_leases = st.stations.get(&k.name).map_or(0, |m| {
            m.get(&State::Leased).copied().unwrap_or(0)
                + m.get(&State::Written).copied().unwrap_or(0)
        });
        let note = if !k.live && dead_leases > 0 {
            "; its leases are settled when it starts again, or by `burnline pool settle`"
        } else {
            ""
        };
        show!(
            "station {} ({alive}, host {}, pid {}): {}{note}",
            k.name,
            k.host,
            k.pid,
            if counts.is_empty() {
                "nothing yet".into()
            } else {
                counts
            }
        );
    }
    show!("history: {} row(s)", st.history);
    Ok(())
}

const COLUMNS: [&str; 12] = [
    "product_key",
    "device_name",
    "state",
    "station",
    "target",
    "card",
    "digest",
    "reason",
    "imported_at_ms",
    "leased_at_ms",
    "written_at_ms",
    "verified_at_ms",
];

fn fields(e: &Exported) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let t = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    vec![
        e.product_key.clone(),
        e.device_name.clone(),
        e.state.as_str().to_owned(),
        o(&e.station),
        o(&e.target),
        o(&e.card),
        o(&e.digest),
        o(&e.reason),
        e.imported_at.to_string(),
        t(e.leased_at),
        t(e.written_at),
        t(e.verified_at),
    ]
}

fn export(a: &PoolExportArgs) -> Result<()> {
    let key = if a.reveal_secrets {
        a.key_file.as_deref()
    } else {
        None
    };
    let pool = Pool::open(&a.db.db, key)?;
    let rows = pool.export(a.reveal_secrets)?;
    let secret = |s: &Option<burnline_core::secret::Secret>| {
        s.as_ref()
            .map(|x| x.expose().to_owned())
            .unwrap_or_default()
    };
    match a.format {
        ExportFormat::Csv => {
            let mut w = burnline_io::sheet_csv::SheetWriter::from_writer(std::io::stdout().lock());
            let mut head: Vec<&str> = COLUMNS.to_vec();
            if a.reveal_secrets {
                head.extend(["device_secret", "issued_secret"]);
            }
            let io = |e: csv::Error| Error::Io {
                context: "writing the export".into(),
                source: std::io::Error::other(e.to_string()),
            };
            w.write_record(&head).map_err(io)?;
            for e in &rows {
                let mut f = fields(e);
                if a.reveal_secrets {
                    f.push(secret(&e.device_secret));
                    f.push(secret(&e.issued_secret));
                }
                w.write_record(&f).map_err(io)?;
            }
            w.flush().map_err(|e| Error::Io {
                context: "writing the export".into(),
                source: e,
            })?;
        }
        ExportFormat::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|e| {
                    let mut m = serde_json::Map::new();
                    for (c, v) in COLUMNS.iter().zip(fields(e)) {
                        let v = if c.ends_with("_ms") {
                            v.parse::<i64>().map_or(serde_json::Value::Null, Into::into)
                        } else if v.is_empty() {
                            serde_json::Value::Null
                        } else {
                            v.into()
                        };
                        m.insert((*c).to_owned(), v);
                    }
                    if a.reveal_secrets {
                        m.insert("device_secret".into(), secret(&e.device_secret).into());
                        m.insert("issued_secret".into(), secret(&e.issued_secret).into());
                    }
                    serde_json::Value::Object(m)
                })
                .collect();
            show!("{}", serde_json::Value::Array(list));
        }
    }
    Ok(())
}

fn release(a: &PoolReleaseArgs) -> Result<()> {
    let pool = Pool::open(&a.db.db, None)?;
    pool.release(
        a.product_key.as_ref().map(ProductKey::as_str),
        a.device_name.as_str(),
        &a.reason,
    )?;
    say!("burnline: {} is back in the pool", a.device_name);
    Ok(())
}

fn settle(a: &PoolSettleArgs) -> Result<()> {
    let pool = Pool::open(&a.db.db, Some(&a.key_file))?;
    let done = pool.settle_station(&a.station, &a.reason)?;
    for d in &done {
        say!(
            "burnline: {}/{} ({}, on {}) quarantined",
            d.product_key,
            d.device_name,
            d.was,
            d.target.as_deref().unwrap_or("no target")
        );
    }
    say!(
        "burnline: station {}: {} open lease(s) quarantined; none is left open",
        a.station,
        done.len()
    );
    Ok(())
}

fn history(a: &PoolHistoryArgs) -> Result<()> {
    let pool = Pool::open(&a.db.db, None)?;
    let mut w = burnline_io::sheet_csv::SheetWriter::from_writer(std::io::stdout().lock());
    let io = |e: csv::Error| Error::Io {
        context: "writing the history".into(),
        source: std::io::Error::other(e.to_string()),
    };
    w.write_record([
        "seq",
        "time_ms",
        "product_key",
        "device_name",
        "from",
        "to",
        "station",
        "target",
        "card",
        "reason",
    ])
    .map_err(io)?;
    for h in pool.history()? {
        if a.device_name
            .as_ref()
            .is_some_and(|d| d.as_str() != h.device_name)
        {
            continue;
        }
        w.write_record([
            h.seq.to_string(),
            h.time.to_string(),
            h.product_key,
            h.device_name,
            h.from.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            h.to.as_str().to_owned(),
            h.station.unwrap_or_default(),
            h.target.unwrap_or_default(),
            h.card.unwrap_or_default(),
            h.reason,
        ])
        .map_err(io)?;
    }
    w.flush().map_err(|e| Error::Io {
        context: "writing the history".into(),
        source: e,
    })
}

/// `pool verify`: the history's chain (`burnline_pool::chain`); the first
/// broken row, by its history row and DeviceName, is the error (exit 2).
fn verify(a: &PoolVerifyArgs) -> Result<()> {
    let pool = Pool::open(&a.db.db, None)?;
    let r = pool.verify_history()?;
    if let Some(first) = r.breaks.first() {
        let more = match r.breaks.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more broken chain(s))"),
        };
        return Err(PoolError::Damaged(format!(
            "{}: the history's hash chain breaks: {first}{more}",
            a.db.db
        ))
        .into());
    }
    show!(
        "ok: {}: {} identit(ies), {} history row(s), every chain intact, heads and states match",
        a.db.db,
        r.identities,
        r.rows
    );
    Ok(())
}

/// `flash --pool URL --recipe R --station NAME --key-file K --target …`:
/// one thread per target; a batch goes on past a failed card and fails at
/// the end.
pub fn flash(args: &FlashArgs, url: &PoolUrl) -> Result<()> {
    let (Some(recipe), Some(station), Some(key_file)) =
        (&args.recipe, &args.station, &args.key_file)
    else {
        return Err(Error::Usage(
            "--pool needs --recipe, --station and --key-file".into(),
        ));
    };
    let st = PooledStation::open(&PooledOptions {
        recipe: recipe.clone(),
        pool: url.clone(),
        key_file: key_file.clone(),
        station: station.clone(),
        work_dir: args.work_dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        ca_file: args.ca_file.clone(),
        digest: args.digest,
    })?;
    let none = |_: u64, _: u64, _: Phase| {};
    let results: Vec<Result<_>> = std::thread::scope(|s| {
        let handles: Vec<_> = args
            .targets
            .iter()
            .map(|t| {
                let st = &st;
                s.spawn(move || {
                    // A panic fails this card, not the others.
                    burnline_io::internal_error::contain_thread();
                    st.flash_card(t, &none)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Usage(
                        "a writer stopped on an internal error (the line above)".into(),
                    ))
                })
            })
            .collect()
    });
    let total = results.len();
    match st.remaining() {
        Ok(n) => say!("burnline: {n} identit(ies) left in the pool"),
        Err(e) => say!("burnline: {e}"),
    }
    let mut errors = Vec::new();
    for (t, r) in args.targets.iter().zip(results) {
        match r {
            Ok(o) => say!(
                "ok: {}/{} -> {} ({}), {}{}",
                o.product_key,
                o.device_name,
                t.display(),
                o.card.describe(),
                o.digest,
                if o.already {
                    "; the card already held it, verified: nothing was written"
                } else {
                    ""
                }
            ),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 if total == 1 => Err(errors.remove(0)),
        n => {
            // Every failure is listed; the most telling one (a refusal of
            // the whole product, which stops the station; a lost database or
            // claim; then a failed card; then an empty pool) ends the run.
            say!("burnline: {n} of {total} target(s) failed");
            let rank = |e: &Error| match e {
                Error::ProductRefused(_) => 4,
                Error::Pool(PoolError::Lost { .. } | PoolError::ClaimLost { .. }) => 3,
                Error::Pool(PoolError::Empty) => 1,
                _ => 2,
            };
            let worst = (0..errors.len())
                .max_by_key(|&i| rank(&errors[i]))
                .unwrap_or(0);
            for (i, e) in errors.iter().enumerate() {
                if i != worst {
                    say!("error: {e}");
                }
            }
            // Cards that failed while the pool held: a batch with failed
            // cards, exit 1 as `build`'s failed devices.
            if rank(&errors[worst]) == 2 {
                say!("error: {}", errors[worst]);
                return Err(Error::TargetsFailed { failed: n, total });
            }
            Err(errors.swap_remove(worst))
        }
    }
}
