//! The checks a card passes before anything is leased or written, each
//! refusal in plain words for the page and the log:
//!
//! - the slot path must be a block device (a path that is a regular file,
//!   a directory or a character device is refused, never created or
//!   written);
//! - it must not be (a partition of, or a device-mapper layer over) a disk
//!   that holds the running system: the disks under `/`, `/boot`,
//!   `/boot/efi`, `/usr`, `/var`, the running program, and swap, followed
//!   through partitions, device-mapper/MD slaves and loop devices' backing
//!   files;
//! - nothing on it may be mounted or used as swap: the device, any of its
//!   partitions, or anything stacked on them (`holders/`), per
//!   `/proc/self/mountinfo` and `/proc/swaps`;
//! - it must not be write-protected (sysfs `ro`);
//! - it must hold the whole image.
//!
//! Only configured slot paths are ever looked at (the allowlist), so these
//! checks are a second line behind it: a wrong line in `station.yaml` that
//! names the system disk is caught here.

use super::slot_state::FailKind;
use super::slots::{sys_dir, Card};
use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// How deep device stacks are followed (partitions, dm, md, loop).
const MAX_STACK: usize = 16;

fn devnum(text: &str) -> Option<u64> {
    let (maj, min) = text.trim().split_once(':')?;
    Some(rustix::fs::makedev(maj.parse().ok()?, min.parse().ok()?))
}

fn name_of(rdev: u64) -> String {
    std::fs::canonicalize(sys_dir(rdev))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| format!("{}:{}", rustix::fs::major(rdev), rustix::fs::minor(rdev)))
}

/// The device numbers listed under `dir/*/dev` (sysfs `slaves/`, `holders/`).
fn listed(dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| devnum(&std::fs::read_to_string(e.path().join("dev")).ok()?))
        .collect()
}

/// The whole disks under a device: its own disk (a partition's parent),
/// and recursively what it is built on (dm and md slaves; with
/// `follow_loops`, a loop device's backing file's file system).
fn disks_under(rdev: u64, follow_loops: bool, depth: usize, out: &mut BTreeSet<u64>) {
    if depth > MAX_STACK {
        return;
    }
    let Ok(sys) = std::fs::canonicalize(sys_dir(rdev)) else {
        return;
    };
    let disk = if sys.join("partition").exists() {
        sys.parent()
            .and_then(|p| std::fs::read_to_string(p.join("dev")).ok())
            .and_then(|d| devnum(&d))
            .unwrap_or(rdev)
    } else {
        rdev
    };
    if !out.insert(disk) {
        return;
    }
    let disk_sys = sys_dir(disk);
    for s in listed(&disk_sys.join("slaves"))
        .into_iter()
        .chain(listed(&sys.join("slaves")))
    {
        disks_under(s, follow_loops, depth + 1, out);
    }
    if follow_loops {
        if let Ok(backing) = std::fs::read_to_string(disk_sys.join("loop/backing_file")) {
            if let Ok(m) = std::fs::metadata(backing.trim()) {
                let dev = if m.file_type().is_block_device() {
                    m.rdev()
                } else {
                    m.dev()
                };
                disks_under(dev, follow_loops, depth + 1, out);
            }
        }
    }
}

/// The device and everything that uses it: its partitions and, recursively,
/// what is stacked on either (`holders/`).
fn family(rdev: u64) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let mut todo = vec![(rdev, 0usize)];
    if let Ok(entries) = std::fs::read_dir(sys_dir(rdev)) {
        for e in entries.flatten() {
            if e.path().join("partition").exists() {
                if let Some(d) = std::fs::read_to_string(e.path().join("dev"))
                    .ok()
                    .and_then(|d| devnum(&d))
                {
                    todo.push((d, 0));
                }
            }
        }
    }
    while let Some((d, depth)) = todo.pop() {
        if !out.insert(d) || depth > MAX_STACK {
            continue;
        }
        todo.extend(
            listed(&sys_dir(d).join("holders"))
                .into_iter()
                .map(|h| (h, depth + 1)),
        );
    }
    out
}

/// The kernel's table of what is mounted.
const MOUNTINFO: &str = "/proc/self/mountinfo";
/// The kernel's table of what is used as swap.
const SWAPS: &str = "/proc/swaps";

/// A kernel table read whole, or why it could not be: a table that cannot
/// be read proves nothing is in use, so the card is refused (fail closed).
fn read_table(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path} ({e})"))
}

/// Each line of `/proc/self/mountinfo`: the device number and mount point.
fn mounts_in(info: &str) -> Uses {
    info.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let dev = devnum(f.nth(2)?)?;
            let mnt = f.nth(1)?.replace("\\040", " ");
            Some((dev, mnt))
        })
        .collect()
}

/// The block devices `/proc/swaps` lists as swap.
fn swaps_in(text: &str) -> Uses {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let p = l.split_whitespace().next()?;
            let m = std::fs::metadata(p).ok()?;
            m.file_type()
                .is_block_device()
                .then(|| (m.rdev(), p.to_owned()))
        })
        .collect()
}

/// Block devices by number, each with the path that uses it (a mount
/// point, a swap device).
type Uses = Vec<(u64, String)>;

/// What is mounted and what is swap, both read now.
fn in_use(mountinfo: &str, swaps: &str) -> Result<(Uses, Uses), String> {
    Ok((
        mounts_in(&read_table(mountinfo)?),
        swaps_in(&read_table(swaps)?),
    ))
}

