//! The device side end to end: a 一型一密 image is built, then
//! `burnline-bootstrap` boots it against the emulator (a real process on
//! 127.0.0.1): it registers once, stores the triple, hands it over, and a
//! second boot makes no request. Also: the emulator killed mid-request, an
//! already-activated device, bad records, storage failure, the partition
//! found by GPT name, MBR number or offset, and the binary's footprint. And
//! what must never register (a sequence that cannot grow, a record that
//! would outgrow its slot), offsets past the device, GPT headers with valid
//! CRC32s and impossible fields, a TLS handshake cut short, and a loop
//! device, whose size only the kernel knows; an answer held after the
//! secret was stored, and the example units (`tests/boot.rs` boots them
//! for real, under QEMU). And what must not stop or lose a device: a
//! flipped bit in either slot of a registered device (both slots hold the
//! triple), a newer slot with wrong fields, an MQTT registration whose
//! network is not up at once; what must stop it at once: a region no host
//! name can hold, two partitions named `creds`, overlapping partitions.

mod common;

use common::emulator::{state_secrets, write_products, Emulator};
use common::images::inspect_json;
use common::*;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Builds 一型一密 images for `names` in `t`'s directory, recording
/// `endpoint`; returns the out dir.
fn build_images(t: &Test, endpoint: &str, table: &str, names: &[&str]) -> PathBuf {
    let dir = t.path();
    let creds_type = if table == "gpt" { "linux" } else { "0x83" };
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: {table}\n  seed: 0123456789abcdef0123456789abcdef\n\
         partitions:\n  - name: creds\n    size: 1MiB\n    type: {creds_type}\n    credentials: {{}}\n  - name: data\n    size: fill\n\
         auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {endpoint}\n"
    )
    .replace("\n         ", "\n");
    fs::write(dir.join(format!("{table}.yaml")), recipe).expect("recipe");
    let mut csv = String::from("DeviceName\n");
    for n in names {
        csv.push_str(n);
        csv.push('\n');
    }
    fs::write(dir.join("devices.csv"), csv).expect("csv");
    let out = dir.join(format!("out-{table}"));
    t.burnline()
        .arg("build")
        .arg(dir.join(format!("{table}.yaml")))
        .arg("--devices")
        .arg(dir.join("devices.csv"))
        .arg("--out")
        .arg(&out)
        .env("TEST_PS", PS)
        .run();
    out
}

/// The credentials `inspect --reveal-secrets` shows for `img`.
fn inspect(t: &Test, img: &Path) -> serde_json::Value {
    inspect_json(t, img, true)["credentials"].clone()
}

#[test]
fn first_boot_registers_once_and_second_boot_stays_offline() {
    let t = Test::bootstrap();
    let dir = t.path();
    let products = write_products(dir, &["gw-boot-01", "gw-boot-02"]);
    let state = dir.join("state.json");
    let emu = Emulator::start(dir, &products, &["--state", s(&state)]);
    let out = build_images(&t, &emu.url, "gpt", &["gw-boot-01"]);
    let img = out.join("gw-boot-01.img");

    t.cmd()
        .args(["status", "--device", s(&img), "--partition", "creds"])
        .stdout_contains("mode: product-secret (not yet registered)")
        .stdout_contains("sequence: 1")
        .stdout_lacks(PS)
        .run();

    let env_file = dir.join("device.env");
    let witness = dir.join("exec.txt");
    let r = t
        .cmd()
        .args(["run", "--device", s(&img), "--partition", "creds"])
        .args(["--export-env", s(&env_file), "--exec", "sh", "-c"])
        .arg(format!(
            "printf '%s %s' \"$PRODUCT_KEY\" \"$DEVICE_NAME\" > {}",
            s(&witness)
        ))
        .stderr_lacks(PS)
        .run();
    assert_eq!(emu.registrations_of("gw-boot-01"), 1);
    let issued = state_secrets(&state);
    let ds = &issued
        .iter()
        .find(|(n, _)| n == "gw-boot-01")
        .expect("issued")
        .1;
    assert!(
        !r.stderr.contains(ds.as_str()),
        "the DeviceSecret was printed"
    );

    let c = inspect(&t, &img);
    assert_eq!(c["device_secret"], ds.as_str());
    assert!(c["product_secret"].is_null(), "the ProductSecret was kept");
    // Stored in slot B (2), verified, then copied into slot A (3).
    assert_eq!(
        (c["slot"].as_str(), c["sequence"].as_u64()),
        (Some("A"), Some(3))
    );
    assert!(
        r.stderr
            .contains("copied the triple from slot B into slot A (sequence 3), since slot A holds an older record (sequence 1)"),
        "{}",
        r.stderr
    );

    let env = fs::read_to_string(&env_file).expect("env file");
    assert_eq!(
        env,
        format!("PRODUCT_KEY={PK}\nDEVICE_NAME=gw-boot-01\nDEVICE_SECRET={ds}\n")
    );
    assert_eq!(
        fs::metadata(&env_file).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_to_string(&witness).expect("exec ran"),
        format!("{PK} gw-boot-01")
    );

    // The HTTP device authentication (the MQTT online check, which also
    // activates the device, is in tests/mqtt_end_to_end.rs).
    t.cmd()
        .args(["status", "--device", s(&img), "--check-http-auth"])
        .stdout_contains("http auth: the triple authenticates")
        .stdout_lacks(ds.as_str())
        .run();
    assert!(
        emu.devices()
            .contains(&("gw-boot-01".to_owned(), false, false)),
        "{:?}",
        emu.devices()
    );

    // Second boot: no request at all, even with the platform unreachable.
    let before = emu.log_text().lines().count();
    t.cmd()
        .args([
            "run",
            "--device",
            s(&img),
            "--endpoint",
            "http://127.0.0.1:1",
        ])
        .run();
    assert_eq!(
        emu.log_text().lines().count(),
        before,
        "the second boot talked to the platform"
    );
    assert_eq!(inspect(&t, &img)["sequence"], 3);
}

