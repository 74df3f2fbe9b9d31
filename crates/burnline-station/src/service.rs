//! The station service's slot logic: every [`POLL`](super::slots::POLL)
//! each slot is looked at; a new card (a new device or a new `diskseq`) is
//! checked ([`super::safety`]) and, if it may be written, gets its own
//! writer thread, which leases the next identity, writes, verifies, marks
//! it verified, and makes its label. A card left in its slot after it is
//! done is not written again; a card that was already in a slot when the
//! service started is held until it is put in again or Retry is pressed
//! (it may be a good card from before: the writer reads it first, and one
//! the pool has as verified on that very medium shows as done, nothing
//! written). One slot's failure, or a panic in its writer, never stops the
//! others; the one thing that stops the station is a registration refused
//! for the whole product (then no card is started, and the page says why).

use super::config::{PrintFormat, StationConfig};
use super::journal::{Journal, Refused};
use super::label::{self, Label};
use super::safety;
use super::slot_state::{day_of, now, Board, FailKind, PoolView, SlotState};
use super::slots::{probe, Card, Presence};
use super::writer::{CardWriter, Opener, Phase};
use burnline_image::error::{CardFailure, Error};
use burnline_io::internal_error::contain;
use burnline_io::say;
use burnline_pool::PoolError;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often the pool's count is refreshed (and a lost pool reopened).
const POOL_REFRESH: Duration = Duration::from_secs(2);
/// Progress reaches the page at most this often per slot.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What the service knows of a slot between polls.
#[derive(Default)]
struct SlotCtl {
    /// The card last seen in it.
    medium: Option<Card>,
    /// A writer thread is working on it.
    busy: bool,
    /// What the path is, when it is not a block device.
    not_block: Option<String>,
    /// The slot has been looked at once (cards found at start are held).
    seen: bool,
    /// Why the last look at the slot failed, if it did (said once).
    unknown: Option<String>,
}

/// The running service.
pub struct Service {
    config: StationConfig,
    image_size: u64,
    board: Arc<Board>,
    opener: Opener,
    writer: RwLock<Option<Arc<dyn CardWriter>>>,
    slots: Vec<Mutex<SlotCtl>>,
    stopping: AtomicBool,
    /// The pool error last logged (each is logged once).
    said: Mutex<Option<String>>,
    /// Where cards refused before a lease are recorded.
    journal: Journal,
    /// Why the station stopped writing (the platform refused the whole
    /// product), once it has.
    halted: Mutex<Option<String>>,
}

/// Why a retry was not started.
#[derive(Debug)]
pub enum RetryRefused {
    /// No such slot.
    Unknown,
    /// The slot cannot be retried now; why.
    Refused(String),
}

impl Service {
    /// A service for `config`, writing images of `image_size` bytes with
    /// the writer `opener` opens (`writer`, if already open), recording the
    /// cards it refuses before a lease in `journal`.
    pub fn new(
        config: StationConfig,
        image_size: u64,
        opener: Opener,
        writer: Option<Arc<dyn CardWriter>>,
        journal: Journal,
    ) -> Arc<Service> {
        let ids: Vec<(String, String)> = config
            .slots
            .iter()
            .map(|s| (s.id.clone(), s.path.display().to_string()))
            .collect();
        let board = Arc::new(Board::new(&config.station, &ids, config.utc_offset_minutes));
        let slots = config.slots.iter().map(|_| Mutex::default()).collect();
        Arc::new(Service {
            config,
            image_size,
            board,
            opener,
            writer: RwLock::new(writer),
            slots,
            stopping: AtomicBool::new(false),
            said: Mutex::new(None),
            journal,
            halted: Mutex::new(None),
        })
    }

    /// The board the page shows.
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// The configuration.
    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    fn log(&self, slot: usize, what: &str) {
        say!("station: slot {}: {what}", self.config.slots[slot].id);
    }

