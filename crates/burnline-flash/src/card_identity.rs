//! The physical identity of the card behind a target, recorded with its
//! lease so that an identity can be traced to the card (and slot) that
//! carries it: for an SD/eMMC card (`/dev/mmcblkN`) its CID and serial from
//! sysfs; for a USB reader (`/dev/sdX`) its `/dev/disk/by-path` name (the
//! slot), the reader's serial and the kernel's `diskseq`; for another block
//! device its node and `diskseq`; for a regular file, its path, device and
//! inode. The sysfs and /dev roots are parameters, so a test can point them
//! at a fake tree.
//!
//! The rule an identity goes back to the pool by ([`CardIdentity::same_medium`]):
//! only when the card read now is provably the medium that was written.
//! The proof is the CID (unique per SD/eMMC card), the `diskseq` (the
//! kernel gives each new medium in a device a new one, so a card swapped
//! in the same reader differs), or a file's device, inode and birth time.
//! A `diskseq` counts only within one boot of one machine, so it is recorded
//! with the kernel's boot id: after a reboot, or on another station's PC,
//! the same number proves nothing. A reader slot, a node or a path alone
//! proves nothing.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a card is, physically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardIdentity {
    /// An SD or eMMC card on an MMC host.
    Mmc {
        /// The device node, such as `/dev/mmcblk0`.
        device: String,
        /// The card's CID register (hex), unique per card.
        cid: String,
        /// Its serial number.
        serial: String,
    },
    /// A card in a USB reader.
    Usb {
        /// The device node, such as `/dev/sdb`.
        device: String,
        /// Its `/dev/disk/by-path` name: the port, so the slot.
        by_path: String,
        /// The reader's USB serial.
        serial: String,
        /// The kernel's disk sequence number of the medium in it.
        diskseq: Option<u64>,
        /// The boot that number was counted in (the kernel's boot id).
        boot: String,
    },
    /// Another block device (no sysfs identity found).
    Block {
        /// The device node.
        device: String,
        /// The kernel's disk sequence number of the medium in it.
        diskseq: Option<u64>,
        /// The boot that number was counted in (the kernel's boot id).
        boot: String,
    },
    /// A regular file standing in for a card.
    File {
        /// Its path.
        path: String,
        /// The device of the file system that holds it.
        dev: u64,
        /// Its inode.
        ino: u64,
        /// Its birth time in nanoseconds (0 when the file system has none):
        /// an inode number freed and reused is another file.
        born: u128,
    },
}

impl CardIdentity {
    /// The identity of the card at `target`, looked up under `sysfs`
    /// (normally `/sys`) and `dev` (normally `/dev`).
    pub fn of(target: &Path, sysfs: &Path, dev: &Path) -> CardIdentity {
        let meta = std::fs::metadata(target).ok();
        let is_block = meta
            .as_ref()
            .is_some_and(|m| m.file_type().is_block_device());
        if !is_block {
            let path = std::fs::canonicalize(target).unwrap_or_else(|_| absolute(target));
            return CardIdentity::File {
                path: path.display().to_string(),
                dev: meta.as_ref().map_or(0, MetadataExt::dev),
                ino: meta.as_ref().map_or(0, MetadataExt::ino),
                born: meta
                    .as_ref()
                    .and_then(|m| m.created().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos()),
            };
        }
        let node = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
        let name = node
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::of_block(&node, &name, sysfs, dev)
    }

