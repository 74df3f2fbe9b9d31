//! One state per slot, and the board that holds every slot's state with
//! the day's counts, the pool's remaining identities and the last errors;
//! every change is pushed to the page's event stream as a new snapshot.
//!
//! `empty` → `writing` (percent, MB/s, ETA) → `verifying` → `done` (with the
//! DeviceName) or `failed` (the reason in plain words) → `empty` when the
//! card is taken out. A slot that failed because its card was pulled stays
//! `failed` until the next card goes in, so the operator sees it.

use burnline_core::civil::civil;
use serde::Serialize;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// What a slot is doing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum SlotState {
    /// No card.
    Empty,
    /// Writing the image.
    Writing {
        /// Percent written.
        percent: u8,
        /// Megabytes (10^6 bytes) a second so far.
        mb_s: f64,
        /// Seconds left at that rate, once known.
        eta_s: Option<u64>,
    },
    /// Reading it back and checking it.
    Verifying {
        /// Percent read back.
        percent: u8,
    },
    /// Written, verified and marked verified in the pool.
    Done {
        /// The identity on the card.
        device_name: String,
        /// Its ProductKey.
        product_key: String,
    },
    /// Not done; why, in plain words.
    Failed {
        /// What kind of failure (the page says it in the operator's language).
        kind: FailKind,
        /// The reason, in full.
        reason: String,
        /// Whether the slot stays failed after the card is gone (a pull).
        sticky: bool,
    },
}

/// The kinds of failure, each with its own sentence on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    /// The slot path is not a block device.
    NotBlock,
    /// The slot names a disk of the running system.
    SystemDisk,
    /// Something on the card is mounted or used as swap.
    InUse,
    /// The card is write-protected.
    ReadOnly,
    /// The card is smaller than the image.
    TooSmall,
    /// The card was in the slot when the station started.
    Held,
    /// The pool has no identity left.
    PoolEmpty,
    /// The pool's database cannot be used.
    PoolUnavailable,
    /// The station stopped taking cards: the platform refused the whole
    /// product, which no retry or other card can fix.
    Stopped,
    /// The card was taken out while it was written.
    Pulled,
    /// The card was taken out before anything was written.
    Removed,
    /// Writing or verifying failed.
    WriteFailed,
    /// The writer stopped on an internal error.
    Internal,
    /// The slot could not be looked at (in the last errors only).
    Unreadable,
    /// A refused card could not be recorded in the card journal (in the
    /// last errors only).
    JournalFailed,
    /// A verified card's label could not be written (in the last errors
    /// only).
    LabelFailed,
    /// A verified card's label was not printed (in the last errors only).
    PrintFailed,
}

/// A slot as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    /// Its id (`/api/slots/{id}`).
    pub id: String,
    /// The slot's device path, as configured.
    pub path: String,
    /// The state.
    #[serde(flatten)]
    pub state: SlotState,
    /// Seconds since 1970 when the state last changed kind.
    pub since: u64,
}

/// Today's counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// The day, `YYYY-MM-DD` at the line's UTC offset.
    pub day: String,
    /// Cards verified today.
    pub pass: u64,
    /// Cards failed today.
    pub fail: u64,
}

/// The pool as the page shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PoolView {
    /// Identities left to lease, when known.
    pub remaining: Option<u64>,
    /// Why the pool cannot be used right now.
    pub error: Option<String>,
    /// Of what kind that is (`pool_empty`, `pool_unavailable`, `stopped`).
    pub kind: Option<FailKind>,
}

/// One of the last errors.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorLine {
    /// Seconds since 1970.
    pub time: u64,
    /// The slot it happened in, if any.
    pub slot: Option<String>,
    /// What kind of error it is (the page says it in the operator's
    /// language, `message` under its details).
    pub kind: FailKind,
    /// What happened, in full (it may name a command or an OS error).
    pub message: String,
}

/// Everything on the page at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The station's name.
    pub station: String,
    /// The station's `utc_offset` in minutes east of UTC: the page shows
    /// times in this zone, whatever the browser's.
    pub utc_offset_minutes: i32,
    /// Every slot, in config order.
    pub slots: Vec<SlotView>,
    /// Today's counts.
    pub counts: Counts,
    /// The pool.
    pub pool: PoolView,
    /// The last errors, newest first.
    pub errors: Vec<ErrorLine>,
}

/// How many errors the page keeps.
pub const LAST_ERRORS: usize = 10;

