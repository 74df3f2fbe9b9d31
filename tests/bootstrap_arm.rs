//! The device side on ARM (issue 25 item 3): the `burnline-bootstrap`
//! binaries cross-built for aarch64 and armv7 by `scripts/cross-bootstrap.sh`
//! (static glibc) run under qemu-user (`qemu-aarch64-static`,
//! `qemu-arm-static`, named explicitly, so no binfmt_misc entry is needed)
//! against 一型一密 images the host `burnline` built and the emulator over
//! TLS with a test CA: register once, then store; status; an offline second
//! run; the refusal exits (2, 3, 4, 5); and a power cut (SIGKILL) while the
//! platform holds its answer after it stored the issued secret, after which
//! the device registers again and stores the triple.

mod common;

use common::emulator::{state_secrets, test_ca, write_products, Emulator};
use common::images::inspect_json;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The two ARM targets: the triple, the qemu-user program and the ELF
/// machine `file` names.
const ARCHES: [(&str, &str, &str); 2] = [
    (
        "aarch64-unknown-linux-gnu",
        "qemu-aarch64-static",
        "ARM aarch64",
    ),
    (
        "armv7-unknown-linux-gnueabihf",
        "qemu-arm-static",
        "ARM, EABI5",
    ),
];

/// A device-side test for one architecture: the temp dir, the emulator
/// (TLS), its CA file and the cross-built binary under qemu-user.
struct Device {
    t: Test,
    qemu: String,
    bin: PathBuf,
    ca: PathBuf,
}

impl Device {
    /// The binary for `triple`, which must exist and be a static ELF file
    /// for its architecture (a missing one fails loudly).
    fn new(triple: &str, qemu: &str, machine: &str) -> Device {
        let bin = repo_root().join(format!("target/{triple}/release/burnline-bootstrap"));
        assert!(
            bin.is_file(),
            "{}: not built; run scripts/cross-bootstrap.sh (scripts/test.sh does)",
            bin.display()
        );
        let t = Test::new();
        let file = t.tool("file").arg(&bin).run();
        assert!(
            file.stdout.contains(machine) && file.stdout.contains("statically linked"),
            "{}",
            file.stdout
        );
        let (ca, _, _) = test_ca(t.path());
        Device {
            t,
            qemu: qemu.to_owned(),
            bin,
            ca,
        }
    }

    /// `burnline-bootstrap ARGS` under qemu-user.
    fn cmd(&self) -> Test {
        self.t.tool(&self.qemu).arg(&self.bin)
    }

    /// The emulator over TLS with the test CA's leaf for 127.0.0.1.
    fn emulator(&self, devices: &[&str], extra: &[&str]) -> (Emulator, PathBuf) {
        let dir = self.t.path();
        let products = write_products(dir, devices);
        let state = dir.join("state.json");
        let (leaf, key) = (dir.join("leaf.pem"), dir.join("leaf.key"));
        let mut args = vec![
            "--state",
            s(&state),
            "--tls-cert",
            s(&leaf),
            "--tls-key",
            s(&key),
        ];
        args.extend_from_slice(extra);
        let mut emu = Emulator::start(dir, &products, &args);
        emu.ca = Some(fs::read(&self.ca).expect("the CA"));
        assert!(emu.url.starts_with("https://"), "{}", emu.url);
        (emu, state)
    }

    /// A 一型一密 GPT image for `name` recording `endpoint`.
    fn image(&self, endpoint: &str, name: &str) -> PathBuf {
        let dir = self.t.path();
        let recipe = format!(
            "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n\
             partitions:\n  - name: creds\n    size: 1MiB\n    credentials: {{}}\n  - name: data\n    size: fill\n\
             auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {endpoint}\n"
        );
        fs::write(dir.join(format!("{name}.yaml")), recipe).expect("recipe");
        fs::write(
            dir.join(format!("{name}.csv")),
            format!("DeviceName\n{name}\n"),
        )
        .expect("csv");
        let out = dir.join(format!("out-{name}"));
        self.t
            .burnline()
            .arg("build")
            .arg(dir.join(format!("{name}.yaml")))
            .arg("--devices")
            .arg(dir.join(format!("{name}.csv")))
            .arg("--out")
            .arg(&out)
            .env("TEST_PS", PS)
            .run();
        out.join(format!("{name}.img"))
    }

    /// What `inspect --reveal-secrets` shows of `img`'s credentials.
    fn creds(&self, img: &Path) -> serde_json::Value {
        inspect_json(&self.t, img, true)["credentials"].clone()
    }
}

/// Register once over TLS, then store; status; an offline second run.
fn registers_stores_and_stays_offline(triple: &str, qemu: &str, machine: &str) {
    let d = Device::new(triple, qemu, machine);
    let name = "gw-arm-01";
    let (emu, state) = d.emulator(&[name], &[]);
    let img = d.image(&emu.url, name);
    d.cmd()
        .args(["status", "--device", s(&img)])
        .stdout_contains("mode: product-secret (not yet registered)")
        .stdout_contains("sequence: 1")
        .stdout_lacks(PS)
        .run();
    let r = d
        .cmd()
        .args(["run", "--device", s(&img), "--ca-file", s(&d.ca)])
        .stderr_lacks(PS)
        .run();
    assert_eq!(emu.registrations_of(name), 1);
    let ds = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == name)
        .expect("issued")
        .1;
    assert!(!r.stderr.contains(&ds), "the DeviceSecret was printed");
    let c = d.creds(&img);
    assert_eq!(c["device_secret"], ds.as_str());
    assert!(c["product_secret"].is_null(), "the ProductSecret was kept");
    assert_eq!(c["sequence"], 3);
    d.cmd()
        .args([
            "status",
            "--device",
            s(&img),
            "--check-http-auth",
            "--ca-file",
            s(&d.ca),
        ])
        .stdout_contains("mode: device-secret (full triple)")
        .stdout_contains(format!("device_name: {name}"))
        .stdout_contains("http auth: the triple authenticates")
        .stdout_lacks(&ds)
        .run();
    // The second run needs no network: the platform is gone.
    let before = emu.log_text().lines().count();
    drop(emu);
    d.cmd()
        .args([
            "run",
            "--device",
            s(&img),
            "--endpoint",
            "https://127.0.0.1:1",
        ])
        .run();
    assert_eq!(d.creds(&img)["sequence"], 3);
    assert!(before > 0);
}