#[test]
fn a_boot_whose_platform_dies_mid_request_completes_at_the_next_boot() {
    let t = Test::bootstrap();
    let dir = t.path();
    let products = write_products(dir, &["gw-boot-03"]);
    let state = dir.join("state.json");
    let emu = Emulator::start(
        dir,
        &products,
        &["--state", s(&state), "--delay-ms", "5000"],
    );
    let out = build_images(&t, &emu.url, "gpt", &["gw-boot-03"]);
    let img = out.join("gw-boot-03.img");
    // A dead platform is a network failure.
    let boot = t
        .cmd()
        .args(["run", "--device", s(&img)])
        .status(4)
        .stderr_contains("the request may have reached the platform")
        .stderr_contains("the systemd unit runs the bootstrap again")
        .stderr_lacks("retry is safe")
        .stderr_lacks("next boot")
        .spawn();
    let start = Instant::now();
    while emu.held() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the request never reached the emulator"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(emu); // the platform dies while holding the request
    boot.wait();
    assert_eq!(
        inspect(&t, &img)["sequence"],
        1,
        "nothing may be written without a secret"
    );

    let emu = Emulator::start(dir, &products, &["--state", s(&state)]);
    t.cmd()
        .args(["run", "--device", s(&img), "--endpoint", &emu.url])
        .run();
    let ds = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == "gw-boot-03")
        .expect("issued")
        .1;
    assert_eq!(inspect(&t, &img)["device_secret"], ds.as_str());
    assert!(emu.registered("gw-boot-03"));
}

#[test]
fn the_emulator_can_hold_an_answer_after_it_stored_the_secret() {
    // `--hold-answer-ms`: the window the boot test cuts power in.
    let t = Test::bootstrap();
    let dir = t.path();
    let products = write_products(dir, &["gw-boot-06"]);
    let state = dir.join("state.json");
    let emu = Emulator::start(
        dir,
        &products,
        &["--state", s(&state), "--hold-answer-ms", "4000"],
    );
    let out = build_images(&t, &emu.url, "gpt", &["gw-boot-06"]);
    let img = out.join("gw-boot-06.img");
    let boot = t.cmd().args(["run", "--device", s(&img)]).spawn();
    let start = Instant::now();
    let held = "emulator: POST /auth/register/device: handled; holding the answer for 4000 ms";
    while !emu.log_text().contains(held) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the answer was never held: {}",
            emu.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Issued and saved by the platform, not yet on the device; the admin
    // API is not held.
    let asked = Instant::now();
    assert!(emu.registered("gw-boot-06"));
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the admin API was held"
    );
    assert_eq!(state_secrets(&state).len(), 1);
    assert_eq!(inspect(&t, &img)["sequence"], 1);
    boot.wait();
    assert!(start.elapsed() >= Duration::from_millis(3500));
    assert_eq!(
        inspect(&t, &img)["device_secret"],
        state_secrets(&state)[0].1.as_str()
    );
}

#[test]
fn an_already_activated_device_says_to_delete_it_in_the_console() {
    let t = Test::bootstrap();
    let products = write_products(t.path(), &["gw-boot-04"]);
    let emu = common::mqtt::MqttEmulator::start(t.path(), &products, None, &[]);
    let out = build_images(&t, &emu.url, "mbr", &["gw-boot-04"]);
    let img = out.join("gw-boot-04.img");
    // Registered elsewhere, and activated by a login with that secret.
    let ds = common::emulator::register(&t, &emu.url, "gw-boot-04", &[]);
    let (cid, user, pw) = common::mqtt::plain_credentials(&t, PK, "gw-boot-04", &ds);
    let port = emu.mqtt_port().to_string();
    common::mqtt::mosquitto_pub(&t)
        .args(["-h", "127.0.0.1", "-p", &port, "-i", &cid, "-u", &user])
        .args(["-P", &pw, "-t", "/x", "-m", "x"])
        .run();
    t.cmd()
        .args(["run", "--device", s(&img), "--partition", "1"])
        .status(3)
        .stderr_contains("delete the device in the IoT console")
        .stderr_contains("reset it")
        .stderr_contains(
            "holds only the product certificate (slot A (sequence 1) is the record in use; slot B is empty)",
        )
        .stderr_lacks("no slot holds a DeviceSecret")
        .run();
    assert_eq!(inspect(&t, &img)["sequence"], 1);
}

