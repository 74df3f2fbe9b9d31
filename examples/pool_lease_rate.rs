//! Measures the identity pool's lease rate (`scripts/bench.sh --pool` runs
//! it): `N` identities are imported, then `S` stations (one thread and one
//! connection each, as separate station processes would have) lease one
//! after another and record each lease `written` and `verified`, as a card
//! would, until the pool is empty. Prints leases per second and the lease
//! call's latency (median and 99th percentile over every lease of every
//! station), and checks that every identity ended verified exactly once.
//!
//! With `lease` as the fifth argument, the stations only lease (the
//! written and verified steps are left out): the rate of the lease
//! transaction alone.
//!
//! `cargo run --release --example pool_lease_rate -- URL KEYFILE [N] [S] [cycle|lease]`

use burnline_core::secret::Secret;
use burnline_pool::{Kind, LeaseRequest, NewIdentity, Pool, PoolError, PoolUrl};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(key)) = (args.get(1), args.get(2)) else {
        return Err("usage: pool_lease_rate URL KEYFILE [N] [STATIONS]".into());
    };
    let url: PoolUrl = url.parse()?;
    let key = PathBuf::from(key);
    let n: usize = args.get(3).map_or(Ok(4000), |s| s.parse())?;
    let stations: usize = args.get(4).map_or(Ok(8), |s| s.parse())?;
    let lease_only = match args.get(5).map(String::as_str) {
        None | Some("cycle") => false,
        Some("lease") => true,
        Some(other) => return Err(format!("mode `{other}`: use cycle or lease").into()),
    };
    Pool::init(&url, &key)?;
    let pool = Pool::open(&url, Some(&key))?;
    let rows: Vec<NewIdentity> = (0..n)
        .map(|i| NewIdentity {
            product_key: "a1X2bEnP82z".into(),
            device_name: format!("bench-{i:07}"),
            device_secret: Some(Secret::new(format!("Sx7qLmN8pRt5VwYz2Ab4Cd6Ef{i:07}"))),
        })
        .collect();
    let t0 = Instant::now();
    let r = pool.import(&rows, Kind::DeviceSecret)?;
    eprintln!(
        "imported {} ({} already) in {:.2} s",
        r.added,
        r.already,
        t0.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..stations)
            .map(|k| {
                let (url, key) = (url.clone(), key.clone());
                s.spawn(move || -> Result<Vec<Duration>, PoolError> {
                    let mut p = Pool::open(&url, Some(&key))?;
                    p.claim_station(&format!("bench-{k}"))?;
                    let target = format!("/dev/null/slot{k}");
                    let mut took = Vec::new();
                    loop {
                        let asked = Instant::now();
                        let lease = match p.lease::<PoolError>(
                            &LeaseRequest {
                                target: &target,
                                card: "file /dev/null",
                                product_key: None,
                                kind: Kind::DeviceSecret,
                            },
                            None,
                        ) {
                            Ok(l) => l,
                            Err(PoolError::Empty) => return Ok(took),
                            Err(e) => return Err(e),
                        };
                        took.push(asked.elapsed());
                        if !lease_only {
                            p.mark_written(&lease, "sha256:00")?;
                            p.mark_verified(&lease, "sha256:00")?;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a station thread panicked".to_string())
            })
            .collect::<Vec<_>>()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut took = Vec::new();
    for c in counts {
        took.extend(c??);
    }
    took.sort_unstable();
    let total = took.len() as u64;
    // The q-quantile by the nearest-rank method, in milliseconds.
    let quantile = |q: f64| {
        let rank = ((q * took.len() as f64).ceil() as usize).clamp(1, took.len().max(1));
        took.get(rank - 1).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let status = pool.status()?;
    let end_state = if lease_only {
        burnline_pool::State::Leased
    } else {
        burnline_pool::State::Verified
    };
    let ended = status.states.get(&end_state).copied().unwrap_or(0);
    if total != n as u64 || ended != n as u64 {
        return Err(format!("{total} leases, {ended} {end_state}, of {n}").into());
    }
    let what = if lease_only {
        "the lease transaction alone"
    } else {
        "lease, written, verified: 3 transactions each"
    };
    println!(
        "pool lease rate, {url}: {stations} stations, {n} identities ({what}) in {secs:.2} s: {:.0} leases/s, lease latency p50 {:.2} ms, p99 {:.2} ms",
        n as f64 / secs,
        quantile(0.5),
        quantile(0.99)
    );
    Ok(())
}
