//! Boot-proven images (issue #14): images built by burnline, with a Debian
//! 12 rootfs as an `image:` partition and a credentials partition, boot
//! under QEMU (the Debian cloud kernel; KVM only where it really works,
//! else TCG). systemd runs the bootstrap through the example units, the
//! edge stand-in starts with the exported identity, and the guest's only
//! way out is the emulator behind one forwarded address (`boot_common`).
//!
//! Scenarios: the first boot registers and the triple is accepted, a
//! second boot with the platform stopped makes no connection, a boot with
//! no network interface reaches the edge service within 30 s, the platform
//! down at first boot and then up starts the edge service without a
//! reboot, 一机一密 is ready without network, two disks with a creds
//! partition stop the unit; and power cuts (SIGKILL to QEMU) at eleven
//! fixed points, each followed by a boot with the platform up, after which
//! the device holds a triple the platform accepts for an MQTT login, with
//! no record ever invalid. And a registered device whose slots are damaged
//! by one flipped bit each in turn starts the edge service from the stored
//! triple every time, with no network. Each test prints how long it took.
//! docs/device-integration.md shows how to run it, and its steps by hand
//! for one's own recipe (a CA for 10.0.2.100, `scripts/boot-image.sh`, the
//! emulator over TLS, QEMU with the guest network forwarded to it).

mod boot_common;
mod common;

use boot_common::platform::{Platform, ENDPOINT};
use boot_common::shared::shared;
use boot_common::vm::{Boot, Guest};
use burnline_core::credentials::record::{SlotError, Slots};
use common::images::inspect_json;
use common::{s, Test, DS1, PK, PS};
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a boot may take to reach what a test waits for. A boot takes
/// about 20 s under TCG on these machines; this leaves room for a busy
/// machine.
const LIMIT: Duration = Duration::from_secs(150);

/// The line the edge stand-in prints when it starts.
const EDGE: &str = "boot-test: edge started at ";

/// A recipe with the shared rootfs and a credentials partition, and `auth`.
fn recipe(auth: &str) -> String {
    let sh = shared();
    let rootfs_mib = fs::metadata(&sh.rootfs)
        .expect("the rootfs image")
        .len()
        .div_ceil(1 << 20);
    format!(
        "disk:\n  size: {}MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n\
         partitions:\n  - name: rootfs\n    size: {rootfs_mib}MiB\n    type: linux\n    image: {}\n\
         \x20 - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n{auth}",
        rootfs_mib + 4,
        s(&sh.rootfs)
    )
}

/// Builds 一型一密 images for `names`, recording the guest's endpoint.
fn product_secret_images(t: &Test, names: &[&str]) -> Vec<PathBuf> {
    let auth = format!(
        "auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {ENDPOINT}\n"
    );
    let csv: String = std::iter::once("DeviceName".to_owned())
        .chain(names.iter().map(|n| (*n).to_owned()))
        .map(|l| l + "\n")
        .collect();
    build(t, &auth, &csv, names)
}

fn build(t: &Test, auth: &str, csv: &str, names: &[&str]) -> Vec<PathBuf> {
    let dir = t.path();
    fs::write(dir.join("recipe.yaml"), recipe(auth)).expect("recipe");
    fs::write(dir.join("devices.csv"), csv).expect("csv");
    t.burnline()
        .arg("build")
        .arg(dir.join("recipe.yaml"))
        .arg("--devices")
        .arg(dir.join("devices.csv"))
        .arg("--out")
        .arg(dir.join("out"))
        .env("TEST_PS", PS)
        .run();
    names
        .iter()
        .map(|n| dir.join("out").join(format!("{n}.img")))
        .collect()
}

/// What the edge stand-in printed: (uptime in seconds, the rest of its
/// line: `PRODUCT_KEY=.. DEVICE_NAME=.. DEVICE_SECRET=<N chars>`).
fn edge_started(console: &str) -> Option<(f64, String)> {
    let line = console.lines().find(|l| l.contains(EDGE))?;
    let rest = &line[line.find(EDGE)? + EDGE.len()..];
    let (uptime, identity) = rest.split_once("s: ")?;
    Some((uptime.parse().ok()?, identity.to_owned()))
}

