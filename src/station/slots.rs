//! What is in a slot right now, read from the device node and sysfs: no
//! card (the path is missing, or the device has no medium: size 0), a card
//! (its device, size, write-protect switch, and the kernel's `diskseq`,
//! which changes with every new medium), or something that is not a block
//! device at all. The service polls this every [`POLL`]; a change of device
//! or of `diskseq` is a new card, even if the old one was swapped between
//! two polls.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often every slot is looked at.
pub const POLL: Duration = Duration::from_millis(200);

/// A card in a slot, as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The device node the slot path resolves to (`/dev/sdb`, `/dev/loop3`).
    pub device: PathBuf,
    /// Its device number.
    pub rdev: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is write-protected (sysfs `ro`: the card's lock switch,
    /// or the reader).
    pub read_only: bool,
    /// The kernel's disk sequence number (0 where the kernel has none).
    pub seq: u64,
}

impl Card {
    /// Whether `other` is the same medium in the same device.
    pub fn same_medium(&self, other: &Card) -> bool {
        self.rdev == other.rdev && self.seq == other.seq
    }
}

/// What a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// No card: the path is missing, or its device has no medium.
    Empty,
    /// A card.
    Card(Card),
    /// The path is there but is not a block device; what it is instead.
    NotBlock(String),
}

/// The sysfs directory of a block device number.
pub fn sys_dir(rdev: u64) -> PathBuf {
    PathBuf::from(format!(
        "/sys/dev/block/{}:{}",
        rustix::fs::major(rdev),
        rustix::fs::minor(rdev)
    ))
}

/// Reads a number from a sysfs attribute.
pub fn sys_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Looks at a slot path once.
pub fn probe(path: &Path) -> Presence {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Presence::Empty,
    };
    let kind = meta.file_type();
    if !kind.is_block_device() {
        let what = if kind.is_file() {
            "a regular file"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_char_device() {
            "a character device"
        } else {
            "not a device"
        };
        return Presence::NotBlock(what.into());
    }
    let rdev = meta.rdev();
    let sys = sys_dir(rdev);
    let sectors = sys_number(&sys.join("size")).unwrap_or(0);
    if sectors == 0 {
        return Presence::Empty;
    }
    Presence::Card(Card {
        device: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        rdev,
        // sysfs counts 512-byte sectors whatever the device's block size.
        size: sectors.saturating_mul(512),
        read_only: sys_number(&sys.join("ro")) == Some(1),
        seq: sys_number(&sys.join("diskseq")).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_an_empty_slot_and_a_file_is_not_a_block_device() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(probe(&dir.path().join("none")), Presence::Empty);
        let f = dir.path().join("card.img");
        std::fs::write(&f, b"x").expect("write");
        assert_eq!(probe(&f), Presence::NotBlock("a regular file".into()));
        assert_eq!(probe(dir.path()), Presence::NotBlock("a directory".into()));
        assert_eq!(
            probe(Path::new("/dev/null")),
            Presence::NotBlock("a character device".into())
        );
    }
}
