//! Reads the active credential record from a partition, and writes a new one
//! the safe way: into the slot that is *not* active, with sequence + 1, then
//! sync, then read back and verify. The only valid slot is never written, so a
//! power loss at any moment leaves either the old record or the new one.
//! [`mirror`] then copies a record into the other slot the same way, so that
//! both slots hold it. Which slot is active follows all seven rules of the
//! format: the bootstrap's check of the payload ([`Accept`]) is the seventh.

use burnline_core::credentials::record::{self, Slot, SlotError, SlotId, Slots};
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

/// The bootstrap's own check of a payload (rule 7 of the format: it parses
/// as the record's JSON and its fields are valid); the error says why not,
/// never a value. A slot whose checksum holds but whose payload fails this
/// is not valid, so the other slot is used.
pub type Accept<'a> = &'a dyn Fn(&[u8]) -> Result<(), String>;

/// The slot that is not active, as read with the active one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherSlot {
    /// It holds the same payload: both slots hold the record.
    Same,
    /// It holds a valid record with another payload and the given
    /// (lower or equal) sequence, such as the product certificate a
    /// registered device started from.
    Older(u64),
    /// It holds no record at all: its header is all zero bytes (never
    /// written).
    Empty,
    /// It is damaged: why it is not valid.
    Damaged(String),
}

/// The active record: which slot, its sequence and payload, and what the
/// other slot holds.
#[derive(Debug, Clone)]
pub struct Active {
    /// The slot.
    pub slot: SlotId,
    /// Its sequence.
    pub sequence: u64,
    /// The payload (JSON).
    pub payload: zeroize::Zeroizing<Vec<u8>>,
    /// The other slot.
    pub other: OtherSlot,
}

