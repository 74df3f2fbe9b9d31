//! Reads the active credential record from a partition, and writes a new one
//! the safe way: into the slot that is *not* active, with sequence + 1, then
//! sync, then read back and verify. The only valid slot is never written, so a
//! power loss at any moment leaves either the old record or the new one.

use burnline_core::credentials::record::{self, SlotId, Slots};
use std::io;

/// Positional storage that can be made durable: a block device or an image
/// file, or a simulated disk in the power-loss tests.
pub trait Storage {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> io::Result<()>;
}

impl Storage for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, buf, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_all()
    }
}

pub use burnline_core::credentials::locate::Partition;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Neither slot holds a valid record.
    #[error("no valid credential record (slot A: {a}; slot B: {b})")]
    NoRecord {
        /// Why slot A is not valid.
        a: String,
        /// Why slot B is not valid.
        b: String,
    },
    /// The new record does not fit a slot.
    #[error(transparent)]
    TooLarge(#[from] record::TooLarge),
    /// The active record's sequence is `u64::MAX`: no record can follow it.
    #[error("the active record (slot {0:?}) has sequence {max}, the largest there is, so no newer record can outrank it", max = u64::MAX)]
    SequenceExhausted(SlotId),
    /// Reading, writing or syncing failed.
    #[error("storage: {0}")]
    Io(#[from] io::Error),
    /// The slot read back differs from what was written.
    #[error("the new record did not read back intact from slot {0:?}")]
    Verify(SlotId),
}

/// The active record: which slot, its sequence and payload.
#[derive(Debug, Clone)]
pub struct Active {
    /// The slot.
    pub slot: SlotId,
    /// Its sequence.
    pub sequence: u64,
    /// The payload (JSON).
    pub payload: zeroize::Zeroizing<Vec<u8>>,
}

fn read_slots(st: &impl Storage, part: Partition) -> io::Result<Slots> {
    Slots::read_from(
        |buf, at| {
            let offset = part.offset.checked_add(at).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "offset beyond any device")
            })?;
            st.read_at(buf, offset)
        },
        part.size,
    )
}

/// Reads the active record.
pub fn read_active(st: &impl Storage, part: Partition) -> Result<Active, StoreError> {
    let slots = read_slots(st, part)?;
    match slots.active() {
        Some((slot, s)) => Ok(Active {
            slot,
            sequence: s.sequence,
            payload: zeroize::Zeroizing::new(s.payload.clone()),
        }),
        None => Err(StoreError::NoRecord {
            a: slots.a.err().map(|e| e.to_string()).unwrap_or_default(),
            b: slots.b.err().map(|e| e.to_string()).unwrap_or_default(),
        }),
    }
}

/// Checks that a record needing up to `largest` bytes (header included)
/// can follow `active` in `part`: its sequence can grow, and it fits a
/// slot. The bootstrap checks this before it registers, since the platform
/// issues a DeviceSecret only once; returns the new record's sequence.
pub fn check_room(active: &Active, part: Partition, largest: u64) -> Result<u64, StoreError> {
    let sequence = active
        .sequence
        .checked_add(1)
        .ok_or(StoreError::SequenceExhausted(active.slot))?;
    let slot = record::room(part.size / 2);
    if largest > slot {
        return Err(StoreError::TooLarge(record::TooLarge {
            needed: largest,
            slot,
        }));
    }
    Ok(sequence)
}

/// Writes `payload` as the next record: into the inactive slot, with the
/// active sequence + 1; syncs; reads it back and checks it. Returns the slot
/// now active.
pub fn write_next(
    st: &mut impl Storage,
    part: Partition,
    payload: &[u8],
) -> Result<SlotId, StoreError> {
    let active = read_active(st, part)?;
    let sequence = check_room(&active, part, record::slot_len(payload.len()))?;
    let target = active.slot.other();
    let half = part.size / 2;
    let mut slot = zeroize::Zeroizing::new(record::encode(sequence, payload, half)?);
    // Whole sectors: the rest of the last sector is zero, not stale bytes.
    let padded = (slot.len() as u64)
        .div_ceil(512)
        .saturating_mul(512)
        .min(half);
    // padded is at most slot.len() + 511 bytes: it fits a usize.
    let len = usize::try_from(padded).unwrap_or(slot.len());
    slot.resize(len, 0);
    let at = part
        .offset
        .checked_add(target.offset(part.size))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond any device"))?;
    st.write_at(&slot, at)?;
    st.sync()?;
    let slots = read_slots(st, part)?;
    let back = match target {
        SlotId::A => slots.a,
        SlotId::B => slots.b,
    };
    match back {
        Ok(s) if s.payload == payload && s.sequence == sequence => Ok(target),
        _ => Err(StoreError::Verify(target)),
    }
}