    /// The identity of block device `name` (node `node`).
    pub fn of_block(node: &Path, name: &str, sysfs: &Path, dev: &Path) -> CardIdentity {
        let device = node.display().to_string();
        let sys_dev = sysfs.join("block").join(name).join("device");
        let read = |p: PathBuf| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        if name.starts_with("mmcblk") {
            if let Some(cid) = read(sys_dev.join("cid")) {
                return CardIdentity::Mmc {
                    device,
                    cid,
                    serial: read(sys_dev.join("serial")).unwrap_or_default(),
                };
            }
        }
        let diskseq = read(sysfs.join("block").join(name).join("diskseq"))
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&n| n != 0);
        let boot = boot_id();
        let by_path = by_path_name(node, &dev.join("disk/by-path"));
        // The USB device above the disk: the first ancestor with a serial
        // and a USB vendor id.
        let serial = std::fs::canonicalize(&sys_dev).ok().and_then(|p| {
            p.ancestors()
                .take_while(|a| a.starts_with(sysfs))
                .find(|a| a.join("idVendor").is_file() && a.join("serial").is_file())
                .and_then(|a| read(a.join("serial")))
        });
        match (by_path, serial) {
            (None, None) => CardIdentity::Block {
                device,
                diskseq,
                boot,
            },
            (b, s) => CardIdentity::Usb {
                device,
                by_path: b.unwrap_or_default(),
                serial: s.unwrap_or_default(),
                diskseq,
                boot,
            },
        }
    }

    /// One line, as the pool stores and `pool export` shows it.
    pub fn describe(&self) -> String {
        match self {
            CardIdentity::Mmc {
                device,
                cid,
                serial,
            } => format!("mmc {device} cid={cid} serial={serial}"),
            CardIdentity::Usb {
                device,
                by_path,
                serial,
                diskseq,
                boot,
            } => format!(
                "usb {device} by-path={by_path} reader-serial={serial}{}",
                seq_text(*diskseq, boot)
            ),
            CardIdentity::Block {
                device,
                diskseq,
                boot,
            } => {
                format!("block {device}{}", seq_text(*diskseq, boot))
            }
            CardIdentity::File {
                path,
                dev,
                ino,
                born,
            } => format!("file {path} dev={dev} ino={ino} born={born}"),
        }
    }

    /// What proves which medium this is, if anything does: the CID, the
    /// `diskseq`, or a file's device and inode.
    pub fn proof(&self) -> Option<&'static str> {
        match self {
            CardIdentity::Mmc { cid, .. } if !cid.is_empty() => Some("CID"),
            CardIdentity::Usb {
                diskseq: Some(_),
                boot,
                ..
            }
            | CardIdentity::Block {
                diskseq: Some(_),
                boot,
                ..
            } if !boot.is_empty() => Some("diskseq"),
            CardIdentity::File { dev, ino, .. } if *ino != 0 || *dev != 0 => {
                Some("device and inode")
            }
            _ => None,
        }
    }

    /// Whether this card is provably the medium recorded as `recorded` (a
    /// [`describe`](Self::describe) line): `Ok` with what proves it, or
    /// why it cannot be proven.
    pub fn same_medium(&self, recorded: &str) -> Result<&'static str, String> {
        let now = self.describe();
        if now != recorded {
            return Err(format!(
                "the target now holds another medium ({now}; the lease recorded {recorded})"
            ));
        }
        self.proof().ok_or_else(|| {
            format!(
                "nothing proves the card read now is the medium written ({now}: no CID, no diskseq)"
            )
        })
    }
}

fn seq_text(diskseq: Option<u64>, boot: &str) -> String {
    diskseq
        .map(|n| format!(" diskseq={n} boot={boot}"))
        .unwrap_or_default()
}

/// The running kernel's boot id (new at every boot; empty if unreadable, and
/// then no `diskseq` proves anything).
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn absolute(p: &Path) -> PathBuf {
    std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
}

