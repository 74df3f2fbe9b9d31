//! Builds a FAT volume with the fatfs crate, then repairs what fatfs 0.3.6
//! gets wrong so that `fsck.fat -n` has nothing to say:
//! - the `.` and `..` entries of subdirectories (rewritten from the tree);
//! - FAT32's FSInfo free-cluster count and next-free hint (recounted).
//!
//! Timestamps come from `SOURCE_DATE_EPOCH` (or the recipe), never the clock.
//! The volume serial is left zero here: it is per device, written as a patch
//! (see [`serial_offsets`]).

use crate::io::BlockAt;
use crate::layout::fat_geometry::{self, Geometry};
use crate::recipe::{FatBits, FatFile};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// A fixed time for every FAT timestamp.
#[derive(Debug)]
struct FixedTime(fatfs::DateTime);

impl fatfs::TimeProvider for FixedTime {
    fn get_current_date(&self) -> fatfs::Date {
        self.0.date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        self.0
    }
}

/// The `'static` time provider fatfs needs, one per distinct epoch (a run
/// has one), so that building a volume per device does not grow memory.
fn time_provider(epoch: i64) -> &'static FixedTime {
    static PROVIDERS: std::sync::Mutex<Vec<(i64, &'static FixedTime)>> =
        std::sync::Mutex::new(Vec::new());
    let mut known = PROVIDERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = known.iter().find(|(e, _)| *e == epoch) {
        return t;
    }
    let t: &'static FixedTime = Box::leak(Box::new(FixedTime(fat_time(epoch))));
    known.push((epoch, t));
    t
}

/// Converts seconds since 1970 (UTC) to a FAT date-time, clamped to the
/// range FAT can hold (1980–2107); FAT has 2-second resolution.
pub fn fat_time(epoch: i64) -> fatfs::DateTime {
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
    fatfs::DateTime {
        date: fatfs::Date {
            year: year as u16,
            month: month as u16,
            day: day as u16,
        },
        time: fatfs::Time {
            hour: (secs / 3600) as u16,
            min: (secs / 60 % 60) as u16,
            sec: (secs % 60 / 2 * 2) as u16,
            millis: 0,
        },
    }
}

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

/// Formats `window` as FAT and copies `files` in. Returns the geometry used.
pub fn build<D: Read + Write + Seek + BlockAt>(
    window: &mut D,
    size: u64,
    sector: u64,
    bits: Option<FatBits>,
    label: Option<&str>,
    epoch: i64,
    fill: impl FnOnce(&fatfs::Dir<'_, &mut D>) -> io::Result<()>,
) -> io::Result<Geometry> {
    let g = fat_geometry::choose(size, sector, bits).map_err(io::Error::other)?;
    let fat_type = match g.bits {
        FatBits::Fat12 => fatfs::FatType::Fat12,
        FatBits::Fat16 => fatfs::FatType::Fat16,
        FatBits::Fat32 => fatfs::FatType::Fat32,
    };
    let opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fat_type)
        .bytes_per_sector(sector as u16)
        .bytes_per_cluster(g.cluster as u32)
        .total_sectors((size / sector) as u32)
        .volume_id(0)
        .volume_label(label_bytes(label));
    fatfs::format_volume(&mut *window, opts)?;
    let time = time_provider(epoch);
    {
        let fs = fatfs::FileSystem::new(&mut *window, fatfs::FsOptions::new().time_provider(time))?;
        if fs.fat_type() != fat_type {
            return Err(io::Error::other(
                "fatfs chose another FAT type than requested",
            ));
        }
        fill(&fs.root_dir())?;
        fs.unmount()?;
    }
    repair(window)?;
    Ok(g)
}

/// Copies host files and directories into the volume.
pub fn copy_files<D: Read + Write + Seek>(
    root: &fatfs::Dir<'_, &mut D>,
    files: &[FatFile],
) -> io::Result<()> {
    for f in files {
        copy_path(root, &f.source, &f.dest)?;
    }
    Ok(())
}

fn copy_path<D: Read + Write + Seek>(
    root: &fatfs::Dir<'_, &mut D>,
    source: &Path,
    dest: &str,
) -> io::Result<()> {
    let meta = std::fs::metadata(source)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", source.display())))?;
    if meta.is_dir() {
        if !dest.is_empty() {
            create_dirs(root, dest)?;
        }
        let mut entries: Vec<_> = std::fs::read_dir(source)?.collect::<io::Result<_>>()?;
        // Sorted, so the volume is the same whatever order the host lists them in.
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_str().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: file name is not UTF-8", e.path().display()),
                )
            })?;
            let child = if dest.is_empty() {
                name.to_owned()
            } else {
                format!("{dest}/{name}")
            };
            copy_path(root, &e.path(), &child)?;
        }
        return Ok(());
    }
    if let Some((parent, _)) = dest.rsplit_once('/') {
        create_dirs(root, parent)?;
    }
    let mut out = root.create_file(dest)?;
    out.truncate()?;
    let mut input = crate::io::source::open_regular(source)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
    }
    out.flush()
}

