//! Fills a freshly formatted FAT volume with a [`Tree`] in one pass. fatfs
//! 0.3's `create_file` and `create_dir` read the whole directory for every
//! new entry (to find the name, then again for the short name and for free
//! slots), so a directory of n files cost n² entry reads: 10,000 files took
//! 203 s. Here the tree is known in full before anything is written, so:
//!
//! - clusters are handed out in order, the walk's order (each directory
//!   then its files and subdirectories), every file and directory in one
//!   contiguous run, sized up front;
//! - each directory is made in memory and written once: `.` and `..` in its
//!   first two slots (`..` of a directory in the root names cluster 0), the
//!   volume label first in the root, then each entry's long-name slots
//!   (UTF-16, last slot first and flagged 0x40, each with the checksum of
//!   its short name) and its short entry; short names are picked per
//!   directory with a set of the names taken ([`fat_names`]);
//! - the FAT is built in memory and written to every FAT copy; on FAT32
//!   FSInfo gets the free-cluster count and the next free cluster.
//!
//! Every timestamp (created, accessed, modified) is one fixed [`Stamp`], so
//! the same inputs give the same bytes. Files have the archive attribute.

use crate::boot_sector::BootSector;
use crate::names::{self, Form, ShortName};
use crate::spec::FatBits;
use crate::tree::{Data, Kind, Tree};
use burnline_io::BlockAt;
use std::collections::HashSet;
use std::io::{self, Read};

const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
const ATTR_ARCHIVE: u8 = 0x20;
const ATTR_LONG: u8 = 0x0F;
/// Marks the long-name slot that holds the end of the name (written first).
const LAST_SLOT: u8 = 0x40;
const ENTRY: usize = 32;

/// A FAT date and time (2-second resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// `(year - 1980) << 9 | month << 5 | day`.
    pub date: u16,
    /// `hour << 11 | minute << 5 | second / 2`.
    pub time: u16,
}

impl Stamp {
    /// Seconds since 1970 (UTC) as a FAT date and time, clamped to the
    /// range FAT can hold (1980-01-01 to 2107-12-31 23:59:58).
    pub fn from_epoch(epoch: i64) -> Stamp {
        let min = 315_532_800; // 1980-01-01
        let max = 4_354_819_198; // 2107-12-31 23:59:58
        let t = epoch.clamp(min, max);
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Stamp {
            date: (((year - 1980) << 9) | (month << 5) | day) as u16,
            time: (((secs / 3600) << 11) | ((secs / 60 % 60) << 5) | (secs % 60 / 2)) as u16,
        }
    }
}

/// The file allocation table, in memory.
struct Fat {
    bytes: Vec<u8>,
    bits: FatBits,
}

impl Fat {
    fn get(&self, c: u32) -> u32 {
        let c = c as usize;
        let b = &self.bytes;
        match self.bits {
            FatBits::Fat12 => {
                let at = c + c / 2;
                let v = u32::from(u16::from_le_bytes([b[at], b[at + 1]]));
                if c % 2 == 0 {
                    v & 0xFFF
                } else {
                    v >> 4
                }
            }
            FatBits::Fat16 => u32::from(u16::from_le_bytes([b[2 * c], b[2 * c + 1]])),
            FatBits::Fat32 => {
                u32::from_le_bytes([b[4 * c], b[4 * c + 1], b[4 * c + 2], b[4 * c + 3]])
                    & 0x0FFF_FFFF
            }
        }
    }

    fn set(&mut self, c: u32, v: u32) {
        let c = c as usize;
        let b = &mut self.bytes;
        match self.bits {
            FatBits::Fat12 => {
                let at = c + c / 2;
                let old = u16::from_le_bytes([b[at], b[at + 1]]);
                let new = if c % 2 == 0 {
                    (old & 0xF000) | (v as u16 & 0xFFF)
                } else {
                    (old & 0x000F) | ((v as u16) << 4)
                };
                b[at..at + 2].copy_from_slice(&new.to_le_bytes());
            }
            FatBits::Fat16 => b[2 * c..2 * c + 2].copy_from_slice(&(v as u16).to_le_bytes()),
            FatBits::Fat32 => {
                let at = 4 * c;
                let old = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                let new = (old & 0xF000_0000) | (v & 0x0FFF_FFFF);
                b[at..at + 4].copy_from_slice(&new.to_le_bytes());
            }
        }
    }