#[test]
fn bad_records_storage_failures_and_partition_lookup() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-boot-05"]);
    let img = out.join("gw-boot-05.img");
    // Found by explicit offset and size (the creds partition starts at 1 MiB).
    t.cmd()
        .args(["status", "--device", s(&img)])
        .args(["--offset", "1048576", "--size", "1048576"])
        .run();
    // Unknown partition name, missing device.
    t.cmd()
        .args(["status", "--device", s(&img), "--partition", "nope"])
        .status(2)
        .stderr_contains("no partition named `nope`")
        .run();
    t.cmd()
        .args(["run", "--device", s(&t.path().join("absent.img"))])
        .status(5)
        .run();
    // The platform unreachable: a network failure, nothing written, and a
    // retry is safe since nothing was sent.
    t.cmd()
        .args(["run", "--device", s(&img)])
        .status(4)
        .stderr_contains(
            "connection refused (after 3 tries); the request was not sent, so a retry is safe",
        )
        .run();
    // A corrupted record: exit 2.
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", (1 << 20) + 30).expect("corrupt");
    t.cmd()
        .args(["status", "--device", s(&img)])
        .status(2)
        .stderr_contains("no valid credential record")
        .run();
}

#[test]
fn the_bootstrap_links_no_image_building_code() {
    // nm: Debian package binutils.
    let syms = Test::new()
        .tool("nm")
        .args(["-C", "--defined-only"])
        .arg(bootstrap_bin())
        .stdout_contains("burnline_bootstrap::store::write_next")
        .run()
        .stdout;
    let forbidden = [
        "fatfs::",
        "rayon::",
        "indicatif::",
        "csv::",
        "yaml_serde::",
        // The host crate: the bootstrap crate cannot depend on it (the
        // compiler enforces that); this checks the linked result as well.
        "burnline::",
        // The device side's MQTT client is synchronous: no async runtime.
        "tokio::",
        "hyper::",
        "axum::",
    ];
    // LLVM merges identical functions into aliases: `drop_in_place<Vec<String>>`
    // may also carry the name of a rayon type's identical drop glue. A name
    // counts only if no allowed name shares its address (its code).
    let mut by_addr: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for line in syms.lines() {
        let mut parts = line.splitn(3, ' ');
        if let (Some(addr), Some(_), Some(name)) = (parts.next(), parts.next(), parts.next()) {
            by_addr.entry(addr).or_default().push(name);
        }
    }
    for names in by_addr.values() {
        let bad = |n: &str| forbidden.iter().any(|k| n.contains(k));
        if let Some(name) = names.iter().find(|n| bad(n)) {
            assert!(
                names.iter().any(|n| !bad(n)),
                "burnline-bootstrap links {name}"
            );
        }
    }
}

#[test]
fn the_systemd_units_are_valid_and_wait_for_the_network_only_to_register() {
    let t = Test::new();
    let read =
        |name: &str| fs::read_to_string(repo_root().join("examples").join(name)).expect(name);
    let unit = read("burnline-bootstrap.service");
    let dropin = read("linkedge.service.d-burnline.conf");
    let at_boot = repo_root().join("examples/burnline-bootstrap-at-boot");
    // The start job stays open across retries (tests/boot.rs boots it): a
    // oneshot whose program retries, not systemd's Restart=, which fails the
    // edge unit's dependency at the first network failure.
    for want in [
        "Type=oneshot",
        "RemainAfterExit=yes",
        "TimeoutStartSec=infinity",
        "ExecStart=/usr/libexec/burnline-bootstrap-at-boot",
        "Before=linkedge.service",
        "After=dev-disk-by\\x2dpartlabel-creds.device",
    ] {
        assert!(unit.contains(want), "the unit lacks {want}:\n{unit}");
    }
    // A stored triple needs no network: the unit itself never waits for it.
    let settings: Vec<&str> = unit.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        !settings
            .iter()
            .any(|l| l.contains("network") || l.starts_with("Restart")),
        "{unit}"
    );
    for want in [
        "Requires=burnline-bootstrap.service",
        "After=burnline-bootstrap.service",
    ] {
        assert!(dropin.contains(want), "the drop-in lacks {want}:\n{dropin}");
    }
    // sh: the program's syntax.
    t.tool("sh").arg("-n").arg(&at_boot).run();
    let t = t
        .file(
            "burnline-bootstrap.service",
            unit.replace("/usr/libexec/burnline-bootstrap-at-boot", s(&at_boot)),
        )
        .file(
            "linkedge.service",
            "[Unit]\nDescription=edge\n[Service]\nExecStart=/bin/true\n",
        )
        .file("linkedge.service.d/burnline.conf", dropin);
    // systemd-analyze: Debian package systemd. It has nothing to say.
    t.tool("systemd-analyze")
        .args([
            "verify",
            "--man=no",
            "./burnline-bootstrap.service",
            "./linkedge.service",
        ])
        .stdout("")
        .stderr("")
        .run();
}

