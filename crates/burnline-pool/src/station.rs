//! A station's name, claimed by one live process at a time. On PostgreSQL
//! the claim is a session advisory lock (`pg_try_advisory_lock`) held by the
//! station's own connection, so the server drops it when the process dies
//! or its connection breaks; on SQLite it is an `flock` on
//! `DB.station-NAME.lock` next to the database file, which the kernel drops
//! when the process dies. Either way a second process given the same
//! `--station` is refused at once, and `pool status` can tell a live
//! station from a dead one without trusting a heartbeat.

use crate::error::{PoolError, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Checks the naming rule: 1 to 64 of `A-Za-z0-9._-`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PoolError::BadStationName(name.chars().take(80).collect()))
    }
}

/// The advisory-lock key of a station name.
pub fn lock_key(name: &str) -> i64 {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("burnline-station\0{name}").as_bytes(),
    );
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    i64::from_be_bytes(b)
}

/// The key's halves as `pg_locks` shows them (classid, objid).
pub fn lock_halves(key: i64) -> (i64, i64) {
    let k = key as u64;
    ((k >> 32) as i64, (k & 0xffff_ffff) as i64)
}

/// The lock file of a station on an SQLite pool.
pub fn lock_path(db: &Path, name: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(format!(".station-{name}.lock"));
    PathBuf::from(s)
}

/// Takes the SQLite station lock, without waiting.
pub fn flock_station(db: &Path, name: &str) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = lock_path(db, name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| PoolError::Other(format!("{}: {e}", path.display())))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(f),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(PoolError::StationInUse(name.to_owned())),
        Err(e) => Err(PoolError::Other(format!("{}: flock: {e}", path.display()))),
    }
}

/// Whether a live process holds the SQLite station lock of `name`.
pub fn flock_is_held(db: &Path, name: &str) -> bool {
    let Ok(f) = File::open(lock_path(db, name)) else {
        return false;
    };
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => {
            let _ = rustix::fs::flock(&f, rustix::fs::FlockOperation::Unlock);
            false
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("st-1.a_b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert_ne!(lock_key("a"), lock_key("b"));
    }

    #[test]
    fn one_holder() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("p.db");
        let held = flock_station(&db, "s1").unwrap();
        assert!(flock_is_held(&db, "s1"));
        assert!(matches!(
            flock_station(&db, "s1"),
            Err(PoolError::StationInUse(_))
        ));
        drop(held);
        assert!(!flock_is_held(&db, "s1"));
    }
}
