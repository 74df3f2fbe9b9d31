//! Looking into what a build wrote: a partition cut out of an image, a
//! file's SHA-256 (and BLAKE3, by `b3sum`), `fsck.fat -n` on a volume,
//! `inspect --json`, a loop device to see an image or a card as a block
//! device, and how much of a card sits in the page cache.

use super::Test;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Copies bytes `start..start+len` of `img` to a new file and returns it.
pub fn extract(img: &Path, start: u64, len: u64, to: &Path) -> PathBuf {
    let f = fs::File::open(img).expect("open image");
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, start).expect("read partition");
    fs::write(to, &buf).expect("write partition");
    to.to_path_buf()
}

/// SHA-256 of a file, hex.
pub fn sha(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(fs::read(path).expect("read")))
}

/// Asserts `fsck.fat -n` finds nothing at all to say about a volume (it
/// prints only its two banner lines).
#[track_caller]
pub fn assert_fsck_clean(t: &Test, vol: &Path) {
    let o = t.tool("fsck.fat").arg("-n").arg(vol).run();
    let text = o.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.len() == 2,
        "fsck.fat -n complained about {}:\n{text}",
        vol.display()
    );
}

/// `burnline inspect IMG --json` (with `--reveal-secrets` if `reveal`), run
/// in `t`'s directory.
#[track_caller]
pub fn inspect_json(t: &Test, img: impl AsRef<std::ffi::OsStr>, reveal: bool) -> serde_json::Value {
    let cmd = t.burnline().arg("inspect").arg(img).arg("--json");
    if reveal {
        cmd.arg("--reveal-secrets").stdout_json()
    } else {
        cmd.stdout_json()
    }
}

/// The BLAKE3 of a file, by `b3sum`.
pub fn b3sum(t: &Test, path: &Path) -> String {
    t.tool("b3sum")
        .arg(path)
        .run()
        .stdout
        .split_whitespace()
        .next()
        .expect("b3sum printed a hash")
        .to_owned()
}

/// A loop device (`losetup` needs root), detached when dropped.
pub struct LoopDevice(String);

impl LoopDevice {
    /// Attaches `file` to a free loop device, with `losetup` and `flags`
    /// (such as `--read-only`), run in `t`'s directory.
    #[track_caller]
    pub fn attach(t: &Test, file: &Path, flags: &[&str]) -> Self {
        let dev = t
            .tool("losetup")
            .args(flags)
            .args(["--find", "--show"])
            .arg(file)
            .run()
            .stdout
            .trim()
            .to_owned();
        LoopDevice(dev)
    }

    /// The device's path, such as `/dev/loop3`.
    pub fn path(&self) -> &str {
        &self.0
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .status();
    }
}

/// How many bytes of the block device `dev` are in its page cache now,
/// by `mincore(2)` over a mapping of it (`fincore` reports 0 for a block
/// device: it sizes a file by `st_size`). The kernel drops a device's
/// cache when its last opener closes it, so the caller holds it open.
pub fn cached_bytes(t: &Test, dev: &str) -> u64 {
    const SCRIPT: &str = r#"
import ctypes, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
n = os.lseek(fd, 0, os.SEEK_END)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
addr = libc.mmap(None, n, 1, 1, fd, 0)
if addr in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap: " + os.strerror(ctypes.get_errno()))
page = os.sysconf("SC_PAGE_SIZE")
vec = (ctypes.c_ubyte * ((n + page - 1) // page))()
if libc.mincore(addr, n, vec) != 0:
    sys.exit("mincore: " + os.strerror(ctypes.get_errno()))
print(sum(v & 1 for v in vec) * page)
"#;
    t.tool("python3")
        .args(["-c", SCRIPT, dev])
        .run()
        .stdout
        .trim()
        .parse()
        .expect("a byte count")
}
