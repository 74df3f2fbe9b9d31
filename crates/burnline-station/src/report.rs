//! `burnline station report --db URL --since …`: the day's record as CSV,
//! one row per card a station leased an identity for: the slot (the
//! target path the station wrote), the card's physical identity, the
//! identity (ProductKey, DeviceName), the result (`verified`, `quarantined`,
//! `released`, or `in progress`), when it was leased and finished, the
//! image digest, the reason the pool recorded, and what `burnline platform`
//! last noted of the identity (`platform_state`: `ONLINE`, `reset`,
//! `deleted`). Read from the pool's
//! append-only history, so every lease shows, even one whose station died;
//! with `--journal`, the cards a station refused before any lease (result
//! `refused`, from `super::journal`) are added. No secret is ever read for
//! it.

use crate::config::parse_utc_offset;
use crate::slot_state::day_of;
use burnline_core::civil::{days_from_civil, days_in};
use burnline_image::error::{Error, IoContext, Result};
use burnline_pool::State;
use std::str::FromStr;

/// Minutes east of UTC (`+08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset(pub i32);

impl FromStr for UtcOffset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        parse_utc_offset(s).map(UtcOffset)
    }
}

/// A moment as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// Seconds since 1970.
    Epoch(i64),
    /// A day (`YYYY-MM-DD`), from its start at the line's offset.
    Day(i64, u32, u32),
    /// A local time (`YYYY-MM-DDTHH:MM:SS`), with its offset if it has one.
    Local((i64, u32, u32), (u32, u32, u32), Option<i32>),
    /// `today` (0) or `yesterday` (1): the start of the day this many days
    /// before the current one, at the line's offset.
    DaysAgo(i64),
}

fn date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=days_in(y, m)).contains(&d)).then_some((y, m, d))
}

impl FromStr for Since {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!("`{s}` is not a day (today, yesterday, 2026-12-02), a time (2026-12-02T08:00:00, may end in Z or +08:00) or seconds since 1970")
        };
        match s {
            "today" => return Ok(Since::DaysAgo(0)),
            "yesterday" => return Ok(Since::DaysAgo(1)),
            _ => {}
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Since::Epoch).map_err(|_| bad());
        }
        let Some((d, rest)) = s.split_once('T') else {
            return date(s).map(|(y, m, d)| Since::Day(y, m, d)).ok_or_else(bad);
        };
        let d = date(d).ok_or_else(bad)?;
        let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
            Some(i) => (
                &rest[..i],
                Some(parse_utc_offset(&rest[i..]).map_err(|_| bad())?),
            ),
            None => (rest, None),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        let [h, mi, se] = parts.as_slice() else {
            return Err(bad());
        };
        let (h, mi, se): (u32, u32, u32) = (
            h.parse().map_err(|_| bad())?,
            mi.parse().map_err(|_| bad())?,
            se.parse().map_err(|_| bad())?,
        );
        if h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        Ok(Since::Local(d, (h, mi, se), offset))
    }
}

impl Since {
    /// Seconds since 1970, days and offset-less times taken at `offset`.
    pub fn epoch(&self, offset: UtcOffset) -> i64 {
        match *self {
            Since::Epoch(s) => s,
            Since::Day(y, m, d) => days_from_civil(y, m, d) * 86_400 - i64::from(offset.0) * 60,
            Since::Local((y, m, d), (h, mi, se), own) => {
                days_from_civil(y, m, d) * 86_400 + i64::from(h * 3600 + mi * 60 + se)
                    - i64::from(own.unwrap_or(offset.0)) * 60
            }
            Since::DaysAgo(n) => {
                let now = i64::try_from(crate::slot_state::now()).unwrap_or(i64::MAX);
                let local = now.saturating_add(i64::from(offset.0) * 60);
                local - local.rem_euclid(86_400) - i64::from(offset.0) * 60 - n * 86_400
            }
        }
    }
}

/// Now, in RFC 3339 at UTC: the stamp of each stderr line of a long-running
/// command whose stderr is not a terminal
/// (`burnline_io::console::stamp_when_piped`).
pub fn utc_now() -> String {
    let now = i64::try_from(crate::slot_state::now()).unwrap_or(i64::MAX);
    rfc3339(now, UtcOffset(0))
}

