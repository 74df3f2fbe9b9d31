//! The two-slot credential record (`docs/credential-record.md`).
//!
//! Slot A is at offset 0 of the partition, slot B at half its size. A slot is a
//! 64-byte little-endian header followed by the payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `BURNCRED` |
//! | 8 | 2 | version = 1 |
//! | 10 | 2 | header length = 64 |
//! | 12 | 4 | payload length |
//! | 16 | 8 | sequence |
//! | 24 | 32 | SHA-256 over header bytes 0..24, then the payload |
//! | 56 | 8 | zero |
//!
//! The active record is the valid slot with the highest sequence.

use crate::record_magic::MAGIC;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;

/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 64;
/// The smallest slot this code writes: a header and a 960-byte payload.
pub const MIN_SLOT: u64 = 1024;
/// The longest payload a reader accepts (rule 4): a record is a few hundred
/// bytes, and a corrupted length must not make a reader allocate or read
/// gigabytes of a large partition.
pub const MAX_PAYLOAD: u32 = 64 * 1024;

/// The most bytes (header included) a record may take in a slot of
/// `slot_size` bytes: the slot, or a header and [`MAX_PAYLOAD`] bytes.
pub fn room(slot_size: u64) -> u64 {
    slot_size.min(HEADER_LEN as u64 + u64::from(MAX_PAYLOAD))
}

/// Why a slot is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// No magic: an empty or foreign slot.
    NoMagic,
    /// A version this code does not know.
    Version(u16),
    /// A header length other than 64.
    HeaderLength(u16),
    /// The payload does not fit the slot, or is longer than [`MAX_PAYLOAD`].
    PayloadLength(u32),
    /// The checksum does not match.
    Checksum,
    /// Reserved bytes are not zero.
    Reserved,
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotError::NoMagic => write!(f, "no BURNCRED magic (empty slot)"),
            SlotError::Version(v) => write!(f, "unknown version {v}"),
            SlotError::HeaderLength(l) => write!(f, "header length {l}, expected 64"),
            SlotError::PayloadLength(l) => write!(
                f,
                "payload length {l} does not fit the slot (or exceeds {MAX_PAYLOAD})"
            ),
            SlotError::Checksum => write!(f, "checksum mismatch (torn or corrupted write)"),
            SlotError::Reserved => write!(f, "reserved header bytes are not zero"),
        }
    }
}

/// Which slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotId {
    /// At offset 0.
    A,
    /// At half the partition.
    B,
}

impl SlotId {
    /// The slot's byte offset in a partition of `partition_size` bytes.
    pub fn offset(self, partition_size: u64) -> u64 {
        match self {
            SlotId::A => 0,
            SlotId::B => partition_size / 2,
        }
    }

    /// The other slot.
    pub fn other(self) -> SlotId {
        match self {
            SlotId::A => SlotId::B,
            SlotId::B => SlotId::A,
        }
    }
}

/// A decoded, valid slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Sequence number; higher wins.
    pub sequence: u64,
    /// The payload bytes (UTF-8 JSON).
    pub payload: Vec<u8>,
}

/// A record too large for its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the credential record ({needed} bytes) does not fit a {slot}-byte slot")]
pub struct TooLarge {
    /// Header and payload, in bytes.
    pub needed: u64,
    /// The slot's size in bytes.
    pub slot: u64,
}

/// The bytes a slot holding `payload_len` payload bytes needs, header included.
pub fn slot_len(payload_len: usize) -> u64 {
    // usize is at most 64 bits wide: the sum saturates rather than wraps.
    (payload_len as u64).saturating_add(HEADER_LEN as u64)
}

/// Encodes a slot (header and payload, `HEADER_LEN + payload.len()` bytes)
/// for a slot of `slot_size` bytes; refuses a payload that does not fit its
/// [`room`].
pub fn encode(sequence: u64, payload: &[u8], slot_size: u64) -> Result<Vec<u8>, TooLarge> {
    let needed = slot_len(payload.len());
    let slot = room(slot_size);
    let too_large = TooLarge { needed, slot };
    if needed > slot {
        return Err(too_large);
    }
    let len = u32::try_from(payload.len()).map_err(|_| too_large)?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    let mut h = Sha256::new();
    h.update(&out[..24]);
    h.update(payload);
    out.extend_from_slice(&h.finalize());
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(payload);
    Ok(out)
}

