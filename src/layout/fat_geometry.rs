//! FAT geometry: which FAT type and cluster size a volume of a given size
//! gets, and whether the files meant for it fit. fatfs silently replaces a
//! requested FAT type whose cluster count is out of range, so burnline picks
//! the geometry itself and checks it before anything is written.

use crate::recipe::{FatBits, FatSpec};
use std::path::Path;

/// Cluster-count limits (inclusive) per FAT type, as Microsoft's spec sets them.
fn limits(bits: FatBits) -> (u64, u64) {
    match bits {
        FatBits::Fat12 => (1, 4084),
        FatBits::Fat16 => (4085, 65524),
        FatBits::Fat32 => (65525, 0x0FFF_FFF4),
    }
}

/// A chosen geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// FAT type.
    pub bits: FatBits,
    /// Bytes per cluster.
    pub cluster: u64,
    /// Data clusters (approximate to a few, see [`clusters`]).
    pub clusters: u64,
}

/// Data clusters a volume of `size` bytes holds with this type and cluster
/// size, after the reserved sectors, two FATs and the root directory.
pub fn clusters(size: u64, sector: u64, bits: FatBits, cluster: u64) -> u64 {
    let total = size / sector;
    let spc = cluster / sector;
    let (reserved, root) = match bits {
        FatBits::Fat32 => (32, 0),
        _ => (1, (512 * 32u64).div_ceil(sector)),
    };
    let entry_bits = match bits {
        FatBits::Fat12 => 12,
        FatBits::Fat16 => 16,
        FatBits::Fat32 => 32,
    };
    let mut n = total.saturating_sub(reserved + root) / spc;
    for _ in 0..4 {
        let fat_sectors = ((n + 2) * entry_bits).div_ceil(8).div_ceil(sector);
        n = total.saturating_sub(reserved + root + 2 * fat_sectors) / spc;
    }
    n
}

fn default_bits(size: u64) -> FatBits {
    if size < 16 << 20 {
        FatBits::Fat12
    } else if size < 512 << 20 {
        FatBits::Fat16
    } else {
        FatBits::Fat32
    }
}

/// Chooses the smallest cluster whose count fits the type's range, with a
/// margin of 16 clusters on each side. Without a requested type, the type
/// the size suggests is tried first, then the others (large sectors can rule
/// out FAT16 for a small volume, for instance).
pub fn choose(size: u64, sector: u64, bits: Option<FatBits>) -> Result<Geometry, String> {
    match bits {
        Some(b) => choose_type(size, sector, b),
        None => {
            let first = default_bits(size);
            let mut result = choose_type(size, sector, first);
            for b in [FatBits::Fat12, FatBits::Fat16, FatBits::Fat32] {
                if result.is_ok() {
                    break;
                }
                if b != first {
                    result = choose_type(size, sector, b).or(result);
                }
            }
            result
        }
    }
}

fn choose_type(size: u64, sector: u64, bits: FatBits) -> Result<Geometry, String> {
    let (min, max) = limits(bits);
    let mut cluster = sector;
    while cluster <= 32 * 1024 {
        let n = clusters(size, sector, bits, cluster);
        if n >= min + 16 && n + 16 <= max {
            return Ok(Geometry {
                bits,
                cluster,
                clusters: n,
            });
        }
        if n < min + 16 {
            break;
        }
        cluster *= 2;
    }
    let name = match bits {
        FatBits::Fat12 => "FAT12",
        FatBits::Fat16 => "FAT16",
        FatBits::Fat32 => "FAT32",
    };
    if clusters(size, sector, bits, sector) < min + 16 {
        Err(format!(
            "a {size}-byte volume is too small for {name}, which needs at least {} clusters",
            min
        ))
    } else {
        Err(format!("a {size}-byte volume is too large for {name}"))
    }
}

fn clusters_for(path: &Path, cluster: u64) -> std::io::Result<u64> {
    let m = std::fs::metadata(path)?;
    if m.is_dir() {
        // The directory's own entries: assume long names (3 entries of 32 bytes each).
        let mut n = 0;
        let mut entries = 2u64;
        for e in std::fs::read_dir(path)? {
            let e = e?;
            entries += 3;
            n += clusters_for(&e.path(), cluster)?;
        }
        Ok(n + (entries * 32).div_ceil(cluster))
    } else {
        Ok(m.len().div_ceil(cluster))
    }
}

/// Checks that the volume's files fit, by cluster count.
pub fn check_fits(size: u64, sector: u64, spec: &FatSpec) -> Result<(), String> {
    let g = choose(size, sector, spec.bits)?;
    let mut needed = 0u64;
    for f in &spec.files {
        // Missing files are reported by the recipe loader.
        needed += clusters_for(&f.source, g.cluster).unwrap_or(0);
        needed += f.dest.matches('/').count() as u64;
    }
    if needed > g.clusters {
        return Err(format!(
            "the files need about {} bytes but the volume holds {} bytes of data",
            needed * g.cluster,
            g.clusters * g.cluster
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_in_range() {
        let g = choose(16 << 20, 512, Some(FatBits::Fat16)).expect("fat16 fits 16MiB");
        assert!(g.clusters >= 4085 && g.clusters <= 65524);
        assert!(choose(16 << 20, 512, Some(FatBits::Fat32)).is_err());
        assert!(choose(64 << 20, 512, Some(FatBits::Fat32)).is_ok());
        assert!(choose(1 << 20, 512, None).is_ok());
        assert!(choose(1 << 20, 512, Some(FatBits::Fat16)).is_err());
        // 4096-byte sectors rule out FAT16 at 16 MiB; the automatic choice falls back.
        assert!(choose(16 << 20, 4096, Some(FatBits::Fat16)).is_err());
        assert_eq!(
            choose(16 << 20, 4096, None).map(|g| g.bits),
            Ok(FatBits::Fat12)
        );
    }
}