/// The identity line the edge stand-in must print for `dn` (the secret by
/// its length only).
fn identity(dn: &str) -> String {
    format!("PRODUCT_KEY={PK} DEVICE_NAME={dn} DEVICE_SECRET=<32 chars>")
}

/// Neither secret of the device ever shows on the console.
#[track_caller]
fn assert_no_secret(boot: &Boot, secrets: &[&str]) {
    let console = boot.console();
    for secret in secrets.iter().chain(&[PS]) {
        assert!(
            !console.contains(secret),
            "a secret is on the console:\n{console}"
        );
    }
}

/// The credential record `inspect` shows (secrets revealed).
fn record(t: &Test, img: &Path) -> serde_json::Value {
    inspect_json(t, img, true)["credentials"].clone()
}

/// The credentials partition's (start, size) in bytes, as `inspect` lists it.
fn creds_partition(t: &Test, img: &Path) -> (u64, u64) {
    let parts = inspect_json(t, img, false)["partitions"].clone();
    let creds = parts
        .as_array()
        .expect("partitions")
        .iter()
        .find(|p| p["name"] == "creds")
        .expect("a creds partition")
        .clone();
    (
        creds["start"].as_u64().expect("start"),
        creds["size"].as_u64().expect("size"),
    )
}

/// Each slot of the credentials partition holds a valid record or nothing
/// (never a torn or corrupted one).
#[track_caller]
fn assert_slots_valid(t: &Test, img: &Path) {
    let (start, size) = creds_partition(t, img);
    let mut bytes = vec![0u8; size as usize];
    fs::File::open(img)
        .expect("image")
        .read_exact_at(&mut bytes, start)
        .expect("read the creds partition");
    let slots = Slots::read(&bytes);
    for (name, slot) in [("A", &slots.a), ("B", &slots.b)] {
        assert!(
            matches!(slot, Ok(_) | Err(SlotError::NoMagic)),
            "{}: slot {name} is invalid: {:?}",
            img.display(),
            slot.as_ref().err()
        );
    }
    assert!(slots.active().is_some(), "no valid record at all");
}

/// The record is the full triple the platform issued to `dn`, and the
/// emulator lists the device as activated.
#[track_caller]
fn assert_holds_issued_triple(t: &Test, img: &Path, platform: &Platform, dn: &str) {
    let issued = platform.issued(dn).expect("the platform issued a secret");
    let r = record(t, img);
    assert_eq!(r["device_secret"], issued.as_str(), "{r}");
    assert!(r["product_secret"].is_null(), "the ProductSecret was kept");
    assert_slots_valid(t, img);
}

