//! `platform state`: the console's 在线 column, for a whole batch, as a
//! machine reads it. `BatchGetDeviceState` is asked 50 devices a call (per
//! product); each device is printed with its status (`ONLINE`, `OFFLINE`,
//! `UNACTIVE`, `DISABLE`; `MISSING` for a name the platform did not answer
//! for), then the counts. With `--wait-online` it asks again, about the
//! devices not yet online, until all are or the time is up. The run
//! succeeds only when every device is `ONLINE`. With a pool, each
//! verified identity found online is noted in the pool's history.

use super::api::{self, BATCH};
use super::client::Client;
use super::error::PlatformError;
use crate::error::Result;
use burnline_io::{say, show};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The status of a name the platform did not answer for.
pub const MISSING: &str = "MISSING";

/// The statuses, in the order the counts are printed.
const STATUSES: [&str; 5] = ["ONLINE", "OFFLINE", "UNACTIVE", "DISABLE", MISSING];

/// The pool note of an identity seen online.
pub const ONLINE_NOTE: &str = "platform: ONLINE (burnline platform state)";

/// One device and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// Its status.
    pub status: String,
}

/// Asks the status of every device in `devices` (ProductKey, DeviceName),
/// 50 a call per product.
pub fn ask(c: &mut Client, devices: &[(String, String)]) -> Result<Vec<Seen>> {
    let mut by_product: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (pk, dn) in devices {
        by_product.entry(pk).or_default().push(dn);
    }
    let mut status: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut asked = 0;
    for (pk, names) in by_product {
        for chunk in names.chunks(BATCH) {
            for (dn, st) in api::batch_get_device_state(c, pk, chunk)? {
                status.insert((pk.to_owned(), dn), st);
            }
            asked += chunk.len();
            if devices.len() > BATCH {
                say!("burnline: asked {asked} of {} device(s)", devices.len());
            }
        }
    }
    Ok(devices
        .iter()
        .map(|(pk, dn)| Seen {
            product_key: pk.clone(),
            device_name: dn.clone(),
            status: status
                .remove(&(pk.clone(), dn.clone()))
                .unwrap_or_else(|| MISSING.to_owned()),
        })
        .collect())
}

/// Asks, and with `wait` asks again about those not online (every
/// `every`) until all are or `wait` has passed.
pub fn ask_until_online(
    c: &mut Client,
    devices: &[(String, String)],
    wait: Option<Duration>,
    every: Duration,
) -> Result<Vec<Seen>> {
    let deadline = wait.map(|w| Instant::now() + w);
    let mut seen = ask(c, devices)?;
    while let Some(deadline) = deadline {
        let pending: Vec<(String, String)> = seen
            .iter()
            .filter(|s| s.status != "ONLINE")
            .map(|s| (s.product_key.clone(), s.device_name.clone()))
            .collect();
        if pending.is_empty() || Instant::now() + every > deadline {
            break;
        }
        say!(
            "burnline: {} of {} device(s) not ONLINE yet; asking again in {} s",
            pending.len(),
            seen.len(),
            every.as_secs()
        );
        std::thread::sleep(every);
        for again in ask(c, &pending)? {
            if let Some(s) = seen
                .iter_mut()
                .find(|s| s.product_key == again.product_key && s.device_name == again.device_name)
            {
                s.status = again.status;
            }
        }
    }
    Ok(seen)
}

/// Counts per status (every status present, zero or not).
pub fn counts(seen: &[Seen]) -> BTreeMap<&'static str, usize> {
    let mut m: BTreeMap<&'static str, usize> = STATUSES.iter().map(|s| (*s, 0)).collect();
    for s in seen {
        let key = STATUSES
            .iter()
            .find(|k| **k == s.status)
            .copied()
            .unwrap_or(MISSING);
        *m.entry(key).or_default() += 1;
    }
    m
}

/// Prints the devices and the counts (text or JSON); fails unless every
/// device is `ONLINE`.
pub fn report(seen: &[Seen], json: bool) -> Result<()> {
    let counts = counts(seen);
    let online = counts.get("ONLINE").copied().unwrap_or(0);
    if json {
        let devices: Vec<serde_json::Value> = seen
            .iter()
            .map(|s| {
                serde_json::json!({
                    "product_key": s.product_key, "device_name": s.device_name, "status": s.status,
                })
            })
            .collect();
        let v = serde_json::json!({
            "devices": devices,
            "counts": counts,
            "total": seen.len(),
            "all_online": online == seen.len(),
        });
        show!("{v}");
    } else {
        for s in seen {
            show!("{}/{} {}", s.product_key, s.device_name, s.status);
        }
        show!(
            "{}",
            STATUSES
                .iter()
                .map(|k| format!("{k} {}", counts.get(k).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if online == seen.len() {
        Ok(())
    } else {
        Err(PlatformError::NotOnline {
            not_online: seen.len() - online,
            total: seen.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(dn: &str, st: &str) -> Seen {
        Seen {
            product_key: "a1X2bEnP82z".into(),
            device_name: dn.into(),
            status: st.into(),
        }
    }

    #[test]
    fn counts_every_status_and_fails_unless_all_online() {
        let all = [
            seen("a", "ONLINE"),
            seen("b", "UNACTIVE"),
            seen("c", "weird"),
        ];
        let c = counts(&all);
        assert_eq!(c["ONLINE"], 1);
        assert_eq!(c["UNACTIVE"], 1);
        assert_eq!(c[MISSING], 1);
        assert_eq!(c["DISABLE"], 0);
        let e = report(&all, true).unwrap_err();
        assert!(
            matches!(
                e,
                PlatformError::NotOnline {
                    not_online: 2,
                    total: 3
                }
            ),
            "{e:?}"
        );
        assert!(report(&[seen("a", "ONLINE")], false).is_ok());
    }
}