/// RFC 3339 at an offset: `2026-12-02T09:15:03+08:00`.
pub fn rfc3339(secs: i64, offset: UtcOffset) -> String {
    let local = secs + i64::from(offset.0) * 60;
    let day = day_of(secs.max(0) as u64, offset.0);
    let t = local.rem_euclid(86_400);
    let (sign, o) = if offset.0 < 0 {
        ('-', -offset.0)
    } else {
        ('+', offset.0)
    };
    format!(
        "{day}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        t / 3600,
        t % 3600 / 60,
        t % 60,
        o / 60,
        o % 60
    )
}

/// One change of an identity, as the pool's history records it.
#[derive(Debug, Clone)]
pub struct Change {
    /// Seconds since 1970.
    pub time: i64,
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// The state it went to.
    pub to_state: State,
    /// The station.
    pub station: Option<String>,
    /// The target (the slot's path).
    pub target: Option<String>,
    /// The card's physical identity.
    pub card: Option<String>,
    /// Why.
    pub reason: String,
}

/// One card of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRow {
    /// The station.
    pub station: String,
    /// The slot (the target path written).
    pub slot: String,
    /// The card's physical identity.
    pub card: String,
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// `verified`, `quarantined`, `released` or `in progress`.
    pub result: String,
    /// When the identity was leased for this card.
    pub leased_at: String,
    /// When it was verified or quarantined (empty while in progress).
    pub finished_at: String,
    /// The image digest, for a verified card.
    pub digest: String,
    /// The reason the pool recorded last.
    pub reason: String,
    /// What `burnline platform` last noted of the identity: `ONLINE`,
    /// `reset` or `deleted` (empty: nothing noted).
    pub platform_state: String,
}

