//! A file opened once and read many times, with a way to tell that its
//! bytes are still the ones read the first time.
//!
//! A station checks its base image once and then writes it to hundreds of
//! cards, reading it again for each. Hashing it again for every card would
//! cost more CPU than writing it. Instead every card reads the same open
//! file ([`Pinned::file`]), and [`Pinned::unchanged`] compares what
//! `fstat` says of it with what it said when the file was pinned: a write
//! to it in place (through `write`, a mapping or a loop device) changes
//! its modification time, a truncation its size. Setting the time back by
//! hand is not guarded against; the status-change time would catch that,
//! but it also changes when the file is merely renamed or replaced under
//! its name, which leaves the open file's bytes as they were and must not
//! stop a line. Since Linux 6.13 a change right after a `stat` always gets
//! a newer time (multigrain timestamps on ext4, XFS, btrfs and tmpfs).

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;

/// What `fstat` says of a file's contents: size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
}

fn stamp(f: &File) -> io::Result<Stamp> {
    let m = f.metadata()?;
    Ok(Stamp {
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
    })
}

/// An open file and its stamp when pinned.
#[derive(Debug)]
pub struct Pinned {
    file: File,
    stamp: Stamp,
}

impl Pinned {
    /// Pins `file` as it is now.
    pub fn new(file: File) -> io::Result<Self> {
        let stamp = stamp(&file)?;
        Ok(Pinned { file, stamp })
    }

    /// The open file, to read from.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Whether the file is as it was pinned.
    pub fn unchanged(&self) -> io::Result<bool> {
        Ok(stamp(&self.file)? == self.stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// Reading leaves a pin alone; a byte written in place (even the same
    /// byte) or a truncation breaks it; replacing the name does not touch
    /// the open file, and does not break it.
    #[test]
    fn a_change_in_place_breaks_the_pin_and_reading_does_not() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("base.img");
        let fresh = |p: &std::path::Path| {
            std::fs::write(p, vec![7u8; 8192]).expect("write");
            Pinned::new(File::open(p).expect("open")).expect("pin")
        };
        let pin = fresh(&p);
        let mut b = [0u8; 16];
        pin.file().read_exact_at(&mut b, 100).expect("read");
        assert!(pin.unchanged().expect("stat"), "a read");
        let w = std::fs::OpenOptions::new().write(true).open(&p).expect("w");
        w.write_all_at(&[7], 100).expect("same byte again");
        assert!(!pin.unchanged().expect("stat"), "a write in place");

        let pin = fresh(&p);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("w")
            .set_len(4096)
            .expect("truncate");
        assert!(!pin.unchanged().expect("stat"), "a truncation");

        let pin = fresh(&p);
        let other = d.path().join("other.img");
        std::fs::write(&other, b"new").expect("other");
        std::fs::rename(&other, &p).expect("replace the name");
        assert!(
            pin.unchanged().expect("stat"),
            "the open file is the old one"
        );
        pin.file().read_exact_at(&mut b, 0).expect("old bytes");
        assert_eq!(b, [7u8; 16]);
    }
}