/// The entry of `dir` (a by-path folder) that links to `node`.
fn by_path_name(node: &Path, dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let link = e.path();
            let target =
                std::fs::read_link(&link)
                    .ok()
                    .map(|t| if t.is_absolute() { t } else { dir.join(t) });
            target.is_some_and(|t| {
                std::fs::canonicalize(&t).ok().as_deref() == Some(node)
                    || t.file_name() == node.file_name()
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn mmc_from_a_fake_sysfs() {
        let d = tempfile::tempdir().expect("tmp");
        let sys = d.path().join("sys");
        let dev_dir = sys.join("block/mmcblk0/device");
        std::fs::create_dir_all(&dev_dir).expect("mkdir");
        std::fs::write(dev_dir.join("cid"), "035344534331364780b1a2c3d40119ff\n").expect("cid");
        std::fs::write(dev_dir.join("serial"), "0xb1a2c3d4\n").expect("serial");
        let id = CardIdentity::of_block(
            Path::new("/dev/mmcblk0"),
            "mmcblk0",
            &sys,
            &d.path().join("dev"),
        );
        assert_eq!(
            id.describe(),
            "mmc /dev/mmcblk0 cid=035344534331364780b1a2c3d40119ff serial=0xb1a2c3d4"
        );
    }

    #[test]
    fn usb_reader_from_a_fake_sysfs() {
        let d = tempfile::tempdir().expect("tmp");
        let sys = d.path().join("sys");
        // devices/…/usb1/1-2 is the reader; the disk's device sits below it.
        let reader = sys.join("devices/pci0000:00/usb1/1-2");
        let disk = reader.join("1-2:1.0/host3/target3:0:0/3:0:0:0");
        std::fs::create_dir_all(&disk).expect("mkdir");
        std::fs::write(reader.join("idVendor"), "0bda\n").expect("vid");
        std::fs::write(reader.join("serial"), "20120501030900000\n").expect("serial");
        std::fs::create_dir_all(sys.join("block/sdb")).expect("mkdir");
        symlink(&disk, sys.join("block/sdb/device")).expect("link");
        let dev = d.path().join("dev");
        let by_path = dev.join("disk/by-path");
        std::fs::create_dir_all(&by_path).expect("mkdir");
        let node = dev.join("sdb");
        std::fs::write(&node, b"").expect("node");
        symlink(
            "../../sdb",
            by_path.join("pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0"),
        )
        .expect("link");
        std::fs::write(sys.join("block/sdb/diskseq"), "41\n").expect("diskseq");
        let id = CardIdentity::of_block(&node, "sdb", &sys, &dev);
        assert_eq!(
            id,
            CardIdentity::Usb {
                device: node.display().to_string(),
                by_path: "pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0".into(),
                serial: "20120501030900000".into(),
                diskseq: Some(41),
                boot: boot_id(),
            }
        );
        assert!(!boot_id().is_empty(), "this kernel has a boot id");
        // The same reader with another card in it: another medium.
        let recorded = id.describe();
        assert_eq!(id.same_medium(&recorded), Ok("diskseq"));
        std::fs::write(sys.join("block/sdb/diskseq"), "42\n").expect("diskseq");
        let swapped = CardIdentity::of_block(&node, "sdb", &sys, &dev);
        let why = swapped.same_medium(&recorded).expect_err("a swapped card");
        assert!(why.contains("another medium"), "{why}");
        // The same diskseq counted in another boot (a reboot, or another
        // station's PC) is another medium.
        std::fs::write(sys.join("block/sdb/diskseq"), "41\n").expect("diskseq");
        let again = CardIdentity::of_block(&node, "sdb", &sys, &dev);
        assert_eq!(again.same_medium(&recorded), Ok("diskseq"));
        let other_boot = recorded.replace(&boot_id(), "00000000-0000-0000-0000-000000000000");
        let why = again.same_medium(&other_boot).expect_err("another boot");
        assert!(why.contains("another medium"), "{why}");
    }

    #[test]
    fn a_slot_without_diskseq_proves_nothing() {
        let d = tempfile::tempdir().expect("tmp");
        let sys = d.path().join("sys");
        std::fs::create_dir_all(sys.join("block/sdc")).expect("mkdir");
        let id = CardIdentity::of_block(Path::new("/dev/sdc"), "sdc", &sys, &d.path().join("dev"));
        assert_eq!(id.describe(), "block /dev/sdc");
        let why = id.same_medium("block /dev/sdc").expect_err("no proof");
        assert!(why.contains("nothing proves"), "{why}");
    }

    #[test]
    fn a_file_is_its_path() {
        let d = tempfile::tempdir().expect("tmp");
        let f = d.path().join("card.img");
        std::fs::write(&f, b"").expect("file");
        let id = CardIdentity::of(&f, Path::new("/sys"), Path::new("/dev"));
        assert!(id.describe().starts_with("file /"), "{}", id.describe());
        assert!(id.describe().contains("card.img dev="), "{}", id.describe());
        assert_eq!(id.same_medium(&id.describe()), Ok("device and inode"));
        assert!(
            id.describe().contains(" born=") && !id.describe().ends_with(" born=0"),
            "{}",
            id.describe()
        );
        // Another file renamed over the path is another medium.
        let other = d.path().join("other.img");
        std::fs::write(&other, b"").expect("file");
        std::fs::rename(&other, &f).expect("rename");
        let now = CardIdentity::of(&f, Path::new("/sys"), Path::new("/dev"));
        assert!(now.same_medium(&id.describe()).is_err());
    }
}
