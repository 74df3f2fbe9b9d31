//! Finds the credentials partition on a block device or an image file: by
//! GPT partition name, by MBR partition number (1–4), or at an explicit
//! offset and size.

use super::store::Partition;
use std::fs::File;
use std::os::unix::fs::FileExt;

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
            Ok(Partition {
                offset: u64::from(p.starting_lba) * 512,
                size: u64::from(p.sectors) * 512,
            })
        }
    }
}