#[test]
fn first_boot_registers_then_the_stored_triple_needs_no_network() {
    let started = Instant::now();
    let t = Test::new();
    let dn = "gw-boot-first";
    let mut platform = Platform::new(t.path(), &[dn]);
    platform.start(&[]);
    let img = &product_secret_images(&t, &[dn])[0];
    assert_eq!(record(&t, img)["sequence"], 1);

    // What the guest must not reach: a listener on the host's loopback
    // (10.0.2.2 is the host in QEMU's user network), the emulator's real
    // port, the user network's DNS, and the platform's address on another
    // port. The forwarded address itself must connect.
    let canary = TcpListener::bind("127.0.0.1:0").expect("canary");
    canary.set_nonblocking(true).expect("canary");
    let canary_port = canary.local_addr().expect("canary").port();
    let emu = platform.emulator();
    let https_port = emu.url.rsplit(':').next().expect("port").to_owned();
    let mqtts_port = emu.mqtts.as_deref().expect("mqtts");
    let mqtts_port = mqtts_port.rsplit(':').next().expect("port").to_owned();
    let blocked = [
        format!("10.0.2.2:{canary_port}"),
        format!("10.0.2.2:{https_port}"),
        format!("10.0.2.2:{mqtts_port}"),
        format!("10.0.2.2:{}", emu.mqtt_port()),
        "10.0.2.3:53".to_owned(),
        "10.0.2.100:80".to_owned(),
        "10.0.2.100:1883".to_owned(),
    ];
    let probe = format!(
        "burnline.test.probe=10.0.2.100:443,10.0.2.100:8883,{}",
        blocked.join(",")
    );

    let mut boot = Guest::new(t.path(), "first", img)
        .network(&platform)
        .cmdline("systemd.wants=boot-test-probe.service")
        .cmdline(probe)
        .cmdline("burnline.test.online")
        .boot();
    let edge_at = boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert_eq!(platform.registrations(dn), 1, "{}", platform.log_text());
    let (_, who) = edge_started(&console).expect("the edge line");
    assert_eq!(who, identity(dn));
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
    for target in &blocked {
        assert!(
            console.contains(&format!("boot-test: probe {target} refused or unreachable")),
            "{target} was reachable from the guest:\n{console}"
        );
    }
    assert!(
        canary.accept().is_err(),
        "the guest reached the host's loopback"
    );
    assert_holds_issued_triple(&t, img, &platform, dn);
    let ds = platform.issued(dn).expect("issued");
    assert_no_secret(&boot, &[&ds]);
    // Activated by its first MQTT login, the edge stand-in's online check.
    let listed = platform.device(dn);
    assert!(listed.activated && listed.secrets_issued == 1, "{listed:?}");
    let first = started.elapsed();
    println!("first boot, registered, edge started after {edge_at:.1?}: {first:.1?}");

    // The platform stopped: the second boot reaches the edge service with
    // no connection at all.
    platform.stop();
    let connections = platform.connections();
    let second_start = Instant::now();
    let mut boot = Guest::new(t.path(), "second", img)
        .network(&platform)
        .boot();
    let edge_at = boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert_eq!(edge_started(&console).expect("edge").1, identity(dn));
    assert_eq!(platform.connections(), connections, "{console}");
    assert!(
        !console.contains("burnline-bootstrap-at-boot: try"),
        "{console}"
    );
    // Registered into slot B (2), then copied into slot A (3).
    assert_eq!(record(&t, img)["sequence"], 3);
    assert_no_secret(&boot, &[&ds]);
    println!(
        "second boot, platform stopped, edge started after {edge_at:.1?}: {:.1?}",
        second_start.elapsed()
    );

    // No network interface at all: no wait for network-online.target.
    let third_start = Instant::now();
    let mut boot = Guest::new(t.path(), "no-nic", img).boot();
    boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    let (uptime, who) = edge_started(&console).expect("edge");
    assert_eq!(who, identity(dn));
    assert!(
        uptime < 30.0,
        "the edge service started {uptime} s after power-on:\n{console}"
    );
    assert!(!console.contains("network-online"), "{console}");
    assert_no_secret(&boot, &[&ds]);
    println!(
        "boot without a network interface, edge started at {uptime:.1} s uptime: {:.1?}",
        third_start.elapsed()
    );
    println!(
        "(setup shared by all boot tests: {:.1?}, accel {})",
        shared().setup,
        shared().accel
    );
}

#[test]
fn the_platform_down_at_first_boot_then_up_starts_the_edge_without_a_reboot() {
    let started = Instant::now();
    let t = Test::new();
    let dn = "gw-boot-late";
    let mut platform = Platform::new(t.path(), &[dn]);
    let img = &product_secret_images(&t, &[dn])[0];
    let mut boot = Guest::new(t.path(), "late", img)
        .network(&platform)
        .cmdline("burnline.test.online")
        .boot();
    // The network is up, the platform is not: the unit says it tries again.
    boot.wait_console("this unit tries again in 30 s", LIMIT);
    assert!(platform.connections() >= 1);
    assert!(edge_started(&boot.console()).is_none());
    assert_eq!(record(&t, img)["sequence"], 1);
    platform.start(&[]);
    let up_at = boot.elapsed();
    let edge_at = boot.wait_console(EDGE, up_at + Duration::from_secs(90));
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert_eq!(platform.registrations(dn), 1, "{}", platform.log_text());
    assert_eq!(edge_started(&console).expect("edge").1, identity(dn));
    assert!(
        console.contains("boot-test: online check passed"),
        "{console}"
    );
    assert_holds_issued_triple(&t, img, &platform, dn);
    assert_no_secret(&boot, &[&platform.issued(dn).expect("issued")]);
    println!(
        "platform down at first boot, up after {up_at:.1?}, edge started after {edge_at:.1?} \
         (one boot): {:.1?}",
        started.elapsed()
    );
}