/// Creates `path` and its parents in the volume.
pub fn create_dirs<D: Read + Write + Seek>(
    root: &fatfs::Dir<'_, &mut D>,
    path: &str,
) -> io::Result<()> {
    let mut sofar = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        if !sofar.is_empty() {
            sofar.push('/');
        }
        sofar.push_str(comp);
        root.create_dir(&sofar)?;
    }
    Ok(())
}

/// The BIOS parameter block fields the repairs need.
struct Bpb {
    sector: u64,
    spc: u64,
    reserved: u64,
    fats: u64,
    root_entries: u64,
    fat_sectors: u64,
    total_sectors: u64,
    root_cluster: u32,
    fsinfo_sector: u64,
    bits: FatBits,
}

fn le16(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Bpb {
    fn read(w: &impl BlockAt) -> io::Result<Bpb> {
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
        if sector == 0 || spc == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a FAT boot sector",
            ));
        }
        let root_sectors = (root_entries * 32).div_ceil(sector);
        let data_start = reserved + fats * fat_sectors + root_sectors;
        let clusters = (total_sectors - data_start) / spc;
        let bits = if fat16 == 0 {
            FatBits::Fat32
        } else if clusters < 4085 {
            FatBits::Fat12
        } else {
            FatBits::Fat16
        };
        Ok(Bpb {
            sector,
            spc,
            reserved,
            fats,
            root_entries,
            fat_sectors,
            total_sectors,
            root_cluster: if bits == FatBits::Fat32 {
                le32(&b, 44)
            } else {
                0
            },
            fsinfo_sector: if bits == FatBits::Fat32 {
                le16(&b, 48)
            } else {
                0
            },
            bits,
        })
    }

    fn data_start(&self) -> u64 {
        (self.reserved
            + self.fats * self.fat_sectors
            + (self.root_entries * 32).div_ceil(self.sector))
            * self.sector
    }

    fn clusters(&self) -> u32 {
        ((self.total_sectors * self.sector - self.data_start()) / (self.spc * self.sector)) as u32
    }

    fn cluster_offset(&self, c: u32) -> u64 {
        self.data_start() + u64::from(c - 2) * self.spc * self.sector
    }

    fn cluster_bytes(&self) -> u64 {
        self.spc * self.sector
    }

    fn fat_entry(&self, fat: &[u8], c: u32) -> u32 {
        let c = c as usize;
        match self.bits {
            FatBits::Fat12 => {
                let off = c + c / 2;
                let v = u32::from(u16::from_le_bytes([fat[off], fat[off + 1]]));
                if c % 2 == 0 {
                    v & 0xFFF
                } else {
                    v >> 4
                }
            }
            FatBits::Fat16 => u32::from(u16::from_le_bytes([fat[2 * c], fat[2 * c + 1]])),
            FatBits::Fat32 => le32(fat, 4 * c) & 0x0FFF_FFFF,
        }
    }

    fn is_end(&self, v: u32) -> bool {
        match self.bits {
            FatBits::Fat12 => v >= 0xFF8,
            FatBits::Fat16 => v >= 0xFFF8,
            FatBits::Fat32 => v >= 0x0FFF_FFF8,
        }
    }
}

fn read_fat(w: &impl BlockAt, bpb: &Bpb) -> io::Result<Vec<u8>> {
    let mut fat = vec![0u8; (bpb.fat_sectors * bpb.sector) as usize];
    w.read_exact_at(&mut fat, bpb.reserved * bpb.sector)?;
    Ok(fat)
}

/// Byte ranges holding a directory's entries: the fixed root of FAT12/16, or
/// a cluster chain.
fn dir_ranges(bpb: &Bpb, fat: &[u8], first_cluster: u32) -> Vec<(u64, u64)> {
    if first_cluster == 0 {
        let start = (bpb.reserved + bpb.fats * bpb.fat_sectors) * bpb.sector;
        return vec![(start, bpb.root_entries * 32)];
    }
    let mut out = Vec::new();
    let mut c = first_cluster;
    let max = bpb.clusters() + 2;
    while c >= 2 && c < max && out.len() <= max as usize {
        out.push((bpb.cluster_offset(c), bpb.cluster_bytes()));
        let next = bpb.fat_entry(fat, c);
        if bpb.is_end(next) {
            break;
        }
        c = next;
    }
    out
}

fn entry_cluster(e: &[u8]) -> u32 {
    (le32(&[e[20], e[21], 0, 0], 0) << 16) | le32(&[e[26], e[27], 0, 0], 0)
}

fn set_entry_cluster(e: &mut [u8], c: u32) {
    e[20..22].copy_from_slice(&((c >> 16) as u16).to_le_bytes());
    e[26..28].copy_from_slice(&(c as u16).to_le_bytes());
}