/// A slot's header whose rules 1 to 4 hold: the payload still has to be
/// read and checked against it ([`Header::verify`]).
#[derive(Debug, Clone, Copy)]
pub struct Header {
    bytes: [u8; HEADER_LEN],
    payload_len: u32,
}

impl Header {
    /// Checks magic, version, header length and that the payload fits a
    /// slot of `slot_size` bytes, within [`MAX_PAYLOAD`] (rules 1 to 4 of
    /// the format).
    pub fn parse(bytes: &[u8], slot_size: u64) -> Result<Header, SlotError> {
        let Some(head) = bytes.get(..HEADER_LEN) else {
            return Err(SlotError::NoMagic);
        };
        if &head[..8] != MAGIC {
            return Err(SlotError::NoMagic);
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        if version != VERSION {
            return Err(SlotError::Version(version));
        }
        let header_len = u16::from_le_bytes([head[10], head[11]]);
        if usize::from(header_len) != HEADER_LEN {
            return Err(SlotError::HeaderLength(header_len));
        }
        let payload_len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
        if payload_len > MAX_PAYLOAD || HEADER_LEN as u64 + u64::from(payload_len) > slot_size {
            return Err(SlotError::PayloadLength(payload_len));
        }
        let mut copy = [0u8; HEADER_LEN];
        copy.copy_from_slice(head);
        Ok(Header {
            bytes: copy,
            payload_len,
        })
    }

    /// The payload's length in bytes (it fits the slot).
    pub fn payload_len(&self) -> usize {
        // A u32 fits a usize on every target this code builds for.
        usize::try_from(self.payload_len).unwrap_or(usize::MAX)
    }

    /// Checks the payload against the checksum and the reserved bytes
    /// (rules 5 and 6).
    pub fn verify(&self, payload: &[u8]) -> Result<Slot, SlotError> {
        if payload.len() != self.payload_len() {
            return Err(SlotError::PayloadLength(self.payload_len));
        }
        let mut h = Sha256::new();
        h.update(&self.bytes[..24]);
        h.update(payload);
        if h.finalize().as_slice() != &self.bytes[24..56] {
            return Err(SlotError::Checksum);
        }
        if self.bytes[56..64].iter().any(|b| *b != 0) {
            return Err(SlotError::Reserved);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&self.bytes[16..24]);
        Ok(Slot {
            sequence: u64::from_le_bytes(seq),
            payload: payload.to_vec(),
        })
    }
}

/// Decodes the slot that starts at `slot[0]`; `slot` is the whole slot area
/// (half the partition), so the payload length is checked against it.
pub fn decode(slot: &[u8]) -> Result<Slot, SlotError> {
    let header = Header::parse(slot, slot.len() as u64)?;
    let payload = slot
        .get(HEADER_LEN..HEADER_LEN + header.payload_len())
        .ok_or(SlotError::PayloadLength(header.payload_len))?;
    header.verify(payload)
}

/// The state of both slots of a partition.
#[derive(Debug, Clone)]
pub struct Slots {
    /// Slot A, decoded or why not.
    pub a: Result<Slot, SlotError>,
    /// Slot B, decoded or why not.
    pub b: Result<Slot, SlotError>,
}

impl Slots {
    /// Decodes both slots of a whole partition's bytes.
    pub fn read(partition: &[u8]) -> Slots {
        let half = partition.len() / 2;
        Slots {
            a: decode(&partition[..half]),
            b: decode(&partition[half..half * 2]),
        }
    }

