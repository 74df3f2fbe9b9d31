//! A real arm64 boot (issue 25 item 4): a burned 一型一密 image whose rootfs
//! is Debian 12 arm64 with systemd (made by `BOOT_ARCH=arm64
//! scripts/boot-image.sh` through qemu-user and binfmt_misc, cached like
//! the x86 one) and the aarch64 `burnline-bootstrap` of
//! `scripts/cross-bootstrap.sh` boots under `qemu-system-aarch64 -M virt`
//! (TCG) with Debian's arm64 cloud kernel, on the restricted network of
//! `boot_common`. The first boot registers over TLS, stores the triple, the
//! edge stand-in starts with it and the device shows online over MQTT; only
//! the platform's address is reachable. A second boot with the emulator
//! stopped comes up from the stored triple with no connection. Prints the
//! scenario times.

mod boot_common;
mod common;

use boot_common::platform::{Platform, ENDPOINT};
use boot_common::shared::{select_arm64, shared};
use boot_common::vm::Guest;
use common::images::inspect_json;
use common::{s, Test, PK, PS};
use std::fs;
use std::time::{Duration, Instant};

/// How long an arm64 boot under TCG may take to reach what the test waits
/// for (several times an x86 boot; a busy machine needs more).
const LIMIT: Duration = Duration::from_secs(900);

/// The line the edge stand-in prints when it starts.
const EDGE: &str = "boot-test: edge started at ";

#[test]
fn an_arm64_image_registers_over_tls_then_boots_from_the_stored_triple() {
    select_arm64();
    let started = Instant::now();
    let t = Test::new();
    let dn = "gw-arm64-boot";
    let sh = shared();
    assert_eq!((sh.arch, sh.accel), ("arm64", "tcg"));
    let setup = started.elapsed();
    let rootfs_mib = fs::metadata(&sh.rootfs)
        .expect("the rootfs image")
        .len()
        .div_ceil(1 << 20);
    let recipe = format!(
        "disk:\n  size: {}MiB\n  table: gpt\n  arch: aarch64\n  seed: 0123456789abcdef0123456789abcdef\n\
         partitions:\n  - name: rootfs\n    size: {rootfs_mib}MiB\n    type: linux\n    image: {}\n\
         \x20 - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n\
         auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {ENDPOINT}\n",
        rootfs_mib + 4,
        s(&sh.rootfs)
    );
    fs::write(t.path().join("recipe.yaml"), recipe).expect("recipe");
    fs::write(t.path().join("devices.csv"), format!("DeviceName\n{dn}\n")).expect("csv");
    t.burnline()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .current_dir(t.path())
        .env("TEST_PS", PS)
        .run();
    let img = t.path().join(format!("out/{dn}.img"));

    let mut platform = Platform::new(t.path(), &[dn]);
    platform.start(&[]);
    let blocked = ["10.0.2.3:53", "10.0.2.100:80", "10.0.2.100:1883"];
    let probe = format!(
        "burnline.test.probe=10.0.2.100:443,10.0.2.100:8883,{}",
        blocked.join(",")
    );
    let first_start = Instant::now();
    let mut boot = Guest::new(t.path(), "arm64-first", &img)
        .network(&platform)
        .cmdline("systemd.wants=boot-test-probe.service")
        .cmdline(probe)
        .cmdline("burnline.test.probe_timeout=20")
        .cmdline("burnline.test.online")
        .boot();
    let edge_at = boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert_eq!(platform.registrations(dn), 1, "{}", platform.log_text());
    let who = format!("PRODUCT_KEY={PK} DEVICE_NAME={dn} DEVICE_SECRET=<32 chars>");
    assert!(console.contains(&format!("s: {who}")), "{console}");
    assert!(
        console.contains("boot-test: online check passed"),
        "{console}"
    );
    for target in ["10.0.2.100:443", "10.0.2.100:8883"] {
        assert!(
            console.contains(&format!("boot-test: probe {target} connected")),
            "{console}"
        );
    }
    for target in blocked {
        assert!(
            console.contains(&format!("boot-test: probe {target} refused or unreachable")),
            "{target} was reachable from the guest:\n{console}"
        );
    }
    let ds = platform.issued(dn).expect("issued");
    let record = inspect_json(&t, &img, true)["credentials"].clone();
    assert_eq!(record["device_secret"], ds.as_str());
    assert!(
        !console.contains(&ds) && !console.contains(PS),
        "a secret is on the console"
    );
    let listed = platform.device(dn);
    assert!(listed.activated && listed.secrets_issued == 1, "{listed:?}");
    println!(
        "arm64 first boot, registered, online, edge started after {edge_at:.1?}: {:.1?}",
        first_start.elapsed()
    );

    platform.stop();
    let connections = platform.connections();
    let second_start = Instant::now();
    let mut boot = Guest::new(t.path(), "arm64-second", &img)
        .network(&platform)
        .boot();
    let edge_at = boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert!(console.contains(&format!("s: {who}")), "{console}");
    assert_eq!(platform.connections(), connections, "{console}");
    assert!(
        !console.contains("burnline-bootstrap-at-boot: try"),
        "{console}"
    );
    assert_eq!(inspect_json(&t, &img, true)["credentials"]["sequence"], 3);
    println!(
        "arm64 second boot, platform stopped, edge started after {edge_at:.1?}: {:.1?}",
        second_start.elapsed()
    );
    println!("arm64 setup (rootfs, kernel, initramfs): {setup:.1?}");
}