impl Active {
    /// The other slot, in words that name it: `slot B is damaged (why)`.
    pub fn other_text(&self) -> String {
        let id = self.slot.other();
        match &self.other {
            OtherSlot::Same => format!("slot {id:?} holds the same record"),
            OtherSlot::Older(s) => format!("slot {id:?} holds an older record (sequence {s})"),
            OtherSlot::Empty => format!("slot {id:?} is empty"),
            OtherSlot::Damaged(why) => format!("slot {id:?} is damaged ({why})"),
        }
    }
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

/// Whether slot `id`'s header is all zero bytes: never written, rather
/// than a damaged magic.
fn blank(st: &impl Storage, part: Partition, id: SlotId) -> io::Result<bool> {
    let mut head = [0u8; record::HEADER_LEN];
    let at = part
        .offset
        .checked_add(id.offset(part.size))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond any device"))?;
    st.read_at(&mut head, at)?;
    Ok(head.iter().all(|b| *b == 0))
}

/// A slot after all seven rules: the decoded record, or why it is not
/// valid and whether it is empty (never written).
fn judge(
    st: &impl Storage,
    part: Partition,
    id: SlotId,
    slot: Result<Slot, SlotError>,
    accept: Accept<'_>,
) -> io::Result<Result<Slot, (bool, String)>> {
    Ok(match slot {
        Err(SlotError::NoMagic) if blank(st, part, id)? => {
            Err((true, SlotError::NoMagic.to_string()))
        }
        Err(SlotError::NoMagic) => Err((
            false,
            "no BURNCRED magic, and the header is not all zero (a damaged magic)".into(),
        )),
        Err(e) => Err((false, e.to_string())),
        Ok(s) => match accept(&s.payload) {
            Ok(()) => Ok(s),
            Err(why) => Err((
                false,
                format!("its checksum holds, but its record is not valid: {why}"),
            )),
        },
    })
}

/// Reads the active record: the slot with the highest sequence among those
/// valid by the format's rules 1 to 6 and by `accept` (rule 7), slot A on
/// a tie.
pub fn read_active(
    st: &impl Storage,
    part: Partition,
    accept: Accept<'_>,
) -> Result<Active, StoreError> {
    let slots = read_slots(st, part)?;
    let a = judge(st, part, SlotId::A, slots.a, accept)?;
    let b = judge(st, part, SlotId::B, slots.b, accept)?;
    let (slot, active, other) = match (a, b) {
        (Ok(a), Ok(b)) if b.sequence > a.sequence => (SlotId::B, b, Ok(a)),
        (Ok(a), b) => (SlotId::A, a, b),
        (a @ Err(_), Ok(b)) => (SlotId::B, b, a),
        (Err((_, a)), Err((_, b))) => return Err(StoreError::NoRecord { a, b }),
    };
    let other = match other {
        Ok(o) if o.payload == active.payload => OtherSlot::Same,
        Ok(o) => OtherSlot::Older(o.sequence),
        Err((true, _)) => OtherSlot::Empty,
        Err((false, why)) => OtherSlot::Damaged(why),
    };
    Ok(Active {
        slot,
        sequence: active.sequence,
        payload: zeroize::Zeroizing::new(active.payload),
        other,
    })
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

/// Writes `payload` as the record that follows `active` (as
/// [`read_active`] found it): into the other slot, with `active`'s
/// sequence + 1; syncs; reads it back and checks it. The active slot is
/// never written. Returns the record now active, both slots described.
pub fn write_next(
    st: &mut impl Storage,
    part: Partition,
    active: &Active,
    payload: &[u8],
) -> Result<Active, StoreError> {
    let sequence = check_room(active, part, record::slot_len(payload.len()))?;
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
        Ok(s) if s.payload == payload && s.sequence == sequence => Ok(Active {
            slot: target,
            sequence,
            payload: zeroize::Zeroizing::new(s.payload),
            other: if payload == &active.payload[..] {
                OtherSlot::Same
            } else {
                OtherSlot::Older(active.sequence)
            },
        }),
        _ => Err(StoreError::Verify(target)),
    }
}

/// Copies the active record into the other slot (with the next sequence)
/// unless that slot already holds it, so that one damaged slot can never
/// lose it: [`write_next`] with the same payload. `Ok(None)`: nothing to do.
pub fn mirror(
    st: &mut impl Storage,
    part: Partition,
    active: &Active,
) -> Result<Option<Active>, StoreError> {
    if active.other == OtherSlot::Same {
        return Ok(None);
    }
    write_next(st, part, active, &active.payload).map(Some)
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

    /// Every payload is acceptable: these tests are about the slots.
    const ANY: Accept<'static> = &|_| Ok(());

    #[test]
    fn a_sequence_that_cannot_grow_is_refused_and_nothing_is_written() {
        let mut d = disk_with(u64::MAX, b"{}");
        let before = d.0.clone();
        let active = read_active(&d, PART, ANY).expect("a record");
        assert!(matches!(
            check_room(&active, PART, 100),
            Err(StoreError::SequenceExhausted(SlotId::A))
        ));
        assert!(matches!(
            write_next(&mut d, PART, &active, b"{\"x\":1}"),
            Err(StoreError::SequenceExhausted(SlotId::A))
        ));
        assert_eq!(d.0, before, "a record with sequence 0 was written");
        // One below the top still grows, to u64::MAX.
        let mut d = disk_with(u64::MAX - 1, b"{}");
        let active = read_active(&d, PART, ANY).expect("a record");
        assert_eq!(
            write_next(&mut d, PART, &active, b"{\"x\":1}")
                .expect("stored")
                .slot,
            SlotId::B
        );
        let active = read_active(&d, PART, ANY).expect("active");
        assert_eq!(active.sequence, u64::MAX);
        // No copy can follow it, and nothing is written.
        let before = d.0.clone();
        assert!(matches!(
            mirror(&mut d, PART, &active),
            Err(StoreError::SequenceExhausted(SlotId::B))
        ));
        assert_eq!(d.0, before);
    }

    #[test]
    fn a_record_larger_than_a_slot_is_refused_before_anything_is_written() {
        let d = disk_with(1, b"{}");
        let active = read_active(&d, PART, ANY).expect("a record");
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
            write_next(&mut d, PART, &active, &[b' '; 2048 - 63]),
            Err(StoreError::TooLarge(_))
        ));
        assert_eq!(d.0, before);
    }

    #[test]
    fn a_newer_slot_whose_payload_is_refused_loses_to_the_valid_one() {
        // Slot B: checksum fine, sequence higher, payload refused by rule 7.
        let mut d = disk_with(1, b"good");
        let b = record::encode(9, b"bad", PART.size / 2).expect("fits");
        d.0[2048..2048 + b.len()].copy_from_slice(&b);
        let accept: Accept<'_> = &|p| {
            if p == b"good" {
                Ok(())
            } else {
                Err("wrong fields".into())
            }
        };
        let active = read_active(&d, PART, accept).expect("slot A");
        assert_eq!((active.slot, active.sequence), (SlotId::A, 1));
        assert_eq!(
            active.other_text(),
            "slot B is damaged (its checksum holds, but its record is not valid: wrong fields)"
        );
        // The copy goes over the refused slot, never over slot A.
        let a_before = d.0[..2048].to_vec();
        let now = mirror(&mut d, PART, &active)
            .expect("copied")
            .expect("something to copy");
        assert_eq!(
            (now.slot, now.sequence, now.other),
            (SlotId::B, 2, OtherSlot::Same)
        );
        assert_eq!(d.0[..2048], a_before[..]);
        let again = read_active(&d, PART, accept).expect("both");
        assert_eq!(again.other, OtherSlot::Same);
        assert!(mirror(&mut d, PART, &again).expect("nothing").is_none());
        // Neither slot acceptable: both named.
        let none: Accept<'_> = &|_| Err("wrong fields".into());
        match read_active(&d, PART, none) {
            Err(StoreError::NoRecord { a, b }) => {
                assert!(
                    a.contains("wrong fields") && b.contains("wrong fields"),
                    "{a} / {b}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
