//! The partition table of a disk image or a block device, as a reader finds
//! it. [`read`] is the one table reader of burnline: `burnline inspect`, the
//! bootstrap's partition lookup and the `table_read` fuzz target all call
//! it, so every table either side accepts has passed the same checks.
//!
//! The disk is input: whatever it holds, reading it never panics, never
//! allocates more than a bounded amount, and never does arithmetic that can
//! overflow. The header fields the parsing crates trust are validated first
//! ([`gpt`]: entry size, entry count, where the entry array lies), every
//! partition must lie inside the device (its real size: the end of the file
//! or the size the kernel reports for a block device), and offsets are
//! computed with checked operations ([`extent`]). No two partitions may
//! share a byte ([`check_overlaps`]; an MBR's extended partition holds its
//! logical ones and is not counted), since a write to one would change the
//! other: the credentials partition above all.

pub mod gpt;
pub mod mbr;

use std::fmt::Debug;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// A block device or an image file as the readers need it. `Write` only
/// because the `gpt` crate asks for it: nothing is ever written.
pub trait Device: Read + Write + Seek + Debug {}
impl<T: Read + Write + Seek + Debug> Device for T {}

/// A partition table.
#[derive(Debug, Clone)]
pub struct Table {
    /// GPT or MBR, with the disk's identifier.
    pub kind: Kind,
    /// The sector size the table was read with (512 or 4096).
    pub sector_size: u64,
    /// The device's size in bytes.
    pub device_size: u64,
    /// The partitions in use, in table order; each lies inside the device.
    pub partitions: Vec<Entry>,
}

/// Which table, and the disk's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A GUID partition table.
    Gpt {
        /// The disk GUID.
        disk_guid: uuid::Uuid,
    },
    /// An MBR partition table.
    Mbr {
        /// The disk signature (bytes 440..444, little-endian).
        disk_signature: u32,
    },
}

/// A partition in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its number: the GPT entry index from 1, or the MBR partition number
    /// (1 to 4 primary, 5 on for logical partitions).
    pub number: u32,
    /// The GPT partition name (empty for MBR).
    pub name: String,
    /// First byte on the device.
    pub start: u64,
    /// Length in bytes; `start + size` is at most the device's size.
    pub size: u64,
    /// The entry's type.
    pub kind: EntryKind,
}

/// A partition's type, as its table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A GPT entry.
    Gpt {
        /// The partition type GUID.
        type_guid: uuid::Uuid,
        /// The partition's own GUID.
        guid: uuid::Uuid,
    },
    /// An MBR entry.
    Mbr {
        /// The system id byte, such as 0x83.
        sys: u8,
    },
}

/// Why a table cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Reading the device failed.
    #[error("reading the partition table: {0}")]
    Io(#[from] io::Error),
    /// The disk has a GPT signature, but its GPT breaks a rule.
    #[error("unreadable GPT: {0}")]
    Gpt(String),
    /// No GPT, and no valid MBR.
    #[error("no GPT and no readable MBR: {0}")]
    Mbr(String),
    /// Two partitions that share bytes.
    #[error("partitions {first} and {second} overlap: {first} covers bytes {}..{}, {second} bytes {}..{}", .first_at.0, .first_at.1, .second_at.0, .second_at.1)]
    Overlap {
        /// The one that starts first.
        first: u32,
        /// Its bytes (start, end).
        first_at: (u64, u64),
        /// The other.
        second: u32,
        /// Its bytes (start, end).
        second_at: (u64, u64),
    },
    /// A partition entry that does not lie inside the device.
    #[error("partition {number}: {rule}")]
    Entry {
        /// The entry's number.
        number: u32,
        /// The rule it breaks.
        rule: String,
    },
}

/// The device's size in bytes: its end, which for a block device is the
/// size the kernel reports (a block device's metadata says 0).
pub fn device_size(dev: &mut impl Seek) -> io::Result<u64> {
    dev.seek(SeekFrom::End(0))
}

