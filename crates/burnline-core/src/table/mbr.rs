//! An MBR: the four primary entries, read by `mbrman` (boot signature and
//! boot flags checked), the sector size the table was written for, and the
//! logical partitions of an extended partition. The chain of extended boot
//! records (EBRs) is followed here rather than by `mbrman`, whose walk adds
//! LBAs read from the disk as u32 without checking for overflow: here the
//! sums are u64, each EBR must lie on the device, the chain must move
//! forward, and it may hold at most [`MAX_LOGICAL`] links.

use super::{extent, read_exact_at, Device, Entry, EntryKind, Kind, Table, TableError};

/// The most logical partitions followed in an extended partition.
pub const MAX_LOGICAL: u32 = 128;

/// The boot sector's last two bytes.
const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xAA];

/// One 16-byte partition entry, as an EBR holds two of them.
struct RawEntry {
    boot: u8,
    sys: u8,
    starting_lba: u32,
    sectors: u32,
}

impl RawEntry {
    fn parse(b: &[u8]) -> RawEntry {
        let le32 = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        RawEntry {
            boot: b[0],
            sys: b[4],
            starting_lba: le32(8),
            sectors: le32(12),
        }
    }
}

/// Reads the MBR of a device of `size` bytes.
pub(super) fn read(dev: &mut impl Device, size: u64) -> Result<Table, TableError> {
    if size < 512 {
        return Err(TableError::Mbr(
            "the device is smaller than one 512-byte sector".into(),
        ));
    }
    let header =
        mbrman::MBRHeader::read_from(&mut *dev).map_err(|e| TableError::Mbr(e.to_string()))?;
    let ss = sector_size(dev, &header, size);
    let mut partitions = Vec::new();
    for (i, p) in header.iter().filter(|(_, p)| p.is_used()) {
        // i is 1 to 4.
        let number = i as u32;
        let (start, len) = extent(
            number,
            u64::from(p.starting_lba),
            u64::from(p.sectors),
            ss,
            size,
        )?;
        partitions.push(Entry {
            number,
            name: String::new(),
            start,
            size: len,
            kind: EntryKind::Mbr { sys: p.sys },
        });
    }
    if let Some((_, ext)) = header.iter().find(|(_, p)| p.is_extended()) {
        logical(dev, u64::from(ext.starting_lba), ss, size, &mut partitions)?;
    }
    Ok(Table {
        kind: Kind::Mbr {
            disk_signature: u32::from_le_bytes(header.disk_signature),
        },
        sector_size: ss,
        device_size: size,
        partitions,
    })
}

/// Follows the EBR chain of the extended partition at sector `ext_start`,
/// appending the logical partitions in use (numbered from 5, one number per
/// EBR, as `mbrman` numbers them).
fn logical(
    dev: &mut impl Device,
    ext_start: u64,
    ss: u64,
    size: u64,
    out: &mut Vec<Entry>,
) -> Result<(), TableError> {
    let mut relative: u32 = 0;
    for number in 5..5 + MAX_LOGICAL {
        // Both terms are below 2^32 and ss is 512 or 4096: no overflow.
        let ebr_lba = ext_start + u64::from(relative);
        let at = ebr_lba * ss;
        let mut ebr = [0u8; 512];
        let on_device = at.checked_add(512).is_some_and(|end| end <= size);
        if on_device {
            read_exact_at(dev, &mut ebr, at)?;
        }
        let (part, next) = (
            RawEntry::parse(&ebr[446..462]),
            RawEntry::parse(&ebr[462..478]),
        );
        let valid = on_device
            && ebr[510..512] == BOOT_SIGNATURE
            && [part.boot, next.boot]
                .iter()
                .all(|b| *b == mbrman::BOOT_INACTIVE || *b == mbrman::BOOT_ACTIVE);
        if !valid {
            if relative == 0 {
                // An empty extended partition need not hold an EBR.
                return Ok(());
            }
            return Err(TableError::Mbr(format!(
                "the extended boot record at LBA {ebr_lba} is missing or invalid"
            )));
        }
        if part.sys != 0 {
            // A logical partition starts relative to its EBR.
            let first = ebr_lba + u64::from(part.starting_lba);
            let (start, len) = extent(number, first, u64::from(part.sectors), ss, size)?;
            out.push(Entry {
                number,
                name: String::new(),
                start,
                size: len,
                kind: EntryKind::Mbr { sys: part.sys },
            });
        }
        if next.starting_lba == 0 {
            return Ok(());
        }
        if next.starting_lba <= relative {
            return Err(TableError::Mbr(format!(
                "the extended boot record at LBA {ebr_lba} links back to LBA {}",
                ext_start + u64::from(next.starting_lba)
            )));
        }
        relative = next.starting_lba;
    }
    Err(TableError::Mbr(format!(
        "the extended partition holds more than {MAX_LOGICAL} logical partitions"
    )))
}

/// An MBR does not say its sector size. Of 512 and 4096 bytes, this picks
/// the one under which more primary partitions fit the device and start
/// with something recognizable (a boot-sector signature or a credential
/// record); 512 on a tie.
fn sector_size(dev: &mut impl Device, header: &mbrman::MBRHeader, size: u64) -> u64 {
    let mut score = |ss: u64| {
        header
            .iter()
            .filter(|(_, p)| p.is_used())
            .filter(|(_, p)| {
                // u32 values times 4096 at most: no overflow.
                let start = u64::from(p.starting_lba) * ss;
                let end = (u64::from(p.starting_lba) + u64::from(p.sectors)) * ss;
                let mut head = [0u8; 512];
                end <= size
                    && start.checked_add(512).is_some_and(|e| e <= size)
                    && read_exact_at(dev, &mut head, start).is_ok()
                    && (head[510..] == BOOT_SIGNATURE || head[..8] == *crate::record_magic::MAGIC)
            })
            .count()
    };
    if score(4096) > score(512) {
        4096
    } else {
        512
    }
}