/// Seconds since 1970.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD` of a time at an offset (minutes east of UTC).
pub fn day_of(secs: u64, offset_minutes: i32) -> String {
    let local = secs as i64 + i64::from(offset_minutes) * 60;
    let (y, m, d) = civil(local.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The board: every slot's state and the rest of the page, behind one lock,
/// with the stream of snapshots.
pub struct Board {
    inner: Mutex<Snapshot>,
    offset_minutes: i32,
    events: broadcast::Sender<Snapshot>,
}

impl Board {
    /// A board with every slot empty.
    pub fn new(station: &str, slots: &[(String, String)], offset_minutes: i32) -> Board {
        let t = now();
        let (events, _) = broadcast::channel(64);
        Board {
            inner: Mutex::new(Snapshot {
                station: station.to_owned(),
                utc_offset_minutes: offset_minutes,
                slots: slots
                    .iter()
                    .map(|(id, path)| SlotView {
                        id: id.clone(),
                        path: path.clone(),
                        state: SlotState::Empty,
                        since: t,
                    })
                    .collect(),
                counts: Counts {
                    day: day_of(t, offset_minutes),
                    ..Counts::default()
                },
                pool: PoolView::default(),
                errors: Vec::new(),
            }),
            offset_minutes,
            events,
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let today = day_of(now(), self.offset_minutes);
        if s.counts.day != today {
            s.counts = Counts {
                day: today,
                ..Counts::default()
            };
        }
        s
    }

    fn change(&self, f: impl FnOnce(&mut Snapshot)) {
        let snap = {
            let mut s = self.locked();
            f(&mut s);
            s.clone()
        };
        // No page listening is fine.
        let _ = self.events.send(snap);
    }

    /// The page as it is now.
    pub fn snapshot(&self) -> Snapshot {
        self.locked().clone()
    }

    /// The stream of snapshots, one per change.
    pub fn subscribe(&self) -> broadcast::Receiver<Snapshot> {
        self.events.subscribe()
    }

    /// A slot's state.
    pub fn state(&self, slot: usize) -> SlotState {
        self.locked().slots[slot].state.clone()
    }

    /// Starts today's counts from what the pool and the card journal say
    /// happened earlier today (a restarted service).
    pub fn seed_counts(&self, pass: u64, fail: u64) {
        self.change(|s| {
            s.counts.pass = pass;
            s.counts.fail = fail;
        });
    }

    /// Sets a slot's state; a `done` counts a pass, a `failed` a fail
    /// (unless `count` is false: a card held back, not tried).
    pub fn set(&self, slot: usize, state: SlotState, count: bool) {
        self.change(|s| {
            if count {
                match &state {
                    SlotState::Done { .. } => s.counts.pass += 1,
                    SlotState::Failed { .. } => s.counts.fail += 1,
                    _ => {}
                }
            }
            let v = &mut s.slots[slot];
            if std::mem::discriminant(&v.state) != std::mem::discriminant(&state) {
                v.since = now();
            }
            v.state = state;
        });
    }

    /// Records an error for the page (newest first, the last few kept).
    pub fn error(&self, slot: Option<&str>, kind: FailKind, message: &str) {
        self.change(|s| {
            s.errors.insert(
                0,
                ErrorLine {
                    time: now(),
                    slot: slot.map(str::to_owned),
                    kind,
                    message: message.to_owned(),
                },
            );
            s.errors.truncate(LAST_ERRORS);
        });
    }

    /// Sets what the page says about the pool.
    pub fn set_pool(&self, pool: PoolView) {
        self.change(|s| s.pool = pool);
    }

    /// The pool as the page shows it.
    pub fn pool(&self) -> PoolView {
        self.locked().pool.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(s: &Snapshot) -> Vec<String> {
        s.errors.iter().map(|e| e.message.clone()).collect()
    }

    #[test]
    fn days_are_counted_at_the_lines_offset() {
        assert_eq!(day_of(0, 0), "1970-01-01");
        // 2026-12-01 20:00 UTC is already the 2nd in China.
        assert_eq!(day_of(1_796_155_200, 0), "2026-12-01");
        assert_eq!(day_of(1_796_155_200, 480), "2026-12-02");
        assert_eq!(day_of(951_782_400, 0), "2000-02-29");
    }

    #[test]
    fn done_and_failed_are_counted_and_errors_are_newest_first() {
        let b = Board::new("st", &[("1".into(), "/dev/a".into())], 0);
        let mut rx = b.subscribe();
        b.set(
            0,
            SlotState::Done {
                device_name: "gw-1".into(),
                product_key: "pk".into(),
            },
            true,
        );
        b.set(
            0,
            SlotState::Failed {
                kind: FailKind::WriteFailed,
                reason: "x".into(),
                sticky: false,
            },
            true,
        );
        b.set(
            0,
            SlotState::Failed {
                kind: FailKind::Held,
                reason: "held".into(),
                sticky: false,
            },
            false,
        );
        for m in 0..12 {
            b.error(Some("1"), FailKind::Unreadable, &format!("e{m}"));
        }
        let s = b.snapshot();
        assert_eq!((s.counts.pass, s.counts.fail), (1, 1));
        assert_eq!(messages(&s).len(), LAST_ERRORS);
        assert_eq!(messages(&s)[0], "e11");
        assert!(rx.try_recv().is_ok());
        let json = serde_json::to_value(&s.slots[0]).expect("json");
        assert_eq!(json["state"], "failed");
        assert_eq!(json["reason"], "held");
        assert_eq!(json["kind"], "held");
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["errors"][0]["kind"], "unreadable");
        assert_eq!(json["utc_offset_minutes"], 0);
    }
}
