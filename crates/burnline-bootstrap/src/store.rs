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

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk in memory.
    struct Mem(Vec<u8>);

    impl Storage for Mem {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let o = usize::try_from(offset).map_err(io::Error::other)?;
            let src = self
                .0
                .get(o..o + buf.len())
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            buf.copy_from_slice(src);
            Ok(())
        }
        fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
            let o = usize::try_from(offset).map_err(io::Error::other)?;
            self.0[o..o + buf.len()].copy_from_slice(buf);
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const PART: Partition = Partition {
        offset: 0,
        size: 4096,
    };

    fn disk_with(sequence: u64, payload: &[u8]) -> Mem {
        let mut bytes = vec![0u8; PART.size as usize];
        let slot = record::encode(sequence, payload, PART.size / 2).expect("fits");
        bytes[..slot.len()].copy_from_slice(&slot);
        Mem(bytes)
    }

    #[test]
    fn a_sequence_that_cannot_grow_is_refused_and_nothing_is_written() {
        let mut d = disk_with(u64::MAX, b"{}");
        let before = d.0.clone();
        let active = read_active(&d, PART).expect("a record");
        assert!(matches!(
            check_room(&active, PART, 100),
            Err(StoreError::SequenceExhausted(SlotId::A))
        ));
        assert!(matches!(
            write_next(&mut d, PART, b"{\"x\":1}"),
            Err(StoreError::SequenceExhausted(SlotId::A))
        ));
        assert_eq!(d.0, before, "a record with sequence 0 was written");
        // One below the top still grows, to u64::MAX.
        let mut d = disk_with(u64::MAX - 1, b"{}");
        assert_eq!(
            write_next(&mut d, PART, b"{\"x\":1}").expect("stored"),
            SlotId::B
        );
        assert_eq!(read_active(&d, PART).expect("active").sequence, u64::MAX);
    }

    #[test]
    fn a_record_larger_than_a_slot_is_refused_before_anything_is_written() {
        let d = disk_with(1, b"{}");
        let active = read_active(&d, PART).expect("a record");
        assert_eq!(check_room(&active, PART, 2048).expect("fits"), 2);
        assert!(matches!(
            check_room(&active, PART, 2049),
            Err(StoreError::TooLarge(record::TooLarge {
                needed: 2049,
                slot: 2048
            }))
        ));
        let mut d = d;
        let before = d.0.clone();
        assert!(matches!(
            write_next(&mut d, PART, &[b' '; 2048 - 63]),
            Err(StoreError::TooLarge(_))
        ));
        assert_eq!(d.0, before);
    }
}
