//! FAT geometry: which FAT type and cluster size a volume of a given size
//! gets, and whether the files meant for it fit. fatfs silently replaces a
//! requested FAT type whose cluster count is out of range, so burnline picks
//! the geometry itself and checks it before anything is written. The fit is
//! measured on the tree the volume will hold ([`check_fits`]): its clusters,
//! the fixed root directory of FAT12/16 ([`ROOT_ENTRIES`]), and the most
//! entries FAT allows in one directory ([`MAX_DIR_ENTRIES`]).

use crate::spec::FatBits;
use crate::tree::Tree;

/// Entries of the fixed root directory of a FAT12/16 volume (what
/// mkfs.fat and fatfs give a hard disk; the volume label takes one).
pub const ROOT_ENTRIES: u16 = 512;

/// The most 32-byte entries one directory may hold (the FAT specification's
/// limit; Linux refuses to grow a directory past it).
pub const MAX_DIR_ENTRIES: u64 = 65_536;

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
        _ => (1, (u64::from(ROOT_ENTRIES) * 32).div_ceil(sector)),
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

fn type_name(bits: FatBits) -> &'static str {
    match bits {
        FatBits::Fat12 => "FAT12",
        FatBits::Fat16 => "FAT16",
        FatBits::Fat32 => "FAT32",
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
    let name = type_name(bits);
    if clusters(size, sector, bits, sector) < min + 16 {
        Err(format!(
            "a {size}-byte volume is too small for {name}, which needs at least {} clusters",
            min
        ))
    } else {
        Err(format!("a {size}-byte volume is too large for {name}"))
    }
}

/// Every way the tree does not fit a volume of geometry `g`, in words.
pub fn check_fits(g: &Geometry, tree: &Tree<'_>) -> Vec<String> {
    let mut rules = Vec::new();
    let fat32 = g.bits == FatBits::Fat32;
    let needs = tree.needs(g.cluster, fat32);
    if !fat32 && needs.root_entries > u64::from(ROOT_ENTRIES) {
        rules.push(format!(
            "the root directory of a {} volume holds {ROOT_ENTRIES} entries, and these files need {} there (the label takes one, a long name one more per 13 characters): put them in a subdirectory, or use FAT32",
            type_name(g.bits),
            needs.root_entries
        ));
    }
    let (path, entries) = &needs.fullest;
    if *entries > MAX_DIR_ENTRIES {
        rules.push(format!(
            "`/{path}` would hold {entries} directory entries, and FAT allows at most {MAX_DIR_ENTRIES} in one directory (a long name takes one more per 13 characters): spread the files over subdirectories"
        ));
    }
    if needs.clusters > g.clusters {
        rules.push(format!(
            "the files need {} bytes but the volume holds {} bytes of data",
            needs.clusters * g.cluster,
            g.clusters * g.cluster
        ));
    }
    rules
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

    #[test]
    fn fits_are_measured_on_the_tree() {
        let g = choose(16 << 20, 512, Some(FatBits::Fat16)).expect("fat16");
        let mut tree = Tree::default();
        // The label and 511 short names fill the root exactly.
        for i in 0..511 {
            tree.add_bytes(&format!("f{i}"), b"").expect("add");
        }
        assert!(check_fits(&g, &tree).is_empty());
        tree.add_bytes("f511", b"").expect("add");
        let rules = check_fits(&g, &tree);
        assert!(
            rules.len() == 1 && rules[0].contains("need 513 there"),
            "{rules:?}"
        );
        // A subdirectory past 65,536 entries, on FAT32 too.
        let g = choose(64 << 20, 512, Some(FatBits::Fat32)).expect("fat32");
        let mut tree = Tree::default();
        for i in 0..MAX_DIR_ENTRIES - 2 {
            tree.add_bytes(&format!("d/{i}"), b"").expect("add");
        }
        assert!(check_fits(&g, &tree).is_empty());
        tree.add_bytes("d/one-more", b"").expect("add");
        let rules = check_fits(&g, &tree);
        assert!(
            rules.len() == 1 && rules[0].starts_with("`/d` would hold 65537 "),
            "{rules:?}"
        );
        // Data: a byte past the volume's clusters.
        let g = choose(1 << 20, 512, None).expect("fat12");
        let big = vec![0u8; (g.clusters * g.cluster) as usize + 1];
        let mut tree = Tree::default();
        tree.add_bytes("big", &big).expect("add");
        let rules = check_fits(&g, &tree);
        assert!(
            rules.len() == 1 && rules[0].starts_with("the files need"),
            "{rules:?}"
        );
    }
}