    fn end_of_chain(&self) -> u32 {
        match self.bits {
            FatBits::Fat12 => 0xFFF,
            FatBits::Fat16 => 0xFFFF,
            FatBits::Fat32 => 0x0FFF_FFFF,
        }
    }

    /// Chains clusters `start..start + n` in order and ends the chain.
    fn chain(&mut self, start: u32, n: u32) {
        let end = self.end_of_chain();
        for c in start..start + n {
            self.set(c, if c + 1 < start + n { c + 1 } else { end });
        }
    }
}

/// Where everything goes: the first cluster of every directory and file.
struct Plan<'t> {
    /// Per directory: first cluster (0 for a fixed FAT12/16 root) and length.
    dirs: Vec<(u32, u32)>,
    /// Per directory, per entry: the first cluster (0 for an empty file).
    starts: Vec<Vec<u32>>,
    /// Directories and non-empty files in the order of their clusters.
    order: Vec<Item<'t>>,
}

enum Item<'t> {
    /// A directory (not the root), by index.
    Dir(usize),
    /// A file's bytes, and its first cluster and cluster count.
    File(&'t Data<'t>, u32, u32),
}

fn full(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::StorageFull, what)
}

impl<'t> Plan<'t> {
    fn make(tree: &'t Tree<'t>, bs: &BootSector) -> io::Result<Plan<'t>> {
        let cb = bs.cluster_bytes();
        let dirs = tree.dirs();
        let fat32 = bs.bits == FatBits::Fat32;
        let sizes: Vec<u64> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| d.slots(i == 0))
            .collect();
        let clusters_of = |bytes: u64| -> io::Result<u32> {
            u32::try_from(bytes.div_ceil(cb))
                .map_err(|_| full(format!("{bytes} bytes take more clusters than FAT counts")))
        };
        let mut plan = Plan {
            dirs: vec![(0, 0); dirs.len()],
            starts: dirs.iter().map(|d| vec![0; d.entries.len()]).collect(),
            order: Vec::new(),
        };
        let end = u64::from(bs.clusters) + 2;
        let mut next: u64 = 2;
        let mut alloc = |n: u32| -> io::Result<u32> {
            if n == 0 {
                return Ok(0);
            }
            let start = next;
            next += u64::from(n);
            if next > end {
                return Err(full(format!(
                    "the files need more than the volume's {} clusters of {cb} bytes",
                    bs.clusters
                )));
            }
            Ok(start as u32)
        };
        if fat32 {
            // Cluster 2, where the format put it, and the ones after it.
            let n = clusters_of(sizes[0] * ENTRY as u64)?;
            plan.dirs[0] = (alloc(n)?, n);
        } else if sizes[0] > bs.root_entries {
            return Err(full(format!(
                "the root directory holds {} entries, and the files need {}",
                bs.root_entries, sizes[0]
            )));
        }
        // Depth first, in entry order: (directory, next entry).
        let mut stack = vec![(0usize, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (d, i) = *top;
            let Some(e) = dirs[d].entries.get(i) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            match &e.kind {
                Kind::File(data) => {
                    let n = clusters_of(data.size())?;
                    let start = alloc(n)?;
                    plan.starts[d][i] = start;
                    if n > 0 {
                        plan.order.push(Item::File(data, start, n));
                    }
                }
                Kind::Dir(c) => {
                    let n = clusters_of(sizes[*c] * ENTRY as u64)?;
                    let start = alloc(n)?;
                    plan.starts[d][i] = start;
                    plan.dirs[*c] = (start, n);
                    plan.order.push(Item::Dir(*c));
                    stack.push((*c, 0));
                }
            }
        }
        Ok(plan)
    }
}

