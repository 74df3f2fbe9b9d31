//! Builds a FAT volume: the fatfs crate formats it (boot sector, FATs, the
//! root directory with the volume label) with the geometry the layout chose,
//! and [`writer`](crate::writer) fills it with the tree of files in
//! one pass (fatfs's own file creation reads the whole directory per new
//! entry, which is quadratic in the number of files).
//!
//! Timestamps come from `SOURCE_DATE_EPOCH` (or the recipe), never the clock.
//! The volume serial is left zero here: it is per device, written as a patch
//! (see [`serial_offsets`]).

use crate::boot_sector::BootSector;
use crate::geometry::{self, Geometry, ROOT_ENTRIES};
use crate::spec::{FatBits, FatFile};
use crate::tree::Tree;
use crate::writer::{self, Stamp};
use burnline_io::BlockAt;
use std::io::{self, Read, Seek, Write};

fn label_bytes(label: Option<&str>) -> [u8; 11] {
    let mut out = *b"NO NAME    ";
    if let Some(l) = label {
        out = [b' '; 11];
        for (o, b) in out.iter_mut().zip(l.bytes()) {
            *o = b;
        }
    }
    out
}

/// The tree `files` make, for the build: a rule broken now (check found
/// none, so a source changed since) fails the build.
pub fn tree_of(files: &[FatFile]) -> io::Result<Tree<'static>> {
    let (tree, problems) = Tree::walk(files);
    match problems.first() {
        None => Ok(tree),
        Some(p) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("files[{}].{}: {}", p.file, p.field, p.rule),
        )),
    }
}

/// Formats `window` as FAT and writes `tree` into it. Returns the geometry
/// used.
pub fn build<D: Read + Write + Seek + BlockAt>(
    window: &mut D,
    size: u64,
    sector: u64,
    bits: Option<FatBits>,
    label: Option<&str>,
    epoch: i64,
    tree: &Tree<'_>,
) -> io::Result<Geometry> {
    let g = geometry::choose(size, sector, bits).map_err(io::Error::other)?;
    let fat_type = match g.bits {
        FatBits::Fat12 => fatfs::FatType::Fat12,
        FatBits::Fat16 => fatfs::FatType::Fat16,
        FatBits::Fat32 => fatfs::FatType::Fat32,
    };
    let label = label_bytes(label);
    let opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fat_type)
        .bytes_per_sector(sector as u16)
        .bytes_per_cluster(g.cluster as u32)
        .total_sectors((size / sector) as u32)
        .max_root_dir_entries(ROOT_ENTRIES)
        .volume_id(0)
        .volume_label(label);
    fatfs::format_volume(&mut *window, opts)?;
    if BootSector::read(window)?.bits != g.bits {
        return Err(io::Error::other(
            "fatfs chose another FAT type than requested",
        ));
    }
    writer::write(window, tree, &label, Stamp::from_epoch(epoch))?;
    Ok(g)
}

/// Offsets, within the volume, of the 4-byte volume serial: the boot sector,
/// and on FAT32 its backup too.
pub fn serial_offsets(w: &impl BlockAt) -> io::Result<Vec<u64>> {
    let bs = BootSector::read(w)?;
    Ok(match bs.bits {
        FatBits::Fat32 => {
            let mut v = vec![67];
            if bs.backup_sector != 0 {
                v.push(bs.backup_sector * bs.sector + 67);
            }
            v
        }
        _ => vec![39],
    })
}
