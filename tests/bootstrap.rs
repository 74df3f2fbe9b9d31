//! The device side end to end: a 一型一密 image is built, then
//! `burnline-bootstrap` boots it against the emulator (a real process on
//! 127.0.0.1): it registers once, stores the triple, hands it over, and a
//! second boot makes no request. Also: the emulator killed mid-request, an
//! already-activated device, bad records, storage failure, the partition
//! found by GPT name, MBR number or offset, and the binary's footprint.

mod common;

use common::emulator::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn boot(args: &[&str]) -> Output {
    Command::new(common::bootstrap_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run burnline-bootstrap")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Builds 一型一密 images for `names`, recording `endpoint`; returns the out dir.
fn build_images(dir: &Path, endpoint: &str, table: &str, names: &[&str]) -> PathBuf {
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
    let o = Command::new(BIN)
        .args(["build"])
        .arg(dir.join(format!("{table}.yaml")))
        .arg("--devices")
        .arg(dir.join("devices.csv"))
        .arg("--out")
        .arg(&out)
        .env("TEST_PS", PS)
        .output()
        .expect("build");
    assert!(o.status.success(), "build: {}", text(&o.stderr));
    out
}

fn inspect(img: &Path) -> serde_json::Value {
    let o = Command::new(BIN)
        .arg("inspect")
        .arg(img)
        .args(["--json", "--reveal-secrets"])
        .output()
        .expect("inspect");
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8")
}

#[test]
fn first_boot_registers_once_and_second_boot_stays_offline() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-boot-01", "gw-boot-02"]);
    let state = dir.path().join("state.json");
    let emu = Emulator::start(dir.path(), &products, &["--state", s(&state)]);
    let out = build_images(dir.path(), &emu.url, "gpt", &["gw-boot-01"]);
    let img = out.join("gw-boot-01.img");

    let st = boot(&["status", "--device", s(&img), "--partition", "creds"]);
    assert_eq!(code(&st), 0, "{}", text(&st.stderr));
    let st_out = text(&st.stdout);
    assert!(
        st_out.contains("mode: product-secret (not yet registered)")
            && st_out.contains("sequence: 1"),
        "{st_out}"
    );
    assert!(!st_out.contains(PS));

    let env_file = dir.path().join("device.env");
    let witness = dir.path().join("exec.txt");
    let r = boot(&[
        "run",
        "--device",
        s(&img),
        "--partition",
        "creds",
        "--export-env",
        s(&env_file),
        "--exec",
        "sh",
        "-c",
        &format!(
            "printf '%s %s' \"$PRODUCT_KEY\" \"$DEVICE_NAME\" > {}",
            s(&witness)
        ),
    ]);
    assert_eq!(code(&r), 0, "{}", text(&r.stderr));
    assert!(!text(&r.stderr).contains(PS));
    assert_eq!(emu.registrations_of("gw-boot-01"), 1);
    let issued = state_secrets(&state);
    let ds = &issued
        .iter()
        .find(|(n, _)| n == "gw-boot-01")
        .expect("issued")
        .1;
    assert!(
        !text(&r.stderr).contains(ds.as_str()),
        "the DeviceSecret was printed"
    );

    let c = inspect(&img)["credentials"].clone();
    assert_eq!(c["device_secret"], ds.as_str());
    assert!(c["product_secret"].is_null(), "the ProductSecret was kept");
    assert_eq!(
        (c["slot"].as_str(), c["sequence"].as_u64()),
        (Some("B"), Some(2))
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

    let online = boot(&["status", "--device", s(&img), "--check-online"]);
    assert_eq!(code(&online), 0, "{}", text(&online.stderr));
    assert!(text(&online.stdout).contains("online: the triple authenticates"));
    assert!(!text(&online.stdout).contains(ds.as_str()));
    assert!(
        emu.devices()
            .contains(&("gw-boot-01".to_owned(), true, true)),
        "{:?}",
        emu.devices()
    );

    // Second boot: no request at all, even with the platform unreachable.
    let before = emu.log_text().lines().count();
    let again = boot(&[
        "run",
        "--device",
        s(&img),
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(code(&again), 0, "{}", text(&again.stderr));
    assert_eq!(
        emu.log_text().lines().count(),
        before,
        "the second boot talked to the platform"
    );
    assert_eq!(inspect(&img)["credentials"]["sequence"], 2);
}

#[test]
fn a_boot_whose_platform_dies_mid_request_completes_at_the_next_boot() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-boot-03"]);
    let state = dir.path().join("state.json");
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--state", s(&state), "--delay-ms", "5000"],
    );
    let out = build_images(dir.path(), &emu.url, "gpt", &["gw-boot-03"]);
    let img = out.join("gw-boot-03.img");
    let child = Command::new(common::bootstrap_bin())
        .args(["run", "--device", s(&img)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bootstrap");
    let start = Instant::now();
    while emu.held() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the request never reached the emulator"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(emu); // the platform dies while holding the request
    let o = child.wait_with_output().expect("wait");
    assert_eq!(
        o.status.code(),
        Some(4),
        "a dead platform is a network failure: {}",
        text(&o.stderr)
    );
    let said = text(&o.stderr);
    assert!(
        said.contains("the request may have reached the platform")
            && said.contains("the systemd unit runs the bootstrap again")
            && !said.contains("retry is safe")
            && !said.contains("next boot"),
        "{said}"
    );
    assert_eq!(
        inspect(&img)["credentials"]["sequence"],
        1,
        "nothing may be written without a secret"
    );

    let emu = Emulator::start(dir.path(), &products, &["--state", s(&state)]);
    let r = boot(&["run", "--device", s(&img), "--endpoint", &emu.url]);
    assert_eq!(code(&r), 0, "{}", text(&r.stderr));
    let ds = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == "gw-boot-03")
        .expect("issued")
        .1;
    assert_eq!(inspect(&img)["credentials"]["device_secret"], ds.as_str());
    assert!(emu.activated("gw-boot-03"));
}

#[test]
fn an_already_activated_device_says_to_delete_it_in_the_console() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-boot-04"]);
    let emu = Emulator::start(dir.path(), &products, &[]);
    let out = build_images(dir.path(), &emu.url, "mbr", &["gw-boot-04"]);
    let img = out.join("gw-boot-04.img");
    let first = run(&["register", PK, "gw-boot-04", PS, "--endpoint", &emu.url]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let r = boot(&["run", "--device", s(&img), "--partition", "1"]);
    assert_eq!(code(&r), 3, "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("delete the device in the IoT console"),
        "{}",
        text(&r.stderr)
    );
    assert_eq!(inspect(&img)["credentials"]["sequence"], 1);
}

#[test]
fn bad_records_storage_failures_and_partition_lookup() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = build_images(dir.path(), "http://127.0.0.1:1", "gpt", &["gw-boot-05"]);
    let img = out.join("gw-boot-05.img");
    // Found by explicit offset and size (the creds partition starts at 1 MiB).
    let st = boot(&[
        "status",
        "--device",
        s(&img),
        "--offset",
        "1048576",
        "--size",
        "1048576",
    ]);
    assert_eq!(code(&st), 0, "{}", text(&st.stderr));
    // Unknown partition name, missing device.
    let st = boot(&["status", "--device", s(&img), "--partition", "nope"]);
    assert_eq!(code(&st), 2);
    assert!(text(&st.stderr).contains("no partition named `nope`"));
    let st = boot(&["run", "--device", s(&dir.path().join("absent.img"))]);
    assert_eq!(code(&st), 5, "{}", text(&st.stderr));
    // The platform unreachable: a network failure, nothing written, and a
    // retry is safe since nothing was sent.
    let r = boot(&["run", "--device", s(&img)]);
    assert_eq!(code(&r), 4, "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains(
            "connection refused (after 3 tries); the request was not sent, so a retry is safe"
        ),
        "{}",
        text(&r.stderr)
    );
    // A corrupted record: exit 2.
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", (1 << 20) + 30).expect("corrupt");
    let st = boot(&["status", "--device", s(&img)]);
    assert_eq!(code(&st), 2, "{}", text(&st.stderr));
    assert!(
        text(&st.stderr).contains("no valid credential record"),
        "{}",
        text(&st.stderr)
    );
}

#[test]
fn the_bootstrap_links_no_image_building_code() {
    let o = Command::new("nm")
        .arg("-C")
        .arg("--defined-only")
        .arg(common::bootstrap_bin())
        .output()
        .expect("nm (Debian package binutils) must be installed");
    assert!(o.status.success());
    let syms = text(&o.stdout);
    assert!(
        syms.contains("burnline_bootstrap::store::write_next"),
        "no symbols to check"
    );
    let forbidden = [
        "fatfs::",
        "rayon::",
        "indicatif::",
        "csv::",
        "yaml_serde::",
        // The host crate: the bootstrap crate cannot depend on it (the
        // compiler enforces that); this checks the linked result as well.
        "burnline::",
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
fn the_systemd_unit_is_valid_and_retries_only_network_failures() {
    let dir = tempfile::tempdir().expect("tmp");
    let unit = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/burnline-bootstrap.service"
    ))
    .expect("unit");
    assert!(
        unit.contains("RestartPreventExitStatus=2 3 5") && unit.contains("Restart=on-failure"),
        "{unit}"
    );
    assert!(unit.contains("Before=linkedge.service"));
    fs::write(
        dir.path().join("burnline-bootstrap.service"),
        unit.replace(
            "/usr/bin/burnline-bootstrap",
            &common::bootstrap_bin().display().to_string(),
        ),
    )
    .expect("write");
    fs::write(
        dir.path().join("linkedge.service"),
        "[Unit]\nDescription=edge\n[Service]\nExecStart=/bin/true\n",
    )
    .expect("write");
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "./burnline-bootstrap.service"])
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed");
    let said = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        o.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
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

