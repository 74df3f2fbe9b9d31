//! A GPT, read by the `gpt` crate after this module has checked every
//! header field the crate trusts. The crate asserts that partition entries
//! are 128 bytes (it panics on any other size), reads as many entries as the
//! header says, and allocates the whole entry array at once; a header with
//! a valid CRC32 can say anything. So the header the crate will use (the
//! primary one if its signature and CRC32 are valid, else the backup one in
//! the device's last sector, as the crate chooses) is checked here against
//! the UEFI specification (section 5.3.2) first:
//!
//! - the header is 92 bytes (UEFI allows up to a sector, with zeros after;
//!   every tool writes 92, and the crate's CRC32 covers 92), and its own LBA
//!   is the one it was read from;
//! - `first usable LBA <= last usable LBA + 1`, and the last usable LBA is
//!   on the device;
//! - entries are 128 bytes (UEFI allows 128 × 2ⁿ; Linux, like the crate,
//!   reads 128 only);
//! - the entry array is at most [`MAX_ARRAY_BYTES`] long, lies inside the
//!   device, and overlaps neither LBA 0 nor the header.
//!
//! Then every partition in use must start before it ends and lie inside the
//! device.

use super::{extent, read_exact_at, Device, Entry, EntryKind, Kind, Table, TableError};
use std::io;

/// The GPT header's signature.
pub const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The GPT header's size, in bytes.
pub const HEADER_SIZE: u32 = 92;
/// The size of a partition entry, in bytes.
pub const ENTRY_SIZE: u32 = 128;
/// The longest entry array read, in bytes: 8192 entries of 128 bytes (a
/// table has 128 of them as a rule).
pub const MAX_ARRAY_BYTES: u64 = 1 << 20;

/// Whether LBA 1 (for `ss`-byte sectors) starts with the GPT signature.
pub(super) fn has_signature(dev: &mut impl Device, ss: u64, size: u64) -> io::Result<bool> {
    if size < ss + SIGNATURE.len() as u64 {
        return Ok(false);
    }
    let mut sig = [0u8; 8];
    read_exact_at(dev, &mut sig, ss)?;
    Ok(&sig == SIGNATURE)
}

