//! Opening a card to write. A target is a block device that is there, or a
//! regular file standing in for one, outside `/dev`: an existing file (its
//! current size is the card's size; an empty one is sized to the image), or
//! a new one only when its name ends in `.img` (made with `O_EXCL`). A file
//! is grown to at most [`FILE_GROWTH_LIMIT`] unless the user asks for more,
//! and is set to mode 0600 before a byte is written (it will hold a
//! DeviceSecret). A path under `/dev` that is not a block device (a typo:
//! `/dev/sdz`), a symlink to nothing, a target that is mounted (itself, one
//! of its partitions, or a loop device backed by it, per
//! `/proc/self/mountinfo`) or smaller than the image is refused before
//! anything is written.

use burnline_image::error::{CardFailure, Error, IoContext, Result};
use indicatif::HumanBytes;
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
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
    /// A block device opened again with `O_DIRECT`, for the bulk of the
    /// writes and the read-back ([`burnline_io::direct`]); `None` for a
    /// file, or a device that refuses it.
    pub direct: Option<File>,
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

/// How large a file target may be grown without `--large-file`: 64 GiB,
/// more than any card on the line.
pub const FILE_GROWTH_LIMIT: u64 = 64 << 30;

/// The name a new file target must end in.
pub const NEW_FILE_SUFFIX: &str = ".img";

/// Whether `path` (there, or about to be made) lies under `/dev`, whatever
/// symlinks or `..` lead there.
fn under_dev(path: &Path) -> bool {
    let real = std::fs::canonicalize(path).ok().or_else(|| {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
    });
    real.is_some_and(|r| r.starts_with("/dev"))
}

fn refusal(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!(
        "target {}: {why}; nothing was written",
        path.display()
    ))
}

/// Checks that `path` may be a target at all (a block device; a regular
/// file outside `/dev`; a new file named `*.img` outside `/dev`), before
/// anything is leased, recorded or written; returns what is there now.
pub fn check(path: &Path) -> Result<Option<Metadata>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).at("reading", path),
    };
    let dev = under_dev(path);
    let why = match &meta {
        Some(m) if m.file_type().is_block_device() => return Ok(meta),
        Some(m) if dev && m.is_file() => {
            "a regular file under /dev (a target under /dev must be a block device)".into()
        }
        Some(m) if !m.is_file() => "not a block device or regular file".into(),
        Some(_) => return Ok(meta),
        None if std::fs::symlink_metadata(path).is_ok() => "a symlink to nothing".into(),
        None if dev => {
            "no such device (a target under /dev must be a block device that is there: is the name right, is the card in?)".into()
        }
        None if !path.to_string_lossy().ends_with(NEW_FILE_SUFFIX) => format!(
            "no such device or file (a new file target is made only for a name ending in {NEW_FILE_SUFFIX})"
        ),
        None => return Ok(None),
    };
    Err(refusal(path, why))
}

/// Opens `path` for an image of `image_size` bytes, a file grown to at
/// most [`FILE_GROWTH_LIMIT`].
pub fn open(path: &Path, image_size: u64) -> Result<Target> {
    open_with(path, image_size, false)
}

/// Opens `path` for an image of `image_size` bytes (`large_file`: a file
/// may grow past [`FILE_GROWTH_LIMIT`]), refusing anything that is not a
/// target by the rules above.
pub fn open_with(path: &Path, image_size: u64, large_file: bool) -> Result<Target> {
    let meta = check(path)?;
    let block = meta
        .as_ref()
        .is_some_and(|m| m.file_type().is_block_device());
    // A new or empty file is grown to the image's size.
    let grows = meta.as_ref().is_none_or(|m| m.is_file() && m.len() == 0);
    if grows && image_size > FILE_GROWTH_LIMIT && !large_file {
        return Err(refusal(
            path,
            format!(
                "a file target is grown to at most {} without --large-file, the image has {image_size} bytes ({})",
                HumanBytes(FILE_GROWTH_LIMIT),
                HumanBytes(image_size)
            ),
        ));
    }
    if let Some(m) = &meta {
        if let Some(why) = in_use(path, block.then(|| m.rdev())) {
            return Err(refusal(path, format!("in use: {why}")));
        }
    }
    // A new file is made, never an existing one (or a symlink planted
    // since) taken over.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(meta.is_none())
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
    if !block {
        // It will hold a DeviceSecret: only its owner may read it.
        let mode = file.metadata().at("reading", path)?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .at("setting mode 0600 on", path)?;
        }
    }
    let direct = block
        .then(|| burnline_io::direct::open(path).ok())
        .flatten();
    Ok(Target {
        path: path.to_path_buf(),
        file,
        capacity,
        block,
        direct,
    })
}
