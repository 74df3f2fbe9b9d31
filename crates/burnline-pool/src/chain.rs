//! The hash chain of the pool's `history` (issue #17, point 2). The table's
//! triggers refuse UPDATE and DELETE, but a DBA can drop them; the chain
//! makes what they then change show.
//!
//! The chain is per identity, not global, so stations leasing different
//! identities in parallel (`FOR UPDATE SKIP LOCKED`) never wait on one
//! head: each history row's `prev` is the `hash` of the same identity's
//! previous row ([`GENESIS`] for its first), and the identity's row keeps
//! its chain's head (`identities.history_head`), set in the transaction
//! that appends the row, while that identity's row is locked anyway.
//!
//! `hash` is the SHA-256 of a canonical encoding of `prev` and the row's
//! fields (time, ProductKey, DeviceName, from and to state, station,
//! target, card, reason): a domain tag, then each field as a kind byte
//! (0 NULL, 1 text, 2 integer), a big-endian u64 length and its bytes.
//! No secret is ever a history field, so none is hashed.
//!
//! [`verify`] walks every row in `seq` order and reports the first that
//! breaks: an altered row (its hash), a removed or reordered row (the
//! next row's `prev`), a removed last row (the identity's head), a state
//! that does not follow from the one before, or an identity whose state
//! is not what its chain replays to.
//!
//! Each lease checks its row's chain the same way ([`check_identity`]), in
//! its own transaction, so a state set by hand is refused before a card.
//!
//! A pool of schema version 1 has no chain: migration 2 chains its
//! existing history ([`chain_existing`]), in the migration's transaction.
//! The chain vouches for those rows as they were at migration time.

use crate::db::{pg_error, Db, Row, Tx, Val};
use crate::error::{PoolError, Result};
use crate::state::State;
use crate::url::PoolUrl;
use std::collections::HashMap;

/// The `prev` of an identity's first history row: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What every hashed encoding starts with.
const DOMAIN: &[u8] = b"burnline pool history v1\0";

/// One history row's chained fields.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    /// When (ms since the epoch).
    pub time: i64,
    /// ProductKey.
    pub product_key: &'a str,
    /// DeviceName.
    pub device_name: &'a str,
    /// From (none: imported).
    pub from: Option<&'a str>,
    /// To.
    pub to: &'a str,
    /// Station.
    pub station: Option<&'a str>,
    /// Target.
    pub target: Option<&'a str>,
    /// Card.
    pub card: Option<&'a str>,
    /// Why.
    pub reason: &'a str,
}

fn put(buf: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    buf.push(kind);
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

fn put_text(buf: &mut Vec<u8>, t: Option<&str>) {
    match t {
        None => put(buf, 0, b""),
        Some(t) => put(buf, 1, t.as_bytes()),
    }
}

/// The hash (hex) of a row chained to `prev`.
pub fn hash(prev: &str, f: &Fields<'_>) -> String {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(DOMAIN);
    put_text(&mut buf, Some(prev));
    put(&mut buf, 2, &f.time.to_be_bytes());
    put_text(&mut buf, Some(f.product_key));
    put_text(&mut buf, Some(f.device_name));
    put_text(&mut buf, f.from);
    put_text(&mut buf, Some(f.to));
    put_text(&mut buf, f.station);
    put_text(&mut buf, f.target);
    put_text(&mut buf, f.card);
    put_text(&mut buf, Some(f.reason));
    hex::encode(ring::digest::digest(&ring::digest::SHA256, &buf))
}

/// Appends a chained history row for `f`'s identity, whose row the
/// caller's transaction has already written (and so locked), and moves
/// the identity's head to it.
pub fn append(tx: &mut Tx<'_>, url: &PoolUrl, f: &Fields<'_>) -> Result<()> {
    let prev = tx
        .query(
            url,
            "SELECT history_head FROM identities WHERE product_key = $1 AND device_name = $2",
            &[f.product_key.into(), f.device_name.into()],
        )?
        .first()
        .and_then(|r| r.first().and_then(Val::text))
        .unwrap_or_else(|| GENESIS.to_owned());
    let h = hash(&prev, f);
    tx.exec(
        url,
        "INSERT INTO history (time, product_key, device_name, from_state, to_state, station, target, card, reason, prev, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            f.time.into(),
            f.product_key.into(),
            f.device_name.into(),
            f.from.into(),
            f.to.into(),
            f.station.into(),
            f.target.into(),
            f.card.into(),
            f.reason.into(),
            prev.as_str().into(),
            h.as_str().into(),
        ],
    )?;
    tx.exec(
        url,
        "UPDATE identities SET history_head = $1 WHERE product_key = $2 AND device_name = $3",
        &[h.into(), f.product_key.into(), f.device_name.into()],
    )?;
    Ok(())
}

/// The history's columns, in the order `Read::of` reads them.
const COLUMNS: &str =
    "seq, time, product_key, device_name, from_state, to_state, station, target, card, reason, prev, hash";

fn text(r: &Row, i: usize) -> Option<String> {
    r.get(i).and_then(Val::text)
}

