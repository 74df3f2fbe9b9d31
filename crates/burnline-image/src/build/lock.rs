//! The output directory's lock: an exclusive `flock` on the directory's own
//! descriptor, held for the whole run, so two runs never write into one
//! directory at once, and nothing is left behind when the run ends (the
//! lock goes with the descriptor).

use crate::error::{Error, IoContext, Result};
use std::fs::File;
use std::path::Path;

/// A held lock on a directory; released on drop.
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Locks `dir`, or says that another burnline run holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let f = File::open(dir).at("opening", dir)?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |_| {
                Error::Usage(format!(
                    "{} is in use by another burnline run",
                    dir.display()
                ))
            },
        )?;
        Ok(DirLock { _dir: f })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_until_the_first_is_dropped() {
        let d = tempfile::tempdir().expect("tempdir");
        let first = DirLock::acquire(d.path()).expect("first");
        let second = DirLock::acquire(d.path()).expect_err("second");
        assert!(second
            .to_string()
            .contains("in use by another burnline run"));
        drop(first);
        DirLock::acquire(d.path()).expect("after drop");
        assert_eq!(std::fs::read_dir(d.path()).expect("ls").count(), 0);
    }
}