fn no_panic(o: &Output) {
    let said = text(&o.stderr);
    assert!(
        o.status.code().is_some() && !said.contains("panicked"),
        "crashed ({:?}): {said}",
        o.status
    );
}

#[test]
fn a_record_whose_sequence_cannot_grow_does_not_register() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-seq-01"]);
    let emu = Emulator::start(dir.path(), &products, &[]);
    let out = build_images(dir.path(), &emu.url, "gpt", &["gw-seq-01"]);
    let img = out.join("gw-seq-01.img");
    let payload = slot_a_payload(&img);
    write_slot(&img, CREDS_AT, u64::MAX, &payload);
    let before = fs::read(&img).expect("image");

    let r = boot(&["run", "--device", s(&img)]);
    let said = text(&r.stderr);
    assert_eq!(code(&r), 2, "{said}");
    assert!(
        said.contains("has sequence 18446744073709551615, the largest there is")
            && said.contains("not registering")
            && said.contains("burn the credentials partition anew"),
        "{said}"
    );
    assert_eq!(registrations(&emu), 0, "it asked the platform: {said}");
    assert!(
        fs::read(&img).expect("image") == before,
        "the image was written"
    );
    // The same record one below the top registers and stores sequence u64::MAX.
    write_slot(&img, CREDS_AT, u64::MAX - 1, &payload);
    let r = boot(&["run", "--device", s(&img)]);
    assert_eq!(code(&r), 0, "{}", text(&r.stderr));
    assert_eq!(
        inspect(&img)["credentials"]["sequence"].as_u64(),
        Some(u64::MAX)
    );
}