/// Where `build_images` puts the creds partition.
const CREDS_AT: u64 = 1 << 20;

/// The payload of slot A of the creds partition of `img` (read by the
/// format's page, docs/credential-record.md, not by the code under test).
fn slot_a_payload(img: &Path) -> Vec<u8> {
    let f = fs::File::open(img).expect("open");
    let mut head = [0u8; 64];
    f.read_exact_at(&mut head, CREDS_AT).expect("read slot A");
    assert_eq!(&head[..8], b"BURNCRED");
    let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
    let mut payload = vec![0u8; len as usize];
    f.read_exact_at(&mut payload, CREDS_AT + 64)
        .expect("read the payload");
    payload
}

/// Writes `payload` as the record in slot A of the partition at `at`, with
/// `sequence`, encoded by the format's page.
fn write_slot(img: &Path, at: u64, sequence: u64, payload: &[u8]) {
    use sha2::Digest;
    let mut rec = b"BURNCRED".to_vec();
    rec.extend_from_slice(&1u16.to_le_bytes());
    rec.extend_from_slice(&64u16.to_le_bytes());
    rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    rec.extend_from_slice(&sequence.to_le_bytes());
    let mut h = sha2::Sha256::new();
    h.update(&rec);
    h.update(payload);
    rec.extend_from_slice(&h.finalize());
    rec.extend_from_slice(&[0u8; 8]);
    rec.extend_from_slice(payload);
    let f = fs::OpenOptions::new().write(true).open(img).expect("open");
    f.write_all_at(&rec, at).expect("write slot");
}

/// The emulator's log lines about registrations, whatever the device.
fn registrations(emu: &Emulator) -> usize {
    emu.log_text()
        .lines()
        .filter(|l| l.starts_with("emulator: register "))
        .count()
}

#[test]
fn a_record_whose_sequence_cannot_grow_does_not_register() {
    let t = Test::bootstrap();
    let products = write_products(t.path(), &["gw-seq-01"]);
    let emu = Emulator::start(t.path(), &products, &[]);
    let out = build_images(&t, &emu.url, "gpt", &["gw-seq-01"]);
    let img = out.join("gw-seq-01.img");
    let payload = slot_a_payload(&img);
    write_slot(&img, CREDS_AT, u64::MAX, &payload);
    let before = fs::read(&img).expect("image");

    let r = t
        .cmd()
        .args(["run", "--device", s(&img)])
        .status(2)
        .stderr_contains("has sequence 18446744073709551615, the largest there is")
        .stderr_contains("not registering")
        .stderr_contains("burn the credentials partition anew")
        .run();
    assert_eq!(
        registrations(&emu),
        0,
        "it asked the platform: {}",
        r.stderr
    );
    assert!(
        fs::read(&img).expect("image") == before,
        "the image was written"
    );
    // The same record one below the top registers and stores sequence u64::MAX.
    write_slot(&img, CREDS_AT, u64::MAX - 1, &payload);
    t.cmd().args(["run", "--device", s(&img)]).run();
    assert_eq!(inspect(&t, &img)["sequence"].as_u64(), Some(u64::MAX));
}

#[test]
fn a_record_that_would_outgrow_its_slot_once_registered_does_not_register() {
    let t = Test::bootstrap();
    let products = write_products(t.path(), &["gw-fit-01"]);
    let emu = Emulator::start(t.path(), &products, &[]);
    let dev = t.path().join("device.bin");
    fs::write(&dev, vec![0u8; 8192]).expect("device");
    let payload = format!(
        r#"{{"product_key":"{PK}","device_name":"gw-fit-01","product_secret":"{PS}","region":"cn-shanghai","endpoint":"{}"}}"#,
        emu.url
    );
    // Registering drops the ProductSecret (36 bytes) and adds a DeviceSecret
    // (51 bytes): the registered record needs 15 bytes more. A partition at
    // 4096 of a plain file whose slots are one byte short of that.
    let needed = 64 + payload.len() + 15;
    write_slot(&dev, 4096, 1, payload.as_bytes());
    let before = fs::read(&dev).expect("device");
    let short = (2 * (needed - 1)).to_string();
    let part = ["--device", s(&dev), "--offset", "4096", "--size", &short];

    // The record itself is valid.
    t.cmd().arg("status").args(part).run();
    let r = t
        .cmd()
        .arg("run")
        .args(part)
        .status(2)
        .stderr_contains(format!(
            "once registered, the record can need {needed} bytes (with a 32-character DeviceSecret), \
             more than a {}-byte slot",
            needed - 1
        ))
        .stderr_contains("not registering")
        .stderr_contains(format!("at least {} bytes", 2 * needed))
        .run();
    assert_eq!(
        registrations(&emu),
        0,
        "it asked the platform: {}",
        r.stderr
    );
    assert!(
        fs::read(&dev).expect("device") == before,
        "the device was written"
    );

    // One byte more per slot, the registered record just fits: it registers.
    let fits = (2 * needed).to_string();
    let part = ["--device", s(&dev), "--offset", "4096", "--size", &fits];
    t.cmd().arg("run").args(part).run();
    assert_eq!(emu.registrations_of("gw-fit-01"), 1);
}