/// A short (or `.`, `..`, label) entry.
fn short_entry(
    out: &mut [u8],
    name: &ShortName,
    attr: u8,
    case: u8,
    stamp: Option<Stamp>,
    cluster: u32,
    size: u32,
) {
    out[..11].copy_from_slice(name);
    out[11] = attr;
    out[12] = case;
    if let Some(s) = stamp {
        out[14..16].copy_from_slice(&s.time.to_le_bytes());
        out[16..18].copy_from_slice(&s.date.to_le_bytes());
        out[18..20].copy_from_slice(&s.date.to_le_bytes());
        out[22..24].copy_from_slice(&s.time.to_le_bytes());
        out[24..26].copy_from_slice(&s.date.to_le_bytes());
    }
    out[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
    out[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
    out[28..32].copy_from_slice(&size.to_le_bytes());
}

/// The checksum of a short name that its long-name slots carry.
fn checksum(short: &ShortName) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, b| sum.rotate_right(1).wrapping_add(*b))
}

/// Writes `name`'s long-name slots into `out` (which has room for exactly
/// them), last part first.
fn long_entries(out: &mut [u8], name: &str, short: &ShortName) {
    let units: Vec<u16> = name.encode_utf16().collect();
    let n = units.len().div_ceil(names::LONG_SLOT_UNITS);
    let sum = checksum(short);
    for (slot, k) in (1..=n).rev().enumerate() {
        let e = &mut out[slot * ENTRY..(slot + 1) * ENTRY];
        e[0] = k as u8 | if k == n { LAST_SLOT } else { 0 };
        e[11] = ATTR_LONG;
        e[13] = sum;
        let from = (k - 1) * names::LONG_SLOT_UNITS;
        let part = |j: usize| -> u16 {
            match (from + j).cmp(&units.len()) {
                std::cmp::Ordering::Less => units[from + j],
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 0xFFFF,
            }
        };
        let places = (1..11)
            .step_by(2)
            .chain((14..26).step_by(2))
            .chain((28..32).step_by(2));
        for (j, at) in places.enumerate() {
            e[at..at + 2].copy_from_slice(&part(j).to_le_bytes());
        }
    }
}

/// The bytes of directory `d`, `len` long.
fn directory(
    tree: &Tree<'_>,
    plan: &Plan<'_>,
    d: usize,
    len: usize,
    label: &ShortName,
    stamp: Stamp,
) -> io::Result<Vec<u8>> {
    let dir = &tree.dirs()[d];
    let mut out = vec![0u8; len];
    let mut at = if d == 0 {
        short_entry(&mut out[..ENTRY], label, ATTR_VOLUME, 0, None, 0, 0);
        ENTRY
    } else {
        let parent = if dir.parent == 0 {
            0
        } else {
            plan.dirs[dir.parent].0
        };
        let mut dot = [b' '; 11];
        dot[0] = b'.';
        let mut dotdot = dot;
        dotdot[1] = b'.';
        short_entry(
            &mut out[..ENTRY],
            &dot,
            ATTR_DIR,
            0,
            Some(stamp),
            plan.dirs[d].0,
            0,
        );
        short_entry(
            &mut out[ENTRY..2 * ENTRY],
            &dotdot,
            ATTR_DIR,
            0,
            Some(stamp),
            parent,
            0,
        );
        2 * ENTRY
    };
    // Names that are their own short names first, then the aliases.
    let forms: Vec<Form> = dir.entries.iter().map(|e| Form::of(&e.name)).collect();
    let mut taken: HashSet<ShortName> = HashSet::with_capacity(forms.len());
    let mut shorts: Vec<(ShortName, u8)> = Vec::with_capacity(forms.len());
    for (e, f) in dir.entries.iter().zip(&forms) {
        shorts.push(match f {
            Form::Own { short, case, .. } => {
                if !taken.insert(*short) {
                    return Err(io::Error::other(format!(
                        "two entries of `/{}` have the short name of `{}`",
                        dir.path, e.name
                    )));
                }
                (*short, *case)
            }
            Form::Alias(_) => ([0; 11], 0),
        });
    }
    for ((e, f), s) in dir.entries.iter().zip(&forms).zip(&mut shorts) {
        if let Form::Alias(basis) = f {
            let short = basis.pick(&taken).ok_or_else(|| {
                io::Error::other(format!("no short name is left for `{}`", e.name))
            })?;
            taken.insert(short);
            s.0 = short;
        }
    }
    for (i, ((e, f), (short, case))) in dir.entries.iter().zip(&forms).zip(&shorts).enumerate() {
        if f.needs_long() {
            let n = names::long_slots(&e.name) as usize * ENTRY;
            long_entries(&mut out[at..at + n], &e.name, short);
            at += n;
        }
        let (attr, size) = match &e.kind {
            Kind::Dir(_) => (ATTR_DIR, 0),
            Kind::File(data) => (
                ATTR_ARCHIVE,
                u32::try_from(data.size())
                    .map_err(|_| io::Error::other(format!("`{}` is too large for FAT", e.name)))?,
            ),
        };
        let cluster = plan.starts[d][i];
        short_entry(
            &mut out[at..at + ENTRY],
            short,
            attr,
            *case,
            Some(stamp),
            cluster,
            size,
        );
        at += ENTRY;
    }
    Ok(out)
}