    fn fail(&self, slot: usize, kind: FailKind, reason: String, count: bool) {
        self.log(slot, &format!("failed: {reason}"));
        self.board
            .error(Some(&self.config.slots[slot].id), kind, &reason);
        let sticky = kind == FailKind::Pulled;
        self.board.set(
            slot,
            SlotState::Failed {
                kind,
                reason,
                sticky,
            },
            count,
        );
    }

    /// A card refused before any lease: failed, and recorded for the
    /// day's report (the pool never saw it).
    fn refuse(&self, slot: usize, card: &Card, kind: FailKind, reason: String) {
        let r = Refused {
            time: now() as i64,
            station: self.config.station.clone(),
            slot: self.config.slots[slot].path.display().to_string(),
            card: card.device.display().to_string(),
            reason: reason.clone(),
        };
        if let Err(e) = self.journal.append(&r) {
            let why = format!("the refused card could not be recorded: {e}");
            self.log(slot, &why);
            self.board.error(
                Some(&self.config.slots[slot].id),
                FailKind::JournalFailed,
                &why,
            );
        }
        self.fail(slot, kind, reason, true);
    }

    /// Starts the poller and the pool refresher threads.
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        std::thread::spawn(move || me.poll_loop());
        let me = self.clone();
        std::thread::spawn(move || me.pool_loop());
    }

    /// Stops starting new cards.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether a writer is still working on any slot.
    pub fn busy(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.lock().unwrap_or_else(|p| p.into_inner()).busy)
    }

    fn poll_loop(self: Arc<Self>) {
        while !self.stopping.load(Ordering::SeqCst) {
            for i in 0..self.slots.len() {
                let seen = probe(&self.config.slots[i].path);
                // A panic here must not end the polling of the other slots.
                let _ = contain(|| self.observe(i, seen));
            }
            std::thread::sleep(super::slots::POLL);
        }
    }

    fn writer(&self) -> Option<Arc<dyn CardWriter>> {
        self.writer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn pool_loop(self: Arc<Self>) {
        while !self.stopping.load(Ordering::SeqCst) {
            self.refresh_pool();
            std::thread::sleep(POOL_REFRESH);
        }
    }

    fn halted(&self) -> Option<String> {
        self.halted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn refresh_pool(&self) {
        let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
        let halted = self.halted().map(|why| PoolView {
            remaining: None,
            error: Some(format!("the station has stopped: {why}")),
            kind: Some(FailKind::Stopped),
        });
        let view = match (halted, self.writer()) {
            (Some(view), _) => view,
            (None, w) => match w {
                None => match (self.opener)() {
                    Ok(w) => {
                        *self.writer.write().unwrap_or_else(|p| p.into_inner()) = Some(w.clone());
                        say!("station: the pool is open");
                        remaining_view(&*w)
                    }
                    Err(e) => PoolView {
                        remaining: None,
                        error: Some(format!("the pool cannot be opened: {e}")),
                        kind: Some(FailKind::PoolUnavailable),
                    },
                },
                Some(w) => {
                    let view = remaining_view(&*w);
                    // A lost database: open the pool afresh once no card is
                    // being written (the old connection may be dead for good).
                    if view.kind == Some(FailKind::PoolUnavailable) && !self.busy() {
                        *self.writer.write().unwrap_or_else(|p| p.into_inner()) = None;
                    }
                    view
                }
            },
        };
        if view.error != *said {
            if let Some(e) = &view.error {
                say!("station: {e}");
                let kind = view.kind.unwrap_or(FailKind::PoolUnavailable);
                self.board.error(None, kind, e);
            }
            said.clone_from(&view.error);
        }
        self.board.set_pool(view);
    }

    fn observe(self: &Arc<Self>, i: usize, seen: Presence) {
        let mut c = self.slots[i].lock().unwrap_or_else(|p| p.into_inner());
        let first = !c.seen;
        if !matches!(seen, Presence::Unknown(_)) {
            c.seen = true;
            c.unknown = None;
        }
        match seen {
            Presence::Unknown(why) => {
                // Neither empty nor a new card: what the slot was stays,
                // until a look succeeds.
                if c.unknown.as_ref() != Some(&why) {
                    let said =
                        format!("the slot cannot be looked at: {why}; its card is left as it was");
                    self.log(i, &said);
                    self.board
                        .error(Some(&self.config.slots[i].id), FailKind::Unreadable, &said);
                }
                c.unknown = Some(why);
            }
            Presence::NotBlock(what) => {
                if c.not_block.as_deref() != Some(&what) {
                    c.medium = None;
                    let reason = format!(
                        "the slot path {} is {what}, not a block device: it is never written (fix slots in {})",
                        self.config.slots[i].path.display(),
                        self.config.path.display()
                    );
                    c.not_block = Some(what);
                    self.fail(i, FailKind::NotBlock, reason, false);
                }
            }
            Presence::Empty => {
                c.not_block = None;
                if c.busy {
                    return;
                }
                c.medium = None;
                match self.board.state(i) {
                    SlotState::Empty | SlotState::Failed { sticky: true, .. } => {}
                    _ => {
                        self.log(i, "empty");
                        self.board.set(i, SlotState::Empty, false);
                    }
                }
            }
            Presence::Card(card) => {
                c.not_block = None;
                if c.busy || c.medium.as_ref().is_some_and(|m| m.same_medium(&card)) {
                    return;
                }
                c.medium = Some(card.clone());
                if first {
                    // Said at once, whatever else: a slot that must never
                    // be written.
                    if let Some((kind, why)) =
                        safety::refusal(&card, self.image_size, &safety::system_disks())
                    {
                        self.fail(i, kind, format!("{why}; nothing was written"), false);
                        return;
                    }
                    let reason = format!(
                        "a card was already in {} when the station started; it is not written: take it out and put it back, or press Retry, to write it",
                        card.device.display()
                    );
                    self.fail(i, FailKind::Held, reason, false);
                    return;
                }
                self.log(i, &format!("card inserted ({})", card.device.display()));
                self.begin(i, &mut c, card);
            }
        }
    }

    /// Checks a card and, if it may be written, starts its writer.
    fn begin(self: &Arc<Self>, i: usize, c: &mut SlotCtl, card: Card) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Some((kind, why)) = safety::refusal(&card, self.image_size, &safety::system_disks())
        {
            self.refuse(i, &card, kind, format!("{why}; nothing was written"));
            return;
        }
        if let Some(why) = self.halted() {
            self.refuse(
                i,
                &card,
                FailKind::Stopped,
                format!("the station has stopped: {why}; nothing was written"),
            );
            return;
        }
        let Some(writer) = self.writer() else {
            let why = self
                .board
                .pool()
                .error
                .unwrap_or_else(|| "the pool is not open yet".into());
            self.refuse(
                i,
                &card,
                FailKind::PoolUnavailable,
                format!("{why}; nothing was written"),
            );
            return;
        };
        if self.board.pool().remaining == Some(0) {
            // Asked again: the count on the board may be a moment old.
            if writer.remaining().is_ok_and(|n| n == 0) {
                self.refuse(
                    i,
                    &card,
                    FailKind::PoolEmpty,
                    "the pool has no identities left; nothing was written (import more with `burnline pool import`)".into(),
                );
                return;
            }
        }
        c.busy = true;
        self.board.set(
            i,
            SlotState::Writing {
                percent: 0,
                mb_s: 0.0,
                eta_s: None,
            },
            false,
        );
        let me = self.clone();
        std::thread::spawn(move || {
            let outcome = contain(|| me.burn(i, &*writer, &card));
            if outcome.is_err() {
                me.fail(
                    i,
                    FailKind::Internal,
                    "the writer stopped on an internal error; the card is not good".into(),
                    true,
                );
            }
            me.slots[i].lock().unwrap_or_else(|p| p.into_inner()).busy = false;
            me.refresh_pool();
        });
    }

    /// One card, from lease to label.
    fn burn(&self, i: usize, writer: &dyn CardWriter, card: &Card) {
        let path = &self.config.slots[i].path;
        let started = Instant::now();
        let last = Mutex::new((Instant::now() - PROGRESS_EVERY, Phase::Writing, started));
        let progress = |done: u64, total: u64, phase: Phase| {
            fail::fail_point!("station-write-progress");
            let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if phase != l.1 {
                *l = (now - PROGRESS_EVERY, phase, now);
            }
            if now.duration_since(l.0) < PROGRESS_EVERY && done < total {
                return;
            }
            l.0 = now;
            let percent = done
                .saturating_mul(100)
                .checked_div(total)
                .unwrap_or(0)
                .min(100) as u8;
            let state = match phase {
                Phase::Writing => {
                    let secs = now.duration_since(l.2).as_secs_f64();
                    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                    SlotState::Writing {
                        percent,
                        mb_s: (rate / 1e5).round() / 10.0,
                        eta_s: (rate > 0.0)
                            .then(|| (total.saturating_sub(done) as f64 / rate).ceil() as u64),
                    }
                }
                Phase::Verifying => SlotState::Verifying { percent },
            };
            self.board.set(i, state, false);
        };
        let result = writer.flash_card(path, &progress);
        let still_there = matches!(probe(path), Presence::Card(now) if now.same_medium(card));
        match result {
            Ok(done) if done.already => {
                self.log(
                    i,
                    &format!(
                        "done before: {} {} is verified on {} and the card holds it; nothing was written",
                        done.product_key, done.device_name, done.card
                    ),
                );
                self.board.set(
                    i,
                    SlotState::Done {
                        device_name: done.device_name,
                        product_key: done.product_key,
                    },
                    false,
                );
            }
            Ok(done) => {
                self.log(
                    i,
                    &format!(
                        "done: {} {} verified on {} (digest {})",
                        done.product_key, done.device_name, done.card, done.digest
                    ),
                );
                self.label(i, &done.device_name, &done.product_key);
                self.board.set(
                    i,
                    SlotState::Done {
                        device_name: done.device_name,
                        product_key: done.product_key,
                    },
                    true,
                );
            }
            Err(e) => {
                if let Error::ProductRefused(why) = &e {
                    let mut h = self.halted.lock().unwrap_or_else(|p| p.into_inner());
                    if h.is_none() {
                        say!("station: stopped: {why}");
                        *h = Some(why.clone());
                    }
                }
                let (kind, reason) = classify(&e, still_there);
                // Refused by the writer before it leased anything: the pool
                // has no record of this card.
                let unleased = matches!(
                    e,
                    Error::Pool(PoolError::Empty)
                        | Error::Card {
                            kind: CardFailure::TooSmall | CardFailure::NotWritable,
                            ..
                        }
                );
                if unleased {
                    self.refuse(i, card, kind, reason);
                } else {
                    self.fail(i, kind, reason, true);
                }
            }
        }
    }

    /// The label of a verified card; a failure is reported, the card stays done.
    fn label(&self, i: usize, device_name: &str, product_key: &str) {
        let date = day_of(now(), self.config.utc_offset_minutes);
        let l = Label {
            device_name,
            product_key,
            date: &date,
        };
        let files = match label::write(&self.config.labels.dir, &l) {
            Ok(f) => f,
            Err(e) => {
                let why = format!("the label of {device_name} could not be written: {e}");
                self.log(i, &why);
                self.board
                    .error(Some(&self.config.slots[i].id), FailKind::LabelFailed, &why);
                return;
            }
        };
        self.log(i, &format!("label {}", files.png.display()));
        if let Some(cmd) = &self.config.labels.print_command {
            let file = match self.config.labels.print_format {
                PrintFormat::Zpl => &files.zpl,
                PrintFormat::Png => &files.png,
            };
            if let Err(why) = label::print(cmd, file) {
                let why = format!("the label of {device_name} was not printed: {why}");
                self.log(i, &why);
                self.board
                    .error(Some(&self.config.slots[i].id), FailKind::PrintFailed, &why);
            }
        }
    }

    /// The operator's Retry: writes the card in the slot now, unless it is
    /// done (a verified card is never rewritten), busy, or absent.
    pub fn retry(self: &Arc<Self>, id: &str) -> Result<(), RetryRefused> {
        let i = self
            .config
            .slots
            .iter()
            .position(|s| s.id == id)
            .ok_or(RetryRefused::Unknown)?;
        let mut c = self.slots[i].lock().unwrap_or_else(|p| p.into_inner());
        if c.busy {
            return Err(RetryRefused::Refused("the slot is busy writing".into()));
        }
        if let SlotState::Done { device_name, .. } = self.board.state(i) {
            return Err(RetryRefused::Refused(format!(
                "the card in this slot is done ({device_name}); a verified card is not written again"
            )));
        }
        match probe(&self.config.slots[i].path) {
            Presence::Card(card) => {
                self.log(i, "retry");
                c.medium = Some(card.clone());
                self.begin(i, &mut c, card);
                Ok(())
            }
            Presence::Empty => Err(RetryRefused::Refused("there is no card in the slot".into())),
            Presence::NotBlock(what) => Err(RetryRefused::Refused(format!(
                "the slot path is {what}, not a block device"
            ))),
            Presence::Unknown(why) => Err(RetryRefused::Refused(format!(
                "the slot cannot be looked at now: {why}"
            ))),
        }
    }
}