#[test]
fn an_offset_or_size_past_the_device_is_a_usage_error() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-off-01"]);
    let img = out.join("gw-off-01.img");
    let len = fs::metadata(&img).expect("meta").len().to_string();
    let cases: [(&str, &str); 5] = [
        (&len, "2048"),
        ("1048576", "1099511627776"),       // 1 TiB
        ("1048576", "9223372036854775808"), // 2^63
        ("18446744073709551615", "2048"),   // the sum overflows
        ("7340032", "2097152"),             // starts inside, ends past
    ];
    for (offset, size) in cases {
        for cmd in ["run", "status"] {
            t.cmd()
                .args([cmd, "--device", s(&img), "--offset", offset, "--size", size])
                .status(2)
                .stderr_contains("command line: ")
                .stderr_contains("ends past the end of the device (8388608 bytes)")
                .stderr_lacks("panicked")
                .run();
        }
    }
    // The last byte of the device is still inside it.
    t.cmd()
        .args(["status", "--device", s(&img)])
        .args(["--offset", "7340032", "--size", "1048576"])
        .status(2)
        .stderr_contains("no valid credential record")
        .run();
}

/// Sets bytes of the GPT header at `lba` and fixes its CRC32.
fn patch_gpt_header(img: &Path, lba: u64, at: usize, bytes: &[u8]) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(img)
        .expect("open");
    let mut h = [0u8; 92];
    f.read_exact_at(&mut h, lba * 512).expect("read header");
    assert_eq!(&h[..8], b"EFI PART");
    h[at..at + bytes.len()].copy_from_slice(bytes);
    h[16..20].fill(0);
    let crc = crc32fast::hash(&h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    f.write_all_at(&h, lba * 512).expect("write header");
}

#[test]
fn gpt_headers_with_a_valid_crc_and_impossible_fields_are_refused_without_a_panic() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-gpt-01"]);
    let good = out.join("gw-gpt-01.img");
    let last = fs::metadata(&good).expect("meta").len() / 512 - 1;
    let le32 = |v: u32| v.to_le_bytes().to_vec();
    let le64 = |v: u64| v.to_le_bytes().to_vec();
    let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
        (
            "entry size 0",
            84,
            le32(0),
            "its partition entries are 0 bytes; UEFI requires 128 × 2^n",
        ),
        (
            "entry size 0xFFFFFFFF",
            84,
            le32(u32::MAX),
            "its partition entries are 4294967295 bytes",
        ),
        (
            "entry size 256",
            84,
            le32(256),
            "valid UEFI, but only 128-byte entries are read",
        ),
        (
            "entry count 0xFFFFFFFF",
            80,
            le32(u32::MAX),
            "it has 4294967295 partition entries, more than the 8192 read",
        ),
        (
            "entries past the end",
            72,
            le64(last - 1),
            "do not lie inside the device",
        ),
        (
            "entries on the header",
            72,
            le64(1),
            "clear of LBA 0 and the header",
        ),
        (
            "entries beyond any device",
            72,
            le64(u64::MAX),
            "lie beyond any device",
        ),
        ("header elsewhere", 24, le64(7), "it says it is at LBA 7"),
        ("header size 0", 12, le32(0), "its header size is 0 bytes"),
        (
            "usable LBAs past the end",
            48,
            le64(u64::MAX),
            "usable LBAs",
        ),
    ];
    let img = t.path().join("bad.img");
    for (what, at, bytes, rule) in cases {
        fs::copy(&good, &img).expect("copy");
        patch_gpt_header(&img, 1, at, &bytes);
        let o = t
            .cmd()
            .args(["status", "--device", s(&img), "--partition", "creds"])
            .status(2)
            .stderr_contains("unreadable GPT: the primary header: ")
            .stderr_contains(rule)
            .stderr_lacks("panicked")
            .run();
        assert!(!o.stderr.is_empty(), "{what}");
        t.burnline()
            .arg("inspect")
            .arg(&img)
            .status(2)
            .stderr_contains(rule)
            .stderr_lacks("panicked")
            .run();
    }
    // A primary header with a bad CRC32: the backup one is used, and checked.
    fs::copy(&good, &img).expect("copy");
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    f.write_all_at(&[0xAA], 512 + 40)
        .expect("break the primary CRC");
    t.cmd().args(["status", "--device", s(&img)]).run();
    patch_gpt_header(&img, last, 84, &le32(0));
    t.cmd()
        .args(["status", "--device", s(&img)])
        .status(2)
        .stderr_contains("unreadable GPT: the backup header: its partition entries are 0 bytes")
        .stderr_lacks("panicked")
        .run();
}

