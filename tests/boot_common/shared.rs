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

use crate::common::emulator::test_ca_for;
use crate::common::{bootstrap_bin, repo_root, s, Test};
use sha2::Digest;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The files every boot uses.
pub struct Shared {
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
    let dir = tmp.join("boot-test");
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
        .arg(bootstrap_bin())
        .arg(&ca)
        .env("BOOT_TEST_CACHE", &cache)
        .run();
    let kernel = dir.join("vmlinuz");
    let accel = accel(&cache, &kernel, &dir);
    Shared {
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
