//! The device side end to end: a 一型一密 image is built, then
//! `burnline-bootstrap` boots it against the emulator (a real process on
//! 127.0.0.1): it registers once, stores the triple, hands it over, and a
//! second boot makes no request. Also: the emulator killed mid-request, an
//! already-activated device, bad records, storage failure, the partition
//! found by GPT name, MBR number or offset, and the binary's footprint.

mod common;

use common::emulator::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
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

    // The HTTP device authentication (the MQTT online check, which also
    // activates the device, is in tests/mqtt_end_to_end.rs).
    let online = boot(&["status", "--device", s(&img), "--check-http-auth"]);
    assert_eq!(code(&online), 0, "{}", text(&online.stderr));
    assert!(text(&online.stdout).contains("http auth: the triple authenticates"));
    assert!(!text(&online.stdout).contains(ds.as_str()));
    assert!(
        emu.devices()
            .contains(&("gw-boot-01".to_owned(), false, false)),
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
    assert!(
        text(&o.stderr).contains("retry at the next boot"),
        "{}",
        text(&o.stderr)
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
    assert!(emu.registered("gw-boot-03"));
}

#[test]
fn an_already_activated_device_says_to_delete_it_in_the_console() {
    let dir = tempfile::tempdir().expect("tmp");
    let products = write_products(dir.path(), &["gw-boot-04"]);
    let emu = common::mqtt::MqttEmulator::start(dir.path(), &products, None, &[]);
    let out = build_images(dir.path(), &emu.url, "mbr", &["gw-boot-04"]);
    let img = out.join("gw-boot-04.img");
    // Registered elsewhere, and activated by a login with that secret.
    let first = run(&["register", PK, "gw-boot-04", PS, "--endpoint", &emu.url]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let ds = text(&first.stdout)
        .trim_end()
        .rsplit(' ')
        .next()
        .expect("ds")
        .to_owned();
    let (cid, user, pw) = common::mqtt::plain_credentials(PK, "gw-boot-04", &ds);
    let port = emu.mqtt_port().to_string();
    let login = common::mqtt::mosquitto_pub(&[
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-i",
        &cid,
        "-u",
        &user,
        "-P",
        &pw,
        "-t",
        "/x",
        "-m",
        "x",
    ]);
    assert!(login.status.success(), "{}", common::mqtt::both(&login));
    let r = boot(&["run", "--device", s(&img), "--partition", "1"]);
    assert_eq!(code(&r), 3, "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("delete the device in the IoT console")
            && text(&r.stderr).contains("reset it"),
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
    // The platform unreachable: a network failure, nothing written.
    let r = boot(&["run", "--device", s(&img)]);
    assert_eq!(code(&r), 4, "{}", text(&r.stderr));
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
