//! `pool settle`: a person closes the open leases of a station that died
//! and will not start again (or not soon). A dead station's `leased` and
//! `written` identities otherwise wait for a process of the same name to
//! start and check its cards; settling them sets each aside
//! (`quarantined`), since nobody has read the card back, with a history
//! row naming the person and the reason. It takes the station's claim
//! first (the same claim a station takes, see [`crate::station`]), in its
//! one transaction, so it is refused while the station is live, and no
//! station of that name can start while it runs. Settling again finds nothing open: it is
//! idempotent.

use super::{history, int, state_of, text, Pool};
use crate::error::{PoolError, Result};
use crate::state::State;
use crate::station;

/// An identity `pool settle` quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// What it was: `leased` or `written`.
    pub was: State,
    /// Its lease's target.
    pub target: Option<String>,
}

impl Pool {
    /// Quarantines every open lease (`leased`, `written`) of the station
    /// `name`, which must not be live ([`PoolError::StationInUse`]), each
    /// with a history row holding `reason` and who settled it. A name the
    /// pool has never seen is refused ([`PoolError::State`]).
    pub fn settle_station(&self, name: &str, reason: &str) -> Result<Vec<Settled>> {
        station::check_name(name)?;
        if reason.trim().is_empty() {
            return Err(PoolError::State(
                "--reason must say why the station's leases are settled".into(),
            ));
        }
        let holder = station::Holder::me();
        let token = super::token()?;
        let by = format!(
            "settled by {}: station {name} is not running: {reason}",
            crate::account::current()
        );
        self.tx(|tx, url| {
            let known = tx.query(
                url,
                "SELECT (SELECT count(*) FROM stations WHERE name = $1) + \
                 (SELECT count(*) FROM identities WHERE station = $1)",
                &[name.into()],
            )?;
            if known.first().and_then(|r| int(r, 0)).unwrap_or(0) == 0 {
                return Err(PoolError::State(format!(
                    "station `{name}` is not known to this pool; nothing was done"
                )));
            }
            // The station's claim, taken and let go in this transaction:
            // refused while it is live, and no station of the name starts
            // meanwhile.
            station::take(tx, url, name, &holder, &token)?;
            let rows = tx.query(
                url,
                "SELECT id, product_key, device_name, state, target, card FROM identities \
                 WHERE station = $1 AND state IN ('leased', 'written') ORDER BY id",
                &[name.into()],
            )?;
            let mut done = Vec::new();
            for r in &rows {
                let (pk, dn) = (
                    text(r, 1).unwrap_or_default(),
                    text(r, 2).unwrap_or_default(),
                );
                let was = state_of(r, 3)?;
                let n = tx.exec(
                    url,
                    "UPDATE identities SET state = 'quarantined', reason = $1, changed_at = $2 \
                     WHERE id = $3 AND state = $4",
                    &[
                        by.as_str().into(),
                        super::now_ms().into(),
                        int(r, 0).unwrap_or(0).into(),
                        was.as_str().into(),
                    ],
                )?;
                if n != 1 {
                    return Err(PoolError::Other(format!(
                        "{pk}/{dn}: changed while being settled"
                    )));
                }
                history(
                    tx,
                    url,
                    &pk,
                    &dn,
                    Some(was),
                    State::Quarantined,
                    Some(name),
                    text(r, 4).as_deref(),
                    text(r, 5).as_deref(),
                    &by,
                )?;
                done.push(Settled {
                    product_key: pk,
                    device_name: dn,
                    was,
                    target: text(r, 4),
                });
            }
            station::release(tx, url, name, &token)?;
            Ok(done)
        })
    }
}