/// Rewrites every subdirectory's `.` and `..` entries and, on FAT32, the
/// FSInfo counts. fatfs writes `.` and `..` with long-name entries in front
/// of them, so they are not in the first two slots where the FAT
/// specification (and fsck.fat) wants them; `..` of a directory in the root
/// must name cluster 0.
fn repair(w: &mut impl BlockAt) -> io::Result<()> {
    let bpb = Bpb::read(w)?;
    let fat = read_fat(w, &bpb)?;
    let root = if bpb.bits == FatBits::Fat32 {
        bpb.root_cluster
    } else {
        0
    };
    // (directory's first cluster, what its `..` must name, is it the root)
    let mut stack: Vec<(u32, u32, bool)> = vec![(root, 0, true)];
    let mut seen = 0usize;
    while let Some((dir, parent, is_root)) = stack.pop() {
        seen += 1;
        if seen > bpb.clusters() as usize + 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "directory tree loops",
            ));
        }
        if !is_root {
            fix_dots(w, &bpb, dir, parent)?;
        }
        let ranges = if is_root && bpb.bits != FatBits::Fat32 {
            dir_ranges(&bpb, &fat, 0)
        } else {
            dir_ranges(&bpb, &fat, dir)
        };
        'ranges: for (start, len) in ranges {
            let mut buf = vec![0u8; len as usize];
            w.read_exact_at(&mut buf, start)?;
            for e in buf.chunks_exact(32) {
                if e[0] == 0 {
                    break 'ranges;
                }
                let skip = e[0] == 0xE5 || e[11] == 0x0F || e[11] & 0x10 == 0 || e[11] & 0x08 != 0;
                if skip || e[0] == b'.' {
                    continue;
                }
                let child = entry_cluster(e);
                if child >= 2 {
                    stack.push((child, if is_root { 0 } else { dir }, false));
                }
            }
        }
    }
    if bpb.bits == FatBits::Fat32 {
        let mut free = 0u32;
        let mut next_free = 0xFFFF_FFFF;
        for c in 2..bpb.clusters() + 2 {
            if bpb.fat_entry(&fat, c) == 0 {
                free += 1;
                if next_free == 0xFFFF_FFFF {
                    next_free = c;
                }
            }
        }
        let at = bpb.fsinfo_sector * bpb.sector;
        let mut counts = [0u8; 8];
        counts[..4].copy_from_slice(&free.to_le_bytes());
        counts[4..].copy_from_slice(&next_free.to_le_bytes());
        w.write_all_at(&counts, at + 488)?;
    }
    Ok(())
}

/// Puts `.` (naming `dir`) and `..` (naming `parent`) in the first two slots
/// of the directory at cluster `dir`, and marks the slots they and their
/// long-name entries held before as deleted.
fn fix_dots(w: &mut impl BlockAt, bpb: &Bpb, dir: u32, parent: u32) -> io::Result<()> {
    let at = bpb.cluster_offset(dir);
    let slots = (bpb.cluster_bytes() / 32).min(8) as usize;
    let mut buf = vec![0u8; slots * 32];
    w.read_exact_at(&mut buf, at)?;
    let find = |name: &[u8; 11]| {
        buf.chunks_exact(32)
            .position(|e| &e[..11] == name && e[11] & 0x10 != 0 && e[11] != 0x0F)
    };
    let (Some(dot), Some(dotdot)) = (find(b".          "), find(b"..         ")) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a directory without `.` and `..`",
        ));
    };
    let mut dot_e = buf[dot * 32..dot * 32 + 32].to_vec();
    let mut dotdot_e = buf[dotdot * 32..dotdot * 32 + 32].to_vec();
    set_entry_cluster(&mut dot_e, dir);
    set_entry_cluster(&mut dotdot_e, parent);
    let last = dot.max(dotdot);
    for slot in 2..=last.max(1) {
        let e = &mut buf[slot * 32..slot * 32 + 32];
        e.fill(0);
        e[0] = 0xE5;
    }
    buf[..32].copy_from_slice(&dot_e);
    buf[32..64].copy_from_slice(&dotdot_e);
    w.write_all_at(&buf[..(last.max(1) + 1) * 32], at)
}

/// Offsets, within the volume, of the 4-byte volume serial: the boot sector,
/// and on FAT32 its backup too.
pub fn serial_offsets(w: &impl BlockAt) -> io::Result<Vec<u64>> {
    let bpb = Bpb::read(w)?;
    Ok(match bpb.bits {
        FatBits::Fat32 => {
            let mut b = [0u8; 512];
            w.read_exact_at(&mut b, 0)?;
            let backup = le16(&b, 50);
            let mut v = vec![67];
            if backup != 0 && backup != 0xFFFF {
                v.push(backup * bpb.sector + 67);
            }
            v
        }
        _ => vec![39],
    })
}
