//! Crash-safe output. Everything is first written under a temp name in the
//! output directory, `.NAME.RANDOM.burnline-tmp` (RANDOM: 64 bits from the
//! kernel's random source, so nobody can guess it in advance), created new
//! with `O_EXCL` and `O_NOFOLLOW` and mode 0600 (a file or a symbolic link
//! planted under that name is never opened, followed or truncated: the
//! write fails), made durable, then renamed, and the directory synced: a
//! file under its final name is always complete, and a link planted under
//! the final name is replaced, never followed. Temp files of a run that
//! died are removed by the next run.

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

/// Writes `bytes` to `final_path` atomically: temp, fsync, rename, fsync dir.
pub fn write_file(final_path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(final_path)?;
    let mut f = create_temp(&tmp)?;
    let written = f
        .write_all(bytes)
        .at("writing", &tmp)
        .and_then(|()| f.sync_all().at("syncing", &tmp));
    drop(f);
    let placed = written
        .and_then(|()| std::fs::rename(&tmp, final_path).at("renaming into place", final_path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(
        final_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
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
}