#[test]
fn a_record_that_would_outgrow_its_slot_once_registered_does_not_register() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-fit-01"]);
    let emu = Emulator::start(dir.path(), &products, &[]);
    // A 2048-byte partition at 4096 of a plain file: two 1024-byte slots.
    let dev = dir.path().join("device.bin");
    fs::write(&dev, vec![0u8; 8192]).expect("device");
    let with_region = |region: &str| {
        format!(
            r#"{{"product_key":"{PK}","device_name":"gw-fit-01","product_secret":"{PS}","region":"{region}","endpoint":"{}"}}"#,
            emu.url
        )
    };
    // Registering drops the ProductSecret (36 bytes) and adds a DeviceSecret
    // (51 bytes): a payload of 955 bytes fits now (1019 of 1024), not then.
    let pad = 955 - with_region("").len();
    let payload = with_region(&"r".repeat(pad));
    assert_eq!(payload.len(), 955);
    write_slot(&dev, 4096, 1, payload.as_bytes());
    let before = fs::read(&dev).expect("device");
    let args = [
        "run",
        "--device",
        s(&dev),
        "--offset",
        "4096",
        "--size",
        "2048",
    ];

    let st = boot(&[
        "status",
        "--device",
        s(&dev),
        "--offset",
        "4096",
        "--size",
        "2048",
    ]);
    assert_eq!(
        code(&st),
        0,
        "the record itself is valid: {}",
        text(&st.stderr)
    );
    let r = boot(&args);
    let said = text(&r.stderr);
    assert_eq!(code(&r), 2, "{said}");
    assert!(
        said.contains("once registered, the record can need 1034 bytes (with a 32-character DeviceSecret), more than a 1024-byte slot")
            && said.contains("not registering")
            && said.contains("at least 2068 bytes"),
        "{said}"
    );
    assert_eq!(registrations(&emu), 0, "it asked the platform: {said}");
    assert!(
        fs::read(&dev).expect("device") == before,
        "the device was written"
    );

    // Ten bytes shorter, the registered record just fits its slot: it registers.
    let payload = with_region(&"r".repeat(pad - 10));
    write_slot(&dev, 4096, 1, payload.as_bytes());
    let r = boot(&args);
    assert_eq!(code(&r), 0, "{}", text(&r.stderr));
    assert_eq!(emu.registrations_of("gw-fit-01"), 1);
}