#[test]
fn a_connection_ended_during_the_tls_handshake_was_not_sent_and_is_retried() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-tls-01"]);
    let img = out.join("gw-tls-01.img");
    let (ca, _, _) = common::emulator::test_ca(t.path());
    // Like a NAT that accepts every TCP connection: read the start of the
    // ClientHello, then hang up. Counts the connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let server = std::thread::spawn(move || {
        let mut seen = 0;
        let end = Instant::now() + Duration::from_secs(8);
        while Instant::now() < end {
            match listener.accept() {
                Ok((mut c, _)) => {
                    seen += 1;
                    c.set_nonblocking(false).expect("blocking");
                    let mut hello = [0u8; 5];
                    let _ = c.read_exact(&mut hello);
                    assert_eq!(hello[0], 0x16, "not a TLS handshake record");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        seen
    });
    t.cmd()
        .args([
            "run",
            "--device",
            s(&img),
            "--endpoint",
            &url,
            "--ca-file",
            s(&ca),
        ])
        .status(4)
        .stderr_contains("(after 3 tries); the request was not sent, so a retry is safe")
        .stderr_contains("the systemd unit runs the bootstrap again")
        .stderr_lacks("may have reached")
        .run();
    assert_eq!(
        server.join().expect("server"),
        3,
        "a request never sent is tried 3 times"
    );
    assert_eq!(inspect(&t, &img)["sequence"], 1);
}

/// A loop device over an image file; detached when dropped.
struct Loop(String);

impl Loop {
    fn attach(t: &Test, img: &Path) -> Loop {
        // losetup: Debian package mount; it needs root.
        let o = t.tool("losetup").args(["--find", "--show"]).arg(img).run();
        Loop(o.stdout.trim().to_owned())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .status();
    }
}

#[test]
fn on_a_block_device_the_size_is_the_kernels() {
    // An MBR written for 4096-byte sectors: which sector size it was written
    // for is worked out from where its partitions fit the device, so the
    // device's real size matters (a block device's metadata says 0 bytes).
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: mbr\n  sector_size: 4096\n  seed: 0123456789abcdef0123456789abcdef\n\
         partitions:\n  - name: creds\n    size: 1MiB\n    type: 0x83\n    credentials: {{}}\n  - name: data\n    size: fill\n\
         auth:\n  mode: device-secret\n  product_key: {PK}\n"
    );
    let t = Test::bootstrap().file("r.yaml", recipe).file(
        "d.csv",
        format!("DeviceName,DeviceSecret\ngw-blk-01,{DS1}\n"),
    );
    t.burnline()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .run();
    let dev = Loop::attach(&t, &t.path().join("out/gw-blk-01.img"));

    t.cmd()
        .args(["status", "--device", &dev.0, "--partition", "1"])
        .stdout_contains("device_name: gw-blk-01")
        .stdout_contains("partition: offset 1048576 size 1048576")
        .run();
    // A full triple is ready.
    t.cmd()
        .args(["run", "--device", &dev.0, "--partition", "1"])
        .run();
    for (offset, size) in [("8388608", "2048"), ("1048576", "1099511627776")] {
        t.cmd()
            .args([
                "status", "--device", &dev.0, "--offset", offset, "--size", size,
            ])
            .status(2)
            .stderr_contains("ends past the end of the device (8388608 bytes)")
            .stderr_lacks("panicked")
            .run();
    }
}

/// Where `build_images` puts slot B (the creds partition is 1 MiB).
const SLOT_B_AT: u64 = CREDS_AT + (1 << 19);

/// Flips one bit of the payload of the slot at `slot_at` in `img`.
fn flip_bit(img: &Path, slot_at: u64) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(img)
        .expect("open");
    let mut byte = [0u8; 1];
    f.read_exact_at(&mut byte, slot_at + 100).expect("read");
    f.write_all_at(&[byte[0] ^ 0x04], slot_at + 100)
        .expect("flip");
}