/// Copies a file's bytes to `at`; a host file must still be as long as it
/// was when the tree was walked.
fn copy_data<D: BlockAt>(dev: &mut D, at: u64, data: &Data<'_>, buf: &mut [u8]) -> io::Result<()> {
    let (path, len) = match data {
        Data::Bytes(b) => return dev.write_all_at(b, at),
        Data::Host { path, len } => (path, *len),
    };
    let changed = |how: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} {how} while the FAT volume was built", path.display()),
        )
    };
    let mut f = burnline_io::source::open_regular(path)?;
    let mut done = 0u64;
    while done < len {
        let want = buf.len().min((len - done) as usize);
        let n = f.read(&mut buf[..want])?;
        if n == 0 {
            return Err(changed("shrank"));
        }
        dev.write_all_at(&buf[..n], at + done)?;
        done += n as u64;
    }
    if f.read(&mut buf[..1])? != 0 {
        return Err(changed("grew"));
    }
    Ok(())
}

/// Writes `tree` into the freshly formatted volume on `dev`, with volume
/// label `label` and every timestamp `stamp`.
pub fn write<D: BlockAt>(
    dev: &mut D,
    tree: &Tree<'_>,
    label: &ShortName,
    stamp: Stamp,
) -> io::Result<()> {
    let bs = BootSector::read(dev)?;
    let fat32 = bs.bits == FatBits::Fat32;
    let mut fat = Fat {
        bytes: vec![0u8; bs.fat_bytes() as usize],
        bits: bs.bits,
    };
    dev.read_exact_at(&mut fat.bytes, bs.fat_offset(0))?;
    let max = bs.clusters + 2;
    if fat.bytes.len() as u64 * 8 < u64::from(max) * fat_bits(bs.bits) {
        return Err(io::Error::other(
            "the FAT is smaller than the volume's clusters",
        ));
    }
    let formatted = (2..max).all(|c| fat.get(c) == 0 || (fat32 && c == bs.root_cluster));
    if !formatted || (fat32 && bs.root_cluster != 2) {
        return Err(io::Error::other("the FAT volume is not freshly formatted"));
    }
    let plan = Plan::make(tree, &bs)?;
    let cb = bs.cluster_bytes();
    // The root, then every directory and file in cluster order.
    let (root_at, root_len) = if fat32 {
        let (start, n) = plan.dirs[0];
        fat.chain(start, n);
        (bs.cluster_offset(start), u64::from(n) * cb)
    } else {
        (bs.root_offset(), bs.root_entries * ENTRY as u64)
    };
    let root = directory(tree, &plan, 0, root_len as usize, label, stamp)?;
    dev.write_all_at(&root, root_at)?;
    let mut buf = vec![0u8; 1 << 20];
    for item in &plan.order {
        match *item {
            Item::Dir(d) => {
                let (start, n) = plan.dirs[d];
                fat.chain(start, n);
                let len = (u64::from(n) * cb) as usize;
                let bytes = directory(tree, &plan, d, len, label, stamp)?;
                dev.write_all_at(&bytes, bs.cluster_offset(start))?;
            }
            Item::File(data, start, n) => {
                fat.chain(start, n);
                copy_data(dev, bs.cluster_offset(start), data, &mut buf)?;
            }
        }
    }
    for i in 0..bs.fats {
        dev.write_all_at(&fat.bytes, bs.fat_offset(i))?;
    }
    if fat32 {
        let mut free = (2..max).filter(|&c| fat.get(c) == 0);
        let next_free = free.next();
        let count = next_free.map_or(0, |_| 1 + free.count() as u32);
        let mut counts = [0u8; 8];
        counts[..4].copy_from_slice(&count.to_le_bytes());
        let next_free = next_free.unwrap_or(0xFFFF_FFFF);
        counts[4..].copy_from_slice(&next_free.to_le_bytes());
        dev.write_all_at(&counts, bs.fsinfo_sector * bs.sector + 488)?;
    }
    Ok(())
}