/// Exits 2 (a damaged record), 3 (the platform refuses), 4 (the platform
/// unreachable, or a server the CA does not vouch for) and 5 (no device).
fn refusals(triple: &str, qemu: &str, machine: &str) {
    let d = Device::new(triple, qemu, machine);
    let (emu, _) = d.emulator(&["gw-arm-02"], &[]);
    d.cmd()
        .args(["run", "--device", s(&d.t.path().join("absent.img"))])
        .status(5)
        .stderr_contains("burnline-bootstrap: storage:")
        .run();
    // Not a device the product lists: the platform refuses.
    let stranger = d.image(&emu.url, "gw-arm-stranger");
    d.cmd()
        .args(["run", "--device", s(&stranger), "--ca-file", s(&d.ca)])
        .status(3)
        .stderr_contains("burnline-bootstrap: refused:")
        .stderr_lacks(PS)
        .run();
    // Without the test CA the emulator's certificate is not trusted, and
    // nothing is sent.
    let img = d.image(&emu.url, "gw-arm-02");
    d.cmd()
        .args(["run", "--device", s(&img)])
        .fails()
        .stderr_contains("certificate")
        .run();
    assert_eq!(emu.registrations_of("gw-arm-02"), 0);
    d.cmd()
        .args([
            "run",
            "--device",
            s(&img),
            "--endpoint",
            "https://127.0.0.1:1",
        ])
        .args(["--ca-file", s(&d.ca)])
        .status(4)
        .stderr_contains("the request was not sent, so a retry is safe")
        .run();
    d.cmd()
        .args(["status", "--device", s(&img), "--partition", "nope"])
        .status(2)
        .stderr_contains("no partition named `nope`")
        .run();
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", (1 << 20) + 30).expect("corrupt");
    d.cmd()
        .args(["status", "--device", s(&img)])
        .status(2)
        .stderr_contains("no valid credential record")
        .run();
    assert_eq!(d.creds(&img)["sequence"], serde_json::Value::Null);
}

/// Power is cut (SIGKILL to qemu-user) after the platform issued and stored
/// the secret, before the device stored it: nothing is written, and the next
/// run registers again (allowed until the first MQTT connect) and stores.
fn power_cut_after_the_platform_stored_the_secret(triple: &str, qemu: &str, machine: &str) {
    let d = Device::new(triple, qemu, machine);
    let name = "gw-arm-03";
    let (emu, state) = d.emulator(&[name], &["--hold-answer-ms", "4000"]);
    let img = d.image(&emu.url, name);
    let mut boot = d
        .cmd()
        .args(["run", "--device", s(&img), "--ca-file", s(&d.ca)])
        .signal(9)
        .spawn();
    let held = "emulator: POST /auth/register/device: handled; holding the answer for 4000 ms";
    let start = Instant::now();
    while !emu.log_text().contains(held) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the answer was never held: {}",
            emu.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    boot.kill();
    boot.wait();
    assert!(emu.registered(name));
    let first = state_secrets(&state);
    assert_eq!(first.len(), 1);
    assert_eq!(d.creds(&img)["sequence"], 1, "nothing may be stored yet");
    drop(emu);

    let (emu, state) = d.emulator(&[name], &[]);
    d.cmd()
        .args(["run", "--device", s(&img), "--ca-file", s(&d.ca)])
        .args(["--endpoint", &emu.url])
        .run();
    let ds = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == name)
        .expect("issued")
        .1;
    let c = d.creds(&img);
    assert_eq!(c["device_secret"], ds.as_str());
    assert_eq!(c["sequence"], 3);
}

#[test]
fn aarch64_registers_once_stores_and_stays_offline() {
    let (t, q, m) = ARCHES[0];
    registers_stores_and_stays_offline(t, q, m);
}

#[test]
fn armv7_registers_once_stores_and_stays_offline() {
    let (t, q, m) = ARCHES[1];
    registers_stores_and_stays_offline(t, q, m);
}

#[test]
fn aarch64_refusals_exit_with_their_codes() {
    let (t, q, m) = ARCHES[0];
    refusals(t, q, m);
}

#[test]
fn armv7_refusals_exit_with_their_codes() {
    let (t, q, m) = ARCHES[1];
    refusals(t, q, m);
}

#[test]
fn aarch64_power_cut_after_the_platform_stored_the_secret() {
    let (t, q, m) = ARCHES[0];
    power_cut_after_the_platform_stored_the_secret(t, q, m);
}

#[test]
fn armv7_power_cut_after_the_platform_stored_the_secret() {
    let (t, q, m) = ARCHES[1];
    power_cut_after_the_platform_stored_the_secret(t, q, m);
}