#[test]
fn an_offset_or_size_past_the_device_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = build_images(dir.path(), "http://127.0.0.1:1", "gpt", &["gw-off-01"]);
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
            let o = boot(&[cmd, "--device", s(&img), "--offset", offset, "--size", size]);
            no_panic(&o);
            let said = text(&o.stderr);
            assert_eq!(code(&o), 2, "{cmd} --offset {offset} --size {size}: {said}");
            assert!(
                said.contains("command line: ")
                    && said.contains("ends past the end of the device (8388608 bytes)"),
                "{said}"
            );
        }
    }
    // The last byte of the device is still inside it.
    let o = boot(&[
        "status",
        "--device",
        s(&img),
        "--offset",
        "7340032",
        "--size",
        "1048576",
    ]);
    no_panic(&o);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no valid credential record"),
        "{}",
        text(&o.stderr)
    );
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
    let dir = tempfile::tempdir().expect("tmp");
    let out = build_images(dir.path(), "http://127.0.0.1:1", "gpt", &["gw-gpt-01"]);
    let good = out.join("gw-gpt-01.img");
    let last = fs::metadata(&good).expect("meta").len() / 512 - 1;
    let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
        (
            "entry size 0",
            84,
            0u32.to_le_bytes().to_vec(),
            "its partition entries are 0 bytes; UEFI requires 128 × 2^n",
        ),
        (
            "entry size 0xFFFFFFFF",
            84,
            u32::MAX.to_le_bytes().to_vec(),
            "its partition entries are 4294967295 bytes",
        ),
        (
            "entry size 256",
            84,
            256u32.to_le_bytes().to_vec(),
            "valid UEFI, but only 128-byte entries are read",
        ),
        (
            "entry count 0xFFFFFFFF",
            80,
            u32::MAX.to_le_bytes().to_vec(),
            "it has 4294967295 partition entries, more than the 8192 read",
        ),
        (
            "entries past the end",
            72,
            (last - 1).to_le_bytes().to_vec(),
            "do not lie inside the device",
        ),
        (
            "entries on the header",
            72,
            1u64.to_le_bytes().to_vec(),
            "clear of LBA 0 and the header",
        ),
        (
            "entries beyond any device",
            72,
            u64::MAX.to_le_bytes().to_vec(),
            "lie beyond any device",
        ),
        (
            "header elsewhere",
            24,
            7u64.to_le_bytes().to_vec(),
            "it says it is at LBA 7",
        ),
        (
            "header size 0",
            12,
            0u32.to_le_bytes().to_vec(),
            "its header size is 0 bytes",
        ),
        (
            "usable LBAs past the end",
            48,
            u64::MAX.to_le_bytes().to_vec(),
            "usable LBAs",
        ),
    ];
    for (what, at, bytes, rule) in cases {
        let img = dir.path().join("bad.img");
        fs::copy(&good, &img).expect("copy");
        patch_gpt_header(&img, 1, at, &bytes);
        let st = boot(&["status", "--device", s(&img), "--partition", "creds"]);
        no_panic(&st);
        let said = text(&st.stderr);
        assert_eq!(code(&st), 2, "{what}: {said}");
        assert!(
            said.contains("unreadable GPT: the primary header: ") && said.contains(rule),
            "{what}: {said}"
        );
        let i = Command::new(BIN)
            .arg("inspect")
            .arg(&img)
            .output()
            .expect("inspect");
        no_panic(&i);
        assert_eq!(i.status.code(), Some(2), "{what}: {}", text(&i.stderr));
        assert!(
            text(&i.stderr).contains(rule),
            "{what}: {}",
            text(&i.stderr)
        );
    }
    // A primary header with a bad CRC32: the backup one is used, and checked.
    let img = dir.path().join("bad.img");
    fs::copy(&good, &img).expect("copy");
    let f = fs::OpenOptions::new().write(true).open(&img).expect("open");
    f.write_all_at(&[0xAA], 512 + 40)
        .expect("break the primary CRC");
    let st = boot(&["status", "--device", s(&img)]);
    assert_eq!(
        code(&st),
        0,
        "the backup header reads: {}",
        text(&st.stderr)
    );
    patch_gpt_header(&img, last, 84, &0u32.to_le_bytes());
    let st = boot(&["status", "--device", s(&img)]);
    no_panic(&st);
    assert_eq!(code(&st), 2, "{}", text(&st.stderr));
    assert!(
        text(&st.stderr)
            .contains("unreadable GPT: the backup header: its partition entries are 0 bytes"),
        "{}",
        text(&st.stderr)
    );
}

