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

use sha2::{Digest, Sha256};
use std::fmt;

/// The magic at the start of a slot.
pub const MAGIC: &[u8; 8] = b"BURNCRED";
/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 64;
/// The smallest slot this code writes: a header and a 960-byte payload.
pub const MIN_SLOT: u64 = 1024;

/// Why a slot is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// No magic: an empty or foreign slot.
    NoMagic,
    /// A version this code does not know.
    Version(u16),
    /// A header length other than 64.
    HeaderLength(u16),
    /// The payload does not fit the slot.
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
            SlotError::PayloadLength(l) => write!(f, "payload length {l} does not fit the slot"),
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

/// Encodes a slot: header and payload, `HEADER_LEN + payload.len()` bytes.
pub fn encode(sequence: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    let mut h = Sha256::new();
    h.update(&out[..24]);
    h.update(payload);
    out.extend_from_slice(&h.finalize());
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(payload);
    out
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Decodes the slot that starts at `slot[0]`; `slot` is the whole slot area
/// (half the partition), so the payload length is checked against it.
pub fn decode(slot: &[u8]) -> Result<Slot, SlotError> {
    if slot.len() < HEADER_LEN || &slot[..8] != MAGIC {
        return Err(SlotError::NoMagic);
    }
    let version = le16(slot, 8);
    if version != VERSION {
        return Err(SlotError::Version(version));
    }
    let header_len = le16(slot, 10);
    if header_len as usize != HEADER_LEN {
        return Err(SlotError::HeaderLength(header_len));
    }
    let payload_len = u32::from_le_bytes([slot[12], slot[13], slot[14], slot[15]]);
    let end = HEADER_LEN as u64 + u64::from(payload_len);
    if end > slot.len() as u64 {
        return Err(SlotError::PayloadLength(payload_len));
    }
    let payload = &slot[HEADER_LEN..end as usize];
    let mut h = Sha256::new();
    h.update(&slot[..24]);
    h.update(payload);
    if h.finalize().as_slice() != &slot[24..56] {
        return Err(SlotError::Checksum);
    }
    if slot[56..64].iter().any(|b| *b != 0) {
        return Err(SlotError::Reserved);
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&slot[16..24]);
    Ok(Slot {
        sequence: u64::from_le_bytes(seq),
        payload: payload.to_vec(),
    })
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
        let a = encode(1, b"{\"x\":1}");
        part[..a.len()].copy_from_slice(&a);
        assert_eq!(
            Slots::read(&part).active().map(|(s, r)| (s, r.sequence)),
            Some((SlotId::A, 1))
        );
        let b = encode(2, b"{\"x\":2}");
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
        let rec = encode(5, b"{\"device_name\":\"abcd\"}");
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
}