fn fat_bits(bits: FatBits) -> u64 {
    match bits {
        FatBits::Fat12 => 12,
        FatBits::Fat16 => 16,
        FatBits::Fat32 => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnline_io::patch::PatchDevice;
    use std::collections::BTreeMap;
    use std::io::{Read, Seek, SeekFrom};

    /// Builds `tree` into a new volume of `size` bytes.
    fn volume(bits: FatBits, size: u64, tree: &Tree<'_>) -> io::Result<PatchDevice> {
        let mut dev = PatchDevice::new(size);
        crate::volume::build(
            &mut dev,
            size,
            512,
            Some(bits),
            Some("TEST"),
            1_700_000_000,
            tree,
        )?;
        Ok(dev)
    }

    /// The 32-byte entries of the directory at `first` (0: the fixed root).
    fn raw_dir(dev: &PatchDevice, bs: &BootSector, fat: &Fat, first: u32) -> Vec<[u8; 32]> {
        let mut bytes = Vec::new();
        if first == 0 {
            bytes.resize((bs.root_entries * 32) as usize, 0);
            dev.read_exact_at(&mut bytes, bs.root_offset())
                .expect("root");
        } else {
            let mut c = first;
            loop {
                let mut b = vec![0u8; bs.cluster_bytes() as usize];
                dev.read_exact_at(&mut b, bs.cluster_offset(c))
                    .expect("cluster");
                bytes.extend_from_slice(&b);
                c = fat.get(c);
                if c >= fat.end_of_chain() - 7 {
                    break;
                }
            }
        }
        bytes
            .chunks_exact(32)
            .map(|e| e.try_into().expect("32 bytes"))
            .take_while(|e: &[u8; 32]| e[0] != 0)
            .collect()
    }

    fn cluster_of(e: &[u8; 32]) -> u32 {
        u32::from(u16::from_le_bytes([e[20], e[21]])) << 16
            | u32::from(u16::from_le_bytes([e[26], e[27]]))
    }

    /// Checks what fsck.fat checks about the structure, directory by
    /// directory; returns every file as path → bytes, read through fatfs.
    fn check_volume(dev: &mut PatchDevice) -> BTreeMap<String, Vec<u8>> {
        let bs = BootSector::read(dev).expect("boot sector");
        let mut fat = Fat {
            bytes: vec![0; bs.fat_bytes() as usize],
            bits: bs.bits,
        };
        dev.read_exact_at(&mut fat.bytes, bs.fat_offset(0))
            .expect("fat");
        let mut copy = fat.bytes.clone();
        dev.read_exact_at(&mut copy, bs.fat_offset(1))
            .expect("fat 2");
        assert!(copy == fat.bytes, "the FAT copies differ");
        // (first cluster, parent's first cluster as `..` names it)
        let root = if bs.bits == FatBits::Fat32 {
            bs.root_cluster
        } else {
            0
        };
        let mut stack = vec![(root, None::<u32>)];
        while let Some((dir, parent)) = stack.pop() {
            let entries = raw_dir(dev, &bs, &fat, dir);
            let rest = if let Some(parent) = parent {
                assert_eq!(&entries[0][..11], b".          ");
                assert_eq!(cluster_of(&entries[0]), dir);
                assert_eq!(&entries[1][..11], b"..         ");
                assert_eq!(cluster_of(&entries[1]), parent);
                &entries[2..]
            } else {
                assert_eq!(&entries[0][..11], b"TEST       ");
                assert_eq!(entries[0][11], ATTR_VOLUME);
                &entries[1..]
            };
            let mut shorts = HashSet::new();
            let mut pending: Vec<[u8; 32]> = Vec::new();
            for e in rest {
                if e[11] == ATTR_LONG {
                    if pending.is_empty() {
                        assert!(e[0] & LAST_SLOT != 0, "the first slot lacks 0x40");
                    }
                    pending.push(*e);
                    continue;
                }
                let short: ShortName = e[..11].try_into().expect("11 bytes");
                assert!(
                    shorts.insert(short),
                    "{:?} twice",
                    String::from_utf8_lossy(&short)
                );
                let n = pending.len();
                for (k, slot) in pending.iter().enumerate() {
                    assert_eq!(usize::from(slot[0] & 0x1F), n - k, "slot order");
                    assert_eq!(slot[13], checksum(&short), "slot checksum");
                }
                pending.clear();
                if e[11] & ATTR_DIR != 0 {
                    let child = cluster_of(e);
                    stack.push((child, Some(if parent.is_none() { 0 } else { dir })));
                }
            }
            assert!(pending.is_empty(), "long-name slots without a short entry");
        }
        if bs.bits == FatBits::Fat32 {
            let mut counts = [0u8; 8];
            dev.read_exact_at(&mut counts, bs.fsinfo_sector * bs.sector + 488)
                .expect("fsinfo");
            let free: Vec<u32> = (2..bs.clusters + 2).filter(|&c| fat.get(c) == 0).collect();
            assert_eq!(
                u32::from_le_bytes(counts[..4].try_into().expect("4")),
                free.len() as u32
            );
            assert_eq!(
                u32::from_le_bytes(counts[4..].try_into().expect("4")),
                free[0]
            );
        }
        dev.seek(SeekFrom::Start(0)).expect("seek");
        let fs =
            fatfs::FileSystem::new(&mut *dev, fatfs::FsOptions::new()).expect("fatfs mounts it");
        let mut files = BTreeMap::new();
        let mut dirs = vec![(String::new(), fs.root_dir())];
        while let Some((path, dir)) = dirs.pop() {
            for e in dir.iter() {
                let e = e.expect("entry");
                let name = e.file_name();
                if name == "." || name == ".." {
                    continue;
                }
                let full = format!("{path}/{name}");
                if e.is_dir() {
                    dirs.push((full, e.to_dir()));
                } else {
                    let mut body = Vec::new();
                    e.to_file().read_to_end(&mut body).expect("read");
                    files.insert(full, body);
                }
            }
        }
        files
    }

    fn sample() -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = [
            "README.TXT",
            "readme2.txt",
            "Makefile",
            ".bashrc",
            "a name with spaces and twenty-six plus characters.tar.gz",
            "über/naïve-日本語.txt",
            "x/y/z/deep.bin",
            "empty",
            "LONGFI~1.TXT",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), vec![i as u8 + 1; i * 700]))
        .collect();
        // Enough names alike for the checksum form, and a directory of
        // more than one cluster.
        for i in 0..300 {
            v.push((
                format!("many/longfilename{i:03}.txt"),
                format!("{i}").into_bytes(),
            ));
        }
        v.push((
            "big/file".into(),
            (0..100_000u32).map(|i| (i % 251) as u8).collect(),
        ));
        v
    }

    #[test]
    fn every_fat_type_reads_back_as_written() {
        let files = sample();
        let mut tree = Tree::default();
        for (path, body) in &files {
            tree.add_bytes(path, body).expect("add");
        }
        let want: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, b)| (format!("/{p}"), b.clone()))
            .collect();
        for (bits, size) in [
            (FatBits::Fat12, 4u64 << 20),
            (FatBits::Fat16, 16 << 20),
            (FatBits::Fat32, 40 << 20),
        ] {
            let mut dev = volume(bits, size, &tree).expect("build");
            assert!(check_volume(&mut dev) == want, "{bits:?}: the files differ");
            // The same tree gives the same bytes.
            let again = volume(bits, size, &tree).expect("build");
            assert!(
                dev.into_patches(0) == again.into_patches(0),
                "{bits:?}: not reproducible"
            );
        }
    }

    #[test]
    fn short_names_and_case_flags() {
        let mut tree = Tree::default();
        for p in [
            "lower.txt",
            "UPPER.TXT",
            "Mixed.txt",
            "longfilename.txt",
            "LONGFI~1.TXT",
        ] {
            tree.add_bytes(p, b"").expect("add");
        }
        let dev = volume(FatBits::Fat16, 16 << 20, &tree).expect("build");
        let bs = BootSector::read(&dev).expect("bs");
        let fat = Fat {
            bytes: vec![0; bs.fat_bytes() as usize],
            bits: bs.bits,
        };
        let got: Vec<(String, u8, bool)> = raw_dir(&dev, &bs, &fat, 0)
            .iter()
            .skip(1)
            .filter(|e| e[11] != ATTR_LONG)
            .map(|e| {
                (
                    String::from_utf8_lossy(&e[..11]).into_owned(),
                    e[12],
                    e[11] == ATTR_ARCHIVE,
                )
            })
            .collect();
        let want = [
            ("LOWER   TXT", 0x18, true),
            ("UPPER   TXT", 0, true),
            ("MIXED   TXT", 0, true),
            // The name that is its own short name keeps it; the long one
            // takes the next alias.
            ("LONGFI~2TXT", 0, true),
            ("LONGFI~1TXT", 0, true),
        ];
        let want: Vec<(String, u8, bool)> = want
            .iter()
            .map(|(n, c, a)| (n.to_string(), *c, *a))
            .collect();
        assert_eq!(got, want);
        // The label, 5 short entries, a long-name slot for `Mixed.txt` and
        // two for the 16 characters of `longfilename.txt`.
        assert_eq!(raw_dir(&dev, &bs, &fat, 0).len(), 9);
    }

    #[test]
    fn what_does_not_fit_is_an_error() {
        let big = vec![7u8; 5 << 20];
        let mut tree = Tree::default();
        tree.add_bytes("big", &big).expect("add");
        let e = volume(FatBits::Fat12, 4 << 20, &tree).expect_err("too big");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        let mut tree = Tree::default();
        for i in 0..600 {
            tree.add_bytes(&format!("f{i}"), b"").expect("add");
        }
        let e = volume(FatBits::Fat16, 16 << 20, &tree).expect_err("root full");
        assert!(e.to_string().contains("root directory holds 512"), "{e}");
    }

    #[test]
    fn a_source_that_changed_since_the_walk_fails_the_build() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("f"), b"12345").expect("write");
        let files = [crate::spec::FatFile {
            source: d.path().to_path_buf(),
            dest: "d".into(),
        }];
        for (now, how) in [(&b"12"[..], "shrank"), (&b"1234567"[..], "grew")] {
            let tree = crate::volume::tree_of(&files).expect("walk");
            std::fs::write(d.path().join("f"), now).expect("rewrite");
            let e = volume(FatBits::Fat12, 4 << 20, &tree).expect_err("changed");
            assert!(e.to_string().contains(how), "{e}");
            std::fs::write(d.path().join("f"), b"12345").expect("restore");
        }
    }

    #[test]
    fn stamps_are_fat_dates_and_times() {
        // 2023-11-14 22:13:20 UTC.
        let s = Stamp::from_epoch(1_700_000_000);
        assert_eq!(s.date, (43 << 9) | (11 << 5) | 14);
        assert_eq!(s.time, (22 << 11) | (13 << 5) | 10);
        assert_eq!(
            Stamp::from_epoch(0),
            Stamp {
                date: (1 << 5) | 1,
                time: 0
            }
        );
        assert_eq!(
            Stamp::from_epoch(i64::MAX).date,
            (127 << 9) | (12 << 5) | 31
        );
    }
}
