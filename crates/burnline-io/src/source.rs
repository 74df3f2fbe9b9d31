//! Opening an input file (an image, a blob, a file for a FAT volume) so
//! that it can never hang a build: opened without blocking (a FIFO would
//! otherwise wait for a writer forever), and refused unless it is a regular
//! file (a device such as `/dev/zero` never ends).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` for reading, if it is a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_without_blocking() {
        let d = tempfile::tempdir().expect("tempdir");
        let fifo = d.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        assert!(open_regular(&fifo).is_err());
        assert!(open_regular(Path::new("/dev/zero")).is_err());
        let file = d.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        assert!(open_regular(&file).is_ok());
    }
}