#[test]
fn a_device_secret_image_is_ready_without_network() {
    let started = Instant::now();
    let t = Test::new();
    let dn = "gw-boot-triple";
    let csv = format!("DeviceName,DeviceSecret,ProductKey\n{dn},{DS1},{PK}\n");
    let auth = format!("auth:\n  mode: device-secret\n  product_key: {PK}\n");
    let img = &build(&t, &auth, &csv, &[dn])[0];
    let mut boot = Guest::new(t.path(), "triple", img).boot();
    boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    let (uptime, who) = edge_started(&console).expect("edge");
    assert_eq!(who, identity(dn));
    assert!(
        !console.contains("burnline-bootstrap-at-boot: try"),
        "{console}"
    );
    assert_eq!(record(&t, img)["device_secret"], DS1);
    // Copied into the empty slot B, so that both slots hold it.
    assert_eq!(record(&t, img)["sequence"], 2);
    assert!(
        console.contains("copied the triple from slot A into slot B"),
        "{console}"
    );
    assert_slots_valid(&t, img);
    assert_no_secret(&boot, &[DS1]);
    println!(
        "一机一密 without network, edge started at {uptime:.1} s uptime: {:.1?}",
        started.elapsed()
    );
}

#[test]
fn two_disks_with_a_creds_partition_stop_the_bootstrap_rather_than_guess() {
    // A card burned for the line left in its slot next to the eMMC: the
    // bootstrap must not pick one.
    let started = Instant::now();
    let t = Test::new();
    let names = ["gw-boot-emmc", "gw-boot-card"];
    let imgs = product_secret_images(&t, &names);
    let mut boot = Guest::new(t.path(), "two-disks", &imgs[0])
        .disk(&imgs[1])
        .boot();
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert!(
        console.contains("burnline-bootstrap-at-boot: 2 partitions are named creds (on: /dev/vd"),
        "{console}"
    );
    assert!(
        console.contains("Dependency failed for linkedge.service"),
        "{console}"
    );
    assert!(edge_started(&console).is_none(), "{console}");
    for img in &imgs {
        assert_eq!(record(&t, img)["sequence"], 1);
    }
    assert_no_secret(&boot, &[]);
    println!(
        "two disks with a creds partition, the unit stops: {:.1?}",
        started.elapsed()
    );
}

#[test]
fn a_flipped_bit_in_either_slot_keeps_the_stored_triple() {
    // Worn SD cards and eMMC flip bits: one flipped bit in one slot, then
    // (after a boot) one in the other, must never lose an activated
    // device's identity.
    let started = Instant::now();
    let t = Test::new();
    let dn = "gw-boot-flip";
    let mut platform = Platform::new(t.path(), &[dn]);
    platform.start(&[]);
    let img = &product_secret_images(&t, &[dn])[0];
    let mut boot = Guest::new(t.path(), "flip-first", img)
        .network(&platform)
        .boot();
    boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    assert_eq!(platform.registrations(dn), 1, "{}", platform.log_text());
    assert_holds_issued_triple(&t, img, &platform, dn);
    let r = record(&t, img);
    assert_eq!(
        (r["slot"].as_str(), r["sequence"].as_u64()),
        (Some("A"), Some(3)),
        "{r}"
    );
    let ds = platform.issued(dn).expect("issued");
    platform.stop();
    let (start, size) = creds_partition(&t, img);
    for slot in ["B", "A"] {
        let at = start + if slot == "A" { 0 } else { size / 2 } + 100;
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(img)
            .expect("image");
        let mut byte = [0u8; 1];
        f.read_exact_at(&mut byte, at).expect("read");
        f.write_all_at(&[byte[0] ^ 0x04], at).expect("flip a bit");
        drop(f);
        // No network interface at all: only the stored triple can do.
        let mut boot = Guest::new(t.path(), &format!("flip-{slot}"), img).boot();
        boot.wait_console(EDGE, LIMIT);
        boot.wait_powered_off(LIMIT);
        let console = boot.console();
        assert_eq!(
            edge_started(&console).expect("edge").1,
            identity(dn),
            "{console}"
        );
        assert!(
            console.contains(&format!("slot {slot} is damaged (checksum mismatch")),
            "{console}"
        );
        assert!(
            !console.contains("burnline-bootstrap-at-boot: try"),
            "{console}"
        );
        // The damaged slot was written anew from the other one.
        assert_holds_issued_triple(&t, img, &platform, dn);
        assert_no_secret(&boot, &[&ds]);
        println!("bit flipped in slot {slot}: the edge started from the stored triple");
    }
    assert_eq!(platform.registrations(dn), 1);
    println!(
        "a flipped bit in each slot in turn, three boots: {:.1?}",
        started.elapsed()
    );
}