/// One row as read back.
struct Read {
    seq: i64,
    time: i64,
    pk: String,
    dn: String,
    from: Option<String>,
    to: String,
    station: Option<String>,
    target: Option<String>,
    card: Option<String>,
    reason: String,
    prev: Option<String>,
    hash: Option<String>,
}

impl Read {
    fn of(r: &Row) -> Read {
        Read {
            seq: r.first().and_then(Val::int).unwrap_or(0),
            time: r.get(1).and_then(Val::int).unwrap_or(0),
            pk: text(r, 2).unwrap_or_default(),
            dn: text(r, 3).unwrap_or_default(),
            from: text(r, 4),
            to: text(r, 5).unwrap_or_default(),
            station: text(r, 6),
            target: text(r, 7),
            card: text(r, 8),
            reason: text(r, 9).unwrap_or_default(),
            prev: text(r, 10),
            hash: text(r, 11),
        }
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            time: self.time,
            product_key: &self.pk,
            device_name: &self.dn,
            from: self.from.as_deref(),
            to: &self.to,
            station: self.station.as_deref(),
            target: self.target.as_deref(),
            card: self.card.as_deref(),
            reason: &self.reason,
        }
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The history row (`seq`), or none when the identity has no row left.
    pub seq: Option<i64>,
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// What is wrong, in words.
    pub why: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(s) => write!(
                f,
                "history row {s} ({}/{}): {}",
                self.product_key, self.device_name, self.why
            ),
            None => write!(f, "{}/{}: {}", self.product_key, self.device_name, self.why),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Identities checked.
    pub identities: u64,
    /// History rows checked.
    pub rows: u64,
    /// Every break, the one with the lowest row first (at most one per
    /// identity: after its first break an identity's chain is not read on).
    pub breaks: Vec<Break>,
}

/// A chain being walked.
struct Walk {
    head: String,
    state: Option<String>,
    last_seq: Option<i64>,
    broken: bool,
}

/// Why row `r` breaks the chain `w` has walked so far: it does not link
/// to the previous row, its fields do not match its hash, or its states
/// do not follow on; `None` when it is sound.
fn row_break(w: &Walk, r: &Read) -> Option<String> {
    if r.prev.as_deref() != Some(w.head.as_str()) {
        Some(match w.last_seq {
            Some(s) => format!(
                "does not link to the identity's previous row ({s}): a row between them was removed, or rows were reordered"
            ),
            None => "does not link to the start of the chain: the identity's first rows were removed, or rows were reordered".to_owned(),
        })
    } else if r.hash.as_deref() != Some(hash(&w.head, &r.fields()).as_str()) {
        Some("its fields do not match its hash: the row was altered".to_owned())
    } else if r.from != w.state || State::parse(&r.to).is_none() {
        Some(format!(
            "goes from {} to {}, but the chain before it left the identity {}",
            r.from.as_deref().unwrap_or("(nothing)"),
            r.to,
            w.state.as_deref().unwrap_or("(nothing)")
        ))
    } else {
        None
    }
}

/// Checks every identity's chain, its head and its state (see the module
/// doc), in one read-only pass over the history in `seq` order.
pub fn verify(rows: &[Row], identities: &[Row]) -> Report {
    let mut report = Report::default();
    let mut walks: HashMap<(String, String), Walk> = HashMap::new();
    for r in rows {
        let r = Read::of(r);
        report.rows += 1;
        let w = walks.entry((r.pk.clone(), r.dn.clone())).or_insert(Walk {
            head: GENESIS.to_owned(),
            state: None,
            last_seq: None,
            broken: false,
        });
        if w.broken {
            continue;
        }
        let why = row_break(w, &r);
        match why {
            Some(why) => {
                w.broken = true;
                report.breaks.push(Break {
                    seq: Some(r.seq),
                    product_key: r.pk,
                    device_name: r.dn,
                    why,
                });
            }
            None => {
                w.head = r.hash.unwrap_or_default();
                w.state = Some(r.to);
                w.last_seq = Some(r.seq);
            }
        }
    }
    for i in identities {
        report.identities += 1;
        let pk = text(i, 0).unwrap_or_default();
        let dn = text(i, 1).unwrap_or_default();
        let state = text(i, 2).unwrap_or_default();
        let head = text(i, 3);
        let key = (pk, dn);
        let why = match walks.remove(&key) {
            Some(w) if w.broken => None,
            Some(w) if head.as_deref() != Some(w.head.as_str()) => Some((
                w.last_seq,
                format!(
                    "is the last row of the identity's chain, but the identity's head is not its hash: rows after it were removed{}",
                    if head.is_none() { " (or the head was cleared)" } else { "" }
                ),
            )),
            Some(w) if w.state.as_deref() != Some(state.as_str()) => Some((
                w.last_seq,
                format!(
                    "the chain leaves the identity {}, but it is {state}: its state was changed outside burnline",
                    w.state.as_deref().unwrap_or("(nothing)")
                ),
            )),
            Some(_) => None,
            None => Some((None, "has no history row left: its history was removed".to_owned())),
        };
        if let Some((seq, why)) = why {
            report.breaks.push(Break {
                seq,
                product_key: key.0,
                device_name: key.1,
                why,
            });
        }
    }
    for ((pk, dn), w) in walks {
        if !w.broken {
            report.breaks.push(Break {
                seq: w.last_seq,
                product_key: pk,
                device_name: dn,
                why: "has history but no identity row: the identity was removed".to_owned(),
            });
        }
    }
    report
        .breaks
        .sort_by_key(|b| (b.seq.is_none(), b.seq, b.device_name.clone()));
    report
}