    /// Reads both slots of a partition of `partition_size` bytes from
    /// storage, through `read_at(buf, offset in the partition)`. Only the
    /// headers and the payloads they announce are read, so memory stays
    /// bounded by [`MAX_PAYLOAD`], not by the partition's size.
    /// An error is a failed read (the partition must lie on the storage).
    pub fn read_from(
        mut read_at: impl FnMut(&mut [u8], u64) -> io::Result<()>,
        partition_size: u64,
    ) -> io::Result<Slots> {
        let half = partition_size / 2;
        let mut slot = |start: u64| -> io::Result<Result<Slot, SlotError>> {
            if half < HEADER_LEN as u64 {
                return Ok(Err(SlotError::NoMagic));
            }
            let mut head = [0u8; HEADER_LEN];
            read_at(&mut head, start)?;
            let header = match Header::parse(&head, half) {
                Ok(h) => h,
                Err(e) => return Ok(Err(e)),
            };
            let mut payload = zeroize::Zeroizing::new(vec![0u8; header.payload_len()]);
            read_at(&mut payload, start + HEADER_LEN as u64)?;
            Ok(header.verify(&payload))
        };
        Ok(Slots {
            a: slot(SlotId::A.offset(partition_size))?,
            b: slot(SlotId::B.offset(partition_size))?,
        })
    }

    /// The active slot: the valid one with the highest sequence (A on a tie).
    pub fn active(&self) -> Option<(SlotId, &Slot)> {
        match (&self.a, &self.b) {
            (Ok(a), Ok(b)) if b.sequence > a.sequence => Some((SlotId::B, b)),
            (Ok(a), _) => Some((SlotId::A, a)),
            (Err(_), Ok(b)) => Some((SlotId::B, b)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_highest_sequence_wins() {
        let mut part = vec![0u8; 4096];
        let a = encode(1, b"{\"x\":1}", 2048).expect("fits");
        part[..a.len()].copy_from_slice(&a);
        assert_eq!(
            Slots::read(&part).active().map(|(s, r)| (s, r.sequence)),
            Some((SlotId::A, 1))
        );
        let b = encode(2, b"{\"x\":2}", 2048).expect("fits");
        part[2048..2048 + b.len()].copy_from_slice(&b);
        let slots = Slots::read(&part);
        let (id, slot) = slots.active().expect("active");
        assert_eq!(
            (id, slot.payload.as_slice()),
            (SlotId::B, &b"{\"x\":2}"[..])
        );
    }

    #[test]
    fn every_bit_flip_is_caught() {
        let rec = encode(5, b"{\"device_name\":\"abcd\"}", 1024).expect("fits");
        for bit in 0..rec.len() * 8 {
            let mut bad = rec.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            bad.resize(1024, 0);
            assert!(decode(&bad).is_err(), "bit {bit} flipped went unnoticed");
        }
    }

    #[test]
    fn empty_slot_has_no_magic() {
        assert_eq!(decode(&[0u8; 1024]), Err(SlotError::NoMagic));
    }

    #[test]
    fn a_record_that_does_not_fit_its_slot_is_not_encoded() {
        let payload = [b'x'; 100];
        assert!(encode(1, &payload, 164).is_ok());
        assert_eq!(
            encode(1, &payload, 163),
            Err(TooLarge {
                needed: 164,
                slot: 163
            })
        );
    }

    #[test]
    fn reading_from_storage_reads_what_a_whole_partition_holds() {
        let mut part = vec![0u8; 4096];
        let a = encode(7, b"{\"a\":1}", 2048).expect("fits");
        part[..a.len()].copy_from_slice(&a);
        let b = encode(8, b"{\"b\":2}", 2048).expect("fits");
        part[2048..2048 + b.len()].copy_from_slice(&b);
        let mut reads = Vec::new();
        let from = Slots::read_from(
            |buf, at| {
                reads.push((at, buf.len()));
                let at = at as usize;
                buf.copy_from_slice(&part[at..at + buf.len()]);
                Ok(())
            },
            4096,
        )
        .expect("reads");
        let whole = Slots::read(&part);
        assert_eq!((from.a, from.b), (whole.a, whole.b));
        // Headers and the payloads they announce, not the whole partition.
        assert_eq!(reads, vec![(0, 64), (64, 7), (2048, 64), (2112, 7)]);
        // A header announcing more than its slot holds: nothing more is read.
        let mut huge = a.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let got = Slots::read_from(
            |buf, at| {
                assert!(buf.len() <= 64, "read {} bytes at {at}", buf.len());
                let at = at as usize;
                buf.fill(0);
                if let Some(bytes) = huge.get(at..at + buf.len()) {
                    buf.copy_from_slice(bytes);
                }
                Ok(())
            },
            1 << 40,
        )
        .expect("reads");
        assert_eq!(got.a, Err(SlotError::PayloadLength(u32::MAX)));
    }
}
