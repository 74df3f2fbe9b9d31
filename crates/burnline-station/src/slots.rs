//! What is in a slot right now, read from the device node and sysfs: no
//! card (the path is missing, or the device has no medium: size 0), a card
//! (its device, size, write-protect switch, and the kernel's `diskseq`,
//! which changes with every new medium), something that is not a block
//! device at all, or not known: a look that failed (out of descriptors, a
//! sysfs read error) is never taken for an empty slot or a new card. The service polls this every [`POLL`]; a change of device
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
    /// The slot could not be looked at; why. Nothing about it is changed.
    Unknown(String),
}

/// The sysfs directory of a block device number.
pub fn sys_dir(rdev: u64) -> PathBuf {
    PathBuf::from(format!(
        "/sys/dev/block/{}:{}",
        rustix::fs::major(rdev),
        rustix::fs::minor(rdev)
    ))
}

/// Reads a number from a sysfs attribute; `Ok(None)` if the kernel has no
/// such attribute, an error in words if it cannot be read.
fn sys_read(path: &Path) -> Result<Option<u64>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{} holds `{}`, not a number", path.display(), text.trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Looks at a slot path once.
pub fn probe(path: &Path) -> Presence {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Presence::Empty,
        Err(e) => return Presence::Unknown(format!("looking at {}: {e}", path.display())),
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
    let read = || -> Result<Option<Card>, String> {
        let sectors = sys_read(&sys.join("size"))?
            .ok_or_else(|| format!("{} has no size in sysfs", path.display()))?;
        if sectors == 0 {
            return Ok(None);
        }
        Ok(Some(Card {
            device: std::fs::canonicalize(path)
                .map_err(|e| format!("resolving {}: {e}", path.display()))?,
            rdev,
            // sysfs counts 512-byte sectors whatever the device's block size.
            size: sectors.saturating_mul(512),
            read_only: sys_read(&sys.join("ro"))? == Some(1),
            // An older kernel has no diskseq: 0.
            seq: sys_read(&sys.join("diskseq"))?.unwrap_or(0),
        }))
    };
    match read() {
        Ok(Some(card)) => Presence::Card(card),
        Ok(None) => Presence::Empty,
        Err(why) => Presence::Unknown(why),
    }
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

    #[test]
    fn a_slot_that_cannot_be_looked_at_is_not_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        std::os::unix::fs::symlink(dir.path().join("b"), &a).expect("link");
        std::os::unix::fs::symlink(&a, dir.path().join("b")).expect("link");
        match probe(&a) {
            Presence::Unknown(why) => assert!(why.contains("looking at"), "{why}"),
            other => panic!("a symlink loop is {other:?}"),
        }
    }
}