/// The cards of `changes` (in history order) whose lease falls in
/// `[from, until)`, optionally of one station; `digest` gives a verified
/// identity's digest.
pub fn cards(
    changes: &[Change],
    from: i64,
    until: i64,
    station: Option<&str>,
    offset: UtcOffset,
    digest: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<CardRow> {
    let mut rows: Vec<CardRow> = Vec::new();
    // The open row of each identity.
    let mut open: std::collections::HashMap<(String, String), usize> = Default::default();
    // What `burnline platform` last noted of each identity: no step of a
    // card, so it changes no row's result or reason.
    let mut platform: std::collections::HashMap<(String, String), String> = Default::default();
    for c in changes {
        let key = (c.product_key.clone(), c.device_name.clone());
        if let Some(note) = c.reason.strip_prefix(burnline_platform::NOTE_PREFIX) {
            let state = note.split_whitespace().next().unwrap_or_default();
            platform.insert(key, state.to_owned());
            continue;
        }
        if c.to_state == State::Leased {
            if c.time < from
                || c.time >= until
                || station.is_some_and(|s| c.station.as_deref() != Some(s))
            {
                open.remove(&key);
                continue;
            }
            open.insert(key, rows.len());
            rows.push(CardRow {
                station: c.station.clone().unwrap_or_default(),
                slot: c.target.clone().unwrap_or_default(),
                card: c.card.clone().unwrap_or_default(),
                product_key: c.product_key.clone(),
                device_name: c.device_name.clone(),
                result: "in progress".into(),
                leased_at: rfc3339(c.time, offset),
                finished_at: String::new(),
                digest: String::new(),
                reason: c.reason.clone(),
                platform_state: String::new(),
            });
            continue;
        }
        let Some(&i) = open.get(&key) else { continue };
        let row = &mut rows[i];
        row.reason.clone_from(&c.reason);
        if row.card.is_empty() {
            row.card = c.card.clone().unwrap_or_default();
        }
        let result = match c.to_state {
            State::Verified => "verified",
            State::Quarantined => "quarantined",
            State::Available => "released",
            State::Leased | State::Written => continue,
        };
        row.result = result.into();
        row.finished_at = rfc3339(c.time, offset);
        if result == "verified" {
            row.digest = digest(&c.product_key, &c.device_name).unwrap_or_default();
        }
        if result != "quarantined" {
            open.remove(&key);
        }
    }
    for r in &mut rows {
        if let Some(p) = platform.get(&(r.product_key.clone(), r.device_name.clone())) {
            r.platform_state.clone_from(p);
        }
    }
    rows
}

/// Reads the pool's history and digests through its API (never a secret
/// column) and returns the cards leased in `[from, until)` (seconds since
/// 1970).
pub fn read(
    url: &burnline_pool::PoolUrl,
    from: i64,
    until: i64,
    station: Option<&str>,
    offset: UtcOffset,
) -> Result<Vec<CardRow>> {
    // Checks the schema (not a pool, a newer burnline's pool) first.
    let pool = burnline_pool::Pool::open(url, None)?;
    let changes: Vec<Change> = pool
        .history()?
        .into_iter()
        .map(|h| Change {
            // The pool records milliseconds.
            time: h.time / 1000,
            product_key: h.product_key,
            device_name: h.device_name,
            to_state: h.to,
            station: h.station,
            target: h.target,
            card: h.card,
            reason: h.reason,
        })
        .collect();
    let digests: std::collections::HashMap<(String, String), String> = pool
        .digests()?
        .into_iter()
        .map(|d| ((d.product_key, d.device_name), d.digest))
        .collect();
    Ok(cards(&changes, from, until, station, offset, &|pk, dn| {
        digests.get(&(pk.to_owned(), dn.to_owned())).cloned()
    }))
}

/// The refused cards of a station's journal in `[from, until)`, as rows
/// (result `refused`, no identity, no lease).
pub fn refused(
    cards: &[crate::journal::Refused],
    from: i64,
    until: i64,
    station: Option<&str>,
    offset: UtcOffset,
) -> Vec<CardRow> {
    cards
        .iter()
        .filter(|r| r.time >= from && r.time < until && station.is_none_or(|s| s == r.station))
        .map(|r| CardRow {
            station: r.station.clone(),
            slot: r.slot.clone(),
            card: r.card.clone(),
            product_key: String::new(),
            device_name: String::new(),
            result: "refused".into(),
            leased_at: String::new(),
            finished_at: rfc3339(r.time, offset),
            digest: String::new(),
            reason: r.reason.clone(),
            platform_state: String::new(),
        })
        .collect()
}

/// The report's columns, in [`CardRow::cells`]' order.
const COLUMNS: [&str; 11] = [
    "station",
    "slot",
    "card",
    "product_key",
    "device_name",
    "result",
    "leased_at",
    "finished_at",
    "digest",
    "reason",
    "platform_state",
];

impl CardRow {
    /// The row's cells, in [`COLUMNS`]' order.
    fn cells(&self) -> [&str; 11] {
        [
            &self.station,
            &self.slot,
            &self.card,
            &self.product_key,
            &self.device_name,
            &self.result,
            &self.leased_at,
            &self.finished_at,
            &self.digest,
            &self.reason,
            &self.platform_state,
        ]
    }
}

/// The rows as CSV, with a header line; no cell is a spreadsheet formula
/// (`burnline_io::sheet_csv`).
pub fn csv(rows: &[CardRow]) -> Result<Vec<u8>> {
    let mut w = burnline_io::sheet_csv::SheetWriter::from_writer(Vec::new());
    let bad = |e: csv::Error| Error::Usage(format!("writing the report: {e}"));
    w.write_record(COLUMNS).map_err(bad)?;
    for r in rows {
        w.write_record(r.cells()).map_err(bad)?;
    }
    w.into_inner().with_context(|| "writing the report".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_read_at_the_lines_offset() {
        let cst = UtcOffset(480);
        let day: Since = "2026-12-02".parse().expect("day");
        // 2026-12-02 00:00 in China is 2026-12-01 16:00 UTC.
        assert_eq!(day.epoch(cst), 1_796_140_800);
        let t: Since = "2026-12-02T08:00:00Z".parse().expect("time");
        assert_eq!(t.epoch(cst), 1_796_198_400);
        let t: Since = "2026-12-02T08:00:00".parse().expect("time");
        assert_eq!(t.epoch(cst), 1_796_169_600);
        assert_eq!("12345".parse::<Since>().expect("epoch").epoch(cst), 12345);
        assert!("2026-02-30".parse::<Since>().is_err());
        assert!("tomorrow".parse::<Since>().is_err());
        assert_eq!(rfc3339(1_796_140_800, cst), "2026-12-02T00:00:00+08:00");
        assert_eq!(
            rfc3339(1_796_140_800, UtcOffset(-330)),
            "2026-12-01T10:30:00-05:30"
        );
    }

    #[test]
    fn today_and_yesterday_start_at_midnight_at_the_lines_offset() {
        for offset in [UtcOffset(480), UtcOffset(-330), UtcOffset(0)] {
            let today = "today".parse::<Since>().expect("today").epoch(offset);
            let yesterday = "yesterday".parse::<Since>().expect("yesterday");
            let now = crate::slot_state::now();
            let day = crate::slot_state::day_of(now, offset.0);
            let midnight = day.parse::<Since>().expect("day").epoch(offset);
            assert_eq!(today, midnight, "at {offset:?}");
            assert_eq!(yesterday.epoch(offset), midnight - 86_400);
            assert!(today <= now as i64 && now as i64 - today < 86_400);
        }
    }

    fn ch(time: i64, dn: &str, to: &str) -> Change {
        Change {
            time,
            product_key: "pk".into(),
            device_name: dn.into(),
            to_state: State::parse(to).expect("a state"),
            station: Some("st1".into()),
            target: Some("/dev/slot1".into()),
            card: Some("card-a".into()),
            reason: format!("to {to}"),
        }
    }

    #[test]
    fn each_lease_is_one_row_with_its_outcome() {
        let changes = [
            ch(10, "gw-1", "leased"),
            ch(11, "gw-1", "written"),
            ch(12, "gw-1", "verified"),
            ch(20, "gw-2", "leased"),
            ch(21, "gw-2", "quarantined"),
            ch(30, "gw-2", "available"),
            ch(40, "gw-2", "leased"),
            ch(5, "gw-3", "leased"),
        ];
        let rows = cards(&changes, 8, 100, None, UtcOffset(0), &|_, dn| {
            Some(format!("digest-of-{dn}"))
        });
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.device_name.as_str(), r.result.as_str(), r.digest.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("gw-1", "verified", "digest-of-gw-1"),
                ("gw-2", "released", ""),
                ("gw-2", "in progress", "")
            ]
        );
        let text = String::from_utf8(csv(&rows).expect("csv")).expect("utf-8");
        assert!(text.starts_with("station,slot,card,product_key,device_name,result,leased_at"));
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn platform_notes_fill_their_column_and_change_no_result() {
        let note = |time, dn: &str, to: &str, what: &str| Change {
            reason: what.into(),
            ..ch(time, dn, to)
        };
        let changes = [
            ch(10, "gw-1", "leased"),
            ch(12, "gw-1", "verified"),
            note(
                13,
                "gw-1",
                "verified",
                burnline_platform::device_state::ONLINE_NOTE,
            ),
            ch(20, "gw-2", "leased"),
            ch(21, "gw-2", "quarantined"),
            note(
                22,
                "gw-2",
                "quarantined",
                burnline_platform::rework::RESET_NOTE,
            ),
            ch(30, "gw-3", "leased"),
        ];
        let rows = cards(&changes, 0, 100, None, UtcOffset(0), &|_, _| None);
        let got: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.device_name.as_str(),
                    r.result.as_str(),
                    r.reason.as_str(),
                    r.platform_state.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("gw-1", "verified", "to verified", "ONLINE"),
                ("gw-2", "quarantined", "to quarantined", "reset"),
                ("gw-3", "in progress", "to leased", "")
            ]
        );
        let text = String::from_utf8(csv(&rows).expect("csv")).expect("utf-8");
        assert!(text.starts_with("station,slot,card,product_key,device_name,result,leased_at,finished_at,digest,reason,platform_state\n"), "{text}");
    }
}