/// The whole disks the running system lives on.
pub fn system_disks() -> BTreeSet<u64> {
    const SYSTEM_MOUNTS: [&str; 5] = ["/", "/boot", "/boot/efi", "/usr", "/var"];
    // Unreadable tables add no disk here; `refusal` reads them again and
    // refuses every card while they stay unreadable.
    let mounts = read_table(MOUNTINFO)
        .map(|t| mounts_in(&t))
        .unwrap_or_default();
    let swaps = read_table(SWAPS).map(|t| swaps_in(&t)).unwrap_or_default();
    let mut roots: Vec<u64> = mounts
        .into_iter()
        .filter(|(_, m)| SYSTEM_MOUNTS.contains(&m.as_str()))
        .map(|(d, _)| d)
        .collect();
    roots.extend(swaps.into_iter().map(|(d, _)| d));
    if let Ok(m) = std::fs::metadata("/proc/self/exe") {
        roots.push(m.dev());
    }
    let mut out = BTreeSet::new();
    for r in roots {
        // Virtual file systems (major 0) have no disk.
        if rustix::fs::major(r) != 0 {
            disks_under(r, true, 0, &mut out);
        }
    }
    out
}

/// Why a card must not be written, in plain words; `None` if it may be.
pub fn refusal(card: &Card, image_size: u64, system: &BTreeSet<u64>) -> Option<(FailKind, String)> {
    refusal_with(card, image_size, system, MOUNTINFO, SWAPS)
}

/// [`refusal`], reading what is in use from the given kernel tables.
fn refusal_with(
    card: &Card,
    image_size: u64,
    system: &BTreeSet<u64>,
    mountinfo: &str,
    swaps: &str,
) -> Option<(FailKind, String)> {
    let mut under = BTreeSet::new();
    disks_under(card.rdev, false, 0, &mut under);
    if let Some(d) = under.intersection(system).next() {
        return Some((
            FailKind::SystemDisk,
            format!(
                "{} is the disk the running system is on ({}); it is never written",
                card.device.display(),
                name_of(*d)
            ),
        ));
    }
    let (mounts, swaps) = match in_use(mountinfo, swaps) {
        Ok(tables) => tables,
        Err(why) => {
            return Some((
                FailKind::InUse,
                format!(
                    "{}: {why}, so nothing shows whether it is in use; it is not written",
                    card.device.display()
                ),
            ))
        }
    };
    let fam = family(card.rdev);
    for (dev, mnt) in mounts {
        if fam.contains(&dev) {
            let what = if dev == card.rdev {
                "it".to_owned()
            } else {
                format!("its {}", name_of(dev))
            };
            return Some((
                FailKind::InUse,
                format!(
                    "{} is in use: {what} is mounted on {mnt}; unmount it first",
                    card.device.display()
                ),
            ));
        }
    }
    for (dev, p) in swaps {
        if fam.contains(&dev) {
            return Some((
                FailKind::InUse,
                format!("{} is in use as swap ({p})", card.device.display()),
            ));
        }
    }
    if card.read_only {
        return Some((FailKind::ReadOnly, format!(
            "the card in {} is write-protected (its lock switch, or the reader); slide the switch and put it back",
            card.device.display()
        )));
    }
    if card.size < image_size {
        return Some((FailKind::TooSmall, format!(
            "the card is too small: {:.1} MB ({} bytes), the image needs {:.1} MB ({image_size} bytes)",
            card.size as f64 / 1e6,
            card.size,
            image_size as f64 / 1e6
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_file_systems_disk_is_a_system_disk() {
        let sys = system_disks();
        let root = std::fs::metadata("/").expect("/").dev();
        if rustix::fs::major(root) != 0 {
            let mut under = BTreeSet::new();
            disks_under(root, true, 0, &mut under);
            assert!(under.iter().all(|d| sys.contains(d)), "{under:?} {sys:?}");
            assert!(!sys.is_empty());
        }
    }

    /// A card in no system disk's family, mounted nowhere.
    fn free_card() -> Card {
        Card {
            device: "/dev/burnline-test".into(),
            rdev: rustix::fs::makedev(7, 250),
            size: 1 << 30,
            read_only: false,
            seq: 0,
        }
    }

    #[test]
    fn an_unreadable_mount_or_swap_table_refuses_the_card() {
        let card = free_card();
        let none = BTreeSet::new();
        assert_eq!(
            refusal_with(&card, 1 << 20, &none, MOUNTINFO, SWAPS),
            None,
            "the real tables show the test card free"
        );
        let missing = "/proc/burnline-no-such-table";
        for (m, s) in [(missing, SWAPS), (MOUNTINFO, missing)] {
            let (kind, why) =
                refusal_with(&card, 1 << 20, &none, m, s).expect("an unreadable table refuses");
            assert_eq!(kind, FailKind::InUse);
            assert!(
                why.contains(missing) && why.contains("not written"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_mountinfo_line_gives_its_device_and_mount_point() {
        let line = "36 35 8:3 / /mnt/my\\040card rw,noatime shared:1 - ext4 /dev/sda3 rw";
        assert_eq!(
            mounts_in(line),
            vec![(rustix::fs::makedev(8, 3), "/mnt/my card".to_owned())]
        );
    }
}
