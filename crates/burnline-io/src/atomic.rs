//! Crash-safe output. Everything is first written under a temp name in the
//! output directory, `.NAME.RANDOM.burnline-tmp` (RANDOM: 64 bits from the
//! kernel's random source, so nobody can guess it in advance), created new
//! with `O_EXCL` and `O_NOFOLLOW` and mode 0600 (a file or a symbolic link
//! planted under that name is never opened, followed or truncated: the
//! write fails), made durable, then renamed, and the directory synced: a
//! file under its final name is always complete, and a link planted under
//! the final name is replaced, never followed. Temp files of a run that
//! died are removed by the next run. [`write_file`] does it all for bytes
//! in hand; a writer that streams into a temp it keeps open puts it in
//! place with [`commit`] (or [`place`] for each of several files, then
//! [`sync_dir`] once).

use crate::error::{Error, IoContext, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The suffix of temp files.
pub const TEMP_SUFFIX: &str = ".burnline-tmp";

/// 16 lower-case hex digits from the kernel's random source.
pub fn random_hex() -> Result<String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| Error {
        context: "choosing a temp file name".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(hex::encode(b))
}

/// A fresh, unpredictable temp path for a final path (another each call).
pub fn temp_path(final_path: &Path) -> Result<PathBuf> {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(final_path.with_file_name(format!(".{name}.{}{TEMP_SUFFIX}", random_hex()?)))
}

/// Creates a new file with mode 0600: never an existing file, never
/// through a symbolic link (`O_CREAT | O_EXCL | O_NOFOLLOW`).
pub fn create_temp(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(0o600)
        .open(path)
        .at("creating", path)
}

/// Fsyncs a directory, so that renames in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .at("syncing directory", dir)
}

/// The directory a path is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Puts a finished temp file under its final name: fsyncs `file` (open on
/// `temp`), then renames `temp` to `final_path`. If either step fails the
/// temp is removed. The directory is not synced: for several files, call
/// [`sync_dir`] once after the last; for one, [`commit`] does both. For
/// writers that stream into a temp they keep open ([`create_temp`] on a
/// [`temp_path`]) and put it in place later.
pub fn place(file: &File, temp: &Path, final_path: &Path) -> Result<()> {
    let placed = file
        .sync_all()
        .at("syncing", temp)
        .and_then(|()| std::fs::rename(temp, final_path).at("renaming into place", final_path));
    if placed.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    placed
}

/// [`place`], then fsyncs the final path's directory: the whole crash-safe
/// write of a temp file its caller filled.
pub fn commit(file: &File, temp: &Path, final_path: &Path) -> Result<()> {
    place(file, temp, final_path)?;
    sync_dir(parent(final_path))
}

/// Writes `bytes` to `final_path` atomically: temp, fsync, rename, fsync dir.
pub fn write_file(final_path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(final_path)?;
    let mut f = create_temp(&tmp)?;
    if let Err(e) = f.write_all(bytes).at("writing", &tmp) {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    commit(&f, &tmp, final_path)
}

/// Removes temp files a dead run left in `dir` (and its base images).
pub fn clean_stale(dir: &Path) -> Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).at("listing", dir)? {
        let entry = entry.at("listing", dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            && (name.ends_with(TEMP_SUFFIX) || name.starts_with(".burnline-base-"))
        {
            std::fs::remove_file(entry.path()).at("removing stale temp file", &entry.path())?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn temp_names_are_fresh_each_time_and_end_like_temp_files() {
        let a = temp_path(Path::new("/o/gw.img")).expect("name");
        let b = temp_path(Path::new("/o/gw.img")).expect("name");
        assert_ne!(a, b);
        let name = a.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            name.starts_with(".gw.img.") && name.ends_with(TEMP_SUFFIX),
            "{name}"
        );
        assert_eq!(name.len(), ".gw.img.".len() + 16 + TEMP_SUFFIX.len());
    }

    #[test]
    fn a_planted_link_or_file_at_the_temp_name_is_never_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"root only").expect("victim");
        let link = dir.path().join(".x.burnline-tmp");
        std::os::unix::fs::symlink(&victim, &link).expect("link");
        assert!(create_temp(&link).is_err());
        let dangling = dir.path().join(".y.burnline-tmp");
        std::os::unix::fs::symlink(dir.path().join("none"), &dangling).expect("link");
        assert!(create_temp(&dangling).is_err());
        assert!(!dir.path().join("none").exists());
        assert!(create_temp(&victim).is_err());
        assert_eq!(std::fs::read(&victim).expect("victim"), b"root only");
        let f = create_temp(&dir.path().join("fresh")).expect("new");
        assert_eq!(
            f.metadata().expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_link_at_the_final_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"root only").expect("victim");
        let out = dir.path().join("label.png");
        std::os::unix::fs::symlink(&victim, &out).expect("link");
        write_file(&out, b"label").expect("written");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"root only");
        assert!(std::fs::symlink_metadata(&out).expect("meta").is_file());
        assert_eq!(std::fs::read(&out).expect("out"), b"label");
    }

    #[test]
    fn a_kept_temp_is_placed_later_and_a_failed_place_removes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("base.img");
        std::fs::write(&out, b"old").expect("old");
        let tmp = temp_path(&out).expect("name");
        let mut f = create_temp(&tmp).expect("temp");
        f.write_all(b"new, streamed").expect("write");
        assert_eq!(std::fs::read(&out).expect("out"), b"old");
        commit(&f, &tmp, &out).expect("committed");
        assert_eq!(std::fs::read(&out).expect("out"), b"new, streamed");
        assert!(!tmp.exists());
        // A final path whose directory is gone: the rename fails, and the
        // temp does not stay behind.
        let tmp = temp_path(&out).expect("name");
        let f = create_temp(&tmp).expect("temp");
        let err = place(&f, &tmp, &dir.path().join("gone/base.img")).expect_err("no dir");
        assert!(err.to_string().contains("renaming into place"), "{err}");
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&out).expect("out"), b"new, streamed");
    }
}