#[test]
fn a_connection_ended_during_the_tls_handshake_was_not_sent_and_is_retried() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = build_images(dir.path(), "http://127.0.0.1:1", "gpt", &["gw-tls-01"]);
    let img = out.join("gw-tls-01.img");
    let (ca, _, _) = test_ca(dir.path());
    // Like a NAT that accepts every TCP connection: read the ClientHello,
    // then hang up. Counts the connections.
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
                    let _ = c.flush();
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        seen
    });
    let r = boot(&[
        "run",
        "--device",
        s(&img),
        "--endpoint",
        &url,
        "--ca-file",
        s(&ca),
    ]);
    let said = text(&r.stderr);
    assert_eq!(code(&r), 4, "{said}");
    assert!(
        said.contains("(after 3 tries); the request was not sent, so a retry is safe")
            && said.contains("the systemd unit runs the bootstrap again")
            && !said.contains("may have reached"),
        "{said}"
    );
    assert_eq!(
        server.join().expect("server"),
        3,
        "a request never sent is tried 3 times"
    );
    assert_eq!(inspect(&img)["credentials"]["sequence"], 1);
}

/// A loop device over an image file; detached when dropped.
struct Loop(String);

impl Loop {
    fn attach(img: &Path) -> Loop {
        let o = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(img)
            .output()
            .expect("losetup (Debian package mount) must be installed");
        assert!(
            o.status.success(),
            "losetup needs root: {}",
            text(&o.stderr)
        );
        Loop(text(&o.stdout).trim().to_owned())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn on_a_block_device_the_size_is_the_kernels() {
    // An MBR written for 4096-byte sectors: which sector size it was written
    // for is worked out from where its partitions fit the device, so the
    // device's real size matters (a block device's metadata says 0 bytes).
    let dir = tempfile::tempdir().expect("tmp");
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: mbr\n  sector_size: 4096\n  seed: 0123456789abcdef0123456789abcdef\n\
         partitions:\n  - name: creds\n    size: 1MiB\n    type: 0x83\n    credentials: {{}}\n  - name: data\n    size: fill\n\
         auth:\n  mode: device-secret\n  product_key: {PK}\n"
    );
    fs::write(dir.path().join("r.yaml"), recipe).expect("recipe");
    fs::write(
        dir.path().join("d.csv"),
        "DeviceName,DeviceSecret\ngw-blk-01,ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe\n",
    )
    .expect("csv");
    let b = run(&[
        "build",
        s(&dir.path().join("r.yaml")),
        "--devices",
        s(&dir.path().join("d.csv")),
        "--out",
        s(&dir.path().join("out")),
    ]);
    assert!(b.status.success(), "build: {}", text(&b.stderr));
    let img = dir.path().join("out/gw-blk-01.img");
    let dev = Loop::attach(&img);

    let st = boot(&["status", "--device", &dev.0, "--partition", "1"]);
    assert_eq!(code(&st), 0, "{}", text(&st.stderr));
    assert!(
        text(&st.stdout).contains("device_name: gw-blk-01"),
        "{}",
        text(&st.stdout)
    );
    assert!(
        text(&st.stdout).contains("partition: offset 1048576 size 1048576"),
        "{}",
        text(&st.stdout)
    );
    let r = boot(&["run", "--device", &dev.0, "--partition", "1"]);
    assert_eq!(code(&r), 0, "a full triple is ready: {}", text(&r.stderr));
    for (offset, size) in [("8388608", "2048"), ("1048576", "1099511627776")] {
        let o = boot(&[
            "status", "--device", &dev.0, "--offset", offset, "--size", size,
        ]);
        no_panic(&o);
        assert_eq!(
            code(&o),
            2,
            "--offset {offset} --size {size}: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("ends past the end of the device (8388608 bytes)"),
            "{}",
            text(&o.stderr)
        );
    }
}
