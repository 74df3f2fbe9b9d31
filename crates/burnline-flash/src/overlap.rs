//! A run's targets overlap nothing: no card is given twice, and no target
//! is one of the files the run reads (an image, a base, a delta, a bmap, the
//! recipe, the device list, the ledger, a key or the pool's database), nor
//! a loop device backed by one. Paths are compared by what they name, not
//! by how they are spelled: files by device and inode (so `card.img`,
//! `./card.img`, a hard link and a symlink are one file), device nodes by
//! the device they stand for, files yet to be made by their directory and
//! name.

use burnline_image::error::{Error, Result};
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Refuses the same target twice, however it is named.
pub fn distinct(targets: &[PathBuf]) -> Result<()> {
    let mut seen = Vec::new();
    for t in targets {
        let id = Named::of(t);
        if seen.contains(&id) {
            return Err(Error::Usage(format!(
                "target {} is given twice",
                t.display()
            )));
        }
        seen.push(id);
    }
    Ok(())
}

/// Refuses a target that is one of `inputs` (each with what it is to the
/// run, "the image"), or a loop device backed by one.
pub fn not_an_input(targets: &[PathBuf], inputs: &[(&str, &Path)]) -> Result<()> {
    let inputs: Vec<(&str, &Path, Named)> = inputs
        .iter()
        .map(|&(what, p)| (what, p, Named::of(p)))
        .collect();
    for t in targets {
        let id = Named::of(t);
        let backing = id.loop_backing().map(|b| Named::of(&b));
        for (what, p, input) in &inputs {
            let via = if id == *input {
                ""
            } else if backing.as_ref() == Some(input) {
                "a loop device backed by "
            } else {
                continue;
            };
            return Err(Error::Usage(format!(
                "target {}: is {via}{what} {}, which this run reads; a card must be another file or device; nothing was written",
                t.display(),
                p.display()
            )));
        }
    }
    Ok(())
}

/// What a path names, whatever its spelling.
#[derive(Debug, PartialEq, Eq)]
enum Named {
    /// A block or character device: its device number (`st_rdev`).
    Device(u64),
    /// Any other file that is there: `(st_dev, st_ino)`.
    File(u64, u64),
    /// A file yet to be made: its directory's `(st_dev, st_ino)` and its
    /// name.
    New(u64, u64, OsString),
    /// A path none of the above can be told for (its directory is not
    /// there either), as given; writing to it will fail.
    Path(PathBuf),
}

impl Named {
    fn of(t: &Path) -> Self {
        if let Ok(m) = std::fs::metadata(t) {
            let kind = m.file_type();
            return if kind.is_block_device() || kind.is_char_device() {
                Named::Device(m.rdev())
            } else {
                Named::File(m.dev(), m.ino())
            };
        }
        let dir = match t.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match (std::fs::metadata(dir), t.file_name()) {
            (Ok(d), Some(name)) => Named::New(d.dev(), d.ino(), name.to_owned()),
            _ => Named::Path(t.to_path_buf()),
        }
    }

    /// For a loop device: the file behind it, as the kernel names it.
    fn loop_backing(&self) -> Option<PathBuf> {
        let Named::Device(rdev) = self else {
            return None;
        };
        let (major, minor) = (rustix::fs::major(*rdev), rustix::fs::minor(*rdev));
        let text =
            std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/loop/backing_file"))
                .ok()?;
        Some(PathBuf::from(text.trim_end_matches('\n')))
    }
}
