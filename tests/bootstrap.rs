//! The device side end to end: a 一型一密 image is built, then
//! `burnline-bootstrap` boots it against the emulator (a real process on
//! 127.0.0.1): it registers once, stores the triple, hands it over, and a
//! second boot makes no request. Also: the emulator killed mid-request, an
//! already-activated device, bad records, storage failure, the partition
//! found by GPT name, MBR number or offset, and the binary's footprint.

mod common;

use common::emulator::{state_secrets, write_products, Emulator};
use common::images::inspect_json;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
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
    assert_eq!(inspect(&t, &img)["sequence"], 2);
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
        .stderr_contains("retry at the next boot")
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
fn an_already_activated_device_says_to_delete_it_in_the_console() {
    let t = Test::bootstrap();
    let products = write_products(t.path(), &["gw-boot-04"]);
    let emu = common::mqtt::MqttEmulator::start(t.path(), &products, None, &[]);
    let out = build_images(&t, &emu.url, "mbr", &["gw-boot-04"]);
    let img = out.join("gw-boot-04.img");
    // Registered elsewhere, and activated by a login with that secret.
    let first = t
        .burnline()
        .args(["register", PK, "gw-boot-04", PS, "--endpoint", &emu.url])
        .run();
    let ds = first
        .stdout
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
    t.cmd()
        .args(["run", "--device", s(&img), "--partition", "1"])
        .status(3)
        .stderr_contains("delete the device in the IoT console")
        .stderr_contains("reset it")
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
    // The platform unreachable: a network failure, nothing written.
    t.cmd().args(["run", "--device", s(&img)]).status(4).run();
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
fn the_systemd_unit_is_valid_and_retries_only_network_failures() {
    let t = Test::new();
    let unit =
        fs::read_to_string(repo_root().join("examples/burnline-bootstrap.service")).expect("unit");
    assert!(
        unit.contains("RestartPreventExitStatus=2 3 5") && unit.contains("Restart=on-failure"),
        "{unit}"
    );
    assert!(unit.contains("Before=linkedge.service"));
    let t = t
        .file(
            "burnline-bootstrap.service",
            unit.replace("/usr/bin/burnline-bootstrap", s(&bootstrap_bin())),
        )
        .file(
            "linkedge.service",
            "[Unit]\nDescription=edge\n[Service]\nExecStart=/bin/true\n",
        );
    // systemd-analyze: Debian package systemd. It has nothing to say.
    t.tool("systemd-analyze")
        .args(["verify", "--man=no", "./burnline-bootstrap.service"])
        .stdout("")
        .stderr("")
        .run();
}