#[test]
fn a_flipped_bit_in_either_slot_of_a_registered_device_keeps_its_triple() {
    let t = Test::bootstrap();
    let dn = "gw-flip-01";
    let products = write_products(t.path(), &[dn]);
    let state = t.path().join("state.json");
    let emu = Emulator::start(t.path(), &products, &["--state", s(&state)]);
    let out = build_images(&t, &emu.url, "gpt", &[dn]);
    let img = out.join(format!("{dn}.img"));
    t.cmd().args(["run", "--device", s(&img)]).run();
    let ds = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == dn)
        .expect("issued")
        .1;
    drop(emu);
    let env_file = t.path().join("device.env");
    // Slot B, then slot A (slot B was written anew by then).
    for (slot, at, sequence) in [("B", SLOT_B_AT, 4), ("A", CREDS_AT, 5)] {
        flip_bit(&img, at);
        let _ = fs::remove_file(&env_file);
        t.cmd()
            .args([
                "run",
                "--device",
                s(&img),
                "--endpoint",
                "http://127.0.0.1:1",
            ])
            .args(["--export-env", s(&env_file)])
            .stderr_contains(format!("slot {slot} is damaged (checksum mismatch"))
            .stderr_contains(format!("into slot {slot} (sequence {sequence})"))
            .stderr_lacks(ds.as_str())
            .run();
        let env = fs::read_to_string(&env_file).expect("env file");
        assert!(
            env.contains(&format!("DEVICE_SECRET={ds}\n")),
            "bit flipped in slot {slot}: the triple was lost"
        );
        let c = inspect(&t, &img);
        assert_eq!(
            (
                c["slot"].as_str(),
                c["sequence"].as_u64(),
                c["device_secret"].as_str()
            ),
            (Some(slot), Some(sequence), Some(ds.as_str()))
        );
    }
    // A device that is still a product certificate says which slot it read.
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-flip-02"]);
    let img = out.join("gw-flip-02.img");
    flip_bit(&img, CREDS_AT);
    t.cmd()
        .args(["status", "--device", s(&img)])
        .status(2)
        .stderr_contains("slot A: checksum mismatch")
        .stderr_contains("slot B: no BURNCRED magic (empty slot)")
        .run();
}

#[test]
fn a_newer_slot_with_wrong_fields_loses_to_the_valid_one() {
    let t = Test::bootstrap();
    let dn = "gw-fields-01";
    let products = write_products(t.path(), &[dn]);
    let emu = Emulator::start(t.path(), &products, &[]);
    let out = build_images(&t, &emu.url, "gpt", &[dn]);
    let img = out.join(format!("{dn}.img"));
    // Checksummed, newer, and not the record's JSON.
    let bad = format!(
        r#"{{"product_key":"{PK}","device_name":"{dn}","device_secret":"{DS1}","colour":"red"}}"#
    );
    write_slot(&img, SLOT_B_AT, 7, bad.as_bytes());
    t.cmd()
        .args(["status", "--device", s(&img)])
        .stdout_contains("active slot: A")
        .stdout_contains(
            "other slot: slot B is damaged (its checksum holds, but its record is not valid: \
             the payload is not the expected JSON object (wrong fields))",
        )
        .stderr_contains("slot B is damaged")
        .run();
    // `inspect` shows the record the device uses, and the damaged slot.
    let c = inspect(&t, &img);
    assert_eq!(
        (c["slot"].as_str(), c["sequence"].as_u64()),
        (Some("A"), Some(1)),
        "{c}"
    );
    assert!(
        c["damaged"]
            .as_str()
            .is_some_and(|d| d.starts_with("slot B: its checksum holds, but the payload is not")),
        "{c}"
    );
    // The valid slot registers, and the new record goes over the bad one.
    t.cmd().args(["run", "--device", s(&img)]).run();
    assert_eq!(emu.registrations_of(dn), 1);
    let c = inspect(&t, &img);
    assert!(c["device_secret"].is_string(), "{c}");
    assert_eq!(
        (c["slot"].as_str(), c["sequence"].as_u64()),
        (Some("A"), Some(3))
    );
}

#[test]
fn a_region_no_host_name_can_hold_is_refused_before_any_network() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-region-01"]);
    let img = out.join("gw-region-01.img");
    let region = "r".repeat(65_000);
    let payload = format!(
        r#"{{"product_key":"{PK}","device_name":"gw-region-01","product_secret":"{PS}","region":"{region}"}}"#
    );
    write_slot(&img, CREDS_AT, 1, payload.as_bytes());
    for cmd in ["status", "run"] {
        let r = t
            .cmd()
            .args([cmd, "--device", s(&img)])
            .status(2)
            .stderr_contains("a region of 65000 characters is not a region name (1 to 63 letters, digits and `-`)")
            .run();
        assert!(
            r.stderr.len() < 1000,
            "{cmd}: {} bytes of message",
            r.stderr.len()
        );
    }
}