/// The header fields the checks need.
#[derive(Debug, Clone, Copy)]
struct Fields {
    header_size: u32,
    my_lba: u64,
    first_usable: u64,
    last_usable: u64,
    entries_lba: u64,
    entries: u32,
    entry_size: u32,
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl Fields {
    fn parse(h: &[u8; HEADER_SIZE as usize]) -> Fields {
        Fields {
            header_size: le32(h, 12),
            my_lba: le64(h, 24),
            first_usable: le64(h, 40),
            last_usable: le64(h, 48),
            entries_lba: le64(h, 72),
            entries: le32(h, 80),
            entry_size: le32(h, 84),
        }
    }
}

/// Whether the `gpt` crate takes `h` for a header: the signature, and a
/// CRC32 over its 92 bytes with the CRC32 field taken as zero.
fn crate_accepts(h: &[u8; HEADER_SIZE as usize]) -> bool {
    let mut zeroed = *h;
    zeroed[16..20].fill(0);
    &h[..8] == SIGNATURE && crc32fast::hash(&zeroed) == le32(h, 16)
}

/// Reads the 92 header bytes at LBA `lba` of a device of `size` bytes.
fn read_header(
    dev: &mut impl Device,
    lba: u64,
    ss: u64,
    size: u64,
) -> Result<[u8; HEADER_SIZE as usize], TableError> {
    let at = lba
        .checked_mul(ss)
        .filter(|at| {
            at.checked_add(u64::from(HEADER_SIZE))
                .is_some_and(|end| end <= size)
        })
        .ok_or_else(|| {
            TableError::Gpt(format!("the device ends inside the header at LBA {lba}"))
        })?;
    let mut h = [0u8; HEADER_SIZE as usize];
    read_exact_at(dev, &mut h, at)?;
    Ok(h)
}

/// Checks the fields of a header read at LBA `at` of a device of `size`
/// bytes with `ss`-byte sectors; returns the rule broken.
fn check(f: &Fields, at: u64, ss: u64, size: u64) -> Result<(), String> {
    let sectors = size / ss;
    if f.header_size != HEADER_SIZE {
        return Err(format!(
            "its header size is {} bytes; only the {HEADER_SIZE}-byte header is read",
            f.header_size
        ));
    }
    if f.my_lba != at {
        return Err(format!(
            "it says it is at LBA {}, but it was read from LBA {at}",
            f.my_lba
        ));
    }
    if f.last_usable >= sectors || f.first_usable > f.last_usable.saturating_add(1) {
        return Err(format!(
            "its usable LBAs {}..={} do not fit the device's {sectors} sectors",
            f.first_usable, f.last_usable
        ));
    }
    if f.entry_size != ENTRY_SIZE {
        let valid = f.entry_size >= ENTRY_SIZE
            && f.entry_size % ENTRY_SIZE == 0
            && (f.entry_size / ENTRY_SIZE).is_power_of_two();
        return Err(if valid {
            format!(
                "its partition entries are {} bytes: valid UEFI, but only {ENTRY_SIZE}-byte entries are read (as by Linux)",
                f.entry_size
            )
        } else {
            format!(
                "its partition entries are {} bytes; UEFI requires 128 × 2^n",
                f.entry_size
            )
        });
    }
    let array_len = u64::from(f.entries) * u64::from(f.entry_size);
    if array_len > MAX_ARRAY_BYTES {
        return Err(format!(
            "it has {} partition entries, more than the {} read",
            f.entries,
            MAX_ARRAY_BYTES / u64::from(ENTRY_SIZE)
        ));
    }
    let start = f.entries_lba.checked_mul(ss);
    let end = start.and_then(|s| s.checked_add(array_len));
    let (Some(start), Some(end)) = (start, end) else {
        return Err(format!(
            "its partition entries at LBA {} lie beyond any device",
            f.entries_lba
        ));
    };
    let header = (at * ss, at * ss + ss);
    if end > size || start < ss || (start < header.1 && header.0 < end) {
        return Err(format!(
            "its partition entries (bytes {start}..{end}) do not lie inside the device ({size} bytes) clear of LBA 0 and the header"
        ));
    }
    Ok(())
}

/// Reads the GPT of a device of `size` bytes with `ss`-byte sectors.
pub(super) fn read(dev: &mut impl Device, ss: u64, size: u64) -> Result<Table, TableError> {
    let last = (size / ss).saturating_sub(1);
    let primary = read_header(dev, 1, ss, size)?;
    // The crate looks for a backup header only on a device of 3 sectors or more.
    let backup = if size >= 3 * ss {
        Some(read_header(dev, last, ss, size)?)
    } else {
        None
    };
    let (header, at, which) = match (crate_accepts(&primary), backup) {
        (true, _) => (primary, 1, "primary"),
        (false, Some(b)) if crate_accepts(&b) => (b, last, "backup"),
        _ => {
            return Err(TableError::Gpt(
                "neither the primary nor the backup header has a valid CRC32".into(),
            ))
        }
    };
    check(&Fields::parse(&header), at, ss, size)
        .map_err(|rule| TableError::Gpt(format!("the {which} header: {rule}")))?;
    let lb = if ss == 512 {
        gpt::disk::LogicalBlockSize::Lb512
    } else {
        gpt::disk::LogicalBlockSize::Lb4096
    };
    let disk = gpt::GptConfig::new()
        .writable(false)
        .logical_block_size(lb)
        .open_from_device(&mut *dev)
        .map_err(|e| TableError::Gpt(e.to_string()))?;
    let mut partitions = Vec::new();
    for (&number, p) in disk.partitions().iter().filter(|(_, p)| p.is_used()) {
        let count = p
            .last_lba
            .checked_sub(p.first_lba)
            .and_then(|n| n.checked_add(1))
            .ok_or_else(|| TableError::Entry {
                number,
                rule: format!(
                    "it ends (LBA {}) before it starts (LBA {})",
                    p.last_lba, p.first_lba
                ),
            })?;
        let (start, size) = extent(number, p.first_lba, count, ss, size)?;
        partitions.push(Entry {
            number,
            name: p.name.clone(),
            start,
            size,
            kind: EntryKind::Gpt {
                type_guid: p.part_type_guid.guid,
                guid: p.part_guid,
            },
        });
    }
    Ok(Table {
        kind: Kind::Gpt {
            disk_guid: *disk.guid(),
        },
        sector_size: ss,
        device_size: size,
        partitions,
    })
}
