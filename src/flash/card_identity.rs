//! The physical identity of the card behind a target, recorded with its
//! lease so that an identity can be traced to the card (and slot) that
//! carries it: for an SD/eMMC card (`/dev/mmcblkN`) its CID and serial from
//! sysfs; for a USB reader (`/dev/sdX`) its `/dev/disk/by-path` name (the
//! slot) and the reader's serial; for a regular file, its path. The sysfs
//! and /dev roots are parameters, so a test can point them at a fake tree.

use std::os::unix::fs::FileTypeExt;
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
    },
    /// Another block device (no sysfs identity found).
    Block {
        /// The device node.
        device: String,
    },
    /// A regular file standing in for a card.
    File {
        /// Its path.
        path: String,
    },
}

impl CardIdentity {
    /// The identity of the card at `target`, looked up under `sysfs`
    /// (normally `/sys`) and `dev` (normally `/dev`).
    pub fn of(target: &Path, sysfs: &Path, dev: &Path) -> CardIdentity {
        let is_block = std::fs::metadata(target).is_ok_and(|m| m.file_type().is_block_device());
        if !is_block {
            let path = std::fs::canonicalize(target).unwrap_or_else(|_| absolute(target));
            return CardIdentity::File {
                path: path.display().to_string(),
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
            (None, None) => CardIdentity::Block { device },
            (b, s) => CardIdentity::Usb {
                device,
                by_path: b.unwrap_or_default(),
                serial: s.unwrap_or_default(),
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
            } => format!("usb {device} by-path={by_path} reader-serial={serial}"),
            CardIdentity::Block { device } => format!("block {device}"),
            CardIdentity::File { path } => format!("file {path}"),
        }
    }
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
        let id = CardIdentity::of_block(&node, "sdb", &sys, &dev);
        assert_eq!(
            id,
            CardIdentity::Usb {
                device: node.display().to_string(),
                by_path: "pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0".into(),
                serial: "20120501030900000".into(),
            }
        );
    }

    #[test]
    fn a_file_is_its_path() {
        let d = tempfile::tempdir().expect("tmp");
        let f = d.path().join("card.img");
        std::fs::write(&f, b"").expect("file");
        let id = CardIdentity::of(&f, Path::new("/sys"), Path::new("/dev"));
        assert!(id.describe().starts_with("file /"), "{}", id.describe());
        assert!(id.describe().ends_with("card.img"));
    }
}