#[test]
fn mqtt_registration_retries_a_connection_the_network_was_not_ready_for() {
    let t = Test::bootstrap();
    let dn = "gw-mqtt-late";
    let products = write_products(t.path(), &[dn]);
    // MQTT registration is taken over TLS only (the platform's rule); the
    // emulator's MQTT port tells TLS from plain TCP by the first byte.
    let (ca, cert, key) = common::emulator::test_ca(t.path());
    let emu = common::mqtt::MqttEmulator::start(t.path(), &products, Some((&cert, &key, &ca)), &[]);
    let out = build_images(&t, &emu.url, "gpt", &[dn]);
    let img = out.join(format!("{dn}.img"));
    // A port nothing listens on until 700 ms after the bootstrap starts
    // (its first try is refused); then a forwarder to the emulator.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let boot = t
        .cmd()
        .args(["run", "--device", s(&img), "--register-via", "mqtt"])
        .args([
            "--mqtt",
            &format!("mqtts://127.0.0.1:{port}"),
            "--ca-file",
            s(&ca),
        ])
        .stderr_contains("registered gw-mqtt-late")
        .spawn();
    std::thread::sleep(Duration::from_millis(700));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the port again");
    let upstream = emu.mqtt_port();
    std::thread::spawn(move || {
        let (down, _) = listener.accept().expect("accept");
        let up = std::net::TcpStream::connect(("127.0.0.1", upstream)).expect("emulator");
        let (mut d2, mut u2) = (
            down.try_clone().expect("clone"),
            up.try_clone().expect("clone"),
        );
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut d2, &mut u2);
            let _ = u2.shutdown(std::net::Shutdown::Write);
        });
        let (mut d, mut u) = (down, up);
        let _ = std::io::copy(&mut u, &mut d);
        let _ = d.shutdown(std::net::Shutdown::Write);
    });
    boot.wait();
    assert!(emu
        .log_text()
        .contains(&format!("mqtt register {PK} {dn}: CONNACK 0, issued")));
    assert!(inspect(&t, &img)["device_secret"].is_string());
}

#[test]
fn an_mqtt_registration_whose_tls_handshake_is_cut_short_is_tried_three_times() {
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-mqtt-tls"]);
    let img = out.join("gw-mqtt-tls.img");
    let (ca, _, _) = common::emulator::test_ca(t.path());
    // Accepts every TCP connection, reads the start of the ClientHello and
    // hangs up: no CONNECT was ever sent. Counts the connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = format!("mqtts://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let server = std::thread::spawn(move || {
        let mut seen = 0;
        let end = Instant::now() + Duration::from_secs(8);
        while Instant::now() < end {
            match listener.accept() {
                Ok((mut c, _)) => {
                    seen += 1;
                    c.set_nonblocking(false).expect("blocking");
                    let mut hello = [0u8; 5];
                    let _ = c.read_exact(&mut hello);
                    assert_eq!(hello[0], 0x16, "not a TLS handshake record");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        seen
    });
    t.cmd()
        .args(["run", "--device", s(&img), "--register-via", "mqtt"])
        .args(["--mqtt", &target, "--ca-file", s(&ca)])
        .status(4)
        .stderr_contains("(after 3 tries)")
        .run();
    assert_eq!(
        server.join().expect("server"),
        3,
        "a CONNECT never sent is tried 3 times"
    );
    assert_eq!(inspect(&t, &img)["sequence"], 1);
}

#[test]
fn two_partitions_named_creds_or_overlapping_partitions_are_refused() {
    // sgdisk: Debian package gdisk.
    let t = Test::bootstrap();
    let out = build_images(&t, "http://127.0.0.1:1", "gpt", &["gw-dup-01"]);
    let img = out.join("gw-dup-01.img");
    t.tool("sgdisk").args(["-c", "2:creds", s(&img)]).run();
    t.cmd()
        .args(["status", "--device", s(&img)])
        .status(2)
        .stderr_contains("2 partitions are named `creds` (partitions 1, 2)")
        .run();
    t.burnline()
        .args(["inspect", s(&img)])
        .status(2)
        .stderr_contains("2 partitions are named `creds`")
        .run();
    // Two partitions holding credentials, whatever their names.
    t.tool("sgdisk").args(["-c", "2:data", s(&img)]).run();
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .expect("open");
    let mut creds = vec![0u8; 1 << 20];
    f.read_exact_at(&mut creds, CREDS_AT).expect("read creds");
    f.write_all_at(&creds, 2 << 20).expect("copy into data");
    drop(f);
    t.burnline()
        .args(["inspect", s(&img)])
        .status(2)
        .stderr_contains("2 partitions hold credentials (`creds`, `data`)")
        .run();

    // An MBR whose partition 2 starts inside partition 1.
    let out = build_images(&t, "http://127.0.0.1:1", "mbr", &["gw-dup-02"]);
    let img = out.join("gw-dup-02.img");
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    let entry2 = 446 + 16;
    f.write_all_at(&3000u32.to_le_bytes(), entry2 + 8)
        .expect("start");
    f.write_all_at(&100u32.to_le_bytes(), entry2 + 12)
        .expect("sectors");
    drop(f);
    let overlap =
        "partitions 1 and 2 overlap: 1 covers bytes 1048576..2097152, 2 bytes 1536000..1587200";
    t.cmd()
        .args(["status", "--device", s(&img), "--partition", "1"])
        .status(2)
        .stderr_contains(overlap)
        .run();
    t.burnline()
        .args(["inspect", s(&img)])
        .status(2)
        .stderr_contains(overlap)
        .run();
}