/// When a power cut happens.
enum When {
    /// The console shows this.
    Console(&'static str),
    /// The guest opened a connection to the platform.
    Connected,
    /// The emulator logged this.
    Emulator(&'static str),
    /// The disk request is held at the breakpoint.
    Suspended,
}

/// What the device holds right after the cut.
#[derive(Debug, PartialEq)]
enum After {
    /// The platform issued nothing: the product certificate only.
    NothingIssued,
    /// The platform issued a secret that the device never stored.
    SecretLost,
    /// The device stored the issued triple.
    TripleStored,
}

/// A fixed point to cut the power at.
struct Cut {
    name: &'static str,
    /// The emulator's options during the cut boot; `None`: not running.
    platform: Option<&'static [&'static str]>,
    breakpoint: Option<&'static str>,
    when: When,
    after: After,
}

/// Boots a fresh 一型一密 image and cuts its power at each of `cuts` in
/// turn (one boot each), checking after each what the device holds; then
/// boots it with the platform up until the edge service starts with a
/// triple the platform accepts for an MQTT login. A device whose secret
/// was lost registers again by itself: it never logged in, so the platform
/// still lets it.
fn power_cut(name: &str, cuts: &[Cut]) {
    let started = Instant::now();
    let t = Test::new();
    let dn = format!("gw-cut-{name}");
    let mut platform = Platform::new(t.path(), &[&dn]);
    let img = &product_secret_images(&t, &[&dn])[0];
    let mut report = Vec::new();
    let mut lost = 0;
    for (i, cut) in cuts.iter().enumerate() {
        match cut.platform {
            Some(args) => platform.start(args),
            None => platform.stop(),
        }
        let log_before = platform.log_text().len();
        let mut guest = Guest::new(t.path(), &format!("cut-{i}"), img).network(&platform);
        if let Some(event) = cut.breakpoint {
            guest = guest.breakpoint(event);
        }
        let mut boot = guest.boot();
        match cut.when {
            When::Console(line) => {
                boot.wait_console(line, LIMIT);
            }
            When::Connected => {
                boot.wait_until("a connection to the platform", LIMIT, || {
                    platform.connections() > 0
                });
            }
            When::Emulator(line) => {
                boot.wait_until(&format!("the emulator to log {line:?}"), LIMIT, || {
                    platform.log_text()[log_before..].contains(line)
                });
            }
            When::Suspended => {
                boot.wait_suspended(LIMIT);
            }
        }
        let cut_at = boot.cut();
        platform.stop();
        assert_no_secret(&boot, &[]);
        assert_slots_valid(&t, img);
        let r = record(&t, img);
        let after = match (r["device_secret"].as_str(), platform.issued(&dn)) {
            (None, None) => After::NothingIssued,
            (None, Some(_)) => After::SecretLost,
            (Some(ds), Some(issued)) if ds == issued => After::TripleStored,
            (Some(_), _) => panic!("the device holds a secret the platform does not know"),
        };
        assert_eq!(after, cut.after, "right after the cut at {}", cut.name);
        lost += usize::from(after == After::SecretLost);
        report.push(format!("{} after {cut_at:.1?} ({after:?})", cut.name));
    }

    platform.start(&[]);
    let before = platform.registrations(&dn);
    let mut boot = Guest::new(t.path(), "recovered", img)
        .network(&platform)
        .cmdline("burnline.test.online")
        .boot();
    boot.wait_console(EDGE, LIMIT);
    boot.wait_powered_off(LIMIT);
    let console = boot.console();
    assert_eq!(edge_started(&console).expect("edge").1, identity(&dn));
    assert!(
        console.contains("boot-test: online check passed"),
        "{console}"
    );
    let registered = platform.registrations(&dn) - before;
    let stored = cuts.last().is_some_and(|c| c.after == After::TripleStored);
    assert_eq!(registered, usize::from(!stored), "{}", platform.log_text());
    assert_holds_issued_triple(&t, img, &platform, &dn);
    let listed = platform.device(&dn);
    assert!(listed.activated, "{listed:?}");
    assert_eq!(
        listed.secrets_issued as usize,
        lost + 1,
        "each lost secret costs one registration, no more: {listed:?}"
    );
    assert_no_secret(&boot, &[&platform.issued(&dn).expect("issued")]);
    println!(
        "power cut {}, then {} boots in all: {:.1?}",
        report.join(", then "),
        cuts.len() + 1,
        started.elapsed()
    );
}

const UP: Option<&[&str]> = Some(&[]);

/// Held after the platform stored the secret (the cut of `stored`).
const HOLD: Option<&[&str]> = Some(&["--hold-answer-ms", "60000"]);

/// The line the emulator logs as it holds such an answer.
const HELD: &str = "emulator: POST /auth/register/device: handled; holding the answer";

#[test]
fn power_cut_in_the_initramfs() {
    power_cut(
        "initramfs",
        &[Cut {
            name: "initramfs",
            platform: UP,
            breakpoint: None,
            when: When::Console("initramfs: the root is"),
            after: After::NothingIssued,
        }],
    );
}

#[test]
fn power_cut_as_the_bootstrap_starts() {
    power_cut(
        "starting",
        &[Cut {
            name: "starting",
            platform: UP,
            breakpoint: None,
            when: When::Console("Starting burnline-bootstrap.service"),
            after: After::NothingIssued,
        }],
    );
}

#[test]
fn power_cut_once_connected() {
    power_cut(
        "connected",
        &[Cut {
            name: "connected",
            platform: Some(&["--delay-ms", "60000"]),
            breakpoint: None,
            when: When::Connected,
            after: After::NothingIssued,
        }],
    );
}

#[test]
fn power_cut_before_the_platform_sees_the_request() {
    power_cut(
        "request",
        &[Cut {
            name: "request",
            platform: Some(&["--delay-ms", "60000"]),
            breakpoint: None,
            when: When::Emulator("emulator: holding POST /auth/register/device"),
            after: After::NothingIssued,
        }],
    );
}

#[test]
fn power_cut_just_after_the_platform_stored_the_secret() {
    power_cut(
        "stored",
        &[Cut {
            name: "stored",
            platform: HOLD,
            breakpoint: None,
            when: When::Emulator(HELD),
            after: After::SecretLost,
        }],
    );
}

#[test]
fn power_cut_during_the_slot_write() {
    power_cut(
        "write",
        &[Cut {
            name: "write",
            platform: UP,
            breakpoint: Some("write_aio"),
            when: When::Suspended,
            after: After::SecretLost,
        }],
    );
}

#[test]
fn power_cut_during_the_sync() {
    // The write reached the disk (cache=none), its flush did not finish.
    power_cut(
        "sync",
        &[Cut {
            name: "sync",
            platform: UP,
            breakpoint: Some("flush_to_disk"),
            when: When::Suspended,
            after: After::TripleStored,
        }],
    );
}

#[test]
fn power_cut_after_the_sync() {
    power_cut(
        "synced",
        &[Cut {
            name: "synced",
            platform: UP,
            breakpoint: None,
            when: When::Console("and stored its triple"),
            after: After::TripleStored,
        }],
    );
}

#[test]
fn power_cut_once_the_edge_service_started() {
    power_cut(
        "edge",
        &[Cut {
            name: "edge",
            platform: UP,
            breakpoint: None,
            when: When::Console(EDGE),
            after: After::TripleStored,
        }],
    );
}

#[test]
fn power_cut_while_waiting_to_retry() {
    power_cut(
        "retry",
        &[Cut {
            name: "retry",
            platform: None,
            breakpoint: None,
            when: When::Console("this unit tries again in 30 s"),
            after: After::NothingIssued,
        }],
    );
}

#[test]
fn power_cut_twice_after_the_platform_stored_the_secret() {
    // The second boot registers again (the device never logged in) and
    // loses that secret too; the third registers once more and logs in.
    let stored = || Cut {
        name: "stored",
        platform: HOLD,
        breakpoint: None,
        when: When::Emulator(HELD),
        after: After::SecretLost,
    };
    power_cut("twice", &[stored(), stored()]);
}
