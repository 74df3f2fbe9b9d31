//! Opening a card to write: a block device, or a regular file standing in
//! for one (its current size is the card's size; a missing or empty file is
//! sized to the image). A target that is mounted (itself, one of its
//! partitions, or a loop device backed by it, per `/proc/self/mountinfo`) or
//! smaller than the image is refused before anything is written.

use crate::error::{CardFailure, Error, IoContext, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An open card.
#[derive(Debug)]
pub struct Target {
    /// Its path.
    pub path: PathBuf,
    /// Open for reading and writing.
    pub file: File,
    /// Its capacity in bytes.
    pub capacity: u64,
    /// Whether it is a block device.
    pub block: bool,
}

fn majmin(rdev: u64) -> String {
    format!("{}:{}", rustix::fs::major(rdev), rustix::fs::minor(rdev))
}

/// Why `path` (a block device with `rdev`, or a regular file) is in use, if it is.
fn in_use(path: &Path, block_rdev: Option<u64>) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let canon = std::fs::canonicalize(path).ok();
    let me = block_rdev.map(majmin);
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (Some(dev), Some(mnt)) = (fields.get(2), fields.get(4)) else {
            continue;
        };
        let sys = PathBuf::from(format!("/sys/dev/block/{dev}"));
        if me.as_deref() == Some(*dev) {
            return Some(format!("it is mounted on {mnt}"));
        }
        if let Some(me) = &me {
            // A partition of the target: its parent's `dev` is the target's.
            let parent = std::fs::canonicalize(&sys)
                .ok()
                .and_then(|p| p.parent().map(|q| q.join("dev")));
            if sys.join("partition").exists()
                && parent
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .is_some_and(|d| d.trim() == me)
            {
                return Some(format!("its partition {dev} is mounted on {mnt}"));
            }
        }
        // A loop device backed by the target file.
        if let Ok(backing) = std::fs::read_to_string(sys.join("loop/backing_file")) {
            if canon.as_deref() == Some(Path::new(backing.trim())) {
                return Some(format!("it backs loop device {dev}, mounted on {mnt}"));
            }
        }
        if let Some(src) = line.split(" - ").nth(1).and_then(|r| r.split(' ').nth(1)) {
            if canon.is_some() && std::fs::canonicalize(src).ok() == canon {
                return Some(format!("it is mounted on {mnt}"));
            }
        }
    }
    None
}

/// Opens `path` for an image of `image_size` bytes, refusing a mounted or too
/// small target.
pub fn open(path: &Path, image_size: u64) -> Result<Target> {
    let refuse = |why: String| {
        Error::Usage(format!(
            "target {}: {why}; nothing was written",
            path.display()
        ))
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).at("reading", path),
    };
    let block = meta
        .as_ref()
        .is_some_and(|m| m.file_type().is_block_device());
    if let Some(m) = &meta {
        if !block && !m.is_file() {
            return Err(refuse("not a block device or regular file".into()));
        }
        if let Some(why) = in_use(path, block.then(|| m.rdev())) {
            return Err(refuse(format!("in use: {why}")));
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(!block)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Card {
            kind: CardFailure::NotWritable,
            message: format!(
                "target {}: cannot be opened for writing (write-protected?): {e}; nothing was written",
                path.display()
            ),
        })?;
    let capacity = if block {
        rustix::fs::seek(&file, rustix::fs::SeekFrom::End(0))
            .map_err(std::io::Error::from)
            .at("sizing", path)?
    } else {
        file.metadata().at("reading", path)?.len()
    };
    let capacity = match capacity {
        0 if !block => {
            file.set_len(image_size).at("sizing", path)?;
            image_size
        }
        c if c < image_size => {
            return Err(Error::Card {
                kind: CardFailure::TooSmall,
                message: format!(
                    "target {}: too small: {c} bytes, the image needs {image_size}; nothing was written",
                    path.display()
                ),
            });
        }
        c => c,
    };
    Ok(Target {
        path: path.to_path_buf(),
        file,
        capacity,
        block,
    })
}