/// Reads exactly `buf.len()` bytes at `offset`.
pub(crate) fn read_exact_at(dev: &mut impl Device, buf: &mut [u8], offset: u64) -> io::Result<()> {
    dev.seek(SeekFrom::Start(offset))?;
    dev.read_exact(buf)
}

/// Reads the partition table: a GPT (512- or 4096-byte sectors, found by
/// its signature in LBA 1), else an MBR.
pub fn read(dev: &mut impl Device) -> Result<Table, TableError> {
    let size = device_size(dev)?;
    let mut table = None;
    for ss in [512u64, 4096] {
        if gpt::has_signature(dev, ss, size)? {
            table = Some(gpt::read(dev, ss, size)?);
            break;
        }
    }
    let table = match table {
        Some(t) => t,
        None => mbr::read(dev, size)?,
    };
    check_overlaps(&table.partitions)?;
    Ok(table)
}

/// Whether an MBR entry is an extended partition, the container of the
/// logical ones (CHS, LBA and Linux extended).
fn is_extended(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Mbr {
            sys: 0x05 | 0x0f | 0x85
        }
    )
}

/// Refuses two partitions (other than an extended container) that share a
/// byte; each already lies inside the device, so no end overflows.
pub fn check_overlaps(partitions: &[Entry]) -> Result<(), TableError> {
    let mut spans: Vec<&Entry> = partitions
        .iter()
        .filter(|p| p.size > 0 && !is_extended(p.kind))
        .collect();
    spans.sort_by_key(|p| (p.start, p.number));
    for pair in spans.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let a_end = a.start.saturating_add(a.size);
        if b.start < a_end {
            return Err(TableError::Overlap {
                first: a.number,
                first_at: (a.start, a_end),
                second: b.number,
                second_at: (b.start, b.start.saturating_add(b.size)),
            });
        }
    }
    Ok(())
}

/// The bytes `(start, size)` of `count` sectors of `sector_size` bytes from
/// sector `first`, checked to lie inside a device of `device_size` bytes.
pub fn extent(
    number: u32,
    first: u64,
    count: u64,
    sector_size: u64,
    device_size: u64,
) -> Result<(u64, u64), TableError> {
    let rule = |rule: String| TableError::Entry { number, rule };
    let start = first
        .checked_mul(sector_size)
        .ok_or_else(|| rule(format!("its first sector {first} is beyond any device")))?;
    let size = count
        .checked_mul(sector_size)
        .ok_or_else(|| rule(format!("its {count} sectors are beyond any device")))?;
    match start.checked_add(size) {
        Some(end) if end <= device_size => Ok((start, size)),
        _ => Err(rule(format!(
            "it ends past the end of the device ({device_size} bytes): it starts at byte {start} and is {size} bytes long"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u32, start: u64, size: u64, sys: u8) -> Entry {
        Entry {
            number,
            name: String::new(),
            start,
            size,
            kind: EntryKind::Mbr { sys },
        }
    }

    #[test]
    fn partitions_that_share_a_byte_are_refused() {
        // Touching is fine; one shared byte is not, in any order.
        let ok = [entry(1, 1024, 1024, 0x83), entry(2, 2048, 4096, 0x83)];
        assert!(check_overlaps(&ok).is_ok());
        let bad = [entry(2, 2047, 4096, 0x83), entry(1, 1024, 1024, 0x83)];
        assert_eq!(
            check_overlaps(&bad).expect_err("overlap").to_string(),
            "partitions 1 and 2 overlap: 1 covers bytes 1024..2048, 2 bytes 2047..6143"
        );
        // One inside another, with a third between them in start order.
        let inside = [
            entry(1, 0, 100_000, 0x83),
            entry(2, 10, 10, 0x83),
            entry(3, 50_000, 10, 0x83),
        ];
        assert!(check_overlaps(&inside).is_err());
        // An extended partition holds its logical partitions.
        let logical = [
            entry(1, 1024, 1024, 0x83),
            entry(2, 2048, 8192, 0x05),
            entry(5, 2560, 1024, 0x83),
            entry(6, 4096, 1024, 0x83),
        ];
        assert!(check_overlaps(&logical).is_ok());
    }
}
