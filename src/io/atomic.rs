//! Crash-safe output. Everything is first written under a temp name in the
//! output directory (`.NAME.burnline-tmp`), made durable, then renamed, and the
//! directory synced: a file under its final name is always complete. Temp
//! files of a run that died are removed by the next run.

use crate::error::{IoContext, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The suffix of temp files.
pub const TEMP_SUFFIX: &str = ".burnline-tmp";

/// The temp path for a final path.
pub fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Creates a new temp file with mode 0600, replacing a stale one.
pub fn create_temp(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
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
    let tmp = temp_path(final_path);
    let mut f = create_temp(&tmp)?;
    f.write_all(bytes).at("writing", &tmp)?;
    f.sync_all().at("syncing", &tmp)?;
    drop(f);
    std::fs::rename(&tmp, final_path).at("renaming into place", final_path)?;
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
