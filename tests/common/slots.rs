//! Card slots for the station tests: each a loop device at a fixed path
//! (`/dev/loopN`, from a range the other tests' `losetup --find` does not
//! reach first). A card goes in with `losetup DEV FILE` (`-r`: a
//! write-protected card) and comes out with `losetup -d`. A pull in the
//! middle of a write is what a card reader does when the card leaves it:
//! the device's capacity drops to 0 (the file is cut and `losetup -c`
//! reads the new size), so the writer's next write or sync fails; then the
//! device is detached (which the kernel finishes when the writer lets go).
//! Every slot is emptied when dropped.

use super::Test;
use std::path::Path;

/// One slot.
pub struct Slot {
    dev: String,
}

impl Slot {
    /// The slot `/dev/loopN`; it must be empty.
    #[track_caller]
    pub fn new(n: u32) -> Slot {
        let dev = format!("/dev/loop{n}");
        assert!(
            !Path::new(&format!("/sys/block/loop{n}/loop")).exists(),
            "{dev} is in use; the station tests need it free"
        );
        Slot { dev }
    }

    /// Its device path.
    pub fn path(&self) -> &str {
        &self.dev
    }

    /// Puts the card `file` in (`flags`: `-r` for a write-protected card).
    #[track_caller]
    pub fn insert(&self, t: &Test, file: &Path, flags: &[&str]) {
        t.tool("losetup").args(flags).arg(&self.dev).arg(file).run();
    }

    /// Takes the card out.
    #[track_caller]
    pub fn remove(&self, t: &Test) {
        t.tool("losetup").args(["-d", &self.dev]).run();
    }

    /// Pulls the card `file` out while it is being written.
    #[track_caller]
    pub fn pull(&self, t: &Test, file: &Path) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .and_then(|f| f.set_len(0))
            .expect("cut the card file");
        t.tool("losetup").args(["-c", &self.dev]).run();
        self.remove(t);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .stderr(std::process::Stdio::null())
            .status();
    }
}
