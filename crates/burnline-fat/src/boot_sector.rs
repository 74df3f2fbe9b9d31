//! The boot-sector fields of a formatted FAT volume, read back: where the
//! FATs, the root directory and the data clusters are, the FAT type (by
//! cluster count, as the FAT specification decides it), and where FAT32
//! keeps its FSInfo sector and its boot-sector backup. The FAT writer lays
//! a volume out by them and the serial patcher finds the serial by them.

use crate::spec::FatBits;
use burnline_io::BlockAt;
use std::io;

/// The fields of a FAT boot sector the builder needs.
#[derive(Debug, Clone)]
pub struct BootSector {
    /// Bytes per sector.
    pub sector: u64,
    /// Sectors per cluster.
    pub spc: u64,
    /// Reserved sectors before the first FAT.
    pub reserved: u64,
    /// Number of FATs.
    pub fats: u64,
    /// Entries of the fixed root directory (0 on FAT32).
    pub root_entries: u64,
    /// Sectors per FAT.
    pub fat_sectors: u64,
    /// Data clusters.
    pub clusters: u32,
    /// FAT32: the root directory's first cluster (0 otherwise).
    pub root_cluster: u32,
    /// FAT32: the FSInfo sector (0 otherwise).
    pub fsinfo_sector: u64,
    /// FAT32: the backup boot sector (0 when there is none).
    pub backup_sector: u64,
    /// The FAT type.
    pub bits: FatBits,
}

fn le16(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a FAT boot sector: {what}"),
    )
}

impl BootSector {
    /// Reads the boot sector at the start of `w`.
    pub fn read(w: &impl BlockAt) -> io::Result<BootSector> {
        let mut b = [0u8; 512];
        w.read_exact_at(&mut b, 0)?;
        let sector = le16(&b, 11);
        let spc = u64::from(b[13]);
        let reserved = le16(&b, 14);
        let fats = u64::from(b[16]);
        let root_entries = le16(&b, 17);
        let total16 = le16(&b, 19);
        let fat16 = le16(&b, 22);
        let total_sectors = if total16 != 0 {
            total16
        } else {
            u64::from(le32(&b, 32))
        };
        let fat_sectors = if fat16 != 0 {
            fat16
        } else {
            u64::from(le32(&b, 36))
        };
        if sector == 0 || spc == 0 || fats == 0 || fat_sectors == 0 {
            return Err(bad("a zero sector size, cluster size or FAT size"));
        }
        let data_start = reserved + fats * fat_sectors + (root_entries * 32).div_ceil(sector);
        let clusters = total_sectors
            .checked_sub(data_start)
            .ok_or_else(|| bad("the FATs end past the volume"))?
            / spc;
        let clusters = u32::try_from(clusters).map_err(|_| bad("too many clusters"))?;
        let bits = if fat16 == 0 {
            FatBits::Fat32
        } else if clusters < 4085 {
            FatBits::Fat12
        } else {
            FatBits::Fat16
        };
        let fat32 = bits == FatBits::Fat32;
        let backup = if fat32 { le16(&b, 50) } else { 0 };
        Ok(BootSector {
            sector,
            spc,
            reserved,
            fats,
            root_entries,
            fat_sectors,
            clusters,
            root_cluster: if fat32 { le32(&b, 44) } else { 0 },
            fsinfo_sector: if fat32 { le16(&b, 48) } else { 0 },
            backup_sector: if backup == 0xFFFF { 0 } else { backup },
            bits,
        })
    }

    /// Byte offset of FAT number `i`.
    pub fn fat_offset(&self, i: u64) -> u64 {
        (self.reserved + i * self.fat_sectors) * self.sector
    }

    /// Bytes per FAT.
    pub fn fat_bytes(&self) -> u64 {
        self.fat_sectors * self.sector
    }

    /// Byte offset of the fixed root directory (FAT12/16).
    pub fn root_offset(&self) -> u64 {
        self.fat_offset(self.fats)
    }

    /// Byte offset of the first data cluster (cluster 2).
    pub fn data_start(&self) -> u64 {
        self.root_offset() + (self.root_entries * 32).div_ceil(self.sector) * self.sector
    }

    /// Bytes per cluster.
    pub fn cluster_bytes(&self) -> u64 {
        self.spc * self.sector
    }

    /// Byte offset of cluster `c` (2 or more).
    pub fn cluster_offset(&self, c: u32) -> u64 {
        self.data_start() + u64::from(c - 2) * self.cluster_bytes()
    }
}