/// Reads what [`verify`] needs, the history and the identities in one
/// read-only snapshot (SQLite: a deferred read transaction; PostgreSQL:
/// REPEATABLE READ), so stations appending meanwhile never make a head
/// look wrong, and checks it. Nothing is written or locked.
pub fn read_and_verify(db: &mut Db, url: &PoolUrl) -> Result<Report> {
    let read = |tx: &mut Tx<'_>| -> Result<Report> {
        let rows = tx.query(
            url,
            &format!("SELECT {COLUMNS} FROM history ORDER BY seq"),
            &[],
        )?;
        let ids = tx.query(
            url,
            "SELECT product_key, device_name, state, history_head FROM identities ORDER BY id",
            &[],
        )?;
        Ok(verify(&rows, &ids))
    };
    // Each transaction is dropped, so rolled back: it only read.
    match db {
        Db::Lite(c) => {
            let t = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                .map_err(|e| PoolError::Other(format!("{url}: {e}")))?;
            read(&mut Tx::Lite(t))
        }
        Db::Pg(c) => {
            let t = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| pg_error(url, e))?;
            read(&mut Tx::Pg(t))
        }
    }
}

/// Checks one identity's chain, head and state, inside the caller's
/// transaction (the lease's, with the row locked): the first break, if
/// any. The lease refuses a row whose chain does not give its state.
pub fn check_identity(
    tx: &mut Tx<'_>,
    url: &PoolUrl,
    product_key: &str,
    device_name: &str,
) -> Result<Option<Break>> {
    let rows = tx.query(
        url,
        &format!(
            "SELECT {COLUMNS} FROM history WHERE product_key = $1 AND device_name = $2 ORDER BY seq"
        ),
        &[product_key.into(), device_name.into()],
    )?;
    let ids = tx.query(
        url,
        "SELECT product_key, device_name, state, history_head FROM identities \
         WHERE product_key = $1 AND device_name = $2",
        &[product_key.into(), device_name.into()],
    )?;
    Ok(verify(&rows, &ids).breaks.into_iter().next())
}

/// Migration 2's step in Rust: chains the history a version-1 pool has,
/// in `seq` order, with the append-only triggers lifted for the length of
/// the migration's transaction (and put back in it).
pub fn chain_existing(tx: &mut Tx<'_>, url: &PoolUrl, pg: bool) -> Result<()> {
    let (drop, restore) = if pg {
        (
            "DROP TRIGGER history_append_only ON history;",
            "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history \
             FOR EACH ROW EXECUTE FUNCTION burnline_history_append_only();",
        )
    } else {
        (
            "DROP TRIGGER history_no_update;",
            "CREATE TRIGGER history_no_update BEFORE UPDATE ON history \
             BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;",
        )
    };
    tx.batch(url, drop)?;
    let rows = tx.query(
        url,
        &format!("SELECT {COLUMNS} FROM history ORDER BY seq"),
        &[],
    )?;
    let mut heads: HashMap<(String, String), String> = HashMap::new();
    for r in &rows {
        let r = Read::of(r);
        let head = heads
            .entry((r.pk.clone(), r.dn.clone()))
            .or_insert_with(|| GENESIS.to_owned());
        let h = hash(head, &r.fields());
        tx.exec(
            url,
            "UPDATE history SET prev = $1, hash = $2 WHERE seq = $3",
            &[head.as_str().into(), h.as_str().into(), r.seq.into()],
        )?;
        *head = h;
    }
    for ((pk, dn), h) in heads {
        tx.exec(
            url,
            "UPDATE identities SET history_head = $1 WHERE product_key = $2 AND device_name = $3",
            &[h.into(), pk.into(), dn.into()],
        )?;
    }
    tx.batch(url, restore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(station: Option<&'a str>, target: Option<&'a str>) -> Fields<'a> {
        Fields {
            time: 1,
            product_key: "pk",
            device_name: "dn",
            from: None,
            to: "available",
            station,
            target,
            card: None,
            reason: "imported",
        }
    }

    #[test]
    fn the_encoding_keeps_field_boundaries_and_null_apart_from_empty() {
        let base = hash(GENESIS, &fields(Some("ab"), Some("c")));
        assert_eq!(base.len(), 64);
        assert_eq!(base, hash(GENESIS, &fields(Some("ab"), Some("c"))));
        assert_ne!(base, hash(GENESIS, &fields(Some("a"), Some("bc"))));
        assert_ne!(
            hash(GENESIS, &fields(None, Some(""))),
            hash(GENESIS, &fields(Some(""), None))
        );
        assert_ne!(base, hash(&"1".repeat(64), &fields(Some("ab"), Some("c"))));
    }
}
