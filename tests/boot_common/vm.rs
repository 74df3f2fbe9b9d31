//! One boot of a burned image under QEMU (x86-64, or arm64 on `-M virt`
//! when the test binary chose it): the Debian cloud kernel and the
//! test initramfs given directly (no boot loader), the image as a virtio
//! disk with `cache=none` (a SIGKILL then loses what the guest had not yet
//! written, and nothing QEMU had written), the serial console in a file, and
//! either no network interface at all or one on [`Platform`]'s restricted
//! network. The guest powers itself off once the edge service's start job
//! is done (`boot-test-poweroff.service`); a test waits for that, or for a
//! line on the console, and may cut the power (SIGKILL) at any moment.
//!
//! A breakpoint (`breakpoint("write_aio")`) puts QEMU's blkdebug driver
//! under the disk and suspends the first request of that kind (the root is
//! mounted read-only, so the bootstrap's are the only writes); QEMU prints
//! `blkdebug: Suspended request` when it holds one, and the guest waits for
//! it forever.

use super::platform::Platform;
use super::qmp::Qmp;
use super::shared::shared;
use crate::common::s;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The kernel command line of every boot: quiet, the root by its GPT name
/// and read-only, the journal on the console, power off when done.
const CMDLINE: &str = "console=ttyS0 panic=-1 quiet mitigations=off ro rootpart=rootfs \
    systemd.show_status=false systemd.journald.forward_to_console=1 \
    systemd.wants=boot-test-poweroff.service";

/// A boot about to start.
pub struct Guest {
    dir: PathBuf,
    name: String,
    image: PathBuf,
    disks: Vec<PathBuf>,
    netdev: Option<String>,
    cmdline: Vec<String>,
    breakpoint: Option<String>,
}

impl Guest {
    /// Boots `image`; its files go to `dir` as `NAME.console` and
    /// `NAME.qemu`. No network interface unless [`Guest::network`].
    pub fn new(dir: &Path, name: &str, image: &Path) -> Self {
        Guest {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            image: image.to_path_buf(),
            disks: Vec::new(),
            netdev: None,
            cmdline: Vec::new(),
            breakpoint: None,
        }
    }

    /// A second disk (after the image, which is the first).
    pub fn disk(mut self, image: &Path) -> Self {
        self.disks.push(image.to_path_buf());
        self
    }

    /// One network interface, on `platform`'s restricted network.
    pub fn network(mut self, platform: &Platform) -> Self {
        self.netdev = Some(platform.netdev());
        self
    }

    /// One more kernel command-line argument.
    pub fn cmdline(mut self, arg: impl Into<String>) -> Self {
        self.cmdline.push(arg.into());
        self
    }

    /// Suspends the disk's first request of blkdebug event `event`
    /// (`write_aio`, `flush_to_disk`).
    pub fn breakpoint(mut self, event: &str) -> Self {
        self.breakpoint = Some(event.to_owned());
        self
    }