/// What a failed card is, in the page's kinds, and the reason in words.
fn classify(e: &Error, still_there: bool) -> (FailKind, String) {
    match e {
        Error::Pool(PoolError::Empty) => (
            FailKind::PoolEmpty,
            "the pool has no identities left; nothing was written (import more with `burnline pool import`)".into(),
        ),
        Error::ProductRefused(why) => (
            FailKind::Stopped,
            format!("{why}; nothing was written"),
        ),
        Error::Pool(
            PoolError::Unreachable { .. } | PoolError::Lost { .. } | PoolError::ClaimLost { .. },
        ) => (
            FailKind::PoolUnavailable,
            format!("{e}; the card is not recorded as good: do not use it"),
        ),
        Error::Card {
            kind: CardFailure::WriteFailed,
            ..
        } if !still_there => (
            FailKind::Pulled,
            format!("the card was taken out while it was being written: {e}"),
        ),
        _ if !still_there => (
            FailKind::Removed,
            format!("the card was taken out before it was written: {e}"),
        ),
        Error::Card {
            kind: CardFailure::TooSmall,
            ..
        } => (FailKind::TooSmall, e.to_string()),
        Error::Card {
            kind: CardFailure::NotWritable,
            ..
        } => (FailKind::ReadOnly, e.to_string()),
        _ => (FailKind::WriteFailed, e.to_string()),
    }
}

fn remaining_view(w: &dyn CardWriter) -> PoolView {
    match w.remaining() {
        Ok(0) => PoolView {
            remaining: Some(0),
            error: Some("the pool is empty: no identities left to write (import more with `burnline pool import`)".into()),
            kind: Some(FailKind::PoolEmpty),
        },
        Ok(n) => PoolView {
            remaining: Some(n),
            error: None,
            kind: None,
        },
        Err(e) => PoolView {
            remaining: None,
            error: Some(format!("the pool database cannot be reached: {e}")),
            kind: Some(FailKind::PoolUnavailable),
        },
    }
}

/// The image size the recipe gives, for the too-small check.
pub fn image_size(recipe: &Path) -> burnline_image::error::Result<u64> {
    let r = burnline_image::recipe::load(recipe)?;
    Ok(burnline_image::layout::plan(&r)?.disk_size)
}
