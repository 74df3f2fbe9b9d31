//! What every boot of the boot test shares, made once per test process in
//! `<target>/tmp/boot-test` (so one boot test runs at a time per target
//! directory): a test CA whose leaf is for the guest's platform address
//! (10.0.2.100) and 127.0.0.1, the rootfs image, kernel and initramfs that
//! `scripts/boot-image.sh` makes (caching the slow parts in
//! `<target>/boot-test/cache`), and whether KVM can be trusted here.
//!
//! KVM: `/dev/kvm` on these machines comes from a paravirtual hypervisor,
//! where a stock kernel hangs before it prints anything. KVM counts as
//! usable only if `Linux version` shows on the serial console within 20 s;
//! the verdict is kept in the cache under a key of the host kernel, the CPU
//! model, QEMU's version and the guest kernel, so that a machine pays the
//! 20 s once.
//!
//! A test binary that boots arm64 (`tests/boot_arm64.rs`) calls
//! [`select_arm64`] first: the same, made by `BOOT_ARCH=arm64
//! scripts/boot-image.sh` with the aarch64 bootstrap that
//! `scripts/cross-bootstrap.sh` built, in `<target>/tmp/boot-test-arm64`,
//! booted under `qemu-system-aarch64 -M virt` with TCG (no KVM for another
//! architecture).

use crate::common::emulator::test_ca_for;
use crate::common::{bootstrap_bin, repo_root, s, Test};
use sha2::Digest;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The guest architecture of this test binary: `arm64` once
/// [`select_arm64`] was called, else `amd64`.
static ARCH: OnceLock<&'static str> = OnceLock::new();

/// Makes this test binary's guests arm64; call it before anything else of
/// the harness.
pub fn select_arm64() {
    assert_eq!(*ARCH.get_or_init(|| "arm64"), "arm64");
}

/// The files every boot uses.
pub struct Shared {
    /// `amd64` or `arm64`.
    pub arch: &'static str,
    /// The rootfs as an ext4 image, for an `image:` partition.
    pub rootfs: PathBuf,
    /// The Debian cloud kernel.
    pub kernel: PathBuf,
    /// The busybox initramfs that loads virtio's block driver.
    pub initrd: PathBuf,
    /// The test CA (in the rootfs as /etc/burnline/ca.pem).
    pub ca: PathBuf,
    /// The emulator's certificate, for 10.0.2.100 and 127.0.0.1.
    pub leaf: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// `kvm` or `tcg`.
    pub accel: &'static str,
    /// How long making all this took.
    pub setup: Duration,
}

/// The shared files, made by the first test that asks.
pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(make)
}

fn make() -> Shared {
    let started = Instant::now();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp.parent().expect("the target directory");
    let arch = *ARCH.get_or_init(|| "amd64");
    let (dir, bootstrap) = if arch == "arm64" {
        let bin = repo_root().join("target/aarch64-unknown-linux-gnu/release/burnline-bootstrap");
        assert!(
            bin.is_file(),
            "{}: not built; run scripts/cross-bootstrap.sh (scripts/test.sh does)",
            bin.display()
        );
        (tmp.join("boot-test-arm64"), bin)
    } else {
        (tmp.join("boot-test"), bootstrap_bin())
    };
    let cache = target.join("boot-test").join("cache");
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("clear the boot test's directory");
    }
    fs::create_dir_all(&dir).expect("the boot test's directory");
    // Tools QEMU runs for it: a missing one would only show as a guest that
    // cannot connect. socat: Debian package socat.
    Test::new().tool("socat").arg("-V").run();
    let (ca, leaf, key) = test_ca_for(&dir, &["10.0.2.100", "127.0.0.1"]);
    // mmdebstrap, busybox-static, e2fsprogs, zstd, systemd: the script
    // names the package of any that is missing.
    Test::new()
        .program(repo_root().join("scripts/boot-image.sh"))
        .arg(&dir)
        .arg(bootstrap)
        .arg(&ca)
        .env("BOOT_TEST_CACHE", &cache)
        .env("BOOT_ARCH", arch)
        .run();
    let kernel = dir.join("vmlinuz");
    let accel = if arch == "arm64" {
        "tcg"
    } else {
        accel(&cache, &kernel, &dir)
    };
    Shared {
        arch,
        rootfs: dir.join("rootfs.ext4"),
        kernel,
        initrd: dir.join("initrd.img"),
        ca,
        leaf,
        key,
        accel,
        setup: started.elapsed(),
    }
}

/// `kvm` if a kernel boots under KVM here, else `tcg`.
fn accel(cache: &Path, kernel: &Path, dir: &Path) -> &'static str {
    if !Path::new("/dev/kvm").exists() {
        return "tcg";
    }
    let qemu = Test::new()
        .tool("qemu-system-x86_64")
        .arg("--version")
        .run()
        .stdout;
    let cpu = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find(|l| l.starts_with("model name"));
    let mut key = sha2::Sha256::new();
    key.update(fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default());
    key.update(model.unwrap_or_default());
    key.update(qemu.lines().next().unwrap_or_default());
    key.update(fs::read(kernel).expect("the kernel"));
    let verdict = cache.join(format!("kvm-{}", &hex::encode(key.finalize())[..16]));
    if let Ok(v) = fs::read_to_string(&verdict) {
        return if v.trim() == "kvm" { "kvm" } else { "tcg" };
    }
    let console = dir.join("kvm-probe.log");
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-accel", "kvm", "-smp", "1", "-m", "256", "-nodefaults"])
        .args(["-display", "none", "-no-reboot", "-kernel"])
        .arg(kernel)
        .args(["-append", "console=ttyS0 panic=-1", "-serial"])
        .arg(format!("file:{}", s(&console)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86)");
    let start = Instant::now();
    let mut usable = false;
    while start.elapsed() < Duration::from_secs(20) {
        if fs::read_to_string(&console)
            .unwrap_or_default()
            .contains("Linux version")
        {
            usable = true;
            break;
        }
        if qemu.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = qemu.kill();
    let _ = qemu.wait();
    let accel = if usable { "kvm" } else { "tcg" };
    fs::write(&verdict, accel).expect("keep the KVM verdict");
    accel
}