    /// Starts QEMU.
    pub fn boot(self) -> Boot {
        let sh = shared();
        let console = self.dir.join(format!("{}.console", self.name));
        let out = self.dir.join(format!("{}.qemu", self.name));
        let monitor = self.dir.join(format!("{}.qmp", self.name));
        let drive = match &self.breakpoint {
            None => format!(
                "file={},format=raw,if=none,id=d0,cache=none",
                s(&self.image)
            ),
            Some(_) => format!(
                "if=none,id=d0,cache=none,driver=raw,file.driver=blkdebug,\
                 file.image.driver=file,file.image.filename={}",
                s(&self.image)
            ),
        };
        let arm64 = sh.arch == "arm64";
        let mut append = if arm64 {
            CMDLINE.replace("console=ttyS0", "console=ttyAMA0")
        } else {
            CMDLINE.to_owned()
        };
        for a in &self.cmdline {
            append.push(' ');
            append.push_str(a);
        }
        let mut cmd = Command::new(if arm64 {
            "qemu-system-aarch64"
        } else {
            "qemu-system-x86_64"
        });
        if arm64 {
            cmd.args(["-M", "virt", "-cpu", "cortex-a57"]);
        }
        cmd.args(["-accel", sh.accel, "-smp", "1", "-m", "512", "-nodefaults"])
            .args(["-display", "none", "-no-reboot", "-kernel"])
            .arg(&sh.kernel)
            .arg("-initrd")
            .arg(&sh.initrd)
            .args(["-append", &append, "-drive", &drive])
            .args(["-device", "virtio-blk-pci,drive=d0", "-serial"])
            .arg(format!("file:{}", s(&console)));
        for (i, disk) in self.disks.iter().enumerate() {
            cmd.arg("-drive")
                .arg(format!(
                    "file={},format=raw,if=none,id=d{},cache=none",
                    s(disk),
                    i + 1
                ))
                .arg("-device")
                .arg(format!("virtio-blk-pci,drive=d{}", i + 1));
        }
        if let Some(netdev) = &self.netdev {
            cmd.args(["-netdev", netdev, "-device", "virtio-net-pci,netdev=n0"]);
        }
        if self.breakpoint.is_some() {
            cmd.arg("-S")
                .arg("-qmp")
                .arg(format!("unix:{},server=on,wait=off", s(&monitor)));
        }
        let log = fs::File::create(&out).expect("QEMU's output file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("QEMU's output file"))
            .stderr(log)
            .spawn()
            .expect(
                "qemu-system-x86_64 or qemu-system-aarch64 (Debian packages qemu-system-x86, qemu-system-arm; scripts/test.sh installs them)",
            );
        let boot = Boot {
            child,
            console,
            out,
            started: Instant::now(),
        };
        if let Some(event) = &self.breakpoint {
            let mut qmp = Qmp::connect(&monitor);
            let said = qmp.human(&format!("qemu-io d0 \"break {event} cut\""));
            assert!(said.trim().is_empty(), "blkdebug breakpoint: {said}");
            qmp.cont();
        }
        boot
    }
}

/// A running (or ended) boot.
pub struct Boot {
    child: Child,
    console: PathBuf,
    out: PathBuf,
    started: Instant,
}

impl Boot {
    /// The serial console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.console).unwrap_or_default()).into_owned()
    }

    /// Since QEMU started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until the console shows `needle`; the time since QEMU started.
    #[track_caller]
    pub fn wait_console(&mut self, needle: &str, limit: Duration) -> Duration {
        let console = self.console.clone();
        self.wait_until(&format!("the console to show {needle:?}"), limit, || {
            String::from_utf8_lossy(&fs::read(&console).unwrap_or_default()).contains(needle)
        })
    }

    /// Waits until QEMU holds the disk request at the breakpoint.
    #[track_caller]
    pub fn wait_suspended(&mut self, limit: Duration) -> Duration {
        let out = self.out.clone();
        self.wait_until("the disk request to reach the breakpoint", limit, || {
            fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("blkdebug: Suspended request 'cut'")
        })
    }

    /// Waits until `ready()` holds while QEMU runs; the time since QEMU
    /// started. Fails with the console if QEMU ends or `limit` passes.
    #[track_caller]
    pub fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Duration {
        loop {
            if ready() {
                return self.elapsed();
            }
            if let Some(status) = self.child.try_wait().expect("QEMU's status") {
                panic!(
                    "{}",
                    self.report(&format!("QEMU ended ({status}) before {what}"))
                );
            }
            if self.elapsed() > limit {
                panic!("{}", self.report(&format!("no {what} within {limit:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the guest powers itself off; the time since QEMU started.
    #[track_caller]
    pub fn wait_powered_off(&mut self, limit: Duration) -> Duration {
        loop {
            if let Some(status) = self.child.try_wait().expect("QEMU's status") {
                assert!(
                    status.success(),
                    "{}",
                    self.report(&format!("QEMU ended with {status}"))
                );
                return self.elapsed();
            }
            if self.elapsed() > limit {
                panic!(
                    "{}",
                    self.report(&format!("the guest did not power off within {limit:?}"))
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Cuts the power: SIGKILL to QEMU, now.
    pub fn cut(&mut self) -> Duration {
        let at = self.elapsed();
        self.child.kill().expect("SIGKILL QEMU");
        let _ = self.child.wait();
        at
    }

    fn report(&self, what: &str) -> String {
        let console = self.console();
        let lines: Vec<&str> = console.lines().collect();
        let tail = lines[lines.len().saturating_sub(80)..].join("\n");
        format!(
            "{what}\n--- console ({}), last lines ---\n{tail}\n--- QEMU ---\n{}",
            self.console.display(),
            fs::read_to_string(&self.out).unwrap_or_default()
        )
    }
}

impl Drop for Boot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
