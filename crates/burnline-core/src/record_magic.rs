//! The eight bytes a credential record slot starts with. The record format
//! (`credentials::record`) writes and checks them, and the MBR reader
//! (`table::mbr`) recognizes a partition by them when it guesses the sector
//! size; here, below both, so the table reader needs nothing of the record.

/// The magic at the start of a slot.
pub const MAGIC: &[u8; 8] = b"BURNCRED";
