//! Finds the credentials partition on a block device or an image file: by
//! GPT partition name, by MBR partition number (1–4), or at an explicit
//! offset and size.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The credentials partition on some storage.
#[derive(Debug, Clone, Copy)]
pub struct Partition {
    /// Byte offset of the partition.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// How to find the partition.
#[derive(Debug, Clone)]
pub enum Where {
    /// A GPT partition name, or an MBR partition number.
    Named(String),
    /// Explicit bytes.
    At {
        /// Offset in bytes.
        offset: u64,
        /// Size in bytes.
        size: u64,
    },
}

/// Finds the partition; the error says what was looked for and not found.
pub fn find(file: &File, at: &Where) -> Result<Partition, String> {
    match at {
        Where::At { offset, size } => Ok(Partition {
            offset: *offset,
            size: *size,
        }),
        Where::Named(name) => {
            for (lb, ss) in [
                (gpt::disk::LogicalBlockSize::Lb512, 512u64),
                (gpt::disk::LogicalBlockSize::Lb4096, 4096),
            ] {
                let mut sig = [0u8; 8];
                if file.read_exact_at(&mut sig, ss).is_ok() && &sig == b"EFI PART" {
                    let dup = file
                        .try_clone()
                        .map_err(|e| format!("reading the partition table: {e}"))?;
                    let disk = gpt::GptConfig::new()
                        .writable(false)
                        .logical_block_size(lb)
                        .open_from_device(dup)
                        .map_err(|e| format!("reading the GPT: {e}"))?;
                    return disk
                        .partitions()
                        .values()
                        .find(|p| p.is_used() && p.name == *name)
                        .map(|p| Partition {
                            offset: p.first_lba * ss,
                            size: (p.last_lba + 1 - p.first_lba) * ss,
                        })
                        .ok_or_else(|| format!("the GPT has no partition named `{name}`"));
                }
            }
            let index: usize = name
                .parse()
                .ok()
                .filter(|i| (1..=4).contains(i))
                .ok_or_else(|| {
                    format!("no GPT here, and `{name}` is not an MBR partition number (1-4)")
                })?;
            let mut f = file
                .try_clone()
                .map_err(|e| format!("reading the partition table: {e}"))?;
            let mbr = mbrman::MBR::read_from(&mut f, 512)
                .map_err(|e| format!("no GPT and no MBR: {e}"))?;
            let p = &mbr[index];
            if !p.is_used() {
                return Err(format!("MBR partition {index} is empty"));
            }
            let ss = mbr_sector_size(file, &mbr);
            Ok(Partition {
                offset: u64::from(p.starting_lba) * ss,
                size: u64::from(p.sectors) * ss,
            })
        }
    }
}

/// An MBR does not say its sector size. Of 512 and 4096 bytes, this picks
/// the one under which more partitions fit the device and start with
/// something recognizable (a boot-sector signature or a credential record);
/// 512 on a tie.
pub fn mbr_sector_size(file: &File, mbr: &mbrman::MBR) -> u64 {
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let score = |ss: u64| {
        mbr.iter()
            .filter(|(_, p)| p.is_used())
            .filter(|(_, p)| {
                let start = u64::from(p.starting_lba) * ss;
                let mut head = [0u8; 512];
                (u64::from(p.starting_lba) + u64::from(p.sectors)) * ss <= len
                    && file.read_exact_at(&mut head, start).is_ok()
                    && (head[510..] == [0x55, 0xAA]
                        || head[..8] == *crate::credentials::record::MAGIC)
            })
            .count()
    };
    if score(4096) > score(512) {
        4096
    } else {
        512
    }
}
